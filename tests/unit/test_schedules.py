"""Schedules against finite differences and their inverses; the forward process's marginals."""

from __future__ import annotations

import pytest
import torch

from genlab.diffusion.config import DenoiserConfig
from genlab.diffusion.experiments import forward_paths
from genlab.diffusion.model import noise_schedule
from genlab.diffusion.schedules import GRIDS, SCHEDULES, Schedule, sigma_grid

SIGMA_MIN = 0.006737947


@pytest.mark.parametrize("sigma_max", [1.0, 5.0])
@pytest.mark.parametrize("name", SCHEDULES)
def test_derivative_matches_finite_difference(name, sigma_max):
    sched = Schedule(name, SIGMA_MIN, sigma_max)
    t = torch.linspace(max(sched.t_min, 0.05), 0.99, 50, dtype=torch.float64)
    h = 1e-6
    numeric = (sched.sigma(t + h) - sched.sigma(t - h)) / (2 * h)
    torch.testing.assert_close(sched.dsigma(t), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("sigma_max", [1.0, 5.0])
@pytest.mark.parametrize("name", SCHEDULES)
def test_ends_and_inverse(name, sigma_max):
    sched = Schedule(name, SIGMA_MIN, sigma_max)
    assert float(sched.sigma(torch.tensor(1.0, dtype=torch.float64))) == pytest.approx(sigma_max)
    assert float(sched.sigma(torch.tensor(sched.t_min, dtype=torch.float64))) == pytest.approx(
        SIGMA_MIN
    )
    t = torch.linspace(sched.t_min, 1.0, 30, dtype=torch.float64)
    torch.testing.assert_close(sched.t_of_sigma(sched.sigma(t)), t)


def test_exp_schedule_starts_at_t_zero():
    assert Schedule("exp", SIGMA_MIN).t_min == pytest.approx(0.0, abs=1e-7)
    assert Schedule("exp", SIGMA_MIN, 5.0).t_min == pytest.approx(0.0, abs=1e-7)


def test_exp_schedule_is_design_formula_at_sigma_max_one():
    # docs/schedules.md: exp(5 (t - 1)), sigma' = 5 sigma, when sigma_min = e^-5 and sigma_max = 1.
    sched = Schedule("exp", SIGMA_MIN)
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    torch.testing.assert_close(sched.sigma(t), torch.exp(5.0 * (t - 1.0)), rtol=1e-7, atol=0)
    torch.testing.assert_close(sched.dsigma(t), 5.0 * sched.sigma(t), rtol=1e-7, atol=0)


def test_denoiser_config_gives_its_schedule():
    cfg = DenoiserConfig(schedule="linear", sigma_min=0.01, sigma_max=5.0)
    assert noise_schedule(cfg) == Schedule("linear", 0.01, 5.0)


def test_schedule_needs_sigma_min_below_sigma_max():
    with pytest.raises(ValueError, match="sigma_min"):
        Schedule("exp", 2.0, 1.0)


@pytest.mark.parametrize("sigma_max", [1.0, 5.0])
@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("grid", GRIDS)
def test_grids_decrease_from_sigma_max_to_sigma_min(name, grid, sigma_max):
    sched = Schedule(name, SIGMA_MIN, sigma_max)
    sig = sigma_grid(sched, 17, grid)
    assert len(sig) == 18
    assert float(sig[0]) == sigma_max and float(sig[-1]) == pytest.approx(SIGMA_MIN)
    assert bool((sig[1:] < sig[:-1]).all())


def test_uniform_grid_is_uniform_in_t():
    sched = Schedule("exp", SIGMA_MIN)
    t = sched.t_of_sigma(sigma_grid(sched, 10, "uniform"))
    torch.testing.assert_close(torch.diff(t), torch.full((10,), -0.1, dtype=torch.float64))


@pytest.mark.parametrize("name", ["exp", "linear"])
def test_forward_process_marginal(name):
    sched = Schedule(name, SIGMA_MIN)
    x0 = (1.5, -0.5)
    t, paths = forward_paths(x0, sched, steps=20, n=20000, seed=0)
    for k in (0, 10, 20):
        sigma = float(sched.sigma(t[k]))
        mean, std = paths[k].mean(0), paths[k].std(0)
        tol = 4 * sigma / 20000**0.5
        torch.testing.assert_close(mean, torch.tensor(x0, dtype=torch.float64), atol=tol, rtol=0)
        torch.testing.assert_close(
            std, torch.full((2,), sigma, dtype=torch.float64), rtol=0.03, atol=0
        )
