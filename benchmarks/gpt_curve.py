"""Validation loss against wall time for one GPT setting: the curve the defaults are chosen from.

Trains on the corpus with params.yaml's `gpt` section, changed by `-s key=value`, and
prints one JSON line per evaluation (step, seconds, val_loss) and a summary line.
Seconds include the evaluations. Example, the setting of nanoGPT's Shakespeare-char recipe
scaled down (4 layers, width 128, batch 16 x 128, lr 3e-3, 2000 steps):

    python benchmarks/gpt_curve.py -s iters=2000 -s batch_size=16 -s lr=0.003 -s eval_interval=200
"""

from __future__ import annotations

import dataclasses
import json
import time

import torch
import typer

from genlab.common.cli import claim_threads, cpu_capability, resolve_device
from genlab.config import PARAMS_FILE, build_section, load_config
from genlab.gpt.config import GptConfig
from genlab.gpt.corpus import fetch_corpus, split_text
from genlab.gpt.tokenizer import tokenize_splits
from genlab.gpt.training import resolve_precision, train_gpt


def main(
    setting: list[str] = typer.Option([], "-s", help="gpt.KEY=VALUE overrides, repeatable."),
) -> None:
    """Train once and print the validation curve with wall times."""
    cfg = load_config(PARAMS_FILE)
    raw = dataclasses.asdict(cfg.gpt) | dict(s.split("=", 1) for s in setting)
    g: GptConfig = build_section(GptConfig, raw, "gpt")
    threads = claim_threads()
    text = fetch_corpus(cfg.corpus.sources, timeout=cfg.corpus.timeout).text
    train_text, val_text = split_text(text, cfg.corpus.val_fraction)
    t = cfg.tokenizer
    tok, train_ids, val_ids = tokenize_splits(t.kind, t.vocab_size, train_text, val_text)
    device = resolve_device(g.device, "gpt.device")
    precision, why = resolve_precision(g, tok.vocab_size, train_ids, device)
    start = time.perf_counter()
    result = train_gpt(train_ids, val_ids, g, tok.vocab_size, device, precision)
    seconds = time.perf_counter() - start
    for row in result.history:
        print(json.dumps({k: round(v, 4) for k, v in row.items()}))
    summary = {
        "setting": setting,
        "precision": precision,
        "why": why,
        "cpu": cpu_capability(),
        "threads": threads,
        "seconds": round(seconds, 1),
        "best_val_loss": round(result.val_loss, 4),
        "best_step": result.best_step,
        "tokens_per_second": round(result.tokens / seconds),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    torch.manual_seed(0)
    typer.run(main)
