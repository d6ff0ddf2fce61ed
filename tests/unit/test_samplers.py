"""Samplers against the ideal denoiser of Gaussian data N(0, s^2 I) (docs/samplers.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from genlab.diffusion.config import DenoiserConfig, SamplerConfig
from genlab.diffusion.experiments import repeat_from
from genlab.diffusion.model import Denoiser, eps_fn, ideal_gaussian_eps
from genlab.diffusion.samplers import (
    SAMPLERS,
    CountingEps,
    is_deterministic,
    nfe,
    options,
    run_sampler,
    sample_edm,
    sample_euler,
    sample_heun,
    start_noise,
    steps_for_nfe,
)
from genlab.diffusion.schedules import Schedule, sigma_grid

S = 0.5
SIGMA_MIN = 0.006737947
N = 20000


def _start(n: int = N, seed: int = 0) -> torch.Tensor:
    # The true marginal at sigma_max = 1 of N(0, s^2 I) data is N(0, (s^2 + 1) I).
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g, dtype=torch.float64) * (S**2 + 1.0) ** 0.5


@pytest.mark.parametrize("kind", list(SAMPLERS))
@pytest.mark.parametrize("grid", ["uniform", "karras"])
def test_sampler_returns_data_variance(kind, grid):
    sched = Schedule("exp", SIGMA_MIN)
    sigmas = sigma_grid(sched, 200, grid)
    g = torch.Generator().manual_seed(1)
    opts = options(SamplerConfig(kind=kind, eta=1.0, s_churn=10.0))
    x = SAMPLERS[kind](ideal_gaussian_eps(S), _start(), sigmas, generator=g, **opts)
    var = x.var(0)
    # A walk that stops at sigma_min leaves that much noise: variance s^2 + sigma_min^2.
    expected = S**2 + SIGMA_MIN**2
    assert torch.allclose(var, torch.full_like(var, expected), rtol=0.05), var
    assert x.mean(0).abs().max() < 4 * S / N**0.5 + 1e-3


def test_final_denoise_removes_sigma_min_noise():
    sched = Schedule("exp", SIGMA_MIN)
    eps = ideal_gaussian_eps(S)
    x_end = sample_heun(eps, _start(), sigma_grid(sched, 100, "karras"))
    cfg = SamplerConfig(kind="heun", steps=100, grid="karras", denoise_final=True)
    x_final = run_sampler(eps, _start(), sched, cfg)
    # E[x0 | x] = x s^2 / (s^2 + sigma_min^2): the final step shrinks exactly by that factor.
    torch.testing.assert_close(x_final, x_end * S**2 / (S**2 + SIGMA_MIN**2))


@pytest.mark.parametrize("steps", [5, 10, 20])
def test_heun_beats_euler_at_equal_steps(steps):
    sched = Schedule("exp", SIGMA_MIN)
    eps = ideal_gaussian_eps(S)
    x = _start(2000)
    reference = sample_heun(eps, x, sigma_grid(sched, 2000, "karras"))
    grid = sigma_grid(sched, steps, "karras")
    err_euler = (sample_euler(eps, x, grid) - reference).norm(dim=1).mean()
    err_heun = (sample_heun(eps, x, grid) - reference).norm(dim=1).mean()
    assert err_heun < err_euler


def _errors_against_reference(kind: str, counts: list[int]) -> list[float]:
    sched = Schedule("exp", SIGMA_MIN)
    eps = ideal_gaussian_eps(S)
    x = _start(2000)
    reference = sample_heun(eps, x, sigma_grid(sched, 2000, "karras"))
    return [
        float(
            (SAMPLERS[kind](eps, x, sigma_grid(sched, n, "karras")) - reference).norm(dim=1).mean()
        )
        for n in counts
    ]


@pytest.mark.parametrize(("kind", "order"), [("euler", 1), ("heun", 2), ("dpmpp_2m", 2)])
def test_deterministic_samplers_converge_at_their_order(kind, order):
    # Doubling the steps divides the error by 2^order (the first DPM-Solver++ step is
    # first order, so it needs a few steps before the ratio settles).
    errors = _errors_against_reference(kind, [10, 20, 40])
    ratios = [a / b for a, b in zip(errors[:-1], errors[1:], strict=True)]
    assert all(0.8 * 2**order < r < 1.25 * 2**order for r in ratios), (errors, ratios)


def test_edm_without_churn_is_heun_and_churn_adds_noise_only_in_its_window():
    sched = Schedule("exp", SIGMA_MIN)
    eps = ideal_gaussian_eps(S)
    x = _start(16)
    grid = sigma_grid(sched, 12, "karras")
    heun = sample_heun(eps, x, grid)
    torch.testing.assert_close(sample_edm(eps, x, grid, s_churn=0.0), heun)
    # A window above sigma_max churns nothing; a window over the grid does.
    g = torch.Generator().manual_seed(0)
    outside = sample_edm(eps, x, grid, generator=g, s_churn=10.0, s_tmin=2.0, s_tmax=3.0)
    torch.testing.assert_close(outside, heun)
    inside = sample_edm(eps, x, grid, generator=g, s_churn=10.0, s_tmin=0.0, s_tmax=1.0)
    assert not torch.allclose(inside, heun)
    assert not is_deterministic(SamplerConfig(kind="edm", s_churn=10.0))
    assert is_deterministic(SamplerConfig(kind="edm", s_churn=0.0))


def test_edm_churn_sampler_converges_in_distribution():
    # A stochastic sampler converges weakly: the variance of its samples approaches the
    # data's s^2 + sigma_min^2 as the steps grow (noise of 10^5 samples is about 0.5 %).
    sched = Schedule("exp", SIGMA_MIN)
    start = torch.randn(100_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    start = start * (S**2 + 1.0) ** 0.5
    errors = []
    for n in (10, 20, 40, 80):
        g = torch.Generator().manual_seed(1)
        y = sample_edm(ideal_gaussian_eps(S), start, sigma_grid(sched, n, "karras"), generator=g,
                       s_churn=10.0)  # fmt: skip
        errors.append(abs(float(y.var(0).mean()) / (S**2 + SIGMA_MIN**2) - 1))
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.015, errors


def test_deterministic_samplers_ignore_the_generator_and_stochastic_uses_it():
    sched = Schedule("exp", SIGMA_MIN)
    eps = ideal_gaussian_eps(S)
    x = _start(8)
    grid = sigma_grid(sched, 10, "uniform")
    for kind in ("euler", "heun", "dpmpp_2m"):
        a = SAMPLERS[kind](eps, x, grid, generator=torch.Generator().manual_seed(0))
        b = SAMPLERS[kind](eps, x, grid, generator=torch.Generator().manual_seed(1))
        assert torch.equal(a, b)
    a = SAMPLERS["stochastic"](eps, x, grid, generator=torch.Generator().manual_seed(0), eta=1.0)
    b = SAMPLERS["stochastic"](eps, x, grid, generator=torch.Generator().manual_seed(1), eta=1.0)
    assert not torch.equal(a, b)
    # eta = 0 turns the ancestral sampler into DDIM, i.e. Euler.
    c = SAMPLERS["stochastic"](eps, x, grid, generator=torch.Generator().manual_seed(0), eta=0.0)
    torch.testing.assert_close(c, sample_euler(eps, x, grid))


@pytest.mark.parametrize("kind", list(SAMPLERS))
@pytest.mark.parametrize("steps", [1, 2, 7])
@pytest.mark.parametrize("final", [True, False])
def test_nfe_counts_match_actual_calls(kind, steps, final):
    sched = Schedule("exp", SIGMA_MIN)
    counter = CountingEps(ideal_gaussian_eps(S))
    cfg = replace(SamplerConfig(), kind=kind, steps=steps, denoise_final=final)
    run_sampler(counter, _start(4), sched, cfg, generator=torch.Generator().manual_seed(0))
    assert counter.calls == nfe(kind, steps, final)
    assert nfe(kind, steps_for_nfe(kind, nfe(kind, steps, final), final), final) == counter.calls


def test_trajectory_records_every_step():
    sched = Schedule("exp", SIGMA_MIN)
    path: list[torch.Tensor] = []
    sample_heun(ideal_gaussian_eps(S), _start(3), sigma_grid(sched, 6, "uniform"), trajectory=path)
    assert len(path) == 7 and path[0].shape == (3, 2)


def test_repeated_runs_from_one_start_noise():
    sched = Schedule("exp", SIGMA_MIN)
    start = _start(1)
    heun = SamplerConfig(kind="heun", steps=50)
    det, _ = repeat_from(ideal_gaussian_eps(S), sched, heun, start, 5, 0)
    assert torch.equal(det, det[:1].expand(5, 2))
    cfg = SamplerConfig(kind="stochastic", steps=50, eta=1.0)
    sto, paths = repeat_from(ideal_gaussian_eps(S), sched, cfg, start, 5, 0)
    assert len(torch.unique(sto[:, 0])) == 5
    assert paths.shape == (cfg.steps + 2, 5, 2)


def _conditional_net() -> Denoiser:
    torch.manual_seed(0)
    cfg = replace(DenoiserConfig(), width=16, depth=2, scale_input=False)
    return Denoiser(cfg, num_classes=3, class_dim=2).double()


@pytest.mark.parametrize("kind", list(SAMPLERS))
@pytest.mark.parametrize("steps", [1, 4])
def test_every_sampler_works_with_a_class(kind, steps):
    sched = Schedule("exp", SIGMA_MIN)
    net = _conditional_net()
    x = start_noise(6, sched, torch.Generator().manual_seed(0)).double()
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    cfg = SamplerConfig(kind=kind, steps=steps, eta=0.0, s_churn=0.0)
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
