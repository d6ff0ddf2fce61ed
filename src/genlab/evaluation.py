"""Experiments on a trained denoiser: forward paths, step-count sweeps, quality per NFE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd
import torch

from genlab.config import SamplerConfig
from genlab.denoiser import EpsFn
from genlab.metrics import square_quality
from genlab.samplers import CountingEps, run_sampler, start_noise, steps_for_nfe
from genlab.schedules import Schedule


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


def quality_table(
    eps: EpsFn,
    schedule: Schedule,
    base: SamplerConfig,
    kinds: Sequence[str],
    nfes: Sequence[int],
    n: int,
    seed: int,
    projections: int,
    metrics_seed: int,
) -> pd.DataFrame:
    """in_support and swd_ratio of every sampler at each NFE budget, same start noise for all."""
    rows = []
    for kind in kinds:
        for budget in nfes:
            steps = steps_for_nfe(kind, budget, base.denoise_final)
            cfg = replace(base, kind=kind, steps=steps)
            _, x, used = sample_points(eps, schedule, cfg, n, seed)
            q = square_quality(x, projections, metrics_seed)
            rows.append({"sampler": kind, "steps": steps, "nfe": used, **q})
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
