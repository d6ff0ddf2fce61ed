"""Stage sample: draw from a trained model with the configured sampler and score it.

Unconditional: samples in the square, seed and determinism figures. Conditional
(`--conditional`): `conditional.n` samples of every class, scored against their
regions, one trajectory per class, and the samples beside their start noise.
"""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
import typer

from genlab import figures
from genlab.classes import class_quality, num_classes
from genlab.cli import run_stage
from genlab.config import PARAMS_FILE, Config, load_config
from genlab.denoiser import eps_fn
from genlab.evaluation import repeat_from, sample_points
from genlab.io import write_csv, write_json
from genlab.metrics import square_quality
from genlab.samplers import DETERMINISTIC, start_noise
from genlab.training import load_denoiser


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (sections sampler, metrics)."),
    conditional: bool = typer.Option(
        False, "--conditional", help="sample the class-conditional model, every class."
    ),
    model: Path = typer.Option(None, help="trained denoiser [default: models/<model>.pt]."),
    out: Path = typer.Option(None, help="samples [default: reports/samples/<model>.csv]."),
    metrics: Path = typer.Option(
        None, help="quality metrics [default: reports/metrics/sampling.json or conditional.json]."
    ),
    fig_dir: Path = typer.Option(Path("reports/figures"), help="folder for the figures."),
) -> None:
    """Sample, score against the truth and draw the figures that depend on the sampler."""
    cfg = load_config(params)
    name = "conditional" if conditional else "unconditional"
    model = model or Path(f"models/{name}.pt")
    out = out or Path(f"reports/samples/{name}.csv")
    metrics = metrics or Path(
        "reports/metrics/conditional.json" if conditional else "reports/metrics/sampling.json"
    )
    if conditional:
        sample_conditional(cfg, model, out, metrics, fig_dir)
    else:
        sample_unconditional(cfg, model, out, metrics, fig_dir)


def describe(cfg: Config) -> str:
    s = cfg.sampler
    return f"{s.kind}, {s.steps} steps, {s.grid} grid" + (
        ", final denoise" if s.denoise_final else ""
    )


def sample_unconditional(cfg: Config, model: Path, out: Path, metrics: Path, fig_dir: Path) -> None:
    """Sample `sampler.n` points, score them against the square, draw the seed and noise figures."""
    s, fcfg = cfg.sampler, cfg.figures
    denoiser, schedule = load_denoiser(model)
    eps = eps_fn(denoiser, schedule)
    desc = describe(cfg)

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


def sample_conditional(cfg: Config, model: Path, out: Path, metrics: Path, fig_dir: Path) -> None:
    """Sample every class, score each against its region, draw trajectories and samples."""
    s, layout = cfg.sampler, cfg.classes.layout
    classes = num_classes(layout)
    denoiser, schedule = load_denoiser(model, num_classes=classes)
    desc = describe(cfg)

    labels = torch.arange(classes).repeat_interleave(cfg.conditional.n)
    noise, x, nfe = sample_points(
        eps_fn(denoiser, schedule, labels), schedule, s, len(labels), s.seed
    )
    quality = class_quality(x, labels, layout, cfg.metrics.projections, cfg.metrics.seed)
    write_csv(out, pd.DataFrame(x.numpy(), columns=["x", "y"]).assign(label=labels.numpy()))
    write_json(metrics, {**quality, "cond_nfe": nfe})
    print(
        f"{desc}: NFE {nfe}, "
        + ", ".join(f"{k} {v:.4f}" for k, v in quality.items() if isinstance(v, float))
    )

    path: list[torch.Tensor] = []
    one_each = eps_fn(denoiser, schedule, torch.arange(classes))
    sample_points(one_each, schedule, s, classes, s.seed, trajectory=path)
    figures.class_trajectories(
        torch.stack(path),
        layout,
        f"One trajectory per class\n{desc}",
        fig_dir / "c3_trajectories.png",
    )
    figures.class_samples(
        noise, x, labels, layout, f"Conditional samples ({desc})", fig_dir / "c4_samples.png"
    )


if __name__ == "__main__":
    run_stage(main)
