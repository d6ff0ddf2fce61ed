"""Training the GPT: AdamW, linear warm-up then cosine decay, gradient clipping, validation.

Everything random comes from seeded generators, so the same settings give the
same weights on one machine. The weights of the best validation loss are kept.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genlab.errors import GenlabError
from genlab.gpt import GPT, GPTConfig
from genlab.io import load_checkpoint, load_state, save_checkpoint
from genlab.tokenizer import TextTokenizer, from_dict

CHECKPOINT_KIND = "gpt"


@dataclass(frozen=True)
class TrainSettings:
    batch_size: int = 32
    iters: int = 2000
    lr: float = 2e-3
    min_lr: float = 2e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_windows: int = 128  # training windows scored at each evaluation
    bf16: bool = False  # bfloat16 autocast for the training steps (evaluation stays float32)
    seed: int = 0


@dataclass
class TrainResult:
    model: GPT
    history: list[dict[str, float]]  # one row per evaluation: step, train_loss, val_loss, lr
    best_step: int
    train_loss: float
    val_loss: float


def lr_at(step: int, s: TrainSettings) -> float:
    """Linear warm-up to `lr` over `warmup_iters`, then cosine decay to `min_lr` at `iters`."""
    if step < s.warmup_iters:
        return s.lr * (step + 1) / s.warmup_iters
    progress = (step - s.warmup_iters) / max(1, s.iters - s.warmup_iters)
    return s.min_lr + 0.5 * (s.lr - s.min_lr) * (1.0 + math.cos(math.pi * min(progress, 1.0)))


@torch.no_grad()
def mean_loss(model: GPT, ids: torch.Tensor, batch: int = 64) -> float:
    """Mean next-token cross-entropy (nats/token) over every token of `ids`, in eval mode."""
    was_training = model.training
    model.eval()
    block = model.cfg.block_size
    device = next(model.parameters()).device
    full = (len(ids) - 1) // block
    windows = ids[: full * block + 1].unfold(0, block + 1, block) if full else ids[:0, None]
    batches = list(windows.split(batch))
    if len(ids) - 1 > full * block:  # one last, shorter window: every token is scored once
        batches.append(ids[full * block :][None])
    total, count = 0.0, 0
    for xy in batches:
        xy = xy.to(device)
        logits = model(xy[:, :-1])[0].float()
        targets = xy[:, 1:]
        total += float(F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum"))
        count += targets.numel()
    model.train(was_training)
    return total / count


@torch.no_grad()
def _probe_loss(model: GPT, probe: torch.Tensor, width: int) -> float:
    """Mean loss over fixed training windows (rows of `width` tokens), in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rows = probe.view(-1, width).to(device)
    total = 0.0
    for i in range(0, len(rows), 64):
        xy = rows[i : i + 64]
        _, loss, _ = model(xy[:, :-1], xy[:, 1:])
        total += float(loss) * len(xy)
    model.train(was_training)
    return total / len(rows)


def _sample_batch(
    ids: torch.Tensor, block: int, batch: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    starts = torch.randint(len(ids) - block, (batch,), generator=gen)
    offsets = starts[:, None] + torch.arange(block)
    return ids[offsets], ids[offsets + 1]


def _optimizer(model: GPT, s: TrainSettings, device: torch.device) -> torch.optim.AdamW:
    # Weight decay on matrices only, never on biases, LayerNorm gains or position tables' rows.
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": s.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = device.type in ("cpu", "cuda")
    return torch.optim.AdamW(groups, lr=s.lr, betas=(0.9, 0.99), fused=fused)


def train_gpt(
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    cfg: GPTConfig,
    s: TrainSettings,
    device: torch.device,
    on_step: Callable[[int, str], None] | None = None,
) -> TrainResult:
    """Train a GPT on random windows of `train_ids`; evaluate every `eval_interval` steps.

    The model returned (on CPU, in eval mode) holds the weights of the best
    validation loss. A NaN or infinite loss stops training with a GenlabError
    naming the step.
    """
    if len(train_ids) < cfg.block_size + 1:
        raise GenlabError(
            f"gpt: the training split has {len(train_ids)} tokens, fewer than block_size + 1 = "
            f"{cfg.block_size + 1}; lower gpt.block_size or use a longer corpus"
        )
    if len(val_ids) < 2:
        raise GenlabError("gpt: the validation split has fewer than 2 tokens; raise val_fraction")
    torch.manual_seed(s.seed)  # weights and dropout masks
    model = GPT(cfg).to(device)
    gen = torch.Generator().manual_seed(s.seed)  # batch positions
    eval_gen = torch.Generator().manual_seed(s.seed + 1)
    eval_starts = torch.randint(
        len(train_ids) - cfg.block_size, (s.eval_windows,), generator=eval_gen
    )
    train_probe = torch.cat([train_ids[i : i + cfg.block_size + 1] for i in eval_starts.tolist()])
    opt = _optimizer(model, s, device)

    history: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None

    def evaluate(step: int) -> None:
        nonlocal best
        train_loss = _probe_loss(model, train_probe, cfg.block_size + 1)
        val_loss = mean_loss(model, val_ids)
        history.append(
            {"step": step, "train_loss": train_loss, "val_loss": val_loss, "lr": lr_at(step, s)}
        )
        if best is None or val_loss < best[0]:
            best = (val_loss, step, copy.deepcopy(model.state_dict()))

    model.train()
    for step in range(s.iters):
        if step % s.eval_interval == 0:
            evaluate(step)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, s)
        x, y = _sample_batch(train_ids, cfg.block_size, s.batch_size, gen)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=s.bf16):
            _, loss, _ = model(x.to(device), y.to(device))
        value = float(loss.detach())
        if not math.isfinite(value):
            raise GenlabError(
                f"gpt training diverged: loss is {value} at step {step + 1} "
                f"(lr = {lr_at(step, s):.3g}); lower gpt.lr or raise gpt.warmup_iters. "
                "No model was written"
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if s.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
        opt.step()
        if on_step is not None:
            on_step(step + 1, f"loss {value:.4f}")
    evaluate(s.iters)

    assert best is not None
    val_loss, best_step, state = best
    model.load_state_dict(state)
    model.eval()
    row = next(r for r in history if r["step"] == best_step)
    return TrainResult(model.cpu(), history, best_step, row["train_loss"], val_loss)


def save_gpt(path: Path | str, model: GPT, tokenizer: TextTokenizer, extra: dict[str, Any]) -> None:
    """Save the model, its config and its tokenizer in one checkpoint."""
    save_checkpoint(
        path,
        CHECKPOINT_KIND,
        {
            "config": asdict(model.cfg),
            "tokenizer": tokenizer.to_dict(),
            "state_dict": model.state_dict(),
            **extra,
        },
    )


def load_gpt(path: Path | str) -> tuple[GPT, TextTokenizer]:
    """Load a GPT checkpoint and its tokenizer; the model is returned in eval mode on CPU."""
    ckpt = load_checkpoint(path, CHECKPOINT_KIND)
    try:
        cfg = GPTConfig(**ckpt["config"])
    except (KeyError, TypeError) as exc:
        raise GenlabError(f"{path}: gpt checkpoint has a bad header ({exc})") from None
    tokenizer = from_dict(ckpt.get("tokenizer"), f"{path} (tokenizer)")
    if tokenizer.vocab_size != cfg.vocab_size:
        raise GenlabError(
            f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the model expects "
            f"{cfg.vocab_size}; rerun `dvc repro gpt_train`"
        )
    model = GPT(cfg)
    load_state(model, ckpt["state_dict"], path)
    model.eval()
    return model, tokenizer
