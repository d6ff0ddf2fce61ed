"""Stage gpt_train: build the tokenizer on the training split and train the GPT on it."""

import math
import time
from pathlib import Path

import torch
import typer
from dvclive import Live

from genlab.cli import Progress, run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.corpus import read_split
from genlab.gpt import GPTConfig
from genlab.gpt_training import TrainSettings, save_gpt, train_gpt
from genlab.io import write_json
from genlab.tokenizer import build_tokenizer
from genlab.training import resolve_device


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sections tokenizer, gpt)."),
    corpus: Path = typer.Option(Path("data/corpus"), help="folder holding train.txt and val.txt."),
    model: Path = typer.Option(Path("models/gpt.pt"), help="checkpoint to write."),
    tokenizer_out: Path = typer.Option(Path("models/gpt_tokenizer.json"), help="tokenizer file."),
    live_dir: Path = typer.Option(Path("reports/train/gpt"), help="DVCLive folder."),
    metrics: Path = typer.Option(Path("reports/metrics/gpt.json"), help="metrics to write."),
    timing: Path = typer.Option(Path("reports/timing/gpt.json"), help="wall time to write."),
) -> None:
    """AdamW on random windows of the training split; the best validation checkpoint is kept."""
    cfg = load_config(params)
    g, tok_cfg = cfg.gpt, cfg.tokenizer
    device = resolve_device(g.device, "gpt.device")
    train_text, val_text = read_split(corpus / "train.txt"), read_split(corpus / "val.txt")

    tokenizer = build_tokenizer(tok_cfg.kind, train_text, tok_cfg.vocab_size, val_text)
    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    net = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        block_size=g.block_size,
        n_layer=g.n_layer,
        n_head=g.n_head,
        n_embd=g.n_embd,
        dropout=g.dropout,
    )
    settings = TrainSettings(
        batch_size=g.batch_size,
        iters=g.iters,
        lr=g.lr,
        min_lr=g.min_lr,
        warmup_iters=g.warmup_iters,
        weight_decay=g.weight_decay,
        grad_clip=g.grad_clip,
        eval_interval=g.eval_interval,
        bf16=g.precision == "bfloat16",
        seed=g.seed,
    )

    progress = Progress("gpt_train", g.iters)
    start = time.perf_counter()
    result = train_gpt(train_ids, val_ids, net, settings, device, on_step=progress)
    seconds = time.perf_counter() - start

    # Loss per token -> bits per character: nats/token * tokens/char / ln 2.
    val_bpc = result.val_loss * len(val_ids) / len(val_text) / math.log(2)
    save_gpt(model, result.model, tokenizer, {"best_step": result.best_step})
    write_json(tokenizer_out, tokenizer.to_dict())
    with Live(str(live_dir), dvcyaml=False, save_dvc_exp=False) as live:
        for row in result.history:
            live.step = int(row["step"])
            live.log_metric("train_loss", row["train_loss"])
            live.log_metric("val_loss", row["val_loss"])
    write_json(
        metrics,
        {
            "train_loss": result.train_loss,
            "val_loss": result.val_loss,
            "val_bpc": val_bpc,
            "n_params": result.model.n_params(),
            "best_step": result.best_step,
            "vocab_size": tokenizer.vocab_size,
            "val_tokens": len(val_ids),
        },
    )
    tokens = g.iters * g.batch_size * g.block_size
    write_json(timing, {"gpt_train_seconds": seconds, "gpt_tokens_per_second": tokens / seconds})
    print(
        f"trained {g.iters} steps ({tokens / 1e6:.1f} M tokens) in {seconds:.1f}s on {device}: "
        f"{tokens / seconds:.0f} tokens/s; best val_loss {result.val_loss:.4f} nats/token "
        f"({val_bpc:.3f} bits/char) at step {result.best_step}, {tok_cfg.kind} tokenizer"
    )


if __name__ == "__main__":
    run_stage(main)
