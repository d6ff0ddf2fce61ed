"""Stage corpus: fetch the GPT's text from the first source that works and split it."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_json, write_text
from genlab.config import PARAMS_FILE, load_config
from genlab.gpt.corpus import describe, fetch_corpus, split_text


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file to read (section `corpus`)."),
    out_dir: Path = typer.Option(
        Path("data/corpus"), help="folder for text.txt, train.txt, val.txt."
    ),
    metrics: Path = typer.Option(Path("reports/metrics/corpus.json"), help="metrics to write."),
    root: Path = typer.Option(Path("."), help="folder that relative sources are read from."),
) -> None:
    """Try `corpus.sources` in order; strip Gutenberg's header and footer; split by position."""
    cfg = load_config(params).corpus
    corpus = fetch_corpus(cfg.sources, root, cfg.timeout)
    train, val = split_text(corpus.text, cfg.val_fraction)
    for name, text in (("text", corpus.text), ("train", train), ("val", val)):
        write_text(out_dir / f"{name}.txt", text)
    stats = describe(corpus.text)
    write_json(
        metrics,
        {**stats, "corpus_source": corpus.source, "train_chars": len(train), "val_chars": len(val)},
    )
    if corpus.skipped:
        print("corpus: skipped " + "; ".join(corpus.skipped))
    print(
        f"corpus from {corpus.source}: {stats['corpus_chars']} characters, "
        f"{stats['corpus_lines']} lines, sha256 {stats['corpus_sha256'][:12]}...; "
        f"{len(train)} for training, {len(val)} for validation"
    )


if __name__ == "__main__":
    run_stage(main)
