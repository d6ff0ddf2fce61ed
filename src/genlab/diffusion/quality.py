"""Sample quality scored against the known truth (docs/metrics.md).

in_support: the fraction of samples inside the support; the sliced Wasserstein-2
distance to fresh true draws, its floor (between two true draws of the same size) and
their ratio, 1 being the best a finite sample can show.
"""

from __future__ import annotations

import torch

from genlab.diffusion.config import MetricsConfig
from genlab.diffusion.truth import in_region, in_square, num_classes, sample_region, sample_square


def swd(a: torch.Tensor, b: torch.Tensor, projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-2 distance between two point clouds of equal size.

    sqrt of the mean over random unit directions of the 1-D W2^2 between the
    sorted projections; the directions depend only on `seed`.
    """
    if a.shape != b.shape:
        raise ValueError(f"swd needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], projections, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    pa = torch.sort(a.to(torch.float64) @ dirs, dim=0).values
    pb = torch.sort(b.to(torch.float64) @ dirs, dim=0).values
    return float(((pa - pb) ** 2).mean().sqrt())


def quality(
    samples: torch.Tensor,
    truth: torch.Tensor,
    truth_again: torch.Tensor,
    inside: torch.Tensor,
    cfg: MetricsConfig,
) -> dict[str, float]:
    """in_support, swd, swd_floor and swd_ratio of samples against fresh true draws."""
    dist = swd(samples, truth, cfg.projections, cfg.seed)
    floor = swd(truth_again, truth, cfg.projections, cfg.seed)
    return {
        "in_support": float(inside.to(torch.float64).mean()),
        "swd": dist,
        "swd_floor": floor,
        "swd_ratio": dist / floor,
    }


def square_quality(samples: torch.Tensor, cfg: MetricsConfig) -> dict[str, float]:
    """Quality of unconditional samples: two fresh uniform draws of the same size as truth."""
    g = torch.Generator().manual_seed(cfg.seed)
    truth = sample_square(len(samples), g)
    truth_again = sample_square(len(samples), g)
    return quality(samples, truth, truth_again, in_square(samples), cfg)


def class_quality(
    samples: torch.Tensor, labels: torch.Tensor, layout: str, cfg: MetricsConfig
) -> dict[str, float | dict[str, float]]:
    """Quality of class-conditional samples against their classes' true distributions.

    class_accuracy: fraction inside their own class region; cond_in_support: fraction
    inside the square; swd_ratio of every class's samples against fresh draws from its
    region (as in `quality`), summarised by mean and max, and listed by class.
    """
    inside = in_region(samples, labels, layout)
    g = torch.Generator().manual_seed(cfg.seed)
    ratios = {}
    for c in range(num_classes(layout)):
        mine = labels == c
        n = int(mine.sum())
        if n < 2:
            continue
        truth, again = sample_region(c, n, layout, g), sample_region(c, n, layout, g)
        ratios[str(c)] = quality(samples[mine], truth, again, inside[mine], cfg)["swd_ratio"]
    values = list(ratios.values())
    return {
        "class_accuracy": float(inside.to(torch.float64).mean()),
        "cond_in_support": float(in_square(samples).to(torch.float64).mean()),
        "cond_swd_ratio_mean": sum(values) / len(values),
        "cond_swd_ratio_max": max(values),
        "cond_swd_ratio_by_class": ratios,
    }
