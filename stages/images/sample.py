"""Stage sample of the image pipeline: unconditional and guided digits from the configured
sampler, scored by the classifier (Frechet distance and class accuracy)."""

from pathlib import Path

import torch
import typer

from genlab.common.cli import resolve_device, run_stage
from genlab.common.io import write_json, write_npz
from genlab.images import figures
from genlab.images.classifier import load_classifier
from genlab.images.data import read_split, to_pixels
from genlab.images.experiments import class_rows
from genlab.images.fid import Scorer
from genlab.images.sampling import calls_per_image, generate
from genlab.images.training import load_image_model
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params file (`img_sampler`)."),
    data: Path = typer.Option(Path("data/images/digits.npz"), help="the split digits."),
    model: Path = typer.Option(Path("models/images/unet.pt"), help="trained U-Net."),
    classifier: Path = typer.Option(Path("models/images/classifier.pt"), help="classifier."),
    out: Path = typer.Option(Path("reports/images/samples.npz"), help="the samples."),
    metrics: Path = typer.Option(Path("reports/metrics/img_sample.json"), help="metrics."),
    fig_dir: Path = typer.Option(Path("reports/images/figures"), help="figures folder."),
) -> None:
    """Draw held_out / 2 unconditional and per_class guided samples of every class."""
    cfg = load_images_config(params)
    s = cfg.img_sampler
    device = resolve_device(s.device, "img_sampler.device")
    net, schedule, _ = load_image_model(model)
    xt, yt = read_split(data, "test")
    scorer = Scorer(load_classifier(classifier), xt, yt, cfg.img_data.seed)
    free = generate(net, schedule, s, scorer.size, s.seed, device=device)
    labels = torch.arange(10 * s.per_class) % 10 if net.num_classes else None
    guided = generate(net, schedule, s, 10 * s.per_class, s.seed + 1, labels, device)
    info = {
        "img_fid": scorer.fid(free),
        "img_sampler": s.kind,
        "img_nfe": calls_per_image(s.kind, s.steps, s.denoise_final),
    }
    if labels is not None:
        info |= {
            "img_cfg_class_accuracy": scorer.class_accuracy(guided, labels),
            "img_cfg_fid": scorer.fid(guided),
            "img_cfg_guidance": s.guidance,
        }
    write_npz(
        out,
        unconditional=to_pixels(free),
        guided=to_pixels(guided),
        guided_labels=(labels if labels is not None else torch.zeros(0)).numpy(),
    )
    write_json(metrics, info)
    title = f"{s.kind}, {info['img_nfe']} NFE, guidance {s.guidance}: one row per class"
    per_row = min(s.per_class, 10)
    rows = class_rows(to_pixels(guided), labels, per_row)
    figures.class_grid(rows, per_row, title, fig_dir / "samples_per_class.png")
    free_title = f"unconditional, {s.kind}, {info['img_nfe']} NFE"
    figures.class_grid(to_pixels(free[:100]), 10, free_title, fig_dir / "samples_free.png")
    print(", ".join(f"{k} {v}" for k, v in info.items()))


if __name__ == "__main__":
    run_stage(main)
