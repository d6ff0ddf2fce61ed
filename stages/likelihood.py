"""Stage likelihood: ELBO and exact ODE log-likelihood of both models at chosen points.

Writes the table reports/likelihood/points.{csv,md}, the same estimators with the
exact denoiser of the true data at the in-support points (exact_denoiser.{csv,md}:
what a perfect model would score, prior mismatch at sigma_max included), the
calibration metrics reports/metrics/likelihood.json, heat maps of the unconditional
model's ELBO and ODE log p beside the true density (their interior nodes also give the
uncond_map_interior_* metrics), and the ODE round trip of `likelihood.roundtrip`.
"""

import time
from functools import partial
from pathlib import Path

import pandas as pd
import torch
import typer

from genlab import figures
from genlab.classes import edge_distance, log_density, num_classes, region_mass, region_of
from genlab.cli import run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.denoiser import eps_fn
from genlab.io import markdown_table, write_csv, write_json, write_text
from genlab.likelihood import (
    INTERIOR,
    elbo,
    exact_eps,
    ode_logp,
    point_table,
    round_trip,
    summary,
    table_points,
)
from genlab.metrics import square_edge_distance, square_log_density
from genlab.training import load_denoiser

PREFIX = {"unconditional": "uncond_", "conditional": "cond_"}


def write_table(frame: pd.DataFrame, stem: Path) -> None:
    write_csv(stem.with_suffix(".csv"), frame)
    shown = frame.assign(label=frame.label.astype("string").fillna(""))
    write_text(stem.with_suffix(".md"), markdown_table(shown, "{:.3f}"))


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
    xy, labels = table_points(lc.points, layout)
    rt = torch.tensor([lc.roundtrip], dtype=torch.float64)
    models = {
        "unconditional": load_denoiser(unconditional),
        "conditional": load_denoiser(conditional, num_classes=num_classes(layout)),
    }
    estimate = {"samples": lc.elbo_samples, "ode_steps": lc.ode_steps, "seed": lc.seed}

    tables, exact_tables, results, trips = [], [], {}, {}
    for name, (denoiser, schedule) in models.items():
        if name == "unconditional":
            # The same locations without a class, each once.
            pts = torch.tensor(list(dict.fromkeys(map(tuple, xy.tolist()))), dtype=torch.float64)
            labs = rt_label = None
            truth, edge = square_log_density(pts), square_edge_distance(pts)
        else:
            pts, labs, rt_label = xy, labels, region_of(rt, layout)
            truth, edge = log_density(pts, labs, layout), edge_distance(pts, labs, layout)
        eps_for = partial(eps_fn, denoiser.double(), schedule)
        table = point_table(name, eps_for, pts, labs, schedule, truth, **estimate)
        tables.append(table)
        results.update({PREFIX[name] + k: v for k, v in summary(table, edge.numpy()).items()})

        def exact_for(lab: torch.Tensor | None):
            return exact_eps(lambda x, sigma: region_mass(x, lab, layout, sigma))

        inside = torch.isfinite(truth)
        exact = point_table(
            name,
            exact_for,
            pts[inside],
            None if labs is None else labs[inside],
            schedule,
            truth[inside],
            **estimate,
        )
        exact_tables.append(exact)
        results.update(
            {
                PREFIX[name] + "exact_" + k: v
                for k, v in summary(exact, edge[inside].numpy()).items()
            }
        )

        back, forward, backward = round_trip(
            eps_for(rt_label), rt, schedule, lc.ode_steps, lc.roundtrip_steps
        )
        error = float((back - rt).norm())
        trips[name] = (forward, backward, error)
        results[PREFIX[name] + "roundtrip_error"] = error

    frame = pd.concat(tables, ignore_index=True)
    write_table(frame, out_dir / "points")
    write_table(pd.concat(exact_tables, ignore_index=True), out_dir / "exact_denoiser")
    figures.round_trips(trips, fig_dir / "l2_roundtrip.png")

    denoiser, schedule = models["unconditional"]
    axis = torch.linspace(-lc.heatmap_lim, lc.heatmap_lim, lc.heatmap_size, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)
    eps_for = partial(eps_fn, denoiser, schedule)
    bound = elbo(eps_for, grid, None, schedule, lc.heatmap_samples, lc.seed).elbo
    logp, _ = ode_logp(eps_for(None), grid, schedule, lc.heatmap_ode_steps)
    truth = square_log_density(grid)
    # The heat map's interior nodes: a fit measure over many points, not two.
    interior = square_edge_distance(grid) >= INTERIOR
    if interior.any():
        results["uncond_map_interior_logp_ode_abs_error"] = float(
            (logp - truth)[interior].abs().mean()
        )
        results["uncond_map_interior_elbo_gap"] = float((truth - bound)[interior].mean())
    write_json(metrics, results)
    shape = (lc.heatmap_size, lc.heatmap_size)
    figures.likelihood_maps(
        lc.heatmap_lim,
        {
            "ELBO (unconditional)": bound.reshape(shape).numpy(),
            "ODE log p (unconditional)": logp.reshape(shape).numpy(),
            "true log p": truth.reshape(shape).numpy(),
        },
        fig_dir / "l1_heatmap.png",
    )
    seconds = time.perf_counter() - start
    write_json(timing, {"likelihood_seconds": seconds})
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(frame.round(3).to_string(index=False))
    print(
        f"likelihood stage: {seconds:.1f}s; "
        + ", ".join(f"{k} {v:.3f}" for k, v in results.items())
    )


if __name__ == "__main__":
    run_stage(main)
