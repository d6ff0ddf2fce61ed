"""Training of the denoiser (full batch or random batches), and its checkpoints
(docs/denoiser.md)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from genlab.common.errors import GenlabError
from genlab.common.io import load_checkpoint, load_state, save_checkpoint, write_json, write_live
from genlab.common.optim import Adam, cosine_lr
from genlab.diffusion.config import DenoiserConfig
from genlab.diffusion.model import Denoiser, noise_schedule
from genlab.diffusion.schedules import Schedule

CHECKPOINT_KIND = "denoiser"
CHECK_EVERY = 100  # epochs between checks for a NaN or infinite loss
CHUNK_ROWS = 1 << 18  # noised rows drawn and featurised at once (epochs x batch)

# target(x0, labels, x, eps, sigma) -> the noise the head is fitted to in place of the drawn
# eps (rows of one chunk; labels None for an unconditional model; sigma a column). A
# benchmark's hook (benchmarks/ode_error_sources.py); training uses eps itself.
NoiseTarget = Callable[
    [torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]


def draw_sigmas(
    cfg: DenoiserConfig, schedule: Schedule, n: int, generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """Training noise levels: sigma(t) with t ~ U(t_min, 1), or ln sigma ~ N(p_mean, p_std^2)
    clipped to [ln sigma_min, ln sigma_max] (EDM's log-normal)."""
    kw = {"generator": generator, "device": like.device, "dtype": like.dtype}
    if cfg.sigma_sampling == "lognormal":
        log_sigma = cfg.p_mean + cfg.p_std * torch.randn(n, **kw)
        lo, hi = math.log(schedule.sigma_min), math.log(schedule.sigma_max)
        return torch.exp(log_sigma.clamp(lo, hi))
    t_min = schedule.t_min
    return schedule.sigma(t_min + (1.0 - t_min) * torch.rand(n, **kw))


def denoising_loss(
    model: torch.nn.Module,
    x0: torch.Tensor,
    schedule: Schedule,
    generator: torch.Generator,
    labels: torch.Tensor | None = None,
    cfg: DenoiserConfig | None = None,
) -> torch.Tensor:
    """mean w(sigma) ||D(x0 + sigma eps, t) - eps||^2 with a fresh sigma per point (rows of
    x0 are points; images are flattened).

    The noise levels follow `cfg.sigma_sampling` and the weight `cfg.parameterization`
    (cfg defaults to the model's own): w = 1 for `eps`; for `edm`, w = (sigma^2 +
    s^2) / s^2 with s the model's `sigma_data`, which is EDM's weighting
    lambda(sigma) ||D_x0 - x0||^2 written in noise units (docs/denoiser.md).
    """
    cfg = cfg or model.cfg
    x, eps, sigma = _noised(cfg, schedule, x0, generator)
    pred = model(x, schedule.t_of_sigma(sigma[:, 0]), schedule, labels)
    loss = ((pred - eps) ** 2).sum(dim=1)
    if cfg.parameterization == "edm":
        s2 = model.sigma_data**2
        loss = loss * (sigma[:, 0] ** 2 + s2) / s2
    return loss.mean()


def noised_examples(
    model: Denoiser,
    x0: torch.Tensor,
    schedule: Schedule,
    generator: torch.Generator,
    cfg: DenoiserConfig,
    labels: torch.Tensor | None = None,
    target: NoiseTarget | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise each row of x0 once, as `denoising_loss` does, and return the network's
    features and the head's regression target: the loss is then
    mean ||model.head(features) - target||^2, the same value with no work outside the MLP.
    `target`, when given, replaces the drawn noise (with the rows' `labels`)."""
    x, eps, sigma = _noised(cfg, schedule, x0, generator)
    if target is not None:
        eps = target(x0, labels, x, eps, sigma)
    features = model.features(x, schedule.t_of_sigma(sigma[:, 0]), schedule)
    return features, model.head_target(x, eps, sigma)


def _noised(
    cfg: DenoiserConfig, schedule: Schedule, x0: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x = x0 + sigma eps with a training noise level per row: (x, eps, sigma as a column)."""
    sigma = draw_sigmas(cfg, schedule, x0.shape[0], generator, x0)[:, None]
    eps = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    return x0 + sigma * eps, eps, sigma


def train_denoiser(
    x0: torch.Tensor,
    cfg: DenoiserConfig,
    device: torch.device,
    *,
    labels: torch.Tensor | None = None,
    num_classes: int = 0,
    class_dim: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    target: NoiseTarget | None = None,
) -> tuple[Denoiser, list[float]]:
    """Adam (epsilon `cfg.adam_eps`) on the dataset; returns the model (on CPU) and the loss
    per epoch.

    With `labels` the model is class-conditional: `num_classes` classes, each a learned
    vector of `class_dim` joined to the input. Every epoch noises `cfg.noise_draws` copies
    of each point, or a random `cfg.batch_size` of them when that is smaller (0: all), for
    each of the `cfg.members` members: every member trains on its own rows and noise.
    lr_schedule "cosine" anneals the learning rate from `cfg.lr` to 0 over the epochs.
    With `cfg.ema` > 0 the returned model is the exponential moving average of the weights
    (decay `cfg.ema` per epoch). Stops with a GenlabError naming the epoch if the loss
    becomes NaN or infinite (checked every CHECK_EVERY epochs). `target` replaces the drawn
    noise as the regression target (`NoiseTarget`; a benchmark's hook).

    The noise of many epochs is drawn and turned into network features at once, so that an
    epoch is only the MLP's forward and backward pass and an Adam step: at 1000 rows the
    loop is bound by per-operation overhead, at two members of 2000 by the matrix products
    (docs/denoiser.md).
    """
    schedule = noise_schedule(cfg)
    torch.manual_seed(cfg.seed)
    model = Denoiser(cfg, num_classes, class_dim, x0.shape[1]).to(device)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    x0 = x0.to(device=device, dtype=torch.float32).repeat(cfg.noise_draws, 1)
    labels = labels.to(device).repeat(cfg.noise_draws) if labels is not None else None
    average = copy.deepcopy(model) if cfg.ema > 0 else None
    opt = Adam(model.parameters(), lr=cfg.lr, eps=cfg.adam_eps)
    rates = _learning_rates(cfg)
    # Losses stay on the device and are read back every CHECK_EVERY epochs: reading each one
    # would wait for the GPU after every step.
    losses = torch.empty(cfg.epochs, device=device)
    batch = cfg.batch_size if 0 < cfg.batch_size < len(x0) else len(x0)
    k = cfg.members
    rows_per_epoch = k * batch  # every member trains on its own batch
    per_chunk = max(1, CHUNK_ROWS // rows_per_epoch)
    order = _Shuffler(len(x0), shuffle=batch < len(x0), generator=gen)
    for first in range(0, cfg.epochs, per_chunk):
        n = min(per_chunk, cfg.epochs - first)
        rows = order.take(n * rows_per_epoch)
        row_labels = None if labels is None else labels[rows]
        with torch.no_grad():
            features, targets = noised_examples(
                model, x0[rows], schedule, gen, cfg, row_labels, target
            )
        classes = None if row_labels is None else model.one_hot(row_labels.view(n, k, batch))
        features = features.view(n, k, batch, -1)
        targets = targets.view(n, k, batch, -1)
        for i in range(n):
            # the sum of the members' own mean losses: each member's gradient is its own
            per_member = model.fit_gradients(
                features[i], targets[i], None if classes is None else classes[i]
            )
            opt.param_groups[0]["lr"] = rates[first + i]
            opt.step()
            if average is not None:
                with torch.no_grad():
                    torch._foreach_lerp_(
                        list(average.parameters()), list(model.parameters()), 1 - cfg.ema
                    )
            losses[first + i] = per_member.mean()
            epoch = first + i + 1
            if epoch % CHECK_EVERY == 0 or epoch == cfg.epochs:
                _check_losses(losses, epoch, cfg, on_epoch)
    final = average if average is not None else model
    return final.cpu(), losses.cpu().tolist()


class _Shuffler:
    """Row indices for the batches, as a shuffling data loader gives them: each pass visits
    every row once in a fresh random order, and batches run on across passes."""

    def __init__(self, n: int, *, shuffle: bool, generator: torch.Generator) -> None:
        self.n, self.shuffle, self.generator = n, shuffle, generator
        self.left = torch.empty(0, dtype=torch.long, device=generator.device)

    def take(self, count: int) -> torch.Tensor:
        """The next `count` row indices."""
        parts, need = [self.left], count - len(self.left)
        device = self.generator.device
        while need > 0:
            if self.shuffle:
                parts.append(torch.randperm(self.n, generator=self.generator, device=device))
            else:
                parts.append(torch.arange(self.n, device=device))
            need -= self.n
        rows = torch.cat(parts)
        self.left = rows[count:]
        return rows[:count]


def _learning_rates(cfg: DenoiserConfig) -> list[float]:
    """The learning rate of each epoch: constant, or cosine-annealed from cfg.lr to 0."""
    if cfg.lr_schedule == "cosine":
        return [cosine_lr(cfg.lr, e, cfg.epochs) for e in range(cfg.epochs)]
    return [cfg.lr] * cfg.epochs


def _check_losses(
    losses: torch.Tensor,
    epoch: int,
    cfg: DenoiserConfig,
    on_epoch: Callable[[int, float], None] | None,
) -> None:
    """Read back the losses since the last check; stop on a NaN or infinite one."""
    recent = losses[max(0, epoch - CHECK_EVERY) : epoch].cpu()
    bad = (~torch.isfinite(recent)).nonzero()
    if len(bad):
        first = epoch - len(recent) + int(bad[0]) + 1
        raise GenlabError(
            f"training diverged: loss is {float(recent[bad[0]])} at epoch {first} "
            f"(lr = {cfg.lr}); lower denoiser.lr. No model was written"
        )
    if on_epoch is not None:
        on_epoch(epoch, float(recent[-1]))


def save_training(
    model: Denoiser,
    losses: list[float],
    seconds: float,
    *,
    checkpoint: Path,
    live_dir: Path,
    metrics: Path,
    timing: Path,
    prefix: str = "",
) -> None:
    """Write a trained model's checkpoint, its loss per epoch (DVCLive), its final-loss
    metrics and its wall time; metric names carry `prefix` (unique across files)."""
    save_denoiser(checkpoint, model)
    write_live(live_dir, [{"step": i, "loss": loss} for i, loss in enumerate(losses)])
    tail = losses[-min(100, len(losses)) :]
    write_json(
        metrics,
        {
            f"{prefix}denoiser_loss": losses[-1],
            f"{prefix}denoiser_loss_last100": sum(tail) / len(tail),
            f"{prefix}denoiser_params": sum(p.numel() for p in model.parameters()),
        },
    )
    epochs = len(losses)
    write_json(
        timing,
        {f"{prefix}train_seconds": seconds, f"{prefix}train_epochs_per_second": epochs / seconds},
    )


def save_denoiser(path: Path | str, model: Denoiser) -> None:
    """Save weights with the config and class count needed to rebuild the network."""
    save_checkpoint(
        path,
        CHECKPOINT_KIND,
        {
            "config": asdict(model.cfg),
            "num_classes": model.num_classes,
            "class_dim": model.class_dim,
            "dim": model.dim,
            "state_dict": model.state_dict(),
        },
    )


def load_denoiser(path: Path | str, num_classes: int = 0) -> tuple[Denoiser, Schedule]:
    """Load a denoiser and the schedule it was trained with.

    With num_classes > 0 the checkpoint must be a conditional model for that many classes.
    """
    ckpt = load_checkpoint(path, CHECKPOINT_KIND)
    try:
        cfg = DenoiserConfig(**ckpt["config"])
        model = Denoiser(cfg, int(ckpt["num_classes"]), int(ckpt["class_dim"]), int(ckpt["dim"]))
        schedule = noise_schedule(cfg)
    except (KeyError, TypeError, ValueError) as exc:
        raise GenlabError(f"{path}: denoiser checkpoint has a bad header ({exc})") from None
    if num_classes and model.num_classes != num_classes:
        raise GenlabError(
            f"{path}: denoiser was trained for {model.num_classes} classes, expected "
            f"{num_classes} (classes.layout changed?); rerun its training stage"
        )
    load_state(model, ckpt["state_dict"], path)
    model.eval()
    return model, schedule
