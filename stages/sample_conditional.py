"""Stage sample_conditional: `conditional.n` samples of every class, scored against its region."""

from pathlib import Path

import pandas as pd
import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_csv, write_json
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion import experiments as ex
from genlab.diffusion import figures
from genlab.diffusion.quality import class_quality
from genlab.diffusion.training import load_denoiser
from genlab.diffusion.truth import num_classes


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sampler, metrics, classes)."),
    model: Path = typer.Option(Path("models/conditional.pt"), help="trained denoiser."),
    out: Path = typer.Option(Path("reports/samples/conditional.csv"), help="samples."),
    metrics: Path = typer.Option(Path("reports/metrics/conditional.json"), help="metrics."),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
) -> None:
    """Sample every class, score each against its region, draw trajectories and samples."""
    cfg = load_config(params)
    s, layout = cfg.sampler, cfg.classes.layout
    denoiser, schedule = load_denoiser(model, num_classes=num_classes(layout))

    labels, noise, x, nfe = ex.sample_classes(denoiser, schedule, s, cfg.conditional.n)
    quality = class_quality(x, labels, layout, cfg.metrics)
    write_csv(out, pd.DataFrame(x.numpy(), columns=["x", "y"]).assign(label=labels.numpy()))
    write_json(metrics, {**quality, "cond_nfe": nfe})
    shown = ", ".join(f"{k} {v:.4f}" for k, v in quality.items() if isinstance(v, float))
    print(f"{s.describe()}: NFE {nfe}, {shown}")

    paths = ex.class_trajectories(denoiser, schedule, s)
    title = f"One trajectory per class\n{s.describe()}"
    figures.class_trajectories(paths, layout, title, fig_dir / "class_trajectories.png")
    title = f"Conditional samples ({s.describe()})"
    figures.class_samples(noise, x, labels, layout, title, fig_dir / "class_samples.png")


if __name__ == "__main__":
    run_stage(main)
