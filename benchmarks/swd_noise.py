"""How precise is one swd_ratio? Score many independent clouds of `sampler.n` points (fresh
true draws, a perfect sampler, and the trained unconditional model at a few samplers, one
sampler seed per cloud) with one reference pair and with `metrics.references` pairs, and
print each ratio's mean, standard deviation and range (docs/metrics.md). Needs
models/unconditional.pt (`dvc repro train`). Example:

    python benchmarks/swd_noise.py --clouds 20
"""

from __future__ import annotations

import statistics
from dataclasses import replace

import pandas as pd
import torch
import typer

from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion.experiments import sample_points
from genlab.diffusion.model import eps_fn
from genlab.diffusion.quality import square_quality
from genlab.diffusion.samplers import steps_for_nfe
from genlab.diffusion.training import load_denoiser
from genlab.diffusion.truth import sample_square

# (sampler, grid, NFE) rows scored besides the true draws
SAMPLERS = (("dpmpp_2m", "uniform", 10), ("dpmpp_2m", "uniform", 20), ("stochastic", "karras", 101))


def main(
    clouds: int = typer.Option(
        20, min=2, help="independent clouds per row (sampler seeds 0, 1, ...)."
    ),
    threads: int = typer.Option(2, help="torch threads."),
) -> None:
    """Print the spread of swd_ratio over clouds, for one and for `metrics.references` pairs."""
    torch.set_num_threads(threads)
    cfg = load_config(PARAMS_FILE)
    s, n = cfg.sampler, cfg.sampler.n
    model, schedule = load_denoiser("models/unconditional.pt")
    rows: dict[str, list[torch.Tensor]] = {
        "true draws": [
            sample_square(n, torch.Generator().manual_seed(10_000 + i)) for i in range(clouds)
        ]
    }
    eps = eps_fn(model, schedule)
    for kind, grid, nfe in SAMPLERS:
        sc = replace(s, kind=kind, grid=grid, steps=steps_for_nfe(kind, nfe, s.denoise_final))
        rows[f"{kind} {grid} {nfe} NFE"] = [
            sample_points(eps, schedule, sc, n, seed)[1] for seed in range(clouds)
        ]
    table = []
    for name, xs in rows.items():
        for k in sorted({1, cfg.metrics.references}):
            metrics = replace(cfg.metrics, references=k)
            ratios = [square_quality(x, metrics)["swd_ratio"] for x in xs]
            table.append({"clouds": name, "references": k, "mean": statistics.mean(ratios),
                          "sd": statistics.stdev(ratios), "min": min(ratios),
                          "max": max(ratios)})  # fmt: skip
    print(pd.DataFrame(table).round(3).to_markdown(index=False))


if __name__ == "__main__":
    typer.run(main)
