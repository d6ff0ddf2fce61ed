"""Sample quality scored against the known truth (docs/metrics.md).

in_support: the fraction of samples inside the support; the sliced Wasserstein-2
distance to fresh true draws, its floor (between two true draws of the same size) and
their ratio, 1 being the best a finite sample can show; distance and floor are means over
`metrics.references` pairs of true draws, which makes the ratio about twice as precise as
one pair does (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import torch

from genlab.diffusion.config import MetricsConfig
from genlab.diffusion.truth import in_region, in_square, num_classes, sample_region, sample_square

# draw(n, generator) -> n fresh points of a true distribution
Draw = Callable[[int, torch.Generator], torch.Tensor]


def directions(dim: int, projections: int, seed: int) -> torch.Tensor:
    """`projections` random unit directions in `dim` dimensions, as columns; they depend only
    on `seed`."""
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(dim, projections, generator=g, dtype=torch.float64)
    return dirs / dirs.norm(dim=0, keepdim=True)


def sorted_projections(x: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """The cloud's projections on each direction, sorted: (projections, n)."""
    return torch.sort(dirs.T @ x.to(torch.float64).T, dim=1).values


def _distance(pa: torch.Tensor, pb: torch.Tensor) -> float:
    """swd from two clouds' sorted projections."""
    return float(((pa - pb) ** 2).mean().sqrt())


def swd(a: torch.Tensor, b: torch.Tensor, projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-2 distance between two point clouds of equal size.

    sqrt of the mean over random unit directions of the 1-D W2^2 between the
    sorted projections; the directions depend only on `seed`.
    """
    if a.shape != b.shape:
        raise ValueError(f"swd needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    dirs = directions(a.shape[1], projections, seed)
    return _distance(sorted_projections(a, dirs), sorted_projections(b, dirs))


@dataclass(frozen=True, eq=False)
class Reference:
    """`metrics.references` pairs of fresh true draws of n points: the first draw of every
    pair as sorted projections (references, projections, n), and swd_floor, the mean swd
    between the two draws of a pair."""

    dirs: torch.Tensor
    truth: torch.Tensor
    floor: float


def reference(draw: Draw, n: int, cfg: MetricsConfig, generator: torch.Generator) -> Reference:
    """The reference pairs of one true distribution, drawn in turn from `generator`."""
    if cfg.references < 1:
        raise ValueError(f"metrics.references must be at least 1, got {cfg.references}")
    pairs = [(draw(n, generator), draw(n, generator)) for _ in range(cfg.references)]
    dirs = directions(pairs[0][0].shape[1], cfg.projections, cfg.seed)
    truth = [sorted_projections(first, dirs) for first, _ in pairs]
    floors = [
        _distance(sorted_projections(again, dirs), first)
        for first, (_, again) in zip(truth, pairs, strict=True)
    ]
    return Reference(dirs, torch.stack(truth), sum(floors) / len(floors))


def quality(samples: torch.Tensor, ref: Reference, inside: torch.Tensor) -> dict[str, float]:
    """in_support, and swd (the mean over the reference draws), swd_floor and swd_ratio of
    samples against `ref`."""
    if samples.shape != (ref.truth.shape[-1], ref.dirs.shape[0]):
        raise ValueError(
            f"samples of shape {tuple(samples.shape)} against reference draws of "
            f"{ref.truth.shape[-1]} points in {ref.dirs.shape[0]} dimensions"
        )
    mine = sorted_projections(samples, ref.dirs)
    dist = sum(_distance(mine, truth) for truth in ref.truth) / len(ref.truth)
    return {
        "in_support": float(inside.to(torch.float64).mean()),
        "swd": dist,
        "swd_floor": ref.floor,
        "swd_ratio": dist / ref.floor,
    }


@lru_cache(maxsize=1)
def _square_reference(n: int, cfg: MetricsConfig) -> Reference:
    """The square's reference pairs of n points: the same for every call with these
    settings (a quality table scores many clouds against them)."""
    return reference(sample_square, n, cfg, torch.Generator().manual_seed(cfg.seed))


def square_quality(samples: torch.Tensor, cfg: MetricsConfig) -> dict[str, float]:
    """Quality of unconditional samples against `cfg.references` pairs of fresh uniform draws
    of the same size."""
    return quality(samples, _square_reference(len(samples), cfg), in_square(samples))


def class_quality(
    samples: torch.Tensor, labels: torch.Tensor, layout: str, cfg: MetricsConfig
) -> dict[str, float | dict[str, float]]:
    """Quality of class-conditional samples against their classes' true distributions.

    class_accuracy: fraction inside their own class region; cond_in_support: fraction
    inside the square; swd_ratio of every class's samples against reference pairs drawn
    from its region (as in `quality`), summarised by mean and max, and listed by class.
    """
    inside = in_region(samples, labels, layout)
    g = torch.Generator().manual_seed(cfg.seed)
    ratios = {}
    for c in range(num_classes(layout)):
        mine = labels == c
        n = int(mine.sum())
        if n < 2:
            continue
        ref = reference(lambda k, gen, c=c: sample_region(c, k, layout, gen), n, cfg, g)
        ratios[str(c)] = quality(samples[mine], ref, inside[mine])["swd_ratio"]
    values = list(ratios.values())
    return {
        "class_accuracy": float(inside.to(torch.float64).mean()),
        "cond_in_support": float(in_square(samples).to(torch.float64).mean()),
        "cond_swd_ratio_mean": sum(values) / len(values),
        "cond_swd_ratio_max": max(values),
        "cond_swd_ratio_by_class": ratios,
    }
