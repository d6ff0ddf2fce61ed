"""Train denoiser variants side by side and tabulate what the pipeline would report for each.

A variant is a name and `denoiser` overrides (`data_n` and `classes_n` set the training
points; `cond_<field>` sets a field of section `conditional`, such as `cond_members` or
`cond_x_fourier`, which that model does not take from `denoiser`, and `cond_batch` its
batch_size) with the conditional model's epochs;
every variant trains both models on the pipeline's data recipe and is scored as the
stages score them: sample quality at the configured sampler, the best sampler at small
NFE budgets, class accuracy and swd (also on `--large` samples per class: `_large`), and
ELBO / ODE log p errors at the nine grid cells' centres (`ode_ok`: how many of them are
within the ODE target).
Variants run in parallel processes (`--jobs`, each with `--threads` threads). `--seeds`
trains every variant once per `denoiser.seed` and adds a mean row per variant, with the
number of seeds that meet the interior ODE target at the pipeline's table points (on their
mean, and at the worst of them: `_max_`), the ELBO target at the worst of them and the
class-accuracy target; `--models` trains one of the two models only. Examples:

    python benchmarks/denoiser_variants.py --jobs 2 --out reports/denoiser_variants.md
    python benchmarks/denoiser_variants.py --jobs 1 --threads 2 --models conditional \
        --seeds 0,1,2,3,4,5,6,7 --only default --extra '{"one member": [{"cond_members": 1}, null]}'
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
import typer

from genlab.config import PARAMS_FILE, Config, load_config
from genlab.diffusion.config import ConditionalConfig, DenoiserConfig, LikelihoodConfig
from genlab.diffusion.data import make_classes, stored_square
from genlab.diffusion.experiments import quality_table, sample_classes, sample_points
from genlab.diffusion.likelihood import evaluate_model, table_points
from genlab.diffusion.model import eps_fn, noise_schedule
from genlab.diffusion.quality import class_quality, square_quality
from genlab.diffusion.training import train_denoiser
from genlab.diffusion.truth import num_classes

# name -> (denoiser overrides, conditional epochs or None for the params value)
VARIANTS: dict[str, tuple[dict[str, object], int | None]] = {
    "default": ({}, None),
    "conditional of round 9": (
        {
            "cond_x_fourier": 2,
            "cond_x_fourier_blur": 0.0,
            "cond_batch": 2000,
            "cond_adam_eps": 0.0005,
        },
        None,
    ),
    "eps (previous default)": ({"parameterization": "eps"}, 9000),
    "eps, ema": ({"parameterization": "eps", "ema": 0.995}, 3000),
    "edm": ({"parameterization": "edm"}, 3000),
    "edm, lognormal": ({"parameterization": "edm", "sigma_sampling": "lognormal"}, 3000),
    "edm, ema": ({"parameterization": "edm", "ema": 0.995}, 3000),
    "edm, 4 draws": ({"parameterization": "edm", "noise_draws": 4}, 3000),
    "edm, width 128": ({"parameterization": "edm", "width": 128}, 3000),
    "edm, depth 4": ({"parameterization": "edm", "depth": 4}, 3000),
}


Points = tuple[torch.Tensor, torch.Tensor]  # locations and labels, as table_points gives them

# The nine grid cells' centres: interior points of both models.
CENTRES = tuple((x, y) for x in (-2 / 3, 0.0, 2 / 3) for y in (-2 / 3, 0.0, 2 / 3))


def best_row(table: pd.DataFrame, budget: int) -> pd.Series:
    """The best sampler within `budget` NFE: lowest swd_ratio among rows with in_support
    >= 0.99, else the highest in_support."""
    rows = table[table.nfe <= budget]
    good = rows[rows.in_support >= 0.99]
    return good.loc[good.swd_ratio.idxmin()] if len(good) else rows.loc[rows.in_support.idxmax()]


ODE_TARGET = 0.1  # the interior ODE log p error target, in nats
ELBO_TARGET = 0.15  # and its interior ELBO gap target
ACC_TARGET = 0.99  # and its class-accuracy target
# Samples per class for `class_acc_large` and `cond_swd_large` (`--large`): 200 per class
# measure the accuracy to a standard error of about 0.0023, 1000 to about 0.001.
LARGE_PER_CLASS = 1000


def centres_within(table: pd.DataFrame) -> int:
    """How many of the nine centres have their ODE log p within ODE_TARGET of the truth."""
    return int(((table.logp_ode - table.logp_true).abs() < ODE_TARGET).sum())


def score(
    cfg: Config,
    name: str,
    overrides: dict[str, object],
    cond_epochs: int | None,
    threads: int,
    seed: int | None = None,
    models: str = "both",
    large: int = LARGE_PER_CLASS,
) -> dict[str, object]:
    """Train the models of one variant (`models`: both, unconditional or conditional) with
    `denoiser.seed` = `seed` (None: the params value) and score them as the pipeline does."""
    torch.set_num_threads(threads)
    overrides = dict(overrides) | ({} if seed is None else {"seed": seed})
    classes_n = int(str(overrides.pop("classes_n", cfg.classes.n)))
    # cond_<field> (cond_batch: batch_size) sets a field of section `conditional`
    cond_fields = {
        ("batch_size" if key == "cond_batch" else key[5:]): overrides.pop(key)
        for key in [k for k in overrides if k.startswith("cond_")]
    }
    cond = replace(cfg.conditional, **cond_fields, epochs=cond_epochs or cfg.conditional.epochs)
    data_n = int(str(overrides.pop("data_n", cfg.data.n)))
    d = replace(cfg.denoiser, **overrides, device="cpu")
    layout = cfg.classes.layout
    lc = replace(cfg.likelihood, points=CENTRES, ode_steps=100)
    points = table_points(lc.points, layout)
    table = table_points(cfg.likelihood.points, layout)
    row: dict[str, object] = {"variant": name, "seed": d.seed}
    if models != "conditional":
        row |= _score_unconditional(cfg, d, data_n, lc, points, table)
    if models != "unconditional":
        row |= _score_conditional(cfg, d, cond, classes_n, lc, points, table, large)
    print(json.dumps(row, default=float), flush=True)
    return row


def _score_unconditional(
    cfg: Config, d: DenoiserConfig, data_n: int, lc: LikelihoodConfig, points: Points, table: Points
) -> dict[str, object]:
    """Train the `train` stage's model with settings `d` on `data_n` points and score it."""
    schedule = noise_schedule(d)
    square = stored_square(data_n, cfg.data.seed)
    x0 = torch.tensor(square[["x", "y"]].to_numpy(), dtype=torch.float32)
    start = time.perf_counter()
    model, _ = train_denoiser(x0, d, torch.device("cpu"))
    row: dict[str, object] = {"train_s": time.perf_counter() - start}
    s, m = cfg.sampler, cfg.metrics
    _, x, _ = sample_points(eps_fn(model, schedule), schedule, s, s.n, s.seed)
    q = square_quality(x, m)
    row |= {"in_support": q["in_support"], "swd_ratio": q["swd_ratio"]}
    grids = cfg.figures.quality_grids
    by_nfe = quality_table(eps_fn(model, schedule), schedule, s, [10, 20], grids, 2000, s.seed, m)
    for budget in (10, 20):
        best = best_row(by_nfe, budget)
        quality = f"{best.in_support:.3f}/{best.swd_ratio:.2f}"
        row[f"best@{budget}"] = f"{best.sampler} {best.grid} {quality}"
    layout = cfg.classes.layout
    at_centres = evaluate_model("u", model, schedule, lc, layout, points)
    uncond = at_centres.metrics
    at_table = evaluate_model("u", model, schedule, cfg.likelihood, layout, table).metrics
    row |= {"ode_err": uncond["interior_logp_ode_abs_error"],
            "elbo_gap": uncond["interior_elbo_gap"],
            "ode_err_table": at_table["interior_logp_ode_abs_error"],
            "ode_max": uncond["interior_logp_ode_max_abs_error"],
            "ode_ok": centres_within(at_centres.table),
            "ode_max_table": at_table["interior_logp_ode_max_abs_error"],
            "elbo_max_table": at_table["interior_elbo_max_abs_gap"]}  # fmt: skip
    return row


