"""Where the conditional model's ODE log p error comes from: the noise in its regression target.

Trains the conditional denoiser as the `train_conditional` stage does (`train_denoiser` with
the same params and data) but lets the head regress on one of these targets, then prints
the error of the probability-flow ODE log p at the nine grid cells' centres, per seed:

- sample: the drawn noise eps, denoising score matching as in the pipeline;
- stf: the stable target field (Xu et al. 2023): the posterior mean of the noise given x
  over the drawn point and `--refs` other training points of its class, each weighted by
  N(x; x0_j, sigma^2 I). Less noise wherever sigma exceeds the points' spacing;
- exact: the true denoiser of the uniform cell (`truth.region_mass`): no noise at all;
  exact_low / exact_high: the true denoiser only below / above sigma = `--split`, the drawn
  noise elsewhere.

    python benchmarks/ode_error_sources.py --targets sample,stf,exact --seeds 0,1 --jobs 2
    python benchmarks/ode_error_sources.py --denoiser '{"sigma_sampling": "lognormal"}'

`sample` and `stf` are minimised by the denoiser of the training points, `exact` by that of
the true density: the rows show what the target's noise, and the training set's own
deviation from the truth, do to the trained network (docs/denoiser.md, round 4).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import pandas as pd
import torch
import typer

from genlab.config import PARAMS_FILE, Config, load_config
from genlab.diffusion.data import make_classes
from genlab.diffusion.likelihood import exact_eps_for, ode_logp
from genlab.diffusion.model import Denoiser, eps_fn, noise_schedule
from genlab.diffusion.training import train_denoiser
from genlab.diffusion.truth import log_density, num_classes

TARGETS = ("sample", "stf", "exact", "exact_low", "exact_high")
CENTRES = tuple((x, y) for x in (-2 / 3, 0.0, 2 / 3) for y in (-2 / 3, 0.0, 2 / 3))


def stf_eps(
    x: torch.Tensor,
    sigma: torch.Tensor,
    x0: torch.Tensor,
    labels: torch.Tensor,
    data: tuple[torch.Tensor, torch.Tensor],
    refs: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """The stable target field of one batch: E[eps | x] over each row's own point and `refs`
    points of its class drawn without replacement (they may include the row's own point)."""
    points, classes = data
    out = torch.empty_like(x)
    for c in labels.unique():
        rows = (labels == c).nonzero()[:, 0]
        pool = (classes == c).nonzero()[:, 0]
        ref = points[pool[torch.randperm(len(pool), generator=generator)[:refs]]]
        xr, sr, own = x[rows], sigma[rows], x0[rows]
        logits = torch.cat(
            [-((xr - own) ** 2).sum(1, keepdim=True), -(torch.cdist(xr, ref) ** 2)], dim=1
        ) / (2 * sr**2)
        w = torch.softmax(logits, dim=1)
        mean = w[:, :1] * own + w[:, 1:] @ ref
        out[rows] = (xr - mean) / sr
    return out


def train(
    cfg: Config, target: str, seed: int, refs: int, split: float, threads: int, changes: dict
) -> Denoiser:
    """The conditional denoiser as its stage trains it, with `changes` to its settings,
    fitted to `target`."""
    torch.set_num_threads(threads)
    d = replace(cfg.conditional.denoiser(cfg.denoiser), **changes, seed=seed, device="cpu")
    layout = cfg.classes.layout
    frame = make_classes(cfg.classes.n, cfg.classes.seed, layout)
    points = torch.tensor(frame[["x", "y"]].to_numpy(), dtype=torch.float32)
    classes = torch.tensor(frame["label"].to_numpy())
    rows = len(points) * d.noise_draws
    batch = d.batch_size if 0 < d.batch_size < rows else rows  # as train_denoiser batches
    ref_gen = torch.Generator().manual_seed(seed + 1)  # leaves the training draws as in `sample`
    exact = exact_eps_for(layout)

    data = (points, classes)

    def stf(x0, labels, x, eps, sigma):  # fresh references for every epoch's batch
        out = torch.empty_like(eps)
        for b in (slice(i, i + batch) for i in range(0, len(x), batch)):
            out[b] = stf_eps(x[b], sigma[b], x0[b], labels[b], data, refs, ref_gen)
        return out

    def true(x0, labels, x, eps, sigma):  # exact_low / exact_high: on one side of `split`
        true_eps = exact(labels)(x.double(), sigma.double()).float()
        low = sigma < split
        keep = {"exact": torch.ones_like(low), "exact_low": low, "exact_high": ~low}[target]
        return torch.where(keep, true_eps, eps)

    hook = None if target == "sample" else stf if target == "stf" else true
    model, _ = train_denoiser(
        points,
        d,
        torch.device("cpu"),
        labels=classes,
        num_classes=num_classes(layout),
        class_dim=cfg.conditional.class_dim,
        target=hook,
    )
    return model


def score(
    cfg: Config, target: str, seed: int, refs: int, split: float, threads: int, changes: dict
) -> dict[str, object]:
    """Train one model and return its ODE log p errors at the cell centres."""
    start = time.perf_counter()
    model = train(cfg, target, seed, refs, split, threads, changes)
    seconds = time.perf_counter() - start
    layout = cfg.classes.layout
    xy = torch.tensor(CENTRES, dtype=torch.float64)
    labels = torch.arange(len(CENTRES))  # grid layout: class = 3 column + row
    schedule = noise_schedule(model.cfg)
    logp, _ = ode_logp(eps_fn(model.double(), schedule, labels), xy, schedule, 200)
    error = (logp - log_density(xy, labels, layout)).tolist()
    row = {"target": target, "seed": seed, "train_s": seconds}
    row |= {"mean_abs": sum(map(abs, error)) / len(error), "max_abs": max(map(abs, error))}
    row |= {"centre": error[4], "corner": error[0]}
    print(json.dumps(row), flush=True)
    return row


def main(
    targets: str = typer.Option(
        "sample,stf,exact", help=f"comma-separated, of: {', '.join(TARGETS)}."
    ),
    seeds: str = typer.Option("0,1", help="comma-separated training seeds."),
    refs: int = typer.Option(512, help="stf: reference points per class."),
    split: float = typer.Option(0.1, help="exact_low / exact_high: the sigma between them."),
    jobs: int = typer.Option(1, help="models trained at once."),
    threads: int = typer.Option(1, help="torch threads per model."),
    denoiser: str = typer.Option(
        "", help='JSON of the model\'s `denoiser` settings to change, e.g. {"members": 1}.'
    ),
    points: int = typer.Option(0, help="training points (classes.n); 0: the params value."),
) -> None:
    """Train the conditional model on each target and seed; print its ODE log p errors."""
    cfg = load_config(PARAMS_FILE)
    if points:
        cfg = replace(cfg, classes=replace(cfg.classes, n=points))
    changes = json.loads(denoiser or "{}")
    if cfg.classes.layout != "grid":
        raise typer.BadParameter(f"classes.layout is {cfg.classes.layout!r}; this needs grid")
    runs = [(t.strip(), int(s)) for t in targets.split(",") for s in seeds.split(",")]
    unknown = sorted({t for t, _ in runs} - set(TARGETS))
    if unknown:
        raise typer.BadParameter(f"unknown targets {unknown}; allowed: {', '.join(TARGETS)}")
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(score, cfg, *run, refs, split, threads, changes) for run in runs]
        rows = [f.result() for f in futures]
    print(pd.DataFrame(rows).round(3).to_markdown(index=False))


if __name__ == "__main__":
    typer.run(main)
