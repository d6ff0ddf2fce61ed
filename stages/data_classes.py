"""Stage data_classes: the square's points labelled by region -> data/classes.csv."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_csv
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion.data import make_classes


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (section `classes`)."),
    out: Path = typer.Option(Path("data/classes.csv"), help="CSV to write."),
) -> None:
    """Generate `classes.n` points uniform in the square, labelled by `classes.layout`."""
    cfg = load_config(params).classes
    frame = make_classes(cfg.n, cfg.seed, cfg.layout)
    write_csv(out, frame)
    print(f"wrote {len(frame)} labelled points ({cfg.layout} layout) to {out}")


if __name__ == "__main__":
    run_stage(main)
