"""The small CNN that recognises digits: trained on the training digits, it scores samples by
their class and gives the features of the Frechet distance (docs/images.md)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.common.errors import GenlabError
from genlab.common.io import load_checkpoint, load_state, save_checkpoint
from genlab.common.optim import Adam, cosine_lr
from genlab.images.config import ClassifierConfig
from genlab.images.unet import NUM_CLASSES, SIDE

CHECKPOINT_KIND = "digit_classifier"
SHIFT = 2  # training images are shifted by up to this many pixels each way


class Classifier(nn.Module):
    """conv-ReLU-pool twice (28 -> 14 -> 7), a feature layer, then the class logits."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c0, c1 = cfg.channels
        self.convs = nn.Sequential(
            nn.Conv2d(1, c0, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c0, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c1 * (SIDE // 4) ** 2, cfg.features),
            nn.ReLU(),
        )
        self.head = nn.Linear(cfg.features, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature layer (N, features) of flattened images in [-1, 1]."""
        return self.convs(x.reshape(-1, 1, SIDE, SIDE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by a random whole-pixel offset in [-SHIFT, SHIFT]^2, background-filled."""
    n = x.shape[0]
    img = F.pad(x.reshape(n, 1, SIDE, SIDE), (SHIFT,) * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * SHIFT + 1, (2, n), generator=generator).tolist()
    out = torch.stack(
        [img[i, :, b : b + SIDE, a : a + SIDE] for i, (a, b) in enumerate(zip(dx, dy, strict=True))]
    )
    return out.reshape(n, -1)


def train_classifier(
    x: torch.Tensor,
    labels: torch.Tensor,
    cfg: ClassifierConfig,
    device: torch.device,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[Classifier, list[float]]:
    """Adam on the cross-entropy of shifted training digits; the model (CPU, eval) and the
    mean loss of every epoch."""
    torch.manual_seed(cfg.seed)
    model = Classifier(cfg).to(device)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = Adam(model.parameters(), lr=cfg.lr)
    per_epoch = math.ceil(len(x) / cfg.batch_size)
    step, steps = 0, cfg.epochs * per_epoch
    losses = []
    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b in range(per_epoch):
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            batch = shift(x[idx], gen).to(device)
            loss = F.cross_entropy(model(batch), labels[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.param_groups[0]["lr"] = cosine_lr(cfg.lr, step, steps)
            opt.step()
            step += 1
            total += loss.item() * len(idx)
        losses.append(total / len(x))
        if not math.isfinite(losses[-1]):
            raise GenlabError(
                f"classifier training diverged at epoch {epoch} (lr = {cfg.lr}); "
                "lower img_classifier.lr"
            )
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
    return model.cpu().eval(), losses


@torch.no_grad()
def predict(
    model: Classifier, x: torch.Tensor, batch: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes (N,) and float64 features (N, features) of flattened images."""
    classes, feats = [], []
    for lo in range(0, len(x), batch):
        f = model.features(x[lo : lo + batch].float())
        classes.append(model.head(f).argmax(dim=1))
        feats.append(f.double())
    return torch.cat(classes), torch.cat(feats)


def save_classifier(path: Path | str, model: Classifier, extra: dict) -> None:
    save_checkpoint(
        path,
        CHECKPOINT_KIND,
        {"config": asdict(model.cfg), **extra, "state_dict": model.state_dict()},
    )


def load_classifier(path: Path | str) -> Classifier:
    ckpt = load_checkpoint(path, CHECKPOINT_KIND)
    try:
        raw = ckpt["config"]
        cfg = ClassifierConfig(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        )
        model = Classifier(cfg)
    except (KeyError, TypeError, ValueError) as exc:
        raise GenlabError(f"{path}: classifier checkpoint has a bad header ({exc})") from None
    load_state(model, ckpt["state_dict"], path)
    return model.eval()
