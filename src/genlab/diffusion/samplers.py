"""Samplers for the variance-exploding probability-flow ODE and its SDE (docs/samplers.md).

Every sampler shares one signature, sample_X(eps, x, sigmas, *, generator,
trajectory, **options): `eps(x, sigma)` predicts the noise, `x` is the start noise
at sigmas[0], `sigmas` the decreasing grid, and the keyword options are the
sampler's own (eta for stochastic, the churn settings for edm). States after every
step are appended to `trajectory` when a list is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from genlab.diffusion.config import SamplerConfig
from genlab.diffusion.model import EpsFn
from genlab.diffusion.schedules import Schedule, sigma_grid

Trajectory = list[torch.Tensor] | None


def _record(trajectory: Trajectory, x: torch.Tensor) -> None:
    if trajectory is not None:
        trajectory.append(x.detach().clone())


@torch.no_grad()
def sample_euler(
    eps: EpsFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    trajectory: Trajectory = None,
) -> torch.Tensor:
    """Euler steps of the probability-flow ODE dx/dsigma = eps (DDIM)."""
    _record(trajectory, x)
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i].to(x.dtype), sigmas[i + 1].to(x.dtype)
        x = x + (s_next - s) * eps(x, s)
        _record(trajectory, x)
    return x


@torch.no_grad()
def sample_stochastic(
    eps: EpsFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    trajectory: Trajectory = None,
    eta: float = 1.0,
) -> torch.Tensor:
    """Ancestral sampling with churn eta in [0, 1] (eta = 0 is DDIM, eta = 1 is DDPM-like)."""
    _record(trajectory, x)
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i].to(x.dtype), sigmas[i + 1].to(x.dtype)
        d = eps(x, s)
        x0_hat = x - s * d
        sigma_up = eta * torch.sqrt(s_next**2 * (s**2 - s_next**2) / s**2)
        sigma_down = torch.sqrt(torch.clamp(s_next**2 - sigma_up**2, min=0.0))
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x = x0_hat + sigma_down * d + sigma_up * z
        _record(trajectory, x)
    return x


@torch.no_grad()
def sample_heun(
    eps: EpsFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    trajectory: Trajectory = None,
) -> torch.Tensor:
    """Heun's second-order method (Karras et al. 2022, Algorithm 1); Euler on the last step."""
    _record(trajectory, x)
    n = len(sigmas) - 1
    for i in range(n):
        s, s_next = sigmas[i].to(x.dtype), sigmas[i + 1].to(x.dtype)
        d = eps(x, s)
        x_euler = x + (s_next - s) * d
        if i < n - 1:
            d_next = eps(x_euler, s_next)
            x = x + (s_next - s) * 0.5 * (d + d_next)
        else:
            x = x_euler
        _record(trajectory, x)
    return x


