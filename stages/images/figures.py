"""Stage figures of the image pipeline: the forward process on a digit, the schedules, the
noise embedding, the loss curve and the reverse process as an animated GIF."""

from pathlib import Path

import typer

from genlab.common.cli import run_stage
from genlab.common.io import read_column
from genlab.images import experiments as ex
from genlab.images import figures
from genlab.images.data import read_split
from genlab.images.training import load_image_model
from genlab.images_config import IMAGES_PARAMS_FILE, load_images_config


def main(
    params: Path = typer.Option(IMAGES_PARAMS_FILE, help="params file (figures, sampler)."),
    data: Path = typer.Option(Path("data/images/digits.npz"), help="the split digits."),
    model: Path = typer.Option(Path("models/images/unet.pt"), help="trained U-Net."),
    loss: Path = typer.Option(
        Path("reports/images/train/plots/metrics/loss.tsv"), help="the training loss log."
    ),
    fig_dir: Path = typer.Option(Path("reports/images/figures"), help="figures folder."),
) -> None:
    """Every exploratory figure of the image pipeline."""
    cfg = load_images_config(params)
    f, s = cfg.img_figures, cfg.img_sampler
    net, schedule, header = load_image_model(model)
    x, _ = read_split(data, "train")
    states, sigmas, scale = ex.forward_states(x[0], schedule, f.forward_steps, f.seed)
    figures.forward_process(states, sigmas, scale, fig_dir / "forward_process.png")
    figures.schedules(ex.schedule_curves(cfg.img_diffusion), fig_dir / "schedules.png")
    matrix, levels = ex.embedding_matrix(cfg.img_unet.emb_dim, schedule)
    figures.embedding(matrix, levels, fig_dir / "embedding.png")
    figures.loss_curve(read_column(loss, "loss"), header["steps_per_epoch"], fig_dir / "loss.png")
    frames = ex.reverse_frames(net, schedule, s, f.gif_frames, f.seed)
    figures.reverse_gif(frames, 10, fig_dir / "reverse_process.gif")
    print(f"figures written to {fig_dir}")


if __name__ == "__main__":
    run_stage(main)
