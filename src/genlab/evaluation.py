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


def forward_path(
    x0: Sequence[float], schedule: Schedule, steps: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One path of the forward SDE from x0: independent increments of variance d(sigma^2).

    Returns the times t (steps + 1,) and the states (steps + 1, 2); at each t the
    marginal is N(x0, sigma(t)^2 I) up to the sigma_min^2 it starts with.
    """
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(schedule.t_min, 1.0, steps + 1, dtype=torch.float64)
    var = schedule.sigma(t) ** 2
    start = torch.tensor(x0, dtype=torch.float64)
    z = torch.randn(steps, 2, generator=g, dtype=torch.float64)
    steps_ = z * torch.sqrt(var[1:] - var[:-1])[:, None]
    path = torch.cat([start[None], start + torch.cumsum(steps_, dim=0)])
    return t, path


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
    """Sample the same start noise `repeats` times in one batch: (finals, path [steps, repeats, 2]).

    Each row draws its own sampler noise, so this equals `repeats` separate runs.
    """
    g = torch.Generator().manual_seed(seed)
    path: list[torch.Tensor] = []
    x = run_sampler(eps, start.repeat(repeats, 1), schedule, cfg, generator=g, trajectory=path)
    return x, torch.stack(path)
