"""Stage classifier of the image pipeline: the CNN that scores samples, trained on the
training digits, with its held-out accuracy and the Frechet distance's floor."""

import time
from pathlib import Path

import typer

from genlab.common.cli import Progress, resolve_device, run_stage
from genlab.common.io import write_json
from genlab.images.classifier import save_classifier, train_classifier
from genlab.images.data import read_split
from genlab.images.fid import Scorer
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params file (`img_classifier`)."),
    data: Path = typer.Option(Path("data/images/digits.npz"), help="the split digits."),
    model: Path = typer.Option(Path("models/images/classifier.pt"), help="checkpoint."),
    metrics: Path = typer.Option(Path("reports/metrics/img_classifier.json"), help="metrics."),
    timing: Path = typer.Option(Path("reports/timing/img_classifier.json"), help="wall time."),
) -> None:
    """Train on the training digits; score the held-out ones."""
    all_cfg = load_images_config(params)
    cfg = all_cfg.img_classifier
    x, y = read_split(data, "train")
    xt, yt = read_split(data, "test")
    device = resolve_device(cfg.device, "img_classifier.device")
    progress = Progress("classifier", cfg.epochs)
    start = time.perf_counter()
    net, losses = train_classifier(x, y, cfg, device, lambda i, v: progress(i, f"loss {v:.4f}"))
    seconds = time.perf_counter() - start
    scorer = Scorer(net, xt, yt, all_cfg.img_data.seed)
    info = {
        "img_classifier_accuracy": scorer.class_accuracy(xt, yt),
        "img_classifier_loss": losses[-1],
        "img_fid_floor": scorer.floor,
        "img_fid_size": scorer.size,
    }
    save_classifier(model, net, {"losses": losses})
    write_json(metrics, info)
    write_json(timing, {"img_classifier_seconds": seconds})
    print(", ".join(f"{k} {v:.4f}" for k, v in info.items()) + f" ({seconds:.1f}s on {device})")


if __name__ == "__main__":
    run_stage(main)
