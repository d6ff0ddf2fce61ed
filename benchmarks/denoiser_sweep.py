"""Train one denoiser outside the pipeline and score its samples and likelihood fit.

For sweeps over settings the pipeline fixes per run (sigma_max, data size, epochs,
seed, sampler). Prints one JSON line: sample quality (in_support / class_accuracy,
swd_ratio) and the ODE log p error against the truth over interior nodes (at least
0.13 from their region's edges). Example:

    python benchmarks/denoiser_sweep.py --sigma-max 5 --conditional --n 3000 --epochs 9000
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace

import torch
import typer

from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion.experiments import sample_points
from genlab.diffusion.likelihood import ode_logp
from genlab.diffusion.model import eps_fn, noise_schedule
from genlab.diffusion.quality import class_quality, square_quality
from genlab.diffusion.training import train_denoiser
from genlab.diffusion.truth import num_classes, region_of


def interior_nodes(conditional: bool) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """(points, labels, true log density): 8 x 8 nodes in the square, or 3 x 3 per grid cell."""
    if not conditional:
        axis = torch.linspace(-0.85, 0.85, 8, dtype=torch.float64)
        return torch.cartesian_prod(axis, axis), None, -math.log(4.0)
    centres = torch.tensor([-2 / 3, 0.0, 2 / 3], dtype=torch.float64)
    offsets = torch.tensor([-0.2, 0.0, 0.2], dtype=torch.float64)
    cell = torch.cartesian_prod(centres, centres)  # (column x, row y), class 3 column + row
    pts = (cell[:, None, :] + torch.cartesian_prod(offsets, offsets)[None]).reshape(-1, 2)
    labels = torch.arange(9).repeat_interleave(9)
    return pts, labels, math.log(9 / 4)


def main(
    sigma_max: float = typer.Option(5.0, help="sigma(1) of the schedule."),
    conditional: bool = typer.Option(False, "--conditional", help="the 3 x 3 grid model."),
    n: int = typer.Option(1000, help="training points, uniform in the square."),
    epochs: int = typer.Option(3000, help="full-batch epochs."),
    seed: int = typer.Option(0, help="training seed (the data seed is fixed)."),
    kind: str = typer.Option("stochastic", help="sampler: euler | stochastic | heun."),
    steps: int = typer.Option(100, help="sampler steps."),
) -> None:
    """Train, sample and score one configuration; the rest comes from params.yaml."""
    cfg = load_config(PARAMS_FILE)
    d = replace(cfg.denoiser, sigma_max=sigma_max, epochs=epochs, seed=seed)
    schedule = noise_schedule(d)
    x0 = 2 * torch.rand(n, 2, generator=torch.Generator().manual_seed(0)) - 1
    labels = region_of(x0, "grid") if conditional else None
    classes = num_classes("grid") if conditional else 0
    start = time.perf_counter()
    model, _ = train_denoiser(
        x0, d, torch.device("cpu"), labels=labels, num_classes=classes,
        class_dim=cfg.conditional.class_dim,
    )  # fmt: skip
    out: dict[str, object] = {
        "sigma_max": sigma_max, "conditional": conditional, "n": n, "epochs": epochs,
        "seed": seed, "sampler": f"{kind} {steps}",
        "train_seconds": round(time.perf_counter() - start, 1),
    }  # fmt: skip
    s = replace(cfg.sampler, kind=kind, steps=steps)
    m = cfg.metrics
    if conditional:
        lab = torch.arange(9).repeat_interleave(cfg.conditional.n)
        _, x, _ = sample_points(eps_fn(model, schedule, lab), schedule, s, len(lab), s.seed)
        q = class_quality(x, lab, "grid", m)
        out |= {"class_accuracy": q["class_accuracy"], "swd_ratio": q["cond_swd_ratio_mean"]}
    else:
        _, x, _ = sample_points(eps_fn(model, schedule), schedule, s, s.n, s.seed)
        q = square_quality(x, m)
        out |= {"in_support": q["in_support"], "swd_ratio": q["swd_ratio"]}
    pts, pt_labels, truth = interior_nodes(conditional)
    logp, _ = ode_logp(eps_fn(model.double(), schedule, pt_labels), pts, schedule, 100)
    out["ode_interior_abs_error"] = float((logp - truth).abs().mean())
    out["ode_interior_bias"] = float((logp - truth).mean())
    print(json.dumps(out))


if __name__ == "__main__":
    typer.run(main)
