"""Sample-quality measures scored against the known true distribution (DESIGN.md section 6)."""

from __future__ import annotations

import math

import torch


def in_square(x: torch.Tensor) -> torch.Tensor:
    """Boolean mask of the points inside the closed square [-1, 1]^2."""
    return (x.abs() <= 1.0).all(dim=1)


def square_log_density(x: torch.Tensor) -> torch.Tensor:
    """True log p(x) of the square: -ln 4 inside (boundary included), -inf outside."""
    inside = torch.tensor(-math.log(4.0), dtype=torch.float64)
    return torch.where(in_square(x), inside, -math.inf)


def square_edge_distance(x: torch.Tensor) -> torch.Tensor:
    """Distance from each point to the square's boundary (0 outside the square)."""
    dist = (1.0 - x.to(torch.float64).abs()).amin(dim=1)
    return torch.where(in_square(x), dist, torch.zeros_like(dist))


def sample_square(n: int, generator: torch.Generator) -> torch.Tensor:
    """n points uniform in [-1, 1]^2."""
    return 2.0 * torch.rand(n, 2, generator=generator, dtype=torch.float64) - 1.0


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
    projections: int,
    seed: int,
) -> dict[str, float]:
    """in_support, swd, swd_floor and swd_ratio of samples against fresh true draws."""
    dist = swd(samples, truth, projections, seed)
    floor = swd(truth_again, truth, projections, seed)
    return {
        "in_support": float(inside.to(torch.float64).mean()),
        "swd": dist,
        "swd_floor": floor,
        "swd_ratio": dist / floor,
    }


def square_quality(samples: torch.Tensor, projections: int, seed: int) -> dict[str, float]:
    """Quality of unconditional samples: two fresh uniform draws of the same size as truth."""
    g = torch.Generator().manual_seed(seed)
    truth = sample_square(len(samples), g)
    truth_again = sample_square(len(samples), g)
    return quality(samples, truth, truth_again, in_square(samples), projections, seed)
