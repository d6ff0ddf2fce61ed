"""Stage report: write reports/README.md, the page a reader opens first, the same report as
reports/index.html (offline, interactive charts, differences from HEAD) and the template
that makes `dvc plots show` work offline."""

from pathlib import Path

import typer

from genlab.changes import compare_with_head, comparison_markdown
from genlab.charts import offline_bundle, plots_template
from genlab.common.cli import run_stage
from genlab.common.io import write_text
from genlab.config import PARAMS_FILE, load_config
from genlab.report import build_report, report_body, report_metrics
from genlab.webpage import build_page


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (captions quote its values)."),
    reports: Path = typer.Option(Path("reports"), help="reports folder; links are relative."),
) -> None:
    """Collect every figure, table and metrics file (but the image pipeline's) into one
    markdown page and one web page."""
    cfg = load_config(params)
    metrics = report_metrics(reports / "metrics")
    write_text(reports / "README.md", build_report(cfg, reports, metrics))
    bundle = offline_bundle()
    comparison = comparison_markdown(compare_with_head(params, metrics))
    page = build_page(cfg, reports, report_body(cfg, reports, metrics), comparison, bundle)
    write_text(reports / "index.html", page)
    write_text(reports / "plots_template.html", plots_template(bundle))
    print(f"wrote {reports / 'README.md'}, {reports / 'index.html'} ({len(page)} characters)")


if __name__ == "__main__":
    run_stage(main)
