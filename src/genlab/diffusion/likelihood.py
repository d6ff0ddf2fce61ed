"""Likelihoods of a denoiser: the ELBO (docs/elbo.md) and the exact probability-flow ODE
log p (docs/ode_likelihood.md).

Both are written in u = ln sigma, so they need only eps(x, sigma) and the two ends of
the noise range. With du = (sigma'/sigma) dt:

    L_diffusion = (1 - t_min) E_t[(sigma'/sigma) ||eps - D||^2]
                = (ln sigma_max - ln sigma_min) E_{u ~ U}[||eps - D(x + sigma eps, sigma)||^2]

and the probability-flow ODE dx/dt = sigma'(t) D becomes dx/du = sigma D. For the exp
schedule u is uniform exactly when t is, so the ODE grid below is uniform in t.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from genlab.common.errors import GenlabError
from genlab.diffusion.config import LikelihoodConfig
from genlab.diffusion.model import SIGMA_DATA, Denoiser, EpsFn, eps_fn
from genlab.diffusion.samplers import sample_heun
from genlab.diffusion.schedules import Schedule, sigma_grid
from genlab.diffusion.truth import (
    edge_distance,
    log_density,
    num_classes,
    region_mass,
    region_of,
    square_edge_distance,
    square_log_density,
)

# The labels of a batch (None for an unconditional model) -> eps for a batch of that size.
EpsFor = Callable[[torch.Tensor | None], EpsFn]


@dataclass(frozen=True)
class Elbo:
    """The bound per point, in nats, with its terms and standard error."""

    elbo: torch.Tensor
    se: torch.Tensor
    prior: torch.Tensor
    diffusion: torch.Tensor
    reconstruction: torch.Tensor


def log_normal(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """log N(x; 0, sigma^2 I) per row."""
    d = x.shape[1]
    return -(x**2).sum(dim=1) / (2 * sigma**2) - 0.5 * d * math.log(2 * math.pi * sigma**2)


def rqmc_draws(
    samples: int, replicates: int, d: int, lo: float, hi: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, eps) of `replicates` independently scrambled Sobol designs in (u, eps), stacked.

    Each design has samples // replicates points: u = ln sigma spread over [lo, hi] by the
    first coordinate, eps ~ N(0, I_d) by the inverse normal CDF of the others.
    """
    per = max(1, samples // replicates)
    designs = []
    for r in range(replicates):
        engine = torch.quasirandom.SobolEngine(1 + d, scramble=True, seed=seed * 7919 + r)
        designs.append(engine.draw(per, dtype=torch.float64))
    # Sobol coordinates lie on a 2^-30 lattice and may be exactly 0: move to the cell centres.
    q = torch.cat(designs) + 2.0**-31
    return lo + (hi - lo) * q[:, 0], torch.special.ndtri(q[:, 1:])


@torch.no_grad()
def elbo(
    eps_for: EpsFor,
    x: torch.Tensor,
    labels: torch.Tensor | None,
    schedule: Schedule,
    samples: int,
    seed: int,
    replicates: int = 16,
    batch: int = 65536,
) -> Elbo:
    """-ELBO = L_prior + L_diffusion + L_reconstruction, the full VE bound (docs/elbo.md).

    L_diffusion by randomised quasi-Monte Carlo: `replicates` independently scrambled Sobol
    designs in (u, eps), shared by every point (common random numbers); the standard error
    is that of the replicates' mean. Each draw's ||eps - D||^2 carries the control variate
    c(sigma) (||eps||^2 - d), whose mean is zero: c = 1 where D is small (small sigma) and
    fades to 0 at large sigma, where eps - D is small itself.
    """
    n, d = x.shape
    lo, hi = math.log(schedule.sigma_min), math.log(schedule.sigma_max)
    u, noise = rqmc_draws(samples, replicates, d, lo, hi, seed)
    sigma = torch.exp(u)
    control = (SIGMA_DATA**2 / (SIGMA_DATA**2 + sigma**2)) ** 2
    k = len(sigma)
    per = max(1, batch // k)
    parts = []
    for start in range(0, n, per):
        xs = x[start : start + per].to(torch.float64)
        p = len(xs)
        noisy = (xs[None] + sigma[:, None, None] * noise[:, None, :]).reshape(-1, d)
        lab = None if labels is None else labels[start : start + per].repeat(k)
        pred = eps_for(lab)(noisy, sigma.repeat_interleave(p)[:, None]).to(torch.float64)
        loss = ((noise[:, None, :] - pred.reshape(k, p, d)) ** 2).sum(dim=2)
        parts.append(loss - (control * ((noise**2).sum(dim=1) - d))[:, None])
    values = (hi - lo) * torch.cat(parts, dim=1)
    replicate_means = values.reshape(replicates, k // replicates, n).mean(dim=1)
    diffusion = replicate_means.mean(dim=0)
    se = replicate_means.std(dim=0) / math.sqrt(replicates)
    prior = (x.to(torch.float64) ** 2).sum(dim=1) / (2 * schedule.sigma_max**2)
    recon = torch.full_like(prior, 0.5 * d * (math.log(2 * math.pi * schedule.sigma_min**2) + 1))
    return Elbo(-(prior + diffusion + recon), se, prior, diffusion, recon)


def _drift(eps: EpsFn, x: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """dx/du = sigma D(x, sigma) and its exact divergence (one autograd pass per dimension)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        f = sigma * eps(x, torch.tensor(sigma, dtype=torch.float64))
        div = torch.zeros(len(x), dtype=x.dtype)
        for i in range(x.shape[1]):
            (grad,) = torch.autograd.grad(f[:, i].sum(), x, retain_graph=i < x.shape[1] - 1)
            div = div + grad[:, i]
    return f.detach(), div.detach()


def ode_logp(
    eps: EpsFn,
    x: torch.Tensor,
    schedule: Schedule,
    steps: int,
    path: list[torch.Tensor] | None = None,
    prior: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact log p(x) of the probability-flow ODE: (log p, x at sigma_max).

    Fixed-step RK4 from sigma_min to sigma_max, uniform in ln sigma, carrying the
    integral of the drift's divergence along the path:
    log p(x) = log N(x_1; 0, sigma_max^2 I) + int div(sigma D) d ln sigma.
    States are appended to `path` when a list is given. `prior` replaces the model's
    log N(x_1; 0, sigma_max^2 I) (for example by the true noised density, to separate the
    flow's error from the prior's).
    """
    u = torch.linspace(
        math.log(schedule.sigma_min), math.log(schedule.sigma_max), steps + 1, dtype=torch.float64
    )
    x = x.to(torch.float64)
    delta = torch.zeros(len(x), dtype=torch.float64)
    if path is not None:
        path.append(x.clone())
    for i in range(steps):
        h = float(u[i + 1] - u[i])
        s0, s_mid, s1 = math.exp(u[i]), math.exp(u[i] + h / 2), math.exp(u[i + 1])
        k1, d1 = _drift(eps, x, s0)
        k2, d2 = _drift(eps, x + h / 2 * k1, s_mid)
        k3, d3 = _drift(eps, x + h / 2 * k2, s_mid)
        k4, d4 = _drift(eps, x + h * k3, s1)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        delta = delta + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
        if path is not None:
            path.append(x.clone())
    top = log_normal(x, schedule.sigma_max) if prior is None else prior(x)
    return top + delta, x


def round_trip(
    eps: EpsFn, x: torch.Tensor, schedule: Schedule, ode_steps: int, back_steps: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Integrate the ODE from x to sigma_max, then sample back deterministically.

    The way back is Heun on a grid uniform in t, with no final denoising step (the
    start point is a state at sigma_min). Returns (back, forward path, backward path).
    """
    forward: list[torch.Tensor] = []
    _, x1 = ode_logp(eps, x, schedule, ode_steps, path=forward)
    backward: list[torch.Tensor] = []
    sigmas = sigma_grid(schedule, back_steps, "uniform")
    back = sample_heun(eps, x1.clone(), sigmas, trajectory=backward)
    return back, torch.stack(forward), torch.stack(backward)


def table_points(
    points: Sequence[Sequence[float]], layout: str, key: str = "likelihood.points"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Locations (n, 2) and labels of the table's points; a point given as [x, y] gets its own
    region's label (`truth.region_of`). A label outside the layout is a one-line GenlabError."""
    count = num_classes(layout)
    xy = torch.tensor([list(p[:2]) for p in points], dtype=torch.float64)
    labels = region_of(xy, layout)
    for i, point in enumerate(points):
        if len(point) == 3:
            value = point[2]
            if value != int(value) or not 0 <= value < count:
                raise GenlabError(
                    f"params: {key}[{i}] = {list(point)} has label {value}; "
                    f"the {layout} layout has integer labels 0..{count - 1}"
                )
            labels[i] = int(value)
    return xy, labels


# Points at least this far from their region's edges count as interior.
INTERIOR = 0.1


COLUMNS = ["model", "x", "y", "label", "elbo", "elbo_se", "prior", "diffusion",
           "reconstruction", "logp_ode", "logp_true"]  # fmt: skip


def point_table(
    model: str,
    eps_for: EpsFor,
    xy: torch.Tensor,
    labels: torch.Tensor | None,
    schedule: Schedule,
    truth: torch.Tensor,
    samples: int,
    replicates: int,
    ode_steps: int,
    seed: int,
) -> pd.DataFrame:
    """One row per point (COLUMNS): ELBO with its terms and standard error, ODE log p, truth."""
    bound = elbo(eps_for, xy, labels, schedule, samples, seed, replicates)
    logp, _ = ode_logp(eps_for(labels), xy, schedule, ode_steps)
    label = [None] * len(xy) if labels is None else labels.tolist()
    return pd.DataFrame(
        {
            "model": model,
            "x": xy[:, 0].numpy(),
            "y": xy[:, 1].numpy(),
            "label": pd.array(label, dtype="Int64"),
            "elbo": bound.elbo.numpy(),
            "elbo_se": bound.se.numpy(),
            "prior": bound.prior.numpy(),
            "diffusion": bound.diffusion.numpy(),
            "reconstruction": bound.reconstruction.numpy(),
            "logp_ode": logp.numpy(),
            "logp_true": truth.numpy(),
        }
    )


def summary(table: pd.DataFrame, edge: np.ndarray) -> dict[str, float]:
    """Calibration of one model's table against the truth.

    Over the in-support points (and separately the interior ones, at least INTERIOR from
    their region's edges, and the rest, near an edge): mean |logp_ode - logp_true| and
    mean (logp_true - elbo); for the interior points also the worst point's |logp_ode -
    logp_true| and |logp_true - elbo| (`_max_`); elbo_margin: the lowest in-support ELBO
    minus the highest out-of-support one.
    """
    inside = np.isfinite(table["logp_true"].to_numpy())
    interior = inside & (edge >= INTERIOR)
    out = {}
    for tag, mask in (("", inside), ("interior_", interior), ("edge_", inside & ~interior)):
        if mask.any():
            rows = table[mask]
            ode_error, gap = (rows.logp_ode - rows.logp_true).abs(), rows.logp_true - rows.elbo
            out[f"{tag}logp_ode_abs_error"] = float(ode_error.mean())
            out[f"{tag}elbo_gap"] = float(gap.mean())
            if tag == "interior_":
                out[f"{tag}logp_ode_max_abs_error"] = float(ode_error.max())
                out[f"{tag}elbo_max_abs_gap"] = float(gap.abs().max())
    if inside.any() and not inside.all():
        out["elbo_margin"] = float(table.elbo[inside].min() - table.elbo[~inside].max())
    return out


def exact_eps(mass: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> EpsFn:
    """The exact denoiser of data uniform in a region: eps*(x, sigma) = -sigma grad log p_sigma(x).

    `mass(x, sigma)` is proportional to p_sigma, the region's density noised to sigma (such
    as `truth.region_mass`). Differentiable in x, so the ODE can take its divergence.
    """

    def fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            xg = x if x.requires_grad else x.detach().requires_grad_(True)
            log_mass = torch.log(mass(xg, sigma)).sum()
            (grad,) = torch.autograd.grad(log_mass, xg, create_graph=x.requires_grad)
        return -sigma * grad

    return fn


def exact_eps_for(layout: str) -> EpsFor:
    """The exact denoiser of the true data of `layout` (the square for labels None), per batch
    of labels."""

    def fn(labels: torch.Tensor | None) -> EpsFn:
        return exact_eps(lambda x, sigma: region_mass(x, labels, layout, sigma))

    return fn


@dataclass
class ModelLikelihood:
    """One model's likelihood table, the exact denoiser's table, metrics and round trip."""

    table: pd.DataFrame
    exact: pd.DataFrame
    metrics: dict[str, float]
    trip: tuple[torch.Tensor, torch.Tensor, float]  # forward path, backward path, error


def evaluate_model(
    name: str,
    model: Denoiser,
    schedule: Schedule,
    cfg: LikelihoodConfig,
    layout: str,
    points: tuple[torch.Tensor, torch.Tensor],
) -> ModelLikelihood:
    """Score an unconditional (model.num_classes == 0) or conditional model at `points`,
    the locations and labels of `cfg.points` from `table_points`.

    The unconditional model sees each location once, without a class; the conditional one
    every point with its label. The exact denoiser of the true data is scored at the
    in-support points, and `cfg.roundtrip` goes to sigma_max and back.
    """
    xy, labels = points
    rt = torch.tensor([cfg.roundtrip], dtype=torch.float64)
    if model.num_classes == 0:
        pts = torch.tensor(list(dict.fromkeys(map(tuple, xy.tolist()))), dtype=torch.float64)
        labs = rt_label = None
        truth, edge = square_log_density(pts), square_edge_distance(pts)
    else:
        pts, labs, rt_label = xy, labels, region_of(rt, layout)
        truth, edge = log_density(pts, labs, layout), edge_distance(pts, labs, layout)
    estimate = {
        "samples": cfg.elbo_samples,
        "replicates": cfg.elbo_replicates,
        "ode_steps": cfg.ode_steps,
        "seed": cfg.seed,
    }
    eps_for = partial(eps_fn, model.double(), schedule)
    table = point_table(name, eps_for, pts, labs, schedule, truth, **estimate)

    inside = torch.isfinite(truth)
    in_labels = None if labs is None else labs[inside]
    exact = point_table(
        name, exact_eps_for(layout), pts[inside], in_labels, schedule, truth[inside], **estimate
    )
    back, forward, backward = round_trip(
        eps_for(rt_label), rt, schedule, cfg.ode_steps, cfg.roundtrip_steps
    )
    error = float((back - rt).norm())
    metrics = {
        **summary(table, edge.numpy()),
        **{"exact_" + k: v for k, v in summary(exact, edge[inside].numpy()).items()},
        "roundtrip_error": error,
    }
    return ModelLikelihood(table, exact, metrics, (forward, backward, error))


def heat_map(
    model: Denoiser, schedule: Schedule, cfg: LikelihoodConfig
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """ELBO, ODE log p and true log p of an unconditional model on a grid over the plane.

    Returns the three maps (size x size, indexed [x, y]) and the mean |ODE - truth| and
    mean truth - ELBO over the map's interior nodes (at least INTERIOR inside the square).
    """
    axis = torch.linspace(-cfg.heatmap_lim, cfg.heatmap_lim, cfg.heatmap_size, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)
    eps_for = partial(eps_fn, model.double(), schedule)
    bound = elbo(
        eps_for, grid, None, schedule, cfg.heatmap_samples, cfg.seed, cfg.elbo_replicates
    ).elbo
    logp, _ = ode_logp(eps_for(None), grid, schedule, cfg.heatmap_ode_steps)
    truth = square_log_density(grid)
    interior = square_edge_distance(grid) >= INTERIOR
    metrics = {}
    if interior.any():
        metrics = {
            "map_interior_logp_ode_abs_error": float((logp - truth)[interior].abs().mean()),
            "map_interior_elbo_gap": float((truth - bound)[interior].mean()),
        }
    shape = (cfg.heatmap_size, cfg.heatmap_size)
    maps = {
        "ELBO (unconditional)": bound.reshape(shape).numpy(),
        "ODE log p (unconditional)": logp.reshape(shape).numpy(),
        "true log p": truth.reshape(shape).numpy(),
    }
    return maps, metrics
