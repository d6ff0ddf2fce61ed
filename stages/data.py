"""Stage data: n points uniform in [-1, 1]^2 -> data/square.csv (columns x, y)."""

from pathlib import Path

import typer

from genlab.cli import run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.data import make_square
from genlab.io import write_csv


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file to read (section `data`)."),
    out: Path = typer.Option(Path("data/square.csv"), help="CSV to write."),
) -> None:
    """Generate the unconditional dataset from params `data.n` and `data.seed`."""
    cfg = load_config(params).data
    write_csv(out, make_square(cfg.n, cfg.seed))
    print(f"wrote {cfg.n} points to {out}")


if __name__ == "__main__":
    run_stage(main)
