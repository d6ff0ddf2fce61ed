"""Full-batch training of the noise-prediction denoiser (DESIGN.md section 3)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from genlab.denoiser import Denoiser, NetConfig
from genlab.errors import GenlabError
from genlab.io import load_checkpoint, load_state, save_checkpoint
from genlab.schedules import Schedule

CHECKPOINT_KIND = "denoiser"


def resolve_device(name: str, key: str = "denoiser.device") -> torch.device:
    """auto -> cuda when present, else cpu; `key` names the param in the error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GenlabError(f"params: {key} = 'cuda' but no CUDA device is present; use auto or cpu")
    return torch.device(name)


def denoising_loss(
    model: Denoiser,
    x0: torch.Tensor,
    schedule: Schedule,
    generator: torch.Generator,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """mean ||D(x0 + sigma(t) eps, t) - eps||^2 with t ~ U(t_min, 1) fresh per point."""
    t_min = schedule.t_min
    t = t_min + (1.0 - t_min) * torch.rand(
        x0.shape[0], generator=generator, device=x0.device, dtype=x0.dtype
    )
    eps = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    sigma = schedule.sigma(t)[:, None]
    pred = model(x0 + sigma * eps, t, schedule, labels)
    return ((pred - eps) ** 2).sum(dim=1).mean()


def train_denoiser(
    x0: torch.Tensor,
    net: NetConfig,
    schedule: Schedule,
    *,
    epochs: int,
    lr: float,
    seed: int,
    device: torch.device,
    labels: torch.Tensor | None = None,
    lr_schedule: str = "constant",
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[Denoiser, list[float]]:
    """Full-batch Adam on the whole dataset; returns the model (on CPU) and the loss per epoch.

    lr_schedule "cosine" anneals the learning rate from `lr` to 0 over the epochs.

    Stops with a GenlabError naming the epoch if the loss becomes NaN or infinite.
    """
    torch.manual_seed(seed)
    model = Denoiser(net).to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    x0 = x0.to(device=device, dtype=torch.float32)
    labels = labels.to(device) if labels is not None else None
    fused = device.type in ("cpu", "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=fused)
    decay = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        if lr_schedule == "cosine"
        else None
    )
    losses: list[float] = []
    for epoch in range(1, epochs + 1):
        loss = denoising_loss(model, x0, schedule, gen, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if decay is not None:
            decay.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise GenlabError(
                f"training diverged: loss is {value} at epoch {epoch} (lr = {lr}); "
                "lower denoiser.lr. No model was written"
            )
        losses.append(value)
        if on_epoch is not None:
            on_epoch(epoch, value)
    return model.cpu(), losses


def save_denoiser(path: Path | str, model: Denoiser, schedule: Schedule) -> None:
    save_checkpoint(
        path,
        CHECKPOINT_KIND,
        {
            "net": asdict(model.cfg),
            "schedule": {
                "name": schedule.name,
                "sigma_min": schedule.sigma_min,
                "sigma_max": schedule.sigma_max,
            },
            "state_dict": model.state_dict(),
        },
    )


def load_denoiser(path: Path | str, num_classes: int = 0) -> tuple[Denoiser, Schedule]:
    """Load a denoiser and the schedule it was trained with.

    With num_classes > 0 the checkpoint must be a conditional model for that many classes.
    """
    ckpt = load_checkpoint(path, CHECKPOINT_KIND)
    try:
        net = NetConfig(**ckpt["net"])
        schedule = Schedule(**ckpt["schedule"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GenlabError(f"{path}: denoiser checkpoint has a bad header ({exc})") from None
    if num_classes and net.num_classes != num_classes:
        raise GenlabError(
            f"{path}: denoiser was trained for {net.num_classes} classes, expected {num_classes} "
            "(classes.layout changed?); rerun its training stage"
        )
    model = Denoiser(net)
    load_state(model, ckpt["state_dict"], path)
    model.eval()
    return model, schedule