def _score_conditional(
    cfg: Config,
    d: DenoiserConfig,
    cond: ConditionalConfig,
    classes_n: int,
    lc: LikelihoodConfig,
    points: Points,
    table: Points,
    large: int,
) -> dict[str, object]:
    """Train the `train_conditional` stage's model (`cond` on top of `d`) on `classes_n`
    labelled points and score it, the _large columns on `large` samples per class."""
    schedule = noise_schedule(d)
    s, m = cfg.sampler, cfg.metrics
    layout = cfg.classes.layout
    classes = make_classes(classes_n, cfg.classes.seed, layout)
    xc = torch.tensor(classes[["x", "y"]].to_numpy(), dtype=torch.float32)
    labels = torch.tensor(classes["label"].to_numpy())
    dc = cond.denoiser(d)
    start = time.perf_counter()
    cmodel, _ = train_denoiser(
        xc, dc, torch.device("cpu"), labels=labels, num_classes=num_classes(layout),
        class_dim=cfg.conditional.class_dim,
    )  # fmt: skip
    row: dict[str, object] = {"cond_train_s": time.perf_counter() - start}
    for per_class, suffix in ((cfg.conditional.n, ""), (large, "_large")):
        lab, _, xs, _ = sample_classes(cmodel, schedule, s, per_class)
        cq = class_quality(xs, lab, layout, m)
        row |= {f"class_acc{suffix}": cq["class_accuracy"],
                f"cond_swd{suffix}": cq["cond_swd_ratio_mean"]}  # fmt: skip
    at_centres = evaluate_model("c", cmodel, schedule, lc, layout, points)
    centres = at_centres.metrics
    at_table = evaluate_model("c", cmodel, schedule, cfg.likelihood, layout, table).metrics
    row |= {"cond_ode_err": centres["interior_logp_ode_abs_error"],
            "cond_elbo_gap": centres["interior_elbo_gap"],
            "cond_ode_err_table": at_table["interior_logp_ode_abs_error"],
            "cond_ode_max": centres["interior_logp_ode_max_abs_error"],
            "cond_ode_ok": centres_within(at_centres.table),
            "cond_ode_max_table": at_table["interior_logp_ode_max_abs_error"],
            "cond_elbo_max_table": at_table["interior_elbo_max_abs_gap"]}  # fmt: skip
    return row


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: the mean of every numeric column over its seeds, and how many
    seeds meet the interior ODE target at the table points (on the mean over the interior
    points, and at every one: `_max_`), the ELBO target at every one and the class-accuracy
    target."""
    means = rows.groupby("variant", sort=False).mean(numeric_only=True).drop(columns="seed")
    means.insert(0, "seeds", rows.groupby("variant", sort=False).size())
    targets = {"ode_err_table": ODE_TARGET, "ode_max_table": ODE_TARGET,
               "elbo_max_table": ELBO_TARGET}  # fmt: skip
    for column, target in targets.items():
        for name in (column, "cond_" + column):
            if name in rows:
                below = rows[name] < target
                means[f"{name}<{target}"] = below.groupby(rows.variant, sort=False).sum()
    for column in ("class_acc", "class_acc_large"):
        if column in rows:
            good = rows[column] >= ACC_TARGET
            means[f"{column}>={ACC_TARGET}"] = good.groupby(rows.variant, sort=False).sum()
    return means.reset_index()


def main(
    jobs: int = typer.Option(1, help="variants trained at once."),
    threads: int = typer.Option(2, help="torch threads per variant."),
    only: str = typer.Option("", help="comma-separated variant names (default: all)."),
    extra: str = typer.Option("", help='JSON {"name": [overrides, cond_epochs]} to add.'),
    out: Path = typer.Option(None, help="also write the table here (markdown)."),
    seeds: str = typer.Option("", help="comma-separated denoiser.seed values (default: params)."),
    models: str = typer.Option("both", help="both | unconditional | conditional."),
    large: int = typer.Option(LARGE_PER_CLASS, help="samples per class of the _large columns."),
) -> None:
    """Train and score every variant; print the table."""
    if models not in ("both", "unconditional", "conditional"):
        raise typer.BadParameter(f"{models!r}; expected both, unconditional or conditional")
    cfg = load_config(PARAMS_FILE)
    variants = dict(VARIANTS) | {k: tuple(v) for k, v in json.loads(extra or "{}").items()}
    names = [n.strip() for n in only.split(",")] if only else list(variants)
    seed_list = [int(x) for x in seeds.split(",")] if seeds else [None]
    with ProcessPoolExecutor(jobs) as pool:
        futures = [
            pool.submit(score, cfg, n, *variants[n], threads, seed, models, large)
            for n in names
            for seed in seed_list
        ]
        rows = pd.DataFrame([f.result() for f in futures])
    table = rows.round(3).to_markdown(index=False)
    if len(seed_list) > 1:
        table += "\n\n" + summarise(rows).round(4).to_markdown(index=False)
    print(table)
    if out is not None:
        out.write_text(table + "\n")


if __name__ == "__main__":
    typer.run(main)
