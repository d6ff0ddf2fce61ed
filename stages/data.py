"""Stage data: points uniform in [-1, 1]^2 -> data/square.csv."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_csv
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion.data import make_square


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (section `data`)."),
    out: Path = typer.Option(Path("data/square.csv"), help="CSV to write."),
) -> None:
    """Generate `data.n` points uniform in the square from `data.seed`."""
    cfg = load_config(params).data
    frame = make_square(cfg.n, cfg.seed)
    write_csv(out, frame)
    print(f"wrote {len(frame)} points to {out}")


if __name__ == "__main__":
    run_stage(main)
