"""Stage train: fit the noise-prediction denoiser, unconditional or class-conditional."""

import time
from dataclasses import replace
from pathlib import Path

import torch
import typer
from dvclive import Live

from genlab.classes import num_classes
from genlab.cli import Progress, run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.denoiser import NetConfig
from genlab.errors import GenlabError
from genlab.io import read_points, write_json
from genlab.schedules import Schedule
from genlab.training import resolve_device, save_denoiser, train_denoiser


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sections denoiser, classes)."),
    conditional: bool = typer.Option(
        False, "--conditional", help="train on data/classes.csv with a learned class embedding."
    ),
    data: Path = typer.Option(None, help="training points [default: data/square.csv]."),
    model: Path = typer.Option(None, help="checkpoint [default: models/<model>.pt]."),
    live_dir: Path = typer.Option(None, help="DVCLive folder [default: reports/train/<model>]."),
    metrics: Path = typer.Option(None, help="metrics [default: reports/metrics/train*.json]."),
    timing: Path = typer.Option(None, help="wall time [default: reports/timing/train*.json]."),
) -> None:
    """Full-batch Adam on every point; loss per epoch to DVCLive, model to models/.

    The conditional model is the same network and training with `conditional.class_dim`
    learned class features joined to its input, for `conditional.epochs` epochs.
    """
    config = load_config(params)
    cfg = config.denoiser
    # Metric names of the conditional model carry a prefix: unique across metrics files.
    name, prefix, suffix = (
        ("conditional", "cond_", "_conditional") if conditional else ("unconditional", "", "")
    )
    data = data or Path("data/classes.csv" if conditional else "data/square.csv")
    model = model or Path(f"models/{name}.pt")
    live_dir = live_dir or Path(f"reports/train/{name}")
    metrics = metrics or Path(f"reports/metrics/train{suffix}.json")
    timing = timing or Path(f"reports/timing/train{suffix}.json")

    epochs = config.conditional.epochs if conditional else cfg.epochs
    device = resolve_device(cfg.device)
    net = NetConfig(
        width=cfg.width, depth=cfg.depth, time_input=cfg.time_input, scale_input=cfg.scale_input
    )
    labels = None
    if conditional:
        classes = num_classes(config.classes.layout)
        points = read_points(data, ("x", "y", "label"), int_columns=("label",))
        labels = torch.tensor(points["label"].to_numpy())
        bad = labels[(labels < 0) | (labels >= classes)]
        if len(bad):
            raise GenlabError(
                f"{data}: label {int(bad[0])} is outside the {config.classes.layout} layout "
                f"(labels 0..{classes - 1}); rerun the data stage"
            )
        net = replace(net, num_classes=classes, class_dim=config.conditional.class_dim)
    else:
        points = read_points(data)
    x0 = torch.tensor(points[["x", "y"]].to_numpy(), dtype=torch.float32)
    schedule = Schedule(cfg.schedule, cfg.sigma_min, cfg.sigma_max)

    progress = Progress(f"train {name}", epochs)
    start = time.perf_counter()
    denoiser, losses = train_denoiser(
        x0,
        net,
        schedule,
        epochs=epochs,
        lr=cfg.lr,
        seed=cfg.seed,
        device=device,
        labels=labels,
        lr_schedule=cfg.lr_schedule,
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
            f"{prefix}denoiser_loss": losses[-1],
            f"{prefix}denoiser_loss_last100": sum(tail) / len(tail),
            f"{prefix}denoiser_params": sum(p.numel() for p in denoiser.parameters()),
        },
    )
    write_json(
        timing,
        {
            f"{prefix}train_seconds": seconds,
            f"{prefix}train_epochs_per_second": epochs / seconds,
        },
    )
    print(f"trained {epochs} epochs in {seconds:.1f}s on {device}; final loss {losses[-1]:.4f}")


if __name__ == "__main__":
    run_stage(main)
