"""Stage train: fit the noise-prediction denoiser on data/square.csv."""

import time
from pathlib import Path

import torch
import typer
from dvclive import Live

from genlab.cli import Progress, run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.denoiser import NetConfig
from genlab.io import read_points, write_json
from genlab.schedules import Schedule
from genlab.training import resolve_device, save_denoiser, train_denoiser


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file to read (section `denoiser`)."),
    data: Path = typer.Option(Path("data/square.csv"), help="training points (x, y)."),
    model: Path = typer.Option(Path("models/unconditional.pt"), help="checkpoint to write."),
    live_dir: Path = typer.Option(Path("reports/train/unconditional"), help="DVCLive folder."),
    metrics: Path = typer.Option(Path("reports/metrics/train.json"), help="metrics to write."),
    timing: Path = typer.Option(Path("reports/timing/train.json"), help="wall time to write."),
) -> None:
    """Full-batch Adam on every point; loss per epoch to DVCLive, model to models/."""
    cfg = load_config(params).denoiser
    device = resolve_device(cfg.device)
    points = read_points(data)
    x0 = torch.tensor(points[["x", "y"]].to_numpy(), dtype=torch.float32)
    schedule = Schedule(cfg.schedule, cfg.sigma_min)
    net = NetConfig(width=cfg.width, depth=cfg.depth, time_input=cfg.time_input)

    progress = Progress("train", cfg.epochs)
    start = time.perf_counter()
    denoiser, losses = train_denoiser(
        x0,
        net,
        schedule,
        epochs=cfg.epochs,
        lr=cfg.lr,
        seed=cfg.seed,
        device=device,
        on_epoch=lambda i, loss: progress(i, f"loss {loss:.4f}"),
    )
    seconds = time.perf_counter() - start

    save_denoiser(model, denoiser, schedule)
    with Live(str(live_dir), dvcyaml=False, save_dvc_exp=False) as live:
        # Setting the step directly writes one TSV row per epoch; next_step() would
        # rewrite the summary every epoch and cost seconds.
        for step, loss in enumerate(losses):
            live.step = step
            live.log_metric("loss", loss)
    tail = losses[-min(100, len(losses)) :]
    write_json(
        metrics,
        {
            "denoiser_loss": losses[-1],
            "denoiser_loss_last100": sum(tail) / len(tail),
            "denoiser_params": sum(p.numel() for p in denoiser.parameters()),
        },
    )
    write_json(timing, {"train_seconds": seconds, "train_epochs_per_second": cfg.epochs / seconds})
    print(f"trained {cfg.epochs} epochs in {seconds:.1f}s on {device}; final loss {losses[-1]:.4f}")


if __name__ == "__main__":
    run_stage(main)
