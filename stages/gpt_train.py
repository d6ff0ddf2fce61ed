"""Stage gpt_train: build the tokenizer on the training split and train the GPT on it.

`gpt.nproc` > 1 (or starting it with `torchrun --nproc_per_node=N stages/gpt_train.py`)
trains with DistributedDataParallel, N processes sharing each global batch; rank 0 writes.
"""

import time
from pathlib import Path

import torch
import typer

from genlab.common.cli import Progress, cpu_capability, distributed, resolve_device, run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.gpt.corpus import read_split
from genlab.gpt.tokenizer import tokenize_splits
from genlab.gpt.training import TrainOutputs, resolve_precision, save_results, train_gpt


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
    g, kind = cfg.gpt, cfg.tokenizer.kind
    rank, world, device = distributed(g.nproc, resolve_device(g.device, "gpt.device"))
    train_text, val_text = read_split(corpus / "train.txt"), read_split(corpus / "val.txt")
    vocab = cfg.tokenizer.vocab_size
    tokenizer, train_ids, val_ids = tokenize_splits(kind, vocab, train_text, val_text)
    precision, why = resolve_precision(g, tokenizer.vocab_size, train_ids, device)
    setup = {
        "precision": precision,
        "cpu_capability": cpu_capability(),
        "threads": torch.get_num_threads(),
        "processes": world,
    }
    print(f"gpt_train on {device}, {why}: " + ", ".join(f"{k} {v}" for k, v in setup.items()))

    progress = Progress("gpt_train", g.iters) if rank == 0 else None
    start = time.perf_counter()
    result = train_gpt(train_ids, val_ids, g, tokenizer.vocab_size, device, precision, progress)
    seconds = time.perf_counter() - start
    if rank == 0:
        out = TrainOutputs(model, tokenizer_out, live_dir, metrics, timing)
        bpc = save_results(result, tokenizer, len(val_ids), len(val_text), seconds, setup, out)
        print(
            f"trained {result.tokens / 1e6:.1f} M tokens in {seconds:.1f}s: "
            f"{result.tokens / seconds:.0f} tokens/s; best val_loss {result.val_loss:.4f} "
            f"nats/token ({bpc:.3f} bits/char) at step {result.best_step}, {kind} tokenizer"
        )


if __name__ == "__main__":
    run_stage(main)
