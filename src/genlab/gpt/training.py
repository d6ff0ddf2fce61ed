"""Training the GPT: AdamW, linear warm-up then cosine decay, gradient clipping, validation
(docs/gpt.md).

Everything random comes from seeded generators, so the same settings give the
same weights on one machine. The weights of the best validation loss are kept.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genlab.common.cli import cpu_capability, native_bfloat16
from genlab.common.errors import GenlabError
from genlab.common.io import (
    cache_path,
    load_checkpoint,
    load_state,
    save_checkpoint,
    write_json,
    write_live,
)
from genlab.common.optim import Adam
from genlab.gpt.config import GptConfig, ModelConfig
from genlab.gpt.model import GPT
from genlab.gpt.tokenizer import TextTokenizer, from_dict

CHECKPOINT_KIND = "gpt"
EVAL_WINDOWS = 128  # training windows scored at each evaluation


@dataclass
class TrainResult:
    model: GPT
    history: list[dict[str, float]]  # per evaluation: step, train_loss, val_loss, lr, seconds
    best_step: int
    train_loss: float
    val_loss: float
    tokens: int  # tokens trained on: steps x global batch x block size

    def metrics(self) -> dict[str, float | int]:
        """Losses (nats/token) at the best validation step, that step, the parameter count."""
        return {
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "n_params": self.model.n_params(),
            "best_step": self.best_step,
        }


def lr_at(step: int, s: GptConfig) -> float:
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


def _optimizer(model: GPT, s: GptConfig) -> Adam:
    # Weight decay on matrices only, never on biases, LayerNorm gains or position tables' rows.
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": s.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return Adam(groups, lr=s.lr, betas=(0.9, 0.99), decoupled=True)


def _train_step(
    model: torch.nn.Module,
    opt: Adam,
    x: torch.Tensor,
    y: torch.Tensor,
    precision: str,
    grad_clip: float,
) -> torch.Tensor:
    """One AdamW step on a batch; returns the batch's loss (before the step)."""
    device = x.device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        _, loss, _ = model(x, y)
    opt.zero_grad()
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return loss.detach()


def seconds_per_step(
    cfg: GptConfig,
    vocab_size: int,
    train_ids: torch.Tensor,
    device: torch.device,
    precision: str,
    steps: int = 3,
) -> float:
    """Wall time of one training step of a fresh model at `precision` (after one warm-up)."""
    model = GPT(cfg.model(), vocab_size).to(device)
    opt = _optimizer(model, cfg)
    gen = torch.Generator().manual_seed(0)
    for i in range(steps + 1):
        if i == 1:  # after the warm-up step, and after the GPU has finished it
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        x, y = _sample_batch(train_ids, cfg.block_size, cfg.batch_size, gen)
        _train_step(model, opt, x.to(device), y.to(device), precision, cfg.grad_clip)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


# bfloat16 must beat float32 by this factor in the probe: a near tie keeps float32.
BF16_MARGIN = 1.25


def resolve_precision(
    cfg: GptConfig, vocab_size: int, train_ids: torch.Tensor, device: torch.device
) -> tuple[str, str]:
    """The precision to train at, and why. `auto`: bfloat16 only on hardware that computes it
    natively, and only if a short probe measures it faster than float32.

    The probe's verdict is kept per machine and model shape (in ~/.cache/genlab), so the
    choice, and with it the trained weights, stays the same from one run to the next.
    """
    if cfg.precision != "auto":
        return cfg.precision, "set by gpt.precision"
    if not native_bfloat16(device):
        where = "this GPU" if device.type == "cuda" else f"this CPU ({cpu_capability()})"
        return "float32", f"{where} has no native bfloat16"
    # Even with native bfloat16 a model this small can be faster in float32 (an H100 trains
    # the default GPT at 294 k tokens/s in float32, 238 k in bfloat16): measure, don't assume.
    shape = (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size, cfg.batch_size, vocab_size)
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_capability()
    key = f"{hardware} torch {torch.__version__} threads {torch.get_num_threads()} {shape}"
    cache = cache_path("precision.json")
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        f32 = seconds_per_step(cfg, vocab_size, train_ids, device, "float32")
        bf16 = seconds_per_step(cfg, vocab_size, train_ids, device, "bfloat16")
        known[key] = {"float32": f32, "bfloat16": bf16}
        with contextlib.suppress(OSError):
            write_json(cache, known)
    f32, bf16 = known[key]["float32"], known[key]["bfloat16"]
    chosen = "bfloat16" if bf16 * BF16_MARGIN < f32 else "float32"
    return chosen, f"probe: {f32 * 1e3:.0f} ms/step float32, {bf16 * 1e3:.0f} ms/step bfloat16"


