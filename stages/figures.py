"""Stage figures: forward process, loss curve, step counts, schedules and grids, quality per NFE."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import read_column, write_table
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion import experiments as ex
from genlab.diffusion import figures
from genlab.diffusion.model import eps_fn
from genlab.diffusion.training import load_denoiser

LOSS = Path("reports/train/unconditional/plots/metrics/loss.tsv")


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (figures, sampler, metrics)."),
    model: Path = typer.Option(Path("models/unconditional.pt"), help="trained denoiser."),
    loss_tsv: Path = typer.Option(LOSS, help="loss per epoch (DVCLive)."),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
    table_dir: Path = typer.Option(Path("reports/quality"), help="folder for the NFE table."),
) -> None:
    """Draw the figures that do not depend on the sampler's step count or seed."""
    cfg = load_config(params)
    f, s = cfg.figures, cfg.sampler
    denoiser, schedule = load_denoiser(model)
    eps, seed = eps_fn(denoiser, schedule), f.seeds[0]

    t, paths = ex.forward_paths(f.forward_start, schedule, f.forward_steps, 1, seed)
    figures.forward_process(t, paths[:, 0], fig_dir / "forward_process.png")
    figures.loss_curve(read_column(loss_tsv, "loss"), fig_dir / "loss_unconditional.png")
    trajs, clouds = ex.step_sweep(eps, schedule, s, f.step_counts, f.n, seed)
    title = f"{s.kind} sampler, {s.grid} grid"
    figures.step_counts(trajs, clouds, f.step_counts, title, fig_dir / "steps_effect.png")
    grids = ex.grid_clouds(eps, schedule, s, f.grid_steps, f.n, seed)
    out = fig_dir / "schedules_and_grids.png"
    figures.schedules_and_grids(schedule, f.grid_steps, s.rho, grids, f"{s.kind} sampler", out)

    table = ex.quality_table(
        eps, schedule, s, f.nfe, f.quality_grids, f.quality_n, seed, cfg.metrics
    )
    write_table(table_dir / "quality_vs_nfe", table)
    figures.quality_vs_nfe(table, fig_dir / "quality_vs_nfe.png")
    print(table.to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
