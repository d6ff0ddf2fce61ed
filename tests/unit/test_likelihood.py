"""Likelihood estimators against closed forms: Gaussian data with its ideal denoiser, the square."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from genlab.common.errors import GenlabError
from genlab.config import parse_config
from genlab.diffusion.config import LikelihoodConfig
from genlab.diffusion.likelihood import (
    elbo,
    exact_eps,
    exact_eps_for,
    log_normal,
    ode_logp,
    point_table,
    round_trip,
    summary,
    table_points,
)
from genlab.diffusion.model import ideal_gaussian_eps
from genlab.diffusion.schedules import Schedule
from genlab.diffusion.truth import log_density, region_mass, square_log_density

S = 0.5
SIGMA_MIN = 0.006737947
POINTS = torch.tensor(
    [[0.0, 0.0], [0.3, -0.2], [1.0, 1.0], [-1.5, 0.4], [4.0, 5.5]], dtype=torch.float64
)


def closed_form_elbo(x: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """-(L_prior + L_diffusion + L_reconstruction) with the ideal denoiser, integrated exactly.

    With u = sigma^2 and a = s^2, the integrand of docs/elbo.md over d sigma / sigma has the
    antiderivative (d/2)(ln u - ln(a + u) + a/(a + u)) - ||x||^2 / (2 (a + u)).
    """
    d, a = x.shape[1], S**2
    smin, smax = schedule.sigma_min, schedule.sigma_max
    r2 = (x**2).sum(dim=1)

    def antiderivative(u: float) -> torch.Tensor:
        return d / 2 * (math.log(u) - math.log(a + u) + a / (a + u)) - r2 / (2 * (a + u))

    diffusion = antiderivative(smax**2) - antiderivative(smin**2)
    prior = r2 / (2 * smax**2)
    reconstruction = d / 2 * (math.log(2 * math.pi * smin**2) + 1)
    return -(prior + diffusion + reconstruction)


def closed_form_ode_logp(x: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """With D* the flow is linear: x_t = x sqrt((s^2 + sigma_t^2) / (s^2 + sigma_min^2)).

    So x_1 = c x with c = sqrt((s^2 + sigma_max^2) / (s^2 + sigma_min^2)), the log-det of
    the flow is d ln c, and log p(x) = log N(c x; 0, sigma_max^2 I) + d ln c exactly.
    """
    c = math.sqrt((S**2 + schedule.sigma_max**2) / (S**2 + schedule.sigma_min**2))
    return log_normal(c * x, schedule.sigma_max) + x.shape[1] * math.log(c)


def ideal(labels: torch.Tensor | None):
    return ideal_gaussian_eps(S)


@pytest.mark.parametrize("sigma_max", [1.0, 5.0])
@pytest.mark.parametrize("name", ["exp", "linear"])
def test_elbo_matches_closed_form_within_three_standard_errors(name, sigma_max):
    schedule = Schedule(name, SIGMA_MIN, sigma_max)
    bound = elbo(ideal, POINTS, None, schedule, samples=16384, seed=0)
    expected = closed_form_elbo(POINTS, schedule)
    assert bool((bound.se > 0).all())
    z = (bound.elbo - expected) / bound.se
    assert bool((z.abs() < 3).all()), (bound.elbo, expected, bound.se)
    torch.testing.assert_close(bound.elbo, -(bound.prior + bound.diffusion + bound.reconstruction))


def test_elbo_uses_common_random_numbers():
    schedule = Schedule("exp", SIGMA_MIN)
    both = elbo(ideal, POINTS[:2], None, schedule, samples=1024, seed=3)
    alone = elbo(ideal, POINTS[1:2], None, schedule, samples=1024, seed=3)
    torch.testing.assert_close(both.elbo[1:], alone.elbo)


@pytest.mark.parametrize("sigma_max", [1.0, 5.0])
@pytest.mark.parametrize("name", ["exp", "linear"])
def test_ode_logp_matches_closed_form(name, sigma_max):
    schedule = Schedule(name, SIGMA_MIN, sigma_max)
    logp, x1 = ode_logp(ideal_gaussian_eps(S), POINTS, schedule, steps=100)
    expected = closed_form_ode_logp(POINTS, schedule)
    assert float((logp - expected).abs().max()) < 1e-3
    c = math.sqrt((S**2 + sigma_max**2) / (S**2 + SIGMA_MIN**2))
    torch.testing.assert_close(x1, c * POINTS, rtol=1e-5, atol=1e-6)


def _square_cdf(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """CDF of U(-1, 1) + sigma z in one dimension: (sigma / 2) [psi((x+1)/sigma) - psi((x-1)/sigma)]
    with psi(a) = a Phi(a) + phi(a), the antiderivative of Phi."""

    def psi(a: torch.Tensor) -> torch.Tensor:
        return a * torch.special.ndtr(a) + torch.exp(-(a**2) / 2) / math.sqrt(2 * math.pi)

    return sigma / 2 * (psi((x + 1) / sigma) - psi((x - 1) / sigma))


def _square_pdf(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return (torch.special.ndtr((1 - x) / sigma) - torch.special.ndtr((-1 - x) / sigma)) / 2


@pytest.mark.parametrize("sigma_max", [1.0, 5.0])
def test_ode_logp_of_the_exact_square_denoiser_matches_its_quantile_map(sigma_max):
    # Uniform square data: the noised density is a product over coordinates, so the
    # probability-flow map is T(x)_d = F_1^-1(F_sigma_min(x_d)) and
    # log p_ode(x) = sum_d log N(T_d; 0, sigma_max^2) + log p_sigma_min(x_d) - log p_1(T_d).
    schedule = Schedule("exp", SIGMA_MIN, sigma_max)
    x = torch.tensor([[0.0, 0.0], [0.3, -0.5], [0.9, 0.9], [-0.97, 0.2]], dtype=torch.float64)
    eps = exact_eps(lambda y, sigma: region_mass(y, None, "grid", sigma))
    logp, x1 = ode_logp(eps, x, schedule, steps=200)
    target = _square_cdf(x, SIGMA_MIN)
    lo, hi = torch.full_like(x, -10.0 * sigma_max), torch.full_like(x, 10.0 * sigma_max)
    for _ in range(100):  # bisection for F_1(T) = F_sigma_min(x)
        mid = (lo + hi) / 2
        below = _square_cdf(mid, sigma_max) < target
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    t = (lo + hi) / 2
    per_dim = (
        -(t**2) / (2 * sigma_max**2) - 0.5 * math.log(2 * math.pi * sigma_max**2)
        + torch.log(_square_pdf(x, SIGMA_MIN)) - torch.log(_square_pdf(t, sigma_max))
    )  # fmt: skip
    torch.testing.assert_close(x1, t, atol=1e-4, rtol=0)
    assert float((logp - per_dim.sum(dim=1)).abs().max()) < 1e-3


def test_ode_round_trip_returns_its_point():
    schedule = Schedule("exp", SIGMA_MIN)
    back, forward, backward = round_trip(
        ideal_gaussian_eps(S), POINTS, schedule, ode_steps=100, back_steps=500
    )
    assert float((back - POINTS).norm(dim=1).max()) < 1e-4
    assert forward.shape == (101, len(POINTS), 2) and backward.shape == (501, len(POINTS), 2)
    torch.testing.assert_close(backward[0], forward[-1])


def test_table_points_give_own_class_or_the_label():
    xy, labels = table_points([[0.0, 0.0], [0.0, 0.0, 0], [1.05, 0.0], [4.0, 5.5]], "grid")
    assert labels.tolist() == [4, 0, 7, 8]
    assert xy.shape == (4, 2)
    _, labels = table_points([[0.0, 0.0], [0.5, 0.1, 4]], "rings")
    assert labels.tolist() == [0, 4]


@pytest.mark.parametrize(
    ("points", "layout", "must_mention"),
    [
        ([[0.0, 0.0, 9]], "grid", ["likelihood.points[0]", "9", "0..8"]),
        ([[0.0, 0.0], [0.1, 0.1, -1]], "grid", ["likelihood.points[1]", "-1"]),
        ([[0.0, 0.0, 1.5]], "grid", ["likelihood.points[0]", "1.5", "integer"]),
        ([[0.0, 0.0, 5]], "rings", ["likelihood.points[0]", "rings", "0..4"]),
    ],
)
def test_bad_labels_give_one_line_error(points, layout, must_mention):
    with pytest.raises(GenlabError) as info:
        table_points(points, layout)
    message = str(info.value)
    assert "\n" not in message
    for text in must_mention:
        assert text in message, (text, message)


@pytest.mark.parametrize(
    ("points", "must_mention"),
    [
        ([[1.0]], ["likelihood.points[0]", "[x, y]"]),
        ([[0.0, 0.0], [1.0, 2.0, 3.0, 4.0]], ["likelihood.points[1]", "[x, y, label]"]),
        ([[0.0, "a"]], ["likelihood.points[0][1]", "'a'", "number"]),
        ([5], ["likelihood.points[0]", "list"]),
    ],
)
def test_bad_points_give_one_line_error(points, must_mention):
    with pytest.raises(GenlabError) as info:
        parse_config({"likelihood": {"points": points}})
    message = str(info.value)
    assert "\n" not in message
    for text in must_mention:
        assert text in message, (text, message)


def test_elbo_of_the_exact_square_denoiser_is_the_true_density():
    # Same code path and estimator sizes as the likelihood stage: for the exact denoiser
    # and sigma_max = 5 the bound is tight, so it must land on -ln 4 within its accuracy.
    cfg = LikelihoodConfig()
    schedule = Schedule("exp", SIGMA_MIN, 5.0)
    xy = torch.tensor([[0.0, 0.0], [0.9, 0.9]], dtype=torch.float64)
    table = point_table(
        "exact", exact_eps_for("grid"), xy, None, schedule, square_log_density(xy),
        cfg.elbo_samples, cfg.elbo_replicates, 50, cfg.seed,
    )  # fmt: skip
    error = (table.elbo - table.logp_true).abs().to_numpy()
    assert error[0] < 0.02 and error[1] < 0.05, table
    assert (table.elbo_se < 0.01).all(), table.elbo_se


@pytest.mark.parametrize("layout", ["grid", "rings"])
def test_exact_denoiser_elbo_stays_below_its_ode_logp(layout):
    # The bound holds for the model whose ODE and SDE agree: the exact denoiser with the
    # true noised density on top. (With the N(0, sigma_max^2) prior the two models differ,
    # and near the square's corners the ODE's log p falls below the ELBO.)
    cfg = LikelihoodConfig()
    schedule = Schedule("exp", SIGMA_MIN, 5.0)
    xy, labels = table_points([p for p in cfg.points if len(p) == 2][:5], layout)
    truth = log_density(xy, labels, layout)
    inside = torch.isfinite(truth)
    xy, labels, truth = xy[inside], labels[inside], truth[inside]
    bound = elbo(exact_eps_for(layout), xy, labels, schedule, cfg.elbo_samples, cfg.seed, 16)
    area = torch.exp(-truth)

    def top(x1: torch.Tensor) -> torch.Tensor:
        return torch.log(region_mass(x1, labels, layout, schedule.sigma_max) / area)

    logp, _ = ode_logp(exact_eps_for(layout)(labels), xy, schedule, 100, prior=top)
    torch.testing.assert_close(logp, truth, atol=2e-3, rtol=0)
    assert bool((bound.elbo <= logp + 2 * bound.se).all()), (bound.elbo, bound.se, logp)
    assert bool((bound.se <= 0.01).all()), bound.se


def test_rqmc_elbo_error_bar_is_honest():
    # Independent seeds scatter as the reported standard error says (within a factor 2).
    schedule = Schedule("exp", SIGMA_MIN, 5.0)
    x = torch.tensor([[0.95, 0.95]], dtype=torch.float64)
    runs = [elbo(exact_eps_for("grid"), x, None, schedule, 4096, seed, 16) for seed in range(12)]
    values = torch.cat([r.elbo for r in runs])
    reported = torch.cat([r.se for r in runs]).mean()
    assert 0.5 < float(values.std() / reported) < 2.0, (values, reported)


def test_summary_gives_the_interior_mean_and_worst_point():
    # Two interior points (errors +0.05 and -0.2), one near an edge, one outside the square.
    table = pd.DataFrame(
        {
            "logp_true": [-1.0, -1.0, -1.0, -math.inf],
            "logp_ode": [-0.95, -1.2, -3.0, -9.0],
            "elbo": [-1.1, -0.7, -2.0, -9.0],
        }
    )
    out = summary(table, np.array([0.5, 0.3, 0.01, 0.0]))
    assert out["interior_logp_ode_abs_error"] == pytest.approx(0.125)
    assert out["interior_logp_ode_max_abs_error"] == pytest.approx(0.2)
    assert out["interior_elbo_gap"] == pytest.approx((0.1 - 0.3) / 2)
    assert out["interior_elbo_max_abs_gap"] == pytest.approx(0.3)
    assert out["edge_logp_ode_abs_error"] == pytest.approx(2.0)
    assert out["logp_ode_abs_error"] == pytest.approx((0.05 + 0.2 + 2.0) / 3)
    assert out["elbo_margin"] == pytest.approx(-2.0 - -9.0)
