"""The known truth the diffusion models are scored against (docs/data.md).

The square: points uniform in [-1, 1]^2, log p = -ln 4 inside (boundary included).
Its class layouts: `grid`: a 3 x 3 grid with cuts at -1/3 and 1/3 on each axis,
class = 3 * column + row (column from x, row from y). `rings`: 5 concentric square
rings by r = max(|x|, |y|) with edges 0.2, 0.4, 0.6, 0.8, 1.0.

Edge rule: a point on a cut between two regions belongs to the region on the side
of the larger value (the cell to its right or above; the outer ring), and the
square's own boundary belongs to the square. In code the region index along an
axis is the number of inner cuts <= the coordinate. A point outside the square
gets the region of its nearest point of the square (`region_of`), but it is in no
region (`in_region` is false).
"""

from __future__ import annotations

import math
from typing import get_args

import torch

from genlab.diffusion.config import Layout

LAYOUTS: tuple[str, ...] = get_args(Layout)
GRID_CUTS = (-1.0 / 3.0, 1.0 / 3.0)
RING_EDGES = (0.2, 0.4, 0.6, 0.8, 1.0)


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


def _is_grid(layout: str) -> bool:
    """True for grid, False for rings (the config admits no other layout)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    return layout == "grid"


def num_classes(layout: str) -> int:
    """9 cells of the grid or 5 rings."""
    return (len(GRID_CUTS) + 1) ** 2 if _is_grid(layout) else len(RING_EDGES)


def _count_cuts(values: torch.Tensor, cuts: tuple[float, ...]) -> torch.Tensor:
    """How many cuts are <= each value (so a value on a cut goes to the upper side)."""
    return torch.bucketize(values.contiguous(), torch.tensor(cuts, dtype=values.dtype), right=True)


def region_of(x: torch.Tensor, layout: str) -> torch.Tensor:
    """The label of the region holding each point (of its nearest square point if outside)."""
    x = x.to(torch.float64)
    if _is_grid(layout):
        column, row = _count_cuts(x[:, 0], GRID_CUTS), _count_cuts(x[:, 1], GRID_CUTS)
        return (len(GRID_CUTS) + 1) * column + row
    return _count_cuts(x.abs().amax(dim=1), RING_EDGES[:-1])


def in_region(x: torch.Tensor, labels: torch.Tensor, layout: str) -> torch.Tensor:
    """Boolean mask: the point lies in the closed square and in the region of its label."""
    return in_square(x) & (region_of(x, layout) == labels.to(torch.int64))


def region_areas(layout: str) -> torch.Tensor:
    """Area of every region, indexed by label (they sum to 4, the square's area)."""
    if _is_grid(layout):
        return torch.full((num_classes(layout),), 4.0 / num_classes(layout), dtype=torch.float64)
    half = torch.tensor((0.0, *RING_EDGES), dtype=torch.float64)
    return torch.diff((2.0 * half) ** 2)


def log_density(x: torch.Tensor, labels: torch.Tensor, layout: str) -> torch.Tensor:
    """True log p(x | c): -ln(area of region c) inside it, -inf elsewhere."""
    inside = -torch.log(region_areas(layout))[labels.to(torch.int64)]
    return torch.where(in_region(x, labels, layout), inside, -math.inf)


def _cell_bounds(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower and upper corners (n, 2) of the grid cells of `labels`."""
    bounds = torch.tensor((-1.0, *GRID_CUTS, 1.0), dtype=torch.float64)
    k = len(GRID_CUTS) + 1
    axes = torch.stack([labels // k, labels % k], dim=1)
    return bounds[axes], bounds[axes + 1]


def edge_distance(x: torch.Tensor, labels: torch.Tensor, layout: str) -> torch.Tensor:
    """Euclidean distance from each point to the boundary of its label's region (0 outside it)."""
    x = x.to(torch.float64)
    labels = labels.to(torch.int64)
    if _is_grid(layout):
        lo, hi = _cell_bounds(labels)
        dist = torch.minimum(x - lo, hi - x).amin(dim=1)
    else:
        half = torch.tensor((0.0, *RING_EDGES), dtype=torch.float64)
        inner, outer = half[labels], half[labels + 1]
        to_outer = outer - x.abs().amax(dim=1)
        to_inner = (x.abs() - inner[:, None]).clamp(min=0.0).norm(dim=1)
        dist = torch.where(labels > 0, torch.minimum(to_outer, to_inner), to_outer)
    return torch.where(in_region(x, labels, layout), dist, torch.zeros_like(dist))


def sample_region(label: int, n: int, layout: str, generator: torch.Generator) -> torch.Tensor:
    """n points uniform in the region of `label` (rejection from the square)."""
    chunks, have = [], 0
    while have < n:
        pts = sample_square(4 * n, generator)
        keep = pts[region_of(pts, layout) == label]
        chunks.append(keep)
        have += len(keep)
    return torch.cat(chunks)[:n]


def boundaries(layout: str) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Line segments (start, end) of the inner boundaries between regions, for drawing."""
    if _is_grid(layout):
        segs = []
        for c in GRID_CUTS:
            segs += [((c, -1.0), (c, 1.0)), ((-1.0, c), (1.0, c))]
        return segs
    segs = []
    for r in RING_EDGES[:-1]:
        corners = [(-r, -r), (r, -r), (r, r), (-r, r), (-r, -r)]
        segs += list(zip(corners[:-1], corners[1:], strict=True))
    return segs


def box_mass(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, sigma) -> torch.Tensor:
    """P(x + sigma z in the box [lo, hi]), z ~ N(0, I): the box's indicator smoothed by noise.

    Each factor Phi(u) - Phi(v) is taken from the tail that keeps its precision.
    """
    u, v = (hi - x) / sigma, (lo - x) / sigma
    ndtr = torch.special.ndtr
    return torch.where(v > 0, ndtr(-v) - ndtr(-u), ndtr(u) - ndtr(v)).prod(dim=-1)


def region_mass(x: torch.Tensor, labels: torch.Tensor | None, layout: str, sigma) -> torch.Tensor:
    """The region's indicator smoothed by N(0, sigma^2 I) at x, proportional to the density of
    its data noised to sigma. labels None: the whole square (the unconditional data)."""
    x = x.to(torch.float64)
    ones = torch.ones_like(x)
    if labels is None:
        return box_mass(x, -ones, ones, sigma)
    labels = labels.to(torch.int64)
    if _is_grid(layout):
        return box_mass(x, *_cell_bounds(labels), sigma)
    half = torch.tensor((0.0, *RING_EDGES), dtype=torch.float64)
    outer, inner = half[labels + 1][:, None] * ones, half[labels][:, None] * ones
    return box_mass(x, -outer, outer, sigma) - box_mass(x, -inner, inner, sigma)
