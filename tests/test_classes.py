"""Class layouts: known points in known regions (edges included), densities, class sampling."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.classes import (
    class_quality,
    edge_distance,
    in_region,
    log_density,
    num_classes,
    region_areas,
    region_of,
    sample_region,
)
from genlab.config import SamplerConfig
from genlab.data import make_classes
from genlab.denoiser import Denoiser, NetConfig, eps_fn
from genlab.errors import GenlabError
from genlab.samplers import SAMPLERS, run_sampler, start_noise
from genlab.schedules import Schedule
from genlab.training import load_denoiser, save_denoiser, train_denoiser

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
    q = class_quality(pts, labels, layout, projections=64, seed=1)
    assert q["class_accuracy"] == 1.0 and q["cond_in_support"] == 1.0
    assert set(q["cond_swd_ratio_by_class"]) == {str(c) for c in range(num_classes(layout))}
    assert q["cond_swd_ratio_mean"] < 2.5


@pytest.mark.parametrize("layout", ["grid", "rings"])
def test_labelled_data_match_their_stored_coordinates(layout):
    frame = make_classes(500, 0, layout)
    xy = torch.tensor(frame[["x", "y"]].to_numpy())
    assert frame["label"].tolist() == region_of(xy, layout).tolist()


def _conditional_net() -> Denoiser:
    torch.manual_seed(0)
    return Denoiser(NetConfig(width=16, depth=2, num_classes=3, class_dim=2)).double()


@pytest.mark.parametrize("kind", list(SAMPLERS))
@pytest.mark.parametrize("steps", [1, 4])
def test_every_sampler_works_with_a_class(kind, steps):
    sched = Schedule("exp", 0.006737947)
    net = _conditional_net()
    x = start_noise(6, sched, torch.Generator().manual_seed(0)).double()
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    cfg = SamplerConfig(kind=kind, steps=steps, eta=0.0 if kind == "stochastic" else 1.0)
    mixed = run_sampler(eps_fn(net, sched, labels), x, sched, cfg)
    assert mixed.shape == (6, 2) and bool(torch.isfinite(mixed).all())
    # Each row follows its own class: the rows of one class sampled alone agree,
    # and other classes give other samples.
    for c in range(3):
        rows = labels == c
        alone = run_sampler(eps_fn(net, sched, labels[rows]), x[rows], sched, cfg)
        torch.testing.assert_close(alone, mixed[rows])
    other = run_sampler(eps_fn(net, sched, (labels + 1) % 3), x, sched, cfg)
    assert not torch.allclose(other, mixed)


def test_conditional_training_and_checkpoint_classes(tmp_path):
    sched = Schedule("exp", 0.006737947)
    x0 = torch.rand(64, 2) * 2 - 1
    labels = region_of(x0, "grid")
    net = NetConfig(width=8, depth=1, num_classes=9, class_dim=3)
    model, losses = train_denoiser(
        x0, net, sched, epochs=5, lr=1e-3, seed=0, device=torch.device("cpu"), labels=labels
    )
    assert len(losses) == 5
    save_denoiser(tmp_path / "c.pt", model, sched)
    loaded, _ = load_denoiser(tmp_path / "c.pt", num_classes=9)
    assert loaded.cfg.class_dim == 3
    with pytest.raises(GenlabError, match="trained for 9 classes, expected 5"):
        load_denoiser(tmp_path / "c.pt", num_classes=5)
