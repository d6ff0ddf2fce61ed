"""Minibatch training of the image denoiser on the library's denoising loss, with label
dropout, warm-up + cosine learning rate and an exponential moving average (docs/images.md).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import torch

from genlab.common.cli import native_bfloat16
from genlab.common.errors import GenlabError
from genlab.common.io import load_checkpoint, load_state, save_checkpoint
from genlab.common.optim import Adam
from genlab.diffusion.config import DenoiserConfig
from genlab.diffusion.schedules import Schedule
from genlab.diffusion.training import denoising_loss
from genlab.images.config import ImgDiffusionConfig, ImgTrainConfig, UNetConfig
from genlab.images.unet import ImageDenoiser
from genlab.images.vp import VPSchedule, vp_schedule

CHECKPOINT_KIND = "image_denoiser"
CHECK_EVERY = 20  # steps between checks for a NaN or infinite loss

# t uniform; the weight follows the U-Net's parameterization (EDM's for `edm`).
NOISE_LOSS = DenoiserConfig(parameterization="eps", sigma_sampling="uniform_t")


def image_schedule(cfg: ImgDiffusionConfig) -> Schedule | VPSchedule:
    """The VE schedule of `img_diffusion`, or its DDPM betas as a VPSchedule."""
    if cfg.process == "vp":
        return vp_schedule(cfg)
    return Schedule(cfg.schedule, cfg.sigma_min, cfg.sigma_max)


def resolve_precision(name: str, device: torch.device) -> str:
    """auto: bfloat16 on a GPU that computes it natively, else float32 (CPU convolutions in
    bfloat16 gain little at these sizes and change the weights from machine to machine)."""
    if name != "auto":
        return name
    return "bfloat16" if device.type == "cuda" and native_bfloat16(device) else "float32"


def drop_labels(
    labels: torch.Tensor, p: float, null: int, generator: torch.Generator
) -> torch.Tensor:
    """Each label replaced by the null label with probability p (classifier-free guidance)."""
    drop = torch.rand(labels.shape, generator=generator, device=labels.device) < p
    return torch.where(drop, torch.full_like(labels, null), labels)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to 0 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def total_steps(n: int, cfg: ImgTrainConfig) -> int:
    """Optimiser steps of a run on n images: ceil(n / batch_size) per epoch."""
    return cfg.epochs * math.ceil(n / cfg.batch_size)


def ema_decay(step: int, decay: float) -> float:
    """The EMA's decay at `step`, warmed up as min(decay, (1 + step) / (10 + step)): a short
    run averages over its recent steps, not over its random initialisation."""
    return min(decay, (1.0 + step) / (10.0 + step))


def train_images(
    x0: torch.Tensor,
    labels: torch.Tensor,
    unet: UNetConfig,
    diffusion: ImgDiffusionConfig,
    cfg: ImgTrainConfig,
    device: torch.device,
    *,
    on_step: Callable[[int, float], None] | None = None,
) -> tuple[ImageDenoiser, list[float]]:
    """Adam on mean ||eps_theta(x0 + sigma eps) - eps||^2 over shuffled minibatches.

    Returns the averaged (EMA) model on the CPU, in eval mode, and the loss of every step.
    Stops with a GenlabError naming the step if the loss becomes NaN or infinite.
    """
    schedule = image_schedule(diffusion)
    torch.manual_seed(cfg.seed)
    model = ImageDenoiser(unet, vp=diffusion.process == "vp").to(device)
    model = model.to(memory_format=torch.channels_last)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    order_gen = torch.Generator().manual_seed(cfg.seed)
    x0, labels = x0.to(device=device, dtype=torch.float32), labels.to(device)
    per_epoch = math.ceil(len(x0) / cfg.batch_size)
    total = total_steps(len(x0), cfg)
    opt = Adam(model.parameters(), lr=cfg.lr)
    precision = resolve_precision(cfg.precision, device)
    loss_cfg = replace(NOISE_LOSS, parameterization=unet.parameterization)
    losses = torch.empty(total, device=device)
    step = 0
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(x0), generator=order_gen).to(device)
        for b in range(per_epoch):
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            y = labels[idx]
            if model.num_classes:
                y = drop_labels(y, cfg.label_dropout, model.num_classes, gen)
            with torch.autocast(device.type, torch.bfloat16, enabled=precision == "bfloat16"):
                loss = denoising_loss(
                    model, x0[idx], schedule, gen, y if model.num_classes else None, loss_cfg
                )
            opt.zero_grad()
            loss.backward()
            opt.param_groups[0]["lr"] = cfg.lr * lr_factor(step, cfg.warmup, total)
            opt.step()
            with torch.no_grad():
                decay = ema_decay(step, cfg.ema)
                for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                    pe.lerp_(pm, 1.0 - decay)
            losses[step] = loss.detach()
            step += 1
            if step % CHECK_EVERY == 0 or step == total:
                recent = losses[max(0, step - CHECK_EVERY) : step].cpu()
                if not torch.isfinite(recent).all():
                    raise GenlabError(
                        f"training diverged: loss is not finite by step {step} (lr = {cfg.lr}); "
                        "lower img_train.lr. No model was written"
                    )
                if on_step is not None:
                    on_step(step, float(recent.mean()))
    ema = ema.to(memory_format=torch.contiguous_format)
    return ema.cpu(), losses.cpu().tolist()


def save_image_model(
    path: Path | str, model: ImageDenoiser, diffusion: ImgDiffusionConfig, extra: dict
) -> None:
    """Weights with the configs needed to rebuild the network and its schedule."""
    payload = {"unet": asdict(model.unet.cfg), "diffusion": asdict(diffusion), **extra}
    save_checkpoint(path, CHECKPOINT_KIND, {**payload, "state_dict": model.state_dict()})


def load_image_model(path: Path | str) -> tuple[ImageDenoiser, Schedule | VPSchedule, dict]:
    """The trained denoiser (eval mode), its schedule and the checkpoint's header."""
    ckpt = load_checkpoint(path, CHECKPOINT_KIND)
    try:
        unet = UNetConfig(**{k: _tuple(v) for k, v in ckpt["unet"].items()})
        diffusion = ImgDiffusionConfig(**ckpt["diffusion"])
        model = ImageDenoiser(unet, vp=diffusion.process == "vp")
        schedule = image_schedule(diffusion)
    except (KeyError, TypeError, ValueError) as exc:
        raise GenlabError(f"{path}: image denoiser checkpoint has a bad header ({exc})") from None
    load_state(model, ckpt["state_dict"], path)
    model.eval()
    header = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model, schedule, header


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value
