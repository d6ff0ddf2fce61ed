"""Stage figures: forward process, loss curve, step counts, schedules and grids, quality per NFE.

With --conditional: the labelled training data by class and the conditional loss curve.
"""

from dataclasses import replace
from pathlib import Path

import torch
import typer

from genlab import figures
from genlab.cli import run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.denoiser import eps_fn
from genlab.evaluation import forward_paths, quality_table, sample_points
from genlab.io import markdown_table, read_column, read_points, write_csv, write_text
from genlab.samplers import SAMPLERS
from genlab.training import load_denoiser


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sections figures, sampler)."),
    conditional: bool = typer.Option(
        False, "--conditional", help="draw the labelled data and the conditional loss instead."
    ),
    model: Path = typer.Option(Path("models/unconditional.pt"), help="trained denoiser."),
    loss_tsv: Path = typer.Option(
        None, help="loss per epoch [default: reports/train/<model>/plots/metrics/loss.tsv]."
    ),
    data: Path = typer.Option(Path("data/classes.csv"), help="labelled points (--conditional)."),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
    table_dir: Path = typer.Option(Path("reports/quality"), help="folder for the NFE table."),
) -> None:
    """Draw the exercise's figures that do not depend on the sampler's step count or seed."""
    cfg = load_config(params)
    name = "conditional" if conditional else "unconditional"
    loss_tsv = loss_tsv or Path(f"reports/train/{name}/plots/metrics/loss.tsv")
    if conditional:
        points = read_points(data, ("x", "y", "label"), int_columns=("label",))
        figures.class_data(
            points[["x", "y"]].to_numpy(),
            points["label"].to_numpy(),
            cfg.classes.layout,
            fig_dir / "c1_classes.png",
        )
        figures.loss_curve(read_column(loss_tsv, "loss"), fig_dir / "c2_loss.png")
        return
    fcfg, s = cfg.figures, cfg.sampler
    denoiser, schedule = load_denoiser(model)
    eps = eps_fn(denoiser, schedule)

    t, paths = forward_paths(fcfg.forward_start, schedule, fcfg.forward_steps, 1, fcfg.seeds[0])
    figures.forward_process(t, paths[:, 0], fig_dir / "q1_forward.png")

    figures.loss_curve(read_column(loss_tsv, "loss"), fig_dir / "q2_loss.png")

    trajs, clouds = [], []
    for steps in fcfg.step_counts:
        spec = replace(s, steps=steps)
        traj: list[torch.Tensor] = []
        sample_points(eps, schedule, spec, 1, fcfg.seeds[0], trajectory=traj)
        trajs.append(torch.cat(traj))
        clouds.append(sample_points(eps, schedule, spec, fcfg.n, fcfg.seeds[0])[1])
    figures.step_counts(
        trajs,
        clouds,
        fcfg.step_counts,
        f"{s.kind} sampler, {s.grid} grid",
        fig_dir / "q4_steps.png",
    )

    grid_clouds = {
        grid: sample_points(
            eps, schedule, replace(s, grid=grid, steps=fcfg.grid_steps), fcfg.n, fcfg.seeds[0]
        )[1]
        for grid in ("uniform", "karras", "quadratic")
    }
    figures.schedules_and_grids(
        schedule,
        fcfg.grid_steps,
        s.rho,
        grid_clouds,
        f"{s.kind} sampler",
        fig_dir / "q5_schedules_grids.png",
    )

    table = quality_table(
        eps,
        schedule,
        s,
        list(SAMPLERS),
        fcfg.nfe,
        fcfg.quality_n,
        fcfg.seeds[0],
        cfg.metrics.projections,
        cfg.metrics.seed,
    )
    write_csv(table_dir / "quality_vs_nfe.csv", table)
    write_text(table_dir / "quality_vs_nfe.md", markdown_table(table))
    figures.quality_vs_nfe(table, fig_dir / "q4_quality_vs_nfe.png")
    print(table.to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
