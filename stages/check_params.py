"""Stage check_params: validate the whole params.yaml before any other stage runs.

DVC clears a stage's outputs before running it. Every stage depends on this stage's
stamp, so a typo'd key or a bad value anywhere in params.yaml stops the pipeline here,
with one line, before DVC touches any output. The stamp's content never changes, so a
valid edit re-runs only the stages whose params changed.
"""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_text
from genlab.config import PARAMS_FILE, load_config

STAMP = "params.yaml is valid\n"


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file to validate."),
    out: Path = typer.Option(Path("data/params.ok"), help="stamp written when it is valid."),
) -> None:
    """Load and validate every section of the params file."""
    load_config(params)
    write_text(out, STAMP)
    print(f"{params}: every section is valid")


if __name__ == "__main__":
    run_stage(main)