def train_gpt(
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    cfg: GptConfig,
    vocab_size: int,
    device: torch.device,
    precision: str = "float32",
    on_step: Callable[[int, str], None] | None = None,
) -> TrainResult:
    """Train a GPT on random windows of `train_ids`; evaluate every `eval_interval` steps.

    Under torchrun (a process group of N ranks) every rank draws the same global batch and
    trains on its N-th of it; DistributedDataParallel averages the gradients, so the steps
    are those of one process with the same global batch. The model returned (on CPU, in
    eval mode) holds the weights of the best validation loss. A NaN or infinite loss stops
    training with a GenlabError naming the step.
    """
    if len(train_ids) < cfg.block_size + 1:
        raise GenlabError(
            f"gpt: the training split has {len(train_ids)} tokens, fewer than block_size + 1 = "
            f"{cfg.block_size + 1}; lower gpt.block_size or use a longer corpus"
        )
    if len(val_ids) < 2:
        raise GenlabError("gpt: the validation split has fewer than 2 tokens; raise val_fraction")
    rank, world = _rank_and_world()
    if cfg.batch_size % world:
        raise GenlabError(
            f"params: gpt.batch_size = {cfg.batch_size} is invalid: expected a multiple of the "
            f"{world} processes"
        )
    torch.manual_seed(cfg.seed)  # weights and dropout masks
    model = GPT(cfg.model(), vocab_size).to(device)
    trained: torch.nn.Module = model
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        trained = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    gen = torch.Generator().manual_seed(cfg.seed)  # batch positions
    eval_gen = torch.Generator().manual_seed(cfg.seed + 1)
    eval_starts = torch.randint(
        len(train_ids) - cfg.block_size, (EVAL_WINDOWS,), generator=eval_gen
    )
    train_probe = torch.cat([train_ids[i : i + cfg.block_size + 1] for i in eval_starts.tolist()])
    opt = _optimizer(model, cfg)
    share = slice(rank * cfg.batch_size // world, (rank + 1) * cfg.batch_size // world)

    history: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None

    def evaluate(step: int) -> None:
        nonlocal best
        train_loss = _probe_loss(model, train_probe, cfg.block_size + 1)
        val_loss = mean_loss(model, val_ids)
        row = {"step": step, "train_loss": train_loss, "val_loss": val_loss, "lr": lr_at(step, cfg)}
        history.append({**row, "seconds": time.perf_counter() - start})
        if best is None or val_loss < best[0]:
            best = (val_loss, step, copy.deepcopy(model.state_dict()))

    start = time.perf_counter()
    model.train()
    for step in range(cfg.iters):
        if step % cfg.eval_interval == 0:
            evaluate(step)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        x, y = _sample_batch(train_ids, cfg.block_size, cfg.batch_size, gen)
        x, y = x[share].to(device), y[share].to(device)
        value = float(_train_step(trained, opt, x, y, precision, cfg.grad_clip))
        if not math.isfinite(value):
            raise GenlabError(
                f"gpt training diverged: loss is {value} at step {step + 1} "
                f"(lr = {lr_at(step, cfg):.3g}); lower gpt.lr or raise gpt.warmup_iters. "
                "No model was written"
            )
        if on_step is not None:
            on_step(step + 1, f"loss {value:.4f}")
    evaluate(cfg.iters)

    assert best is not None
    val_loss, best_step, state = best
    model.load_state_dict(state)
    model.eval()
    row = next(r for r in history if r["step"] == best_step)
    tokens = cfg.iters * cfg.batch_size * cfg.block_size
    return TrainResult(model.cpu(), history, best_step, row["train_loss"], val_loss, tokens)


def _rank_and_world() -> tuple[int, int]:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def save_gpt(path: Path | str, model: GPT, tokenizer: TextTokenizer, extra: dict[str, Any]) -> None:
    """Save the model, its config and its tokenizer in one checkpoint."""
    save_checkpoint(
        path,
        CHECKPOINT_KIND,
        {
            "model": asdict(model.cfg),
            "vocab_size": model.vocab_size,
            "tokenizer": tokenizer.to_dict(),
            "state_dict": model.state_dict(),
            **extra,
        },
    )


def load_gpt(path: Path | str) -> tuple[GPT, TextTokenizer]:
    """Load a GPT checkpoint and its tokenizer; the model is returned in eval mode on CPU."""
    ckpt = load_checkpoint(path, CHECKPOINT_KIND)
    try:
        cfg, vocab_size = ModelConfig(**ckpt["model"]), int(ckpt["vocab_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GenlabError(f"{path}: gpt checkpoint has a bad header ({exc})") from None
    tokenizer = from_dict(ckpt.get("tokenizer"), f"{path} (tokenizer)")
    if tokenizer.vocab_size != vocab_size:
        raise GenlabError(
            f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the model expects "
            f"{vocab_size}; rerun `dvc repro gpt_train`"
        )
    model = GPT(cfg, vocab_size)
    load_state(model, ckpt["state_dict"], path)
    model.eval()
    return model, tokenizer


@dataclass(frozen=True)
class TrainOutputs:
    """Where the training stage writes."""

    checkpoint: Path
    tokenizer: Path
    live_dir: Path
    metrics: Path
    timing: Path


def save_results(
    result: TrainResult,
    tokenizer: TextTokenizer,
    val_tokens: int,
    val_chars: int,
    seconds: float,
    setup: dict[str, Any],
    out: TrainOutputs,
) -> float:
    """Write the checkpoint, the tokenizer, the loss curves (DVCLive), the metrics and the
    wall time with its `setup` (precision, threads...); return val_loss in bits per char."""
    save_gpt(out.checkpoint, result.model, tokenizer, {"best_step": result.best_step})
    write_json(out.tokenizer, tokenizer.to_dict())
    curves = [{k: row[k] for k in ("step", "train_loss", "val_loss")} for row in result.history]
    write_live(out.live_dir, curves)
    val_bpc = bits_per_char(result.val_loss, val_tokens, val_chars)
    extra = {"val_bpc": val_bpc, "vocab_size": tokenizer.vocab_size, "val_tokens": val_tokens}
    write_json(out.metrics, {**result.metrics(), **extra})
    rate = {"gpt_train_seconds": seconds, "gpt_tokens_per_second": result.tokens / seconds}
    write_json(out.timing, {**rate, **{f"gpt_{k}": v for k, v in setup.items()}})
    return val_bpc


def bits_per_char(loss: float, tokens: int, chars: int) -> float:
    """Loss in nats per token as bits per character: loss * tokens / chars / ln 2."""
    return loss * tokens / chars / math.log(2)
