"""Drawing digits with the library's samplers or DDPM's, unconditionally or with
classifier-free guidance (docs/images.md).

Every sampler takes the eps function of the 2-D library, eps(x, sigma) on flattened images
in VE coordinates, so Euler, Heun and the stochastic sampler of `diffusion.samplers` run
on images unchanged; `ddpm` is Ho et al.'s ancestral sampler (`images.vp`).
"""

from __future__ import annotations

import torch

from genlab.diffusion.config import SamplerConfig
from genlab.diffusion.model import EpsFn, eps_fn
from genlab.diffusion.samplers import Trajectory, nfe, run_sampler
from genlab.diffusion.schedules import Schedule, sigma_grid
from genlab.images.config import ImgSamplerConfig
from genlab.images.unet import ImageDenoiser
from genlab.images.vp import VPSchedule, ddpm_levels, sample_ddpm


def guided_eps(
    model: ImageDenoiser,
    schedule: Schedule | VPSchedule,
    labels: torch.Tensor | None,
    guidance: float,
) -> EpsFn:
    """eps_u + w (eps_c - eps_u) with w = `guidance` (Ho & Salimans 2022).

    w = 1 is the plain conditional model, w = 0 the unconditional one; otherwise both are
    evaluated in one batch. Without labels (or with an unconditional model): eps_u.
    """
    if labels is None or not model.num_classes:
        return eps_fn(model, schedule, None)
    if guidance == 1.0:
        return eps_fn(model, schedule, labels)
    null = torch.full_like(labels, model.num_classes)
    both = eps_fn(model, schedule, torch.cat([labels, null]))
    if guidance == 0.0:
        return eps_fn(model, schedule, null)

    def fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        cond, uncond = both(torch.cat([x, x]), sigma).chunk(2)
        return uncond + guidance * (cond - uncond)

    return fn


def calls_per_image(kind: str, steps: int, denoise_final: bool) -> int:
    """NFE of one run: the 2-D samplers' count, DDPM one per step (its last step is clean)."""
    return steps if kind == "ddpm" else nfe(kind, steps, denoise_final)


def steps_for_budget(kind: str, budget: int, denoise_final: bool) -> int:
    """The largest step count whose NFE is at most `budget` (at least 1)."""
    if kind == "ddpm":
        return max(1, budget)
    extra = int(denoise_final)
    steps = (budget - extra + 1) // 2 if kind == "heun" else budget - extra
    return max(1, steps)


def trajectory_sigmas(schedule: Schedule | VPSchedule, spec: ImgSamplerConfig) -> torch.Tensor:
    """The noise level of every state a run of `spec` records: its grid, then 0 after a
    final denoising step (DDPM's last level is 0)."""
    if spec.kind == "ddpm":
        abar = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bar])
        return torch.sqrt((1.0 - abar) / abar)[ddpm_levels(schedule, spec.steps)]
    sigmas = sigma_grid(schedule, spec.steps, spec.grid, spec.rho)
    return torch.cat([sigmas, torch.zeros(int(spec.denoise_final), dtype=torch.float64)])


def run_images(
    eps: EpsFn,
    x: torch.Tensor,
    schedule: Schedule | VPSchedule,
    spec: ImgSamplerConfig,
    generator: torch.Generator,
    trajectory: Trajectory = None,
) -> torch.Tensor:
    """One sampler run from start noise x (VE, at sigma_max) of the kind and steps of `spec`."""
    if spec.kind == "ddpm":
        if not isinstance(schedule, VPSchedule):
            raise ValueError("the ddpm sampler needs a VP (DDPM) model")
        return sample_ddpm(eps, x, schedule, spec.steps, generator=generator, trajectory=trajectory)
    ve = SamplerConfig(
        kind=spec.kind,
        steps=spec.steps,
        grid=spec.grid,
        rho=spec.rho,
        eta=spec.eta,
        denoise_final=spec.denoise_final,
    )
    return run_sampler(eps, x, schedule, ve, generator=generator, trajectory=trajectory)


@torch.no_grad()
def generate(
    model: ImageDenoiser,
    schedule: Schedule | VPSchedule,
    spec: ImgSamplerConfig,
    n: int,
    seed: int,
    labels: torch.Tensor | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """n flattened images (N, 784) on the CPU, drawn `spec.batch` at a time.

    One generator seeded with `seed` draws every start noise and every step's noise, batch
    after batch, so the same seed and batch size give the same images.
    """
    device = device or torch.device("cpu")
    model = model.to(device, memory_format=torch.channels_last)  # faster convolutions on CPU
    gen = torch.Generator(device=device).manual_seed(seed)
    out = []
    for lo in range(0, n, spec.batch):
        size = min(spec.batch, n - lo)
        x = schedule.sigma_max * torch.randn(size, model.dim, generator=gen, device=device)
        y = labels[lo : lo + size].to(device) if labels is not None else None
        eps = guided_eps(model, schedule, y, spec.guidance)
        out.append(run_images(eps, x, schedule, spec, gen).cpu())
    return torch.cat(out)
