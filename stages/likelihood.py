"""Stage likelihood: ELBO and exact ODE log-likelihood of both models against the truth.

Writes the table reports/likelihood/points.{csv,md}, the same estimators with the exact
denoiser of the true data (exact_denoiser.{csv,md}: what a perfect model would score),
the calibration metrics reports/metrics/likelihood.json, a heat map of the unconditional
model beside the true density and the ODE round trip of `likelihood.roundtrip`.
"""

import time
from pathlib import Path

import pandas as pd
import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_json, write_table
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion import figures
from genlab.diffusion.likelihood import evaluate_model, heat_map, table_points
from genlab.diffusion.training import load_denoiser
from genlab.diffusion.truth import num_classes


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sections likelihood, classes)."),
    unconditional: Path = typer.Option(Path("models/unconditional.pt"), help="its denoiser."),
    conditional: Path = typer.Option(Path("models/conditional.pt"), help="its denoiser."),
    out_dir: Path = typer.Option(Path("reports/likelihood"), help="folder for the tables."),
    metrics: Path = typer.Option(Path("reports/metrics/likelihood.json"), help="calibration."),
    timing: Path = typer.Option(Path("reports/timing/likelihood.json"), help="wall time."),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
) -> None:
    """Score both models' likelihoods against the true densities."""
    start = time.perf_counter()
    cfg = load_config(params)
    lc, layout = cfg.likelihood, cfg.classes.layout
    points = table_points(lc.points, layout)  # a label outside the layout stops here
    models = {
        "uncond": ("unconditional", *load_denoiser(unconditional)),
        "cond": ("conditional", *load_denoiser(conditional, num_classes=num_classes(layout))),
    }
    scored = {p: evaluate_model(*m, lc, layout, points) for p, m in models.items()}
    maps, map_metrics = heat_map(*models["uncond"][1:], lc)

    results = {f"{p}_{k}": v for p, r in scored.items() for k, v in r.metrics.items()}
    results.update({f"uncond_{k}": v for k, v in map_metrics.items()})
    table = pd.concat([r.table for r in scored.values()], ignore_index=True)
    write_table(out_dir / "points", table, "{:.3f}")
    exact = pd.concat([r.exact for r in scored.values()], ignore_index=True)
    write_table(out_dir / "exact_denoiser", exact, "{:.3f}")
    write_json(metrics, results)
    trips = {name: scored[p].trip for p, (name, *_) in models.items()}
    figures.round_trips(trips, fig_dir / "ode_roundtrip.png")
    figures.likelihood_maps(lc.heatmap_lim, maps, fig_dir / "likelihood_heatmap.png")
    seconds = time.perf_counter() - start
    write_json(timing, {"likelihood_seconds": seconds})
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    print(f"likelihood: {seconds:.1f}s; " + ", ".join(f"{k} {v:.3f}" for k, v in results.items()))


if __name__ == "__main__":
    run_stage(main)
