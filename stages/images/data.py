"""Stage data of the image pipeline: the digits from the first source that works, split
into training and held-out images."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_json
from genlab.images.data import read_digits, split_digits, write_digits
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params file (section `img_data`)."),
    out: Path = typer.Option(Path("data/images/digits.npz"), help="the split digits."),
    metrics: Path = typer.Option(Path("reports/metrics/img_data.json"), help="metrics."),
) -> None:
    """Read `img_data.sources` in order, keep n balanced digits, hold out `held_out`."""
    cfg = load_images_config(params).img_data
    digits = read_digits(cfg.sources, Path("."), cfg.timeout)
    for skipped in digits.skipped:
        print(f"skipped source {skipped}")
    split = split_digits(digits, cfg.n, cfg.held_out, cfg.seed)
    digest = write_digits(out, split)
    info = {
        "img_data_source": digits.source,
        "img_data_sha256": digest,
        "img_train_images": len(split["train_labels"]),
        "img_held_out_images": len(split["test_labels"]),
    }
    write_json(metrics, info)
    print(", ".join(f"{k} {v}" for k, v in info.items()))


if __name__ == "__main__":
    run_stage(main)
