"""Stage data: points uniform in [-1, 1]^2 -> data/square.csv, or labelled -> data/classes.csv."""

from enum import Enum
from pathlib import Path

import typer

from genlab.cli import run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.data import make_classes, make_square
from genlab.io import write_csv


class Dataset(str, Enum):
    square = "square"
    classes = "classes"


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (section `data` or `classes`)."),
    dataset: Dataset = typer.Option(
        Dataset.square, help="square: unlabelled; classes: labelled by region."
    ),
    out: Path = typer.Option(None, help="CSV to write [default: data/<dataset>.csv]."),
) -> None:
    """Generate a dataset from params `data` (square) or `classes` (layout, n, seed)."""
    cfg = load_config(params)
    out = out or Path(f"data/{dataset.value}.csv")
    if dataset is Dataset.square:
        frame = make_square(cfg.data.n, cfg.data.seed)
    else:
        frame = make_classes(cfg.classes.n, cfg.classes.seed, cfg.classes.layout)
    write_csv(out, frame)
    print(f"wrote {len(frame)} points to {out}")


if __name__ == "__main__":
    run_stage(main)