@torch.no_grad()
def sample_dpmpp_2m(
    eps: EpsFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    trajectory: Trajectory = None,
) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022): multistep, second order in ln sigma, one call a step."""
    _record(trajectory, x)
    previous: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i].to(x.dtype), sigmas[i + 1].to(x.dtype)
        denoised = x - s * eps(x, s)
        h = torch.log(s / s_next)
        if previous is None:
            guess = denoised
        else:
            r = torch.log(sigmas[i - 1].to(x.dtype) / s) / h
            guess = (1 + 1 / (2 * r)) * denoised - previous / (2 * r)
        x = (s_next / s) * x + (1 - s_next / s) * guess
        previous = denoised
        _record(trajectory, x)
    return x


@torch.no_grad()
def sample_edm(
    eps: EpsFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    trajectory: Trajectory = None,
    s_churn: float = 0.0,
    s_tmin: float = 0.0,
    s_tmax: float = float("inf"),
    s_noise: float = 1.0,
) -> torch.Tensor:
    """EDM's stochastic sampler (Karras et al. 2022, Algorithm 2): churn, then a Heun step.

    Where s_tmin <= sigma_i <= s_tmax the state is first noised up to
    sigma_hat = sigma_i (1 + gamma), gamma = min(s_churn / N, sqrt(2) - 1), with noise
    scaled by s_noise; s_churn = 0 is Heun. Euler on the last step, as `sample_heun`.
    """
    _record(trajectory, x)
    n = len(sigmas) - 1
    gamma_max = min(s_churn / n, math.sqrt(2.0) - 1.0)
    for i in range(n):
        s, s_next = sigmas[i].to(x.dtype), sigmas[i + 1].to(x.dtype)
        if gamma_max > 0 and s_tmin <= float(s) <= s_tmax:
            s_hat = s * (1 + gamma_max)
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x = x + torch.sqrt(s_hat**2 - s**2) * s_noise * z
            s = s_hat
        d = eps(x, s)
        x_euler = x + (s_next - s) * d
        if i < n - 1:
            x = x + (s_next - s) * 0.5 * (d + eps(x_euler, s_next))
        else:
            x = x_euler
        _record(trajectory, x)
    return x


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    "euler": sample_euler,
    "stochastic": sample_stochastic,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
    "edm": sample_edm,
}

# Samplers that call eps twice a step (but once on the last).
SECOND_CALL = ("heun", "edm")


def options(spec: SamplerConfig) -> dict[str, float]:
    """The keyword options of `spec`'s sampler."""
    if spec.kind == "stochastic":
        return {"eta": spec.eta}
    if spec.kind == "edm":
        return {
            "s_churn": spec.s_churn,
            "s_tmin": spec.s_tmin,
            "s_tmax": spec.s_tmax,
            "s_noise": spec.s_noise,
        }
    return {}


def is_deterministic(spec: SamplerConfig) -> bool:
    """Whether `spec` draws no noise after the start (the same start gives the same sample)."""
    if spec.kind == "stochastic":
        return spec.eta == 0.0
    if spec.kind == "edm":
        return spec.s_churn == 0.0
    return True


def nfe(kind: str, steps: int, denoise_final: bool) -> int:
    """Denoiser calls of one sampling run: N for one-call samplers, 2N - 1 for Heun and EDM
    (+1 for the final denoising step)."""
    calls = 2 * steps - 1 if kind in SECOND_CALL else steps
    return calls + int(denoise_final)


def steps_for_nfe(kind: str, target: int, denoise_final: bool) -> int:
    """The largest step count whose NFE does not exceed `target` (at least one step)."""
    budget = target - int(denoise_final)
    steps = (budget + 1) // 2 if kind in SECOND_CALL else budget
    return max(1, steps)


def start_noise(
    n: int, schedule: Schedule, generator: torch.Generator, dim: int = 2
) -> torch.Tensor:
    """x ~ N(0, sigma_max^2 I), the prior the samplers start from."""
    return schedule.sigma_max * torch.randn(n, dim, generator=generator)


@torch.no_grad()
def run_sampler(
    eps: EpsFn,
    x: torch.Tensor,
    schedule: Schedule,
    spec: SamplerConfig,
    *,
    generator: torch.Generator | None = None,
    trajectory: Trajectory = None,
) -> torch.Tensor:
    """Walk the grid of `spec` from x with its sampler, then optionally denoise once."""
    sigmas = sigma_grid(schedule, spec.steps, spec.grid, spec.rho)
    x = SAMPLERS[spec.kind](
        eps, x, sigmas, generator=generator, trajectory=trajectory, **options(spec)
    )
    if spec.denoise_final:
        s_min = sigmas[-1].to(x.dtype)
        x = x - s_min * eps(x, s_min)
        _record(trajectory, x)
    return x


class CountingEps:
    """Wraps an eps function and counts its calls (the NFE actually spent)."""

    def __init__(self, eps: EpsFn) -> None:
        self.eps, self.calls = eps, 0

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.eps(x, sigma)
