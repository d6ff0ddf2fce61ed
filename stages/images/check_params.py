"""Stage check_params of the image pipeline: validate all of images/params.yaml first.

Every image stage depends on this stage's stamp, so a typo'd key or a bad value stops the
pipeline here, with one line, before DVC clears any output.
"""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_text
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config

STAMP = "images/params.yaml is valid\n"


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params file to validate."),
    out: Path = typer.Option(Path("data/images/params.ok"), help="stamp written when valid."),
) -> None:
    """Load and validate every section of the image params file."""
    load_images_config(params)
    write_text(out, STAMP)
    print(f"{params}: every section is valid")


if __name__ == "__main__":
    run_stage(main)
