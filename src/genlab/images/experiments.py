"""What the image figures and the quality table show, computed apart from the drawing:
the forward process on a digit, the schedules, the noise embedding, samples per sampler and
step count, the reverse process, and the Frechet distance against NFE (docs/images.md)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from genlab.diffusion.schedules import Schedule
from genlab.images.config import ImgDiffusionConfig, ImgSamplerConfig
from genlab.images.data import to_pixels
from genlab.images.fid import Scorer
from genlab.images.sampling import (
    calls_per_image,
    generate,
    guided_eps,
    run_images,
    steps_for_budget,
    trajectory_sigmas,
)
from genlab.images.unet import ImageDenoiser, noise_input, sinusoidal_embedding
from genlab.images.vp import VPSchedule, cosine_betas, linear_betas


def forward_states(
    x0: torch.Tensor, schedule: Schedule | VPSchedule, count: int, seed: int
) -> tuple[np.ndarray, list[float], list[float]]:
    """One digit at `count` noise levels, t uniform from t_min to 1, with one noise draw.

    Each state is shown as x / sqrt(1 + sigma^2) = sqrt(abar) x0 + sqrt(1 - abar) eps, the
    DDPM state (and a VE state on the same scale). Returns uint8 images, sigmas, sqrt(abar).
    """
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    t = torch.linspace(schedule.t_min, 1.0, count, dtype=torch.float64)
    sigmas = schedule.sigma(t)
    scale = 1.0 / torch.sqrt(1.0 + sigmas**2)
    states = (x0.double()[None] + sigmas[:, None] * eps.double()[None]) * scale[:, None]
    return to_pixels(states), sigmas.tolist(), scale.tolist()


def schedule_curves(cfg: ImgDiffusionConfig) -> dict[str, dict[str, np.ndarray]]:
    """beta, alpha-bar and sigma of DDPM's linear and cosine schedules (T of `cfg`), and the
    alpha-bar = 1 / (1 + sigma^2) of the VE schedule of `cfg`."""
    curves = {}
    for name, betas in (
        ("vp linear", linear_betas(cfg.beta_start, cfg.beta_end, cfg.timesteps)),
        ("vp cosine", cosine_betas(cfg.timesteps)),
    ):
        v = VPSchedule(betas)
        curves[name] = {
            "t": v.times.numpy(),
            "beta": betas.numpy(),
            "alpha_bar": v.alpha_bar.numpy(),
            "sigma": v.sigmas.numpy(),
        }
    ve = Schedule(cfg.schedule, cfg.sigma_min, cfg.sigma_max)
    t = torch.linspace(ve.t_min, 1.0, 200, dtype=torch.float64)
    sigma = ve.sigma(t)
    curves[f"ve {cfg.schedule}"] = {
        "t": t.numpy(),
        "alpha_bar": (1.0 / (1.0 + sigma**2)).numpy(),
        "sigma": sigma.numpy(),
    }
    return curves


def embedding_matrix(
    dim: int, schedule: Schedule | VPSchedule, rows: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """The sinusoidal embedding at `rows` noise levels from sigma_max down to sigma_min."""
    sigmas = torch.logspace(
        np.log10(schedule.sigma_max), np.log10(schedule.sigma_min), rows, dtype=torch.float64
    )
    return sinusoidal_embedding(noise_input(sigmas), dim).numpy(), sigmas.numpy()


def demo_labels(model: ImageDenoiser, n: int) -> torch.Tensor | None:
    """Labels 0, 1, 2, ... for n guided samples, or None for an unconditional model."""
    return torch.arange(n) % 10 if model.num_classes else None


def class_rows(pixels: np.ndarray, labels: torch.Tensor | None, per_row: int) -> np.ndarray:
    """Up to `per_row` images of every class, class 0 first (the first 100 without labels)."""
    if labels is None:
        return pixels[: 10 * per_row]
    picks = [np.flatnonzero(labels.numpy() == c)[:per_row] for c in range(10)]
    return pixels[np.concatenate(picks)]


def quality_table(
    model: ImageDenoiser,
    schedule: Schedule | VPSchedule,
    scorer: Scorer,
    spec: ImgSamplerConfig,
    samplers: tuple[str, ...],
    budgets: tuple[int, ...],
    guidance: float,
    device: torch.device,
) -> pd.DataFrame:
    """The Frechet distance of `scorer.size` samples for every sampler and NFE budget, all
    from the same start noise. The samples are class-conditional with the classes balanced
    (a draw from the data's distribution, whose classes are balanced) at guidance w; w = 0
    gives the unconditional model (the null class)."""
    labels = demo_labels(model, scorer.size)
    rows = []
    for kind in samplers:
        for budget in budgets:
            steps = steps_for_budget(kind, budget, spec.denoise_final)
            run = replace(spec, kind=kind, steps=steps, guidance=guidance)
            x = generate(model, schedule, run, scorer.size, spec.seed, labels, device)
            rows.append(
                {
                    "sampler": kind,
                    "nfe": calls_per_image(kind, steps, spec.denoise_final),
                    "steps": steps,
                    "fid": scorer.fid(x),
                    "fid_floor": scorer.floor,
                }
            )
    return pd.DataFrame(rows)


def best_sampler(table: pd.DataFrame) -> dict[str, float | str]:
    """The sampler with the lowest mean FID over the budgets, its FID at each budget, and
    every row's FID (metric names img_fid_SAMPLER_nfeN)."""
    means = table.groupby("sampler", sort=False)["fid"].mean()
    best = str(means.idxmin())
    out: dict[str, float | str] = {"img_best_sampler": best}
    for row in table.itertuples(index=False):
        out[f"img_fid_{row.sampler}_nfe{row.nfe}"] = float(row.fid)
        if row.sampler == best:
            out[f"img_best_fid_nfe{row.nfe}"] = float(row.fid)
    return out


def step_cells(
    model: ImageDenoiser,
    schedule: Schedule | VPSchedule,
    spec: ImgSamplerConfig,
    samplers: tuple[str, ...],
    step_counts: tuple[int, ...],
    seed: int,
    device: torch.device,
) -> dict[tuple[str, int], np.ndarray]:
    """Four guided samples (classes 0-3) from one start noise per sampler and step count."""
    labels = demo_labels(model, 4)
    cells = {}
    for kind in samplers:
        for steps in step_counts:
            run = replace(spec, kind=kind, steps=steps)
            x = generate(model, schedule, run, 4, seed, labels, device)
            cells[(kind, steps)] = to_pixels(x)
    return cells


@torch.no_grad()
def reverse_frames(
    model: ImageDenoiser,
    schedule: Schedule | VPSchedule,
    spec: ImgSamplerConfig,
    frames: int,
    seed: int,
) -> np.ndarray:
    """`frames` snapshots (F, 10, 28, 28) of one guided run per digit 0-9 from noise to image,
    each state shown as x / sqrt(1 + sigma^2)."""
    gen = torch.Generator().manual_seed(seed)
    model = model.to("cpu", memory_format=torch.channels_last)
    x = schedule.sigma_max * torch.randn(10, model.dim, generator=gen)
    eps = guided_eps(model, schedule, demo_labels(model, 10), spec.guidance)
    trajectory: list[torch.Tensor] = []
    run_images(eps, x, schedule, spec, gen, trajectory)
    states = torch.stack(trajectory)
    scale = 1.0 / torch.sqrt(1.0 + trajectory_sigmas(schedule, spec) ** 2)
    pick = np.unique(np.linspace(0, len(states) - 1, frames).round().astype(int))
    return np.stack([to_pixels(states[i] * float(scale[i])) for i in pick])
