"""Sample quality: the sliced Wasserstein distance against closed forms, and its ratio
averaged over reference pairs (docs/metrics.md)."""

from __future__ import annotations

import statistics

import pytest
import torch

from genlab.diffusion.config import MetricsConfig
from genlab.diffusion.quality import directions, quality, reference, square_quality, swd
from genlab.diffusion.truth import sample_square


def test_swd_of_a_shifted_cloud_is_the_rms_projected_shift():
    # Every projection moves by <theta, v>, and sorting keeps the points paired.
    a = sample_square(500, torch.Generator().manual_seed(0))
    v = torch.tensor([0.3, -0.1], dtype=torch.float64)
    expected = float(((directions(2, 64, 7).T @ v) ** 2).mean().sqrt())
    assert abs(swd(a, a + v, projections=64, seed=7) - expected) < 1e-12
    assert swd(a, a.flip(0), projections=64, seed=7) < 1e-12  # order does not matter


def test_one_reference_pair_is_the_plain_ratio():
    cfg = MetricsConfig(projections=64, references=1, seed=3)
    x = 0.9 * sample_square(400, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(cfg.seed)
    truth, again = sample_square(400, g), sample_square(400, g)
    q = square_quality(x, cfg)
    assert abs(q["swd"] - swd(x, truth, 64, 3)) < 1e-12
    assert abs(q["swd_floor"] - swd(again, truth, 64, 3)) < 1e-12
    assert q["swd_ratio"] == q["swd"] / q["swd_floor"] and q["in_support"] == 1.0


def test_more_reference_pairs_make_a_perfect_sampler_read_one_whatever_the_seed():
    # True draws scored as samples. With one pair every ratio shares that pair's floor, so
    # the mean ratio moves with metrics.seed; with 16 pairs it stays near 1 at every seed.
    # A shrunk cloud reads far above 1 either way.
    clouds = [sample_square(300, torch.Generator().manual_seed(100 + i)) for i in range(24)]
    means = {}
    for k in (1, 16):
        means[k] = []
        for seed in (1, 2, 3):
            cfg = MetricsConfig(projections=32, references=k, seed=seed)
            means[k].append(statistics.mean(square_quality(x, cfg)["swd_ratio"] for x in clouds))
            assert square_quality(0.8 * clouds[0], cfg)["swd_ratio"] > 1.5
    assert all(abs(m - 1.0) < 0.1 for m in means[16])
    assert max(means[16]) - min(means[16]) < 0.5 * (max(means[1]) - min(means[1]))


def test_a_cloud_of_another_size_than_the_reference_is_refused():
    cfg = MetricsConfig(projections=8, references=2, seed=0)
    ref = reference(sample_square, 50, cfg, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="50 points in 2 dimensions"):
        quality(torch.zeros(1, 2), ref, torch.ones(1, dtype=torch.bool))
