"""Stage sample: draw from the unconditional model with the configured sampler and score it."""

from pathlib import Path

import pandas as pd
import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_csv, write_json
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion import experiments as ex
from genlab.diffusion import figures
from genlab.diffusion.model import eps_fn
from genlab.diffusion.quality import square_quality
from genlab.diffusion.training import load_denoiser


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sampler, metrics, figures)."),
    model: Path = typer.Option(Path("models/unconditional.pt"), help="trained denoiser."),
    out: Path = typer.Option(Path("reports/samples/unconditional.csv"), help="samples."),
    metrics: Path = typer.Option(Path("reports/metrics/sampling.json"), help="quality metrics."),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
) -> None:
    """Sample `sampler.n` points, score them against the square, draw seeds and determinism."""
    cfg = load_config(params)
    s, fcfg = cfg.sampler, cfg.figures
    denoiser, schedule = load_denoiser(model)
    eps = eps_fn(denoiser, schedule)

    _, x, nfe = ex.sample_points(eps, schedule, s, s.n, s.seed)
    quality = square_quality(x, cfg.metrics)
    write_csv(out, pd.DataFrame(x.numpy(), columns=["x", "y"]))
    write_json(metrics, {**quality, "nfe": nfe})
    print(f"{s.describe()}: NFE {nfe}, " + ", ".join(f"{k} {v:.4f}" for k, v in quality.items()))

    clouds = ex.seed_clouds(eps, schedule, s, fcfg.n, fcfg.seeds)
    title = f"{fcfg.n} samples per seed ({s.describe()})"
    figures.seed_grid(clouds, fcfg.seeds, title, fig_dir / "seed_grid.png")
    runs = ex.determinism(eps, schedule, s, fcfg.repeats)
    figures.determinism(runs, fig_dir / "determinism.png")


if __name__ == "__main__":
    run_stage(main)
