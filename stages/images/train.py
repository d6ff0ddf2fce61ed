"""Stage train of the image pipeline: the U-Net denoiser on the training digits."""

import time
from pathlib import Path

import typer

from genlab.common.cli import Progress, resolve_device, run_stage
from genlab.common.io import write_json, write_live
from genlab.images.data import read_split
from genlab.images.training import (
    resolve_precision,
    save_image_model,
    total_steps,
    train_images,
)
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params file (img_unet, img_train)."),
    data: Path = typer.Option(Path("data/images/digits.npz"), help="the split digits."),
    model: Path = typer.Option(Path("models/images/unet.pt"), help="checkpoint to write."),
    live_dir: Path = typer.Option(Path("reports/images/train"), help="DVCLive folder."),
    metrics: Path = typer.Option(Path("reports/metrics/img_train.json"), help="metrics."),
    timing: Path = typer.Option(Path("reports/timing/img_train.json"), help="wall time."),
) -> None:
    """Minibatch Adam on the denoising loss; the EMA weights to models/images/."""
    cfg = load_images_config(params)
    t = cfg.img_train
    x, y = read_split(data, "train")
    device = resolve_device(t.device, "img_train.device")
    precision = resolve_precision(t.precision, device)
    progress = Progress("train U-Net", total_steps(len(x), t))
    start = time.perf_counter()
    net, losses = train_images(
        x,
        y,
        cfg.img_unet,
        cfg.img_diffusion,
        t,
        device,
        on_step=lambda i, v: progress(i, f"loss {v:.2f}"),
    )
    seconds = time.perf_counter() - start
    per_epoch = len(losses) // t.epochs
    save_image_model(model, net, cfg.img_diffusion, {"steps_per_epoch": per_epoch})
    write_live(live_dir, [{"step": i, "loss": v} for i, v in enumerate(losses)])
    tail = losses[-per_epoch:]
    info = {
        "img_train_loss_last_epoch": sum(tail) / len(tail),
        "img_train_steps": len(losses),
        "img_unet_params": sum(p.numel() for p in net.parameters()),
    }
    write_json(metrics, info)
    write_json(
        timing,
        {
            "img_train_seconds": seconds,
            "img_train_images_per_second": len(losses) * t.batch_size / seconds,
            "img_train_precision": precision,
        },
    )
    print(
        f"trained {len(losses)} steps in {seconds:.1f}s on {device} ({precision}); "
        f"last-epoch loss {info['img_train_loss_last_epoch']:.3f}"
    )


if __name__ == "__main__":
    run_stage(main)
