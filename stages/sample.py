"""Stage sample: draw from the unconditional model with the configured sampler and score it."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
import typer

from genlab import figures
from genlab.cli import run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.denoiser import eps_fn
from genlab.evaluation import repeat_from, sample_points
from genlab.io import write_csv, write_json
from genlab.metrics import square_quality
from genlab.samplers import DETERMINISTIC, start_noise
from genlab.training import load_denoiser


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sections sampler, metrics)."),
    model: Path = typer.Option(Path("models/unconditional.pt"), help="trained denoiser."),
    out: Path = typer.Option(Path("reports/samples/unconditional.csv"), help="samples (x, y)."),
    metrics: Path = typer.Option(Path("reports/metrics/sampling.json"), help="quality metrics."),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
) -> None:
    """Sample `sampler.n` points, score them against the square, draw the seed and noise figures."""
    cfg = load_config(params)
    s, fcfg = cfg.sampler, cfg.figures
    denoiser, schedule = load_denoiser(model)
    eps = eps_fn(denoiser, schedule)
    desc = f"{s.kind}, {s.steps} steps, {s.grid} grid" + (
        ", final denoise" if s.denoise_final else ""
    )

    _, x, nfe = sample_points(eps, schedule, s, s.n, s.seed)
    quality = square_quality(x, cfg.metrics.projections, cfg.metrics.seed)
    write_csv(out, pd.DataFrame(x.numpy(), columns=["x", "y"]))
    write_json(metrics, {**quality, "nfe": nfe})
    print(f"{desc}: NFE {nfe}, " + ", ".join(f"{k} {v:.4f}" for k, v in quality.items()))

    clouds = [sample_points(eps, schedule, s, fcfg.n, seed)[1] for seed in fcfg.seeds]
    figures.seed_grid(
        clouds, fcfg.seeds, f"{fcfg.n} samples per seed ({desc})", fig_dir / "q3_seeds.png"
    )

    # One start noise, repeated: a deterministic sampler must return it identically every time.
    det = s if DETERMINISTIC[s.kind] else replace(s, kind="heun")
    sto = replace(s, kind="stochastic", eta=s.eta if s.kind == "stochastic" else 1.0)
    start = start_noise(1, schedule, torch.Generator().manual_seed(s.seed))
    finals_det, _ = repeat_from(eps, schedule, det, start, fcfg.repeats, s.seed)
    finals_sto, paths = repeat_from(eps, schedule, sto, start, fcfg.repeats, s.seed)
    figures.determinism(
        finals_det,
        finals_sto,
        paths[:, :4],
        start[0],
        (f"{det.kind} (deterministic)", f"stochastic, eta={sto.eta}"),
        fig_dir / "q6_determinism.png",
    )


if __name__ == "__main__":
    run_stage(main)
