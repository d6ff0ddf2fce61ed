"""Stage train: fit the noise-prediction denoiser on data/square.csv."""

import time
from pathlib import Path

import typer

from genlab.common.cli import Progress, resolve_device, run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion.data import read_square
from genlab.diffusion.training import save_training, train_denoiser


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (section `denoiser`)."),
    data: Path = typer.Option(Path("data/square.csv"), help="training points."),
    model: Path = typer.Option(Path("models/unconditional.pt"), help="checkpoint to write."),
    live_dir: Path = typer.Option(Path("reports/train/unconditional"), help="DVCLive folder."),
    metrics: Path = typer.Option(Path("reports/metrics/train.json"), help="metrics to write."),
    timing: Path = typer.Option(Path("reports/timing/train.json"), help="wall time to write."),
) -> None:
    """Full-batch Adam on every point; loss per epoch to DVCLive, model to models/."""
    cfg = load_config(params).denoiser
    x0 = read_square(data)
    device = resolve_device(cfg.device, "denoiser.device")
    progress = Progress("train unconditional", cfg.epochs)
    start = time.perf_counter()
    net, losses = train_denoiser(
        x0, cfg, device, on_epoch=lambda i, v: progress(i, f"loss {v:.4f}")
    )
    seconds = time.perf_counter() - start
    save_training(
        net, losses, seconds, checkpoint=model, live_dir=live_dir, metrics=metrics, timing=timing
    )
    print(f"trained {cfg.epochs} epochs in {seconds:.1f}s on {device}; final loss {losses[-1]:.4f}")


if __name__ == "__main__":
    run_stage(main)
