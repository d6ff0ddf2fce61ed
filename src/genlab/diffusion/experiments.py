"""Experiments on a trained denoiser: forward paths, seeds, step counts, grids, determinism,
quality per NFE and per-class sampling (docs/samplers.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd
import torch

from genlab.diffusion.config import MetricsConfig, SamplerConfig
from genlab.diffusion.model import Denoiser, EpsFn, eps_fn
from genlab.diffusion.quality import square_quality
from genlab.diffusion.samplers import (
    SAMPLERS,
    CountingEps,
    is_deterministic,
    run_sampler,
    start_noise,
    steps_for_nfe,
)
from genlab.diffusion.schedules import GRIDS, Schedule


def forward_paths(
    x0: Sequence[float], schedule: Schedule, steps: int, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """n paths of the forward SDE from x0 on a uniform t grid.

    Returns times (steps+1,) and paths (steps+1, n, 2).

    Each path starts at x0 + sigma_min z and adds independent Gaussian increments of
    variance sigma(t_k+1)^2 - sigma(t_k)^2, so at every t the marginal is N(x0, sigma(t)^2 I).
    """
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(schedule.t_min, 1.0, steps + 1, dtype=torch.float64)
    std = torch.sqrt(torch.cat([schedule.sigma(t[:1]) ** 2, torch.diff(schedule.sigma(t) ** 2)]))
    z = torch.randn(steps + 1, n, 2, generator=g, dtype=torch.float64)
    start = torch.tensor(x0, dtype=torch.float64)
    return t, start + torch.cumsum(z * std[:, None, None], dim=0)


def sample_points(
    eps: EpsFn,
    schedule: Schedule,
    cfg: SamplerConfig,
    n: int,
    seed: int,
    trajectory: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Draw n samples with start noise and sampler noise from `seed`: (noise, samples, nfe)."""
    g = torch.Generator().manual_seed(seed)
    noise = start_noise(n, schedule, g)
    counter = CountingEps(eps)
    x = run_sampler(counter, noise.clone(), schedule, cfg, generator=g, trajectory=trajectory)
    return noise, x, counter.calls


def seed_clouds(
    eps: EpsFn, schedule: Schedule, cfg: SamplerConfig, n: int, seeds: Sequence[int]
) -> list[torch.Tensor]:
    """One cloud of n samples per seed."""
    return [sample_points(eps, schedule, cfg, n, seed)[1] for seed in seeds]


def step_sweep(
    eps: EpsFn, schedule: Schedule, cfg: SamplerConfig, counts: Sequence[int], n: int, seed: int
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """For every step count: one point's trajectory (steps+1, 2) and a cloud of n samples."""
    trajectories, clouds = [], []
    for steps in counts:
        spec = replace(cfg, steps=steps)
        path: list[torch.Tensor] = []
        sample_points(eps, schedule, spec, 1, seed, trajectory=path)
        trajectories.append(torch.cat(path))
        clouds.append(sample_points(eps, schedule, spec, n, seed)[1])
    return trajectories, clouds


def grid_clouds(
    eps: EpsFn, schedule: Schedule, cfg: SamplerConfig, steps: int, n: int, seed: int
) -> dict[str, torch.Tensor]:
    """n samples on every sigma grid, `steps` steps each, same start noise."""
    return {
        grid: sample_points(eps, schedule, replace(cfg, grid=grid, steps=steps), n, seed)[1]
        for grid in GRIDS
    }


def quality_table(
    eps: EpsFn,
    schedule: Schedule,
    base: SamplerConfig,
    nfes: Sequence[int],
    grids: Sequence[str],
    n: int,
    seed: int,
    metrics: MetricsConfig,
) -> pd.DataFrame:
    """in_support and swd_ratio of every sampler on every grid in `grids` at each NFE
    budget, same start noise for all."""
    rows = []
    for kind in SAMPLERS:
        for grid in grids:
            for budget in nfes:
                steps = steps_for_nfe(kind, budget, base.denoise_final)
                cfg = replace(base, kind=kind, steps=steps, grid=grid)
                _, x, used = sample_points(eps, schedule, cfg, n, seed)
                rows.append(
                    {"sampler": kind, "grid": grid, "steps": steps, "nfe": used}
                    | square_quality(x, metrics)
                )
    return pd.DataFrame(rows)


def repeat_from(
    eps: EpsFn, schedule: Schedule, cfg: SamplerConfig, start: torch.Tensor, repeats: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample the same start noise in `repeats` separate runs, run k seeded with seed + k.

    Returns the final points (repeats, 2) and the paths (steps, repeats, 2).
    """
    finals, paths = [], []
    for k in range(repeats):
        path: list[torch.Tensor] = []
        g = torch.Generator().manual_seed(seed + k)
        finals.append(run_sampler(eps, start.clone(), schedule, cfg, generator=g, trajectory=path))
        paths.append(torch.cat(path))
    return torch.cat(finals), torch.stack(paths, dim=1)


@dataclass(frozen=True)
class Determinism:
    """One start noise sampled `repeats` times deterministically and stochastically."""

    start: torch.Tensor  # (2,)
    deterministic: torch.Tensor  # (repeats, 2)
    stochastic: torch.Tensor  # (repeats, 2)
    stochastic_paths: torch.Tensor  # (steps, repeats, 2)
    labels: tuple[str, str]


def determinism(eps: EpsFn, schedule: Schedule, cfg: SamplerConfig, repeats: int) -> Determinism:
    """Run one start noise again and again: a deterministic sampler (the configured one, or
    Heun) must land on one point every time; the stochastic one spreads."""
    det = cfg if is_deterministic(cfg) else replace(cfg, kind="heun")
    sto = replace(cfg, kind="stochastic", eta=cfg.eta if cfg.kind == "stochastic" else 1.0)
    start = start_noise(1, schedule, torch.Generator().manual_seed(cfg.seed))
    finals_det, _ = repeat_from(eps, schedule, det, start, repeats, cfg.seed)
    finals_sto, paths = repeat_from(eps, schedule, sto, start, repeats, cfg.seed)
    labels = (f"{det.kind} (deterministic)", f"stochastic, eta={sto.eta}")
    return Determinism(start[0], finals_det, finals_sto, paths, labels)


def sample_classes(
    model: Denoiser, schedule: Schedule, cfg: SamplerConfig, per_class: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """`per_class` samples of every class: (labels, start noise, samples, nfe)."""
    labels = torch.arange(model.num_classes).repeat_interleave(per_class)
    noise, x, nfe = sample_points(
        eps_fn(model, schedule, labels), schedule, cfg, len(labels), cfg.seed
    )
    return labels, noise, x, nfe


def class_trajectories(model: Denoiser, schedule: Schedule, cfg: SamplerConfig) -> torch.Tensor:
    """One sampled trajectory per class: (steps+1, classes, 2)."""
    path: list[torch.Tensor] = []
    one_each = eps_fn(model, schedule, torch.arange(model.num_classes))
    sample_points(one_each, schedule, cfg, model.num_classes, cfg.seed, trajectory=path)
    return torch.stack(path)
