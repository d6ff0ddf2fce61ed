"""The truth: class layouts with known points in known regions (edges included), true
densities, region sampling, the labelled data."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_one_line

from genlab.common.errors import GenlabError
from genlab.diffusion.config import MetricsConfig
from genlab.diffusion.data import make_classes, read_classes
from genlab.diffusion.quality import class_quality
from genlab.diffusion.truth import (
    edge_distance,
    in_region,
    log_density,
    num_classes,
    region_areas,
    region_of,
    sample_region,
)

THIRD = 1.0 / 3.0

# (x, y, class). Grid: class = 3 * column + row; a point on a cut belongs to the upper side.
GRID_POINTS = [
    (-0.9, -0.9, 0), (-0.9, 0.0, 1), (-0.9, 0.9, 2),
    (0.0, -0.9, 3), (0.0, 0.0, 4), (0.0, 0.9, 5),
    (0.9, -0.9, 6), (0.9, 0.0, 7), (0.9, 0.9, 8),
    (-THIRD, 0.0, 4), (THIRD, 0.0, 7), (0.0, -THIRD, 4), (0.0, THIRD, 5),
    (THIRD, THIRD, 8), (-THIRD, -THIRD, 4), (-THIRD - 1e-9, 0.0, 1),
    (-1.0, -1.0, 0), (1.0, 1.0, 8), (-1.0, 1.0, 2), (1.0, -1.0, 6),
]  # fmt: skip

# Rings by r = max(|x|, |y|); a point on an edge belongs to the outer ring.
RING_POINTS = [
    (0.0, 0.0, 0), (0.19, -0.19, 0), (0.2, 0.0, 1), (0.1, -0.2, 1), (0.3, 0.39, 1),
    (0.0, 0.4, 2), (-0.6, 0.5, 3), (0.79, 0.0, 3), (0.8, 0.0, 4), (-1.0, -1.0, 4), (0.5, 1.0, 4),
]  # fmt: skip


@pytest.mark.parametrize(("layout", "points"), [("grid", GRID_POINTS), ("rings", RING_POINTS)])
def test_known_points_fall_in_known_regions(layout, points):
    xy = torch.tensor([p[:2] for p in points], dtype=torch.float64)
    expected = torch.tensor([p[2] for p in points])
    assert region_of(xy, layout).tolist() == expected.tolist()
    assert bool(in_region(xy, expected, layout).all())
    assert not bool(in_region(xy, (expected + 1) % num_classes(layout), layout).any())


@pytest.mark.parametrize("layout", ["grid", "rings"])
def test_outside_the_square_is_in_no_region(layout):
    xy = torch.tensor([[1.05, 0.0], [0.0, -1.0001], [4.0, 5.5]], dtype=torch.float64)
    labels = region_of(xy, layout)
    assert not bool(in_region(xy, labels, layout).any())
    assert bool(torch.isinf(log_density(xy, labels, layout)).all())


def test_true_densities():
    assert num_classes("grid") == 9 and num_classes("rings") == 5
    torch.testing.assert_close(region_areas("rings").sum(), torch.tensor(4.0, dtype=torch.float64))
    torch.testing.assert_close(
        region_areas("rings"), torch.tensor([0.16, 0.48, 0.8, 1.12, 1.44], dtype=torch.float64)
    )
    xy = torch.tensor([[0.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
    grid = log_density(xy, torch.tensor([4, 8]), "grid")
    torch.testing.assert_close(grid, torch.full((2,), math.log(9 / 4), dtype=torch.float64))
    rings = log_density(xy, torch.tensor([0, 2]), "rings")
    expected = torch.tensor([-math.log(0.16), -math.log(0.8)], dtype=torch.float64)
    torch.testing.assert_close(rings, expected)
    assert float(log_density(xy[:1], torch.tensor([0]), "grid")) == -math.inf


def test_edge_distance():
    xy = torch.tensor([[0.0, 0.0], [0.3, 0.3], [0.9, 0.0], [2.0, 0.0]], dtype=torch.float64)
    dist = edge_distance(xy, torch.tensor([4, 4, 7, 7]), "grid")
    torch.testing.assert_close(
        dist, torch.tensor([THIRD, THIRD - 0.3, 0.1, 0.0], dtype=torch.float64)
    )
    xy = torch.tensor([[0.0, 0.0], [0.3, 0.0], [0.35, 0.35], [0.9, 0.0]], dtype=torch.float64)
    dist = edge_distance(xy, torch.tensor([0, 1, 1, 4]), "rings")
    torch.testing.assert_close(dist, torch.tensor([0.2, 0.1, 0.05, 0.1], dtype=torch.float64))


@pytest.mark.parametrize("layout", ["grid", "rings"])
def test_region_samples_and_perfect_quality(layout):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(num_classes(layout)).repeat_interleave(300)
    pts = torch.cat([sample_region(c, 300, layout, g) for c in range(num_classes(layout))])
    assert bool((region_of(pts, layout) == labels).all())
    q = class_quality(pts, labels, layout, MetricsConfig(projections=64, seed=1))
    assert q["class_accuracy"] == 1.0 and q["cond_in_support"] == 1.0
    assert set(q["cond_swd_ratio_by_class"]) == {str(c) for c in range(num_classes(layout))}
    assert q["cond_swd_ratio_mean"] < 2.5


@pytest.mark.parametrize("layout", ["grid", "rings"])
def test_labelled_data_match_their_stored_coordinates(layout):
    frame = make_classes(500, 0, layout)
    xy = torch.tensor(frame[["x", "y"]].to_numpy())
    assert frame["label"].tolist() == region_of(xy, layout).tolist()


def test_labels_outside_the_layout_are_a_one_line_error(tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text("x,y,label\n0.1,0.2,4\n0.5,0.5,8\n")
    xy, labels = read_classes(path, "grid")
    assert xy.dtype == torch.float64 and labels.tolist() == [4, 8]
    with pytest.raises(GenlabError) as info:
        read_classes(path, "rings")
    assert_one_line(str(info.value), str(path), "label 8", "rings", "0..4")
