"""The DDPM variance-preserving process as a scaled variance-exploding one, and Ho et al.'s
ancestral sampler (docs/images.md).

DDPM (Ho et al. 2020) noises x_k = sqrt(abar_k) x0 + sqrt(1 - abar_k) eps for k = 1..T.
Divided by sqrt(abar_k) this is the VE state x0 + sigma_k eps with
sigma_k = sqrt((1 - abar_k) / abar_k), so a VP model is a VE model whose input is scaled by
sqrt(abar) = 1 / sqrt(1 + sigma^2). `VPSchedule` acts as a `diffusion.schedules.Schedule` for
the library: sigma(t) at t = k / T, interpolated linearly in ln sigma between steps, so the
VE denoising loss, `eps_fn` and the VE samplers run on it unchanged.

Every sampler, including `sample_ddpm`, takes and returns VE states; in VE coordinates the
DDPM step with the posterior variance is exactly the ancestral (`stochastic`, eta = 1)
step on the DDPM levels (a test checks it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from genlab.images.config import ImgDiffusionConfig

if TYPE_CHECKING:  # types only: the training stage need not depend on the samplers
    from genlab.diffusion.model import EpsFn
    from genlab.diffusion.samplers import Trajectory

COSINE_OFFSET = 0.008  # s of Nichol & Dhariwal (2021)
MAX_BETA = 0.999  # their clip, which keeps abar_T > 0


def linear_betas(start: float, end: float, steps: int) -> torch.Tensor:
    """Ho et al.'s beta_k = start + (end - start) (k - 1) / (T - 1), k = 1..T, in float64."""
    return torch.linspace(start, end, steps, dtype=torch.float64)


def cosine_alpha_bar(t: torch.Tensor, s: float = COSINE_OFFSET) -> torch.Tensor:
    """Nichol & Dhariwal's abar(t) = f(t) / f(0), f(t) = cos^2(pi/2 (t + s) / (1 + s))."""
    f = torch.cos(0.5 * math.pi * (t + s) / (1.0 + s)) ** 2
    return f / math.cos(0.5 * math.pi * s / (1.0 + s)) ** 2


def cosine_betas(steps: int) -> torch.Tensor:
    """beta_k = 1 - abar(k/T) / abar((k-1)/T), clipped at MAX_BETA."""
    k = torch.arange(steps + 1, dtype=torch.float64) / steps
    abar = cosine_alpha_bar(k)
    return torch.clamp(1.0 - abar[1:] / abar[:-1], max=MAX_BETA)


def betas_of(cfg: ImgDiffusionConfig) -> torch.Tensor:
    if cfg.beta_schedule == "cosine":
        return cosine_betas(cfg.timesteps)
    return linear_betas(cfg.beta_start, cfg.beta_end, cfg.timesteps)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """np.interp for increasing xp, clamped at the ends."""
    x = x.to(torch.float64).clamp(float(xp[0]), float(xp[-1]))
    i = torch.searchsorted(xp, x.contiguous()).clamp(1, len(xp) - 1)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    w = (x - x0) / (x1 - x0)
    return f0 + w * (f1 - f0)


