"""Stage figures_conditional: the labelled training data by class and the conditional loss."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import read_column
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion import figures
from genlab.diffusion.data import read_classes

LOSS = Path("reports/train/conditional/plots/metrics/loss.tsv")


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (section `classes`)."),
    data: Path = typer.Option(Path("data/classes.csv"), help="labelled points."),
    loss_tsv: Path = typer.Option(LOSS, help="loss per epoch (DVCLive)."),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
) -> None:
    """Draw the labelled data over the region boundaries, and the training loss."""
    layout = load_config(params).classes.layout
    x0, labels = read_classes(data, layout)
    figures.class_data(x0.numpy(), labels.numpy(), layout, fig_dir / "class_data.png")
    figures.loss_curve(read_column(loss_tsv, "loss"), fig_dir / "loss_conditional.png")


if __name__ == "__main__":
    run_stage(main)
