"""Stage report: write reports/README.md, the page a reader opens first."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_text
from genlab.config import PARAMS_FILE, load_config
from genlab.report import build_report


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (captions quote its values)."),
    reports: Path = typer.Option(Path("reports"), help="reports folder; links are relative."),
) -> None:
    """Collect every figure, table and metrics file into one markdown page."""
    cfg = load_config(params)
    metrics = sorted((reports / "metrics").glob("*.json"))
    write_text(reports / "README.md", build_report(cfg, reports, metrics))
    print(f"wrote {reports / 'README.md'}")


if __name__ == "__main__":
    run_stage(main)
