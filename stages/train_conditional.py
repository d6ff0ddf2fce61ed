"""Stage train_conditional: the denoiser with a learned class embedding, on data/classes.csv."""

import time
from pathlib import Path

import typer

from genlab.common.cli import Progress, resolve_device, run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion.data import read_classes
from genlab.diffusion.training import save_training, train_denoiser
from genlab.diffusion.truth import num_classes


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (denoiser, classes, conditional)."),
    data: Path = typer.Option(Path("data/classes.csv"), help="labelled training points."),
    model: Path = typer.Option(Path("models/conditional.pt"), help="checkpoint to write."),
    live_dir: Path = typer.Option(Path("reports/train/conditional"), help="DVCLive folder."),
    metrics: Path = typer.Option(Path("reports/metrics/train_conditional.json"), help="metrics."),
    timing: Path = typer.Option(Path("reports/timing/train_conditional.json"), help="wall time."),
) -> None:
    """The `denoiser` settings with `conditional.class_dim` class features and
    `conditional.members` members, for `conditional.epochs` epochs of
    `conditional.batch_size` points; metric names carry the prefix cond_."""
    config = load_config(params)
    cond = config.conditional
    cfg = cond.denoiser(config.denoiser)
    layout = config.classes.layout
    x0, labels = read_classes(data, layout)
    device = resolve_device(cfg.device, "denoiser.device")
    progress = Progress("train conditional", cfg.epochs)
    start = time.perf_counter()
    net, losses = train_denoiser(
        x0,
        cfg,
        device,
        labels=labels,
        num_classes=num_classes(layout),
        class_dim=cond.class_dim,
        on_epoch=lambda i, v: progress(i, f"loss {v:.4f}"),
    )
    seconds = time.perf_counter() - start
    save_training(
        net,
        losses,
        seconds,
        checkpoint=model,
        live_dir=live_dir,
        metrics=metrics,
        timing=timing,
        prefix="cond_",
    )
    print(f"trained {cfg.epochs} epochs in {seconds:.1f}s on {device}; final loss {losses[-1]:.4f}")


if __name__ == "__main__":
    run_stage(main)
