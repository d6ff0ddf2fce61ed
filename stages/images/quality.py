"""Stage quality of the image pipeline: the Frechet distance of every sampler at every NFE
budget, and samples against step count and sampler."""

from pathlib import Path

import typer

from genlab.common.cli import resolve_device, run_stage
from genlab.common.io import write_json, write_table
from genlab.images import figures
from genlab.images.classifier import load_classifier
from genlab.images.data import read_split
from genlab.images.experiments import best_sampler, quality_table, step_cells
from genlab.images.fid import Scorer
from genlab.images.training import load_image_model
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params file (sampler, figures)."),
    data: Path = typer.Option(Path("data/images/digits.npz"), help="the split digits."),
    model: Path = typer.Option(Path("models/images/unet.pt"), help="trained U-Net."),
    classifier: Path = typer.Option(Path("models/images/classifier.pt"), help="classifier."),
    table: Path = typer.Option(Path("reports/images/quality_vs_nfe"), help="table stem."),
    metrics: Path = typer.Option(Path("reports/metrics/img_quality.json"), help="metrics."),
    fig_dir: Path = typer.Option(Path("reports/images/figures"), help="figures folder."),
) -> None:
    """FID of held_out / 2 unconditional samples per sampler and NFE; the best sampler's row."""
    cfg = load_images_config(params)
    s, f = cfg.img_sampler, cfg.img_figures
    device = resolve_device(s.device, "img_sampler.device")
    net, schedule, _ = load_image_model(model)
    xt, yt = read_split(data, "test")
    scorer = Scorer(load_classifier(classifier), xt, yt, cfg.img_data.seed)
    frame = quality_table(net, schedule, scorer, s, f.samplers, f.nfe, f.quality_guidance, device)
    write_table(table, frame)
    write_json(metrics, best_sampler(frame))
    print(frame.to_string(index=False))
    figures.quality_vs_nfe(frame, scorer.floor, fig_dir / "quality_vs_nfe.png")
    cells = step_cells(net, schedule, s, f.samplers, f.step_counts, f.seed, device)
    figures.steps_grid(cells, fig_dir / "steps_and_samplers.png")


if __name__ == "__main__":
    run_stage(main)
