"""Stage report of the image pipeline: write reports/images/README.md."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_text
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config
from genlab.images_report import build_images_report
from genlab.report import IMAGE_METRICS


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params (captions quote its values)."),
    reports: Path = typer.Option(Path("reports/images"), help="folder; links are relative."),
    metrics: Path = typer.Option(Path("reports/metrics"), help="folder of the img_* metrics."),
) -> None:
    """Collect the image figures, the quality table and the img_* metrics into one page."""
    cfg = load_images_config(params)
    files = sorted(metrics.glob(f"{IMAGE_METRICS}*.json"))
    write_text(reports / "README.md", build_images_report(cfg, reports, files))
    print(f"wrote {reports / 'README.md'}")


if __name__ == "__main__":
    run_stage(main)