class VPSchedule:
    """DDPM's discrete noise levels as a VE schedule: sigma(k / T) = sigma_k.

    `betas` (float64, length T) defines abar_k = prod_{i <= k} (1 - beta_i); sigma_min and
    sigma_max are sigma_1 and sigma_T, t_min = 1 / T. It has the attributes of
    `diffusion.schedules.Schedule` that the loss, `eps_fn` and the samplers use.
    """

    name = "vp"

    def __init__(self, betas: torch.Tensor) -> None:
        betas = torch.as_tensor(betas, dtype=torch.float64)
        if betas.ndim != 1 or len(betas) < 2 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must be a vector of at least 2 values in (0, 1)")
        self.betas = betas
        self._log_sigmas = torch.log(self.sigmas)
        self.sigma_min, self.sigma_max = float(self.sigmas[0]), float(self.sigmas[-1])

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    @property
    def alpha_bar(self) -> torch.Tensor:
        """abar_k for k = 1..T."""
        return torch.cumprod(1.0 - self.betas, dim=0)

    @property
    def sigmas(self) -> torch.Tensor:
        """sigma_k = sqrt((1 - abar_k) / abar_k) for k = 1..T, increasing."""
        abar = self.alpha_bar
        return torch.sqrt((1.0 - abar) / abar)

    @property
    def times(self) -> torch.Tensor:
        return torch.arange(1, self.timesteps + 1, dtype=torch.float64) / self.timesteps

    @property
    def t_min(self) -> float:
        return 1.0 / self.timesteps

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t)
        out = torch.exp(_interp(t, self.times, self._log_sigmas))
        return out.to(t.dtype) if t.is_floating_point() else out

    def dsigma(self, t: torch.Tensor) -> torch.Tensor:
        """d sigma / dt of the piecewise log-linear interpolation (right-hand slope)."""
        t = torch.as_tensor(t, dtype=torch.float64)
        i = torch.searchsorted(self.times, t.contiguous(), right=True).clamp(1, self.timesteps - 1)
        logs = self._log_sigmas
        slope = (logs[i] - logs[i - 1]) / (self.times[i] - self.times[i - 1])
        return slope * self.sigma(t)

    def t_of_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=torch.float64)
        return _interp(torch.log(sigma), self._log_sigmas, self.times)


def vp_schedule(cfg: ImgDiffusionConfig) -> VPSchedule:
    return VPSchedule(betas_of(cfg))


def ddpm_levels(schedule: VPSchedule, steps: int) -> torch.Tensor:
    """The steps + 1 step indices T = k_0 > ... > k_steps = 0 of a strided DDPM sampler."""
    k = torch.linspace(schedule.timesteps, 0, steps + 1, dtype=torch.float64).round().long()
    return torch.unique_consecutive(k)


@torch.no_grad()
def sample_ddpm(
    eps: EpsFn,
    x: torch.Tensor,
    schedule: VPSchedule,
    steps: int,
    *,
    generator: torch.Generator | None = None,
    trajectory: Trajectory = None,
) -> torch.Tensor:
    """Ho et al.'s Algorithm 2 on `steps` strided levels, in VP coordinates.

    `x` is the start noise at sigma_max in VE coordinates, as for every sampler here; each
    step k -> j (j < k) sets alpha = abar_k / abar_j, beta = 1 - alpha and draws
    x_j = (x_k - beta / sqrt(1 - abar_k) eps) / sqrt(alpha) + sqrt(beta~) z with the
    posterior variance beta~ = (1 - abar_j) / (1 - abar_k) beta; the last step, to abar_0 = 1,
    adds no noise. Returns (and records) VE states x_vp / sqrt(abar), one NFE per step.
    """
    abar_all = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bar])
    levels = ddpm_levels(schedule, steps)
    x = x * math.sqrt(abar_all[levels[0]])  # VE -> VP: x_vp = sqrt(abar) x_ve
    if trajectory is not None:
        trajectory.append((x / math.sqrt(abar_all[levels[0]])).clone())
    for k, j in zip(levels[:-1].tolist(), levels[1:].tolist(), strict=True):
        ab_k, ab_j = float(abar_all[k]), float(abar_all[j])
        sigma_k = math.sqrt((1.0 - ab_k) / ab_k)
        e = eps(x / math.sqrt(ab_k), torch.tensor(sigma_k, dtype=torch.float64))
        alpha = ab_k / ab_j
        beta = 1.0 - alpha
        x = (x - beta / math.sqrt(1.0 - ab_k) * e) / math.sqrt(alpha)
        if j > 0:
            var = (1.0 - ab_j) / (1.0 - ab_k) * beta
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x = x + math.sqrt(var) * z
        if trajectory is not None:
            trajectory.append((x / math.sqrt(ab_j)).clone())
    return x / math.sqrt(float(abar_all[levels[-1]]))
