"""The generated reports/README.md: every figure with a caption, every metric, every table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from genlab.common.errors import GenlabError
from genlab.config import Config


@dataclass(frozen=True)
class Entry:
    """A figure or table file shown in the report, with what it shows and its params."""

    path: str
    caption: str
    params: tuple[str, ...] = ()


SECTIONS: dict[str, list[Entry]] = {
    "Diffusion on the square": [
        Entry(
            "figures/forward_process.png",
            "A forward-process path from a point outside the square, coloured by t.",
            ("denoiser.schedule", "figures.forward_start", "figures.forward_steps"),
        ),
        Entry(
            "figures/loss_unconditional.png",
            "Training loss per epoch (one batch each) and its moving average.",
            (
                "denoiser.width",
                "denoiser.depth",
                "denoiser.epochs",
                "denoiser.batch_size",
                "denoiser.lr",
            ),
        ),
        Entry(
            "figures/seed_grid.png",
            "Sample clouds drawn with different seeds.",
            ("sampler.kind", "sampler.steps", "sampler.grid", "figures.seeds", "figures.n"),
        ),
        Entry(
            "figures/steps_effect.png",
            "One trajectory (top) and a cloud of samples (bottom) for each step count.",
            ("sampler.kind", "sampler.grid", "figures.step_counts"),
        ),
        Entry(
            "figures/quality_vs_nfe.png",
            "Quality against cost: in_support and swd_ratio per denoiser call, per sampler.",
            ("sampler.grid", "figures.nfe", "figures.quality_n"),
        ),
        Entry(
            "figures/schedules_and_grids.png",
            "sigma(t) of every schedule, sigma_i of every grid, and samples on each grid.",
            ("denoiser.sigma_min", "denoiser.sigma_max", "sampler.kind", "figures.grid_steps"),
        ),
        Entry(
            "figures/determinism.png",
            "One start noise sampled repeatedly: deterministic (identical) vs stochastic.",
            ("sampler.kind", "sampler.eta", "figures.repeats"),
        ),
    ],
    "Class-conditional diffusion": [
        Entry(
            "figures/class_data.png",
            "Training data coloured by class, with the region boundaries.",
            ("classes.layout", "classes.n"),
        ),
        Entry(
            "figures/loss_conditional.png",
            "Training loss of the conditional denoiser.",
            ("conditional.members", "conditional.epochs", "conditional.class_dim"),
        ),
        Entry(
            "figures/class_trajectories.png",
            "One sampled trajectory per class over the regions.",
            ("sampler.kind", "sampler.steps", "sampler.grid"),
        ),
        Entry(
            "figures/class_samples.png",
            "Samples coloured by class, beside their start noise.",
            ("sampler.kind", "sampler.steps", "conditional.n"),
        ),
    ],
    "Likelihoods": [
        Entry(
            "figures/likelihood_heatmap.png",
            "ELBO and probability-flow ODE log p over the plane (unconditional), beside the truth.",
            (
                "likelihood.heatmap_size",
                "likelihood.heatmap_samples",
                "likelihood.heatmap_ode_steps",
            ),
        ),
        Entry(
            "figures/ode_roundtrip.png",
            "ODE round trip: a point integrated to t = 1 and sampled back deterministically.",
            ("likelihood.roundtrip", "likelihood.roundtrip_steps"),
        ),
    ],
    "GPT on Alice": [
        Entry(
            "gpt/token_probs.png",
            "Probability of each token of a sampled continuation.",
            ("gpt_analysis.prob_prompt", "gpt_analysis.temperature", "gpt_analysis.seed"),
        ),
        Entry(
            "gpt/attention_first.png",
            "Head-averaged attention of the first block, with token labels.",
            ("gpt_analysis.attention_prompt",),
        ),
        Entry(
            "gpt/attention_last.png",
            "Head-averaged attention of the last block, with token labels.",
            ("gpt_analysis.attention_prompt",),
        ),
        Entry(
            "gpt/attention_last_row.png",
            "What the next-token prediction looks at: the last row of the last block.",
            ("gpt_analysis.attention_prompt",),
        ),
        Entry(
            "gpt/attention_last_token.png",
            "The last token's attention in every block.",
            ("gpt_analysis.attention_prompt", "gpt.n_layer"),
        ),
        Entry(
            "gpt/inversion_loss.png",
            "Embedding inversion: loss while optimising inputs until the model says the target.",
            ("gpt_analysis.inversion_target", "gpt_analysis.inversion_steps"),
        ),
    ],
}

TABLES: dict[str, list[Entry]] = {
    "Quality per NFE": [
        Entry(
            "quality/quality_vs_nfe.md",
            "Every sampler at equal denoiser-call budgets, same start noise "
            "(a perfect sampler's swd_ratio is about 1: 0.75-1.15 for one cloud, docs/metrics.md).",
            ("sampler.grid", "sampler.denoise_final", "figures.nfe"),
        )
    ],
    "Likelihood table": [
        Entry(
            "likelihood/points.md",
            "ELBO (prior + diffusion + reconstruction, in nats, with its quasi-Monte Carlo "
            "standard error), exact ODE log p and the true log density at chosen points.",
            (
                "likelihood.points",
                "likelihood.elbo_samples",
                "likelihood.elbo_replicates",
                "likelihood.ode_steps",
            ),
        ),
        Entry(
            "likelihood/exact_denoiser.md",
            "The same estimators with the exact denoiser of the true data: what a perfect "
            "network would score.",
            ("likelihood.points",),
        ),
    ],
    "GPT samples": [
        Entry(
            "gpt/samples.md",
            "Continuations of the prompts.",
            ("gpt_analysis.prompts", "gpt_analysis.temperature", "gpt_analysis.top_k"),
        ),
    ],
}


def _param(cfg: Config, dotted: str) -> str:
    value: object = cfg
    for part in dotted.split("."):
        value = getattr(value, part)
    if isinstance(value, tuple):
        value = "[" + ", ".join(map(str, value)) + "]"
    return f"`{dotted}={value}`"


def captioned(text: str, params: tuple[str, ...], cfg: Config) -> str:
    """A caption followed by the values of the params it came from, in markdown."""
    shown_params = ", ".join(_param(cfg, p) for p in params)
    return f"{text} ({shown_params})" if shown_params else text


def caption(entry: Entry, cfg: Config) -> str:
    """An entry's caption with the values of its params."""
    return captioned(entry.caption, entry.params, cfg)


def require(root: Path, rel: str) -> Path:
    """root / rel, or a one-line GenlabError when the report's input is missing."""
    path = root / rel
    if not path.is_file():
        raise GenlabError(f"{path}: missing; the report links it (run `dvc repro`)")
    return path


def demote(markdown: str) -> str:
    """Push included headings two levels down so they nest under the report's sections."""
    return "\n".join("##" + ln if ln.startswith("#") else ln for ln in markdown.splitlines())


def flatten(obj: object, prefix: str = "") -> dict[str, object]:
    """Nested mappings as one level of dotted keys, in order: {"a": {"b": 1}} -> {"a.b": 1}."""
    if not isinstance(obj, dict):
        return {prefix: obj}
    flat: dict[str, object] = {}
    for key, value in obj.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def shown(value: object) -> str:
    """A value as the report prints it: floats to 6 significant digits, lists in brackets."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def cell(value: object) -> str:
    """A value as a markdown table cell (a `|` inside it would split the cell)."""
    return shown(value).replace("|", "\\|")


def key_value_table(flat: dict[str, object], key: str) -> str:
    """A two-column markdown table, `key` | value, of dotted keys."""
    lines = [f"| {key} | value |", "|---|---|"]
    lines += [f"| {name} | {cell(value)} |" for name, value in flat.items()]
    return "\n".join(lines) + "\n"


# The image pipeline's metrics files start with this; its own report shows them
# (reports/images/README.md), and they are no deps of the main report stage.
IMAGE_METRICS = "img_"


def report_metrics(folder: Path) -> list[Path]:
    """The metrics files the main report shows: every *.json in `folder` but the image
    pipeline's, so that the page changes only with the files its stage declares."""
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith(IMAGE_METRICS))


def report_body(cfg: Config, root: Path, metrics: list[Path]) -> str:
    """Every section of the report in markdown: figures, tables and metrics (no page title)."""
    out: list[str] = []
    for title, entries in SECTIONS.items():
        out += [f"## {title}", ""]
        for entry in entries:
            require(root, entry.path)
            out += [f"![{entry.path}]({entry.path})", "", caption(entry, cfg), ""]
    for title, entries in TABLES.items():
        out += [f"## {title}", ""]
        for entry in entries:
            text = demote(require(root, entry.path).read_text().strip())
            out += [caption(entry, cfg), "", text, ""]
    out += ["## Metrics", ""]
    for path in metrics:
        path = require(root, path.relative_to(root).as_posix())
        table = key_value_table(flatten(json.loads(path.read_text())), "metric")
        out += [f"### `{path.relative_to(root).as_posix()}`", "", table]
    return "\n".join(out).rstrip() + "\n"


def build_report(cfg: Config, root: Path, metrics: list[Path]) -> str:
    """The markdown of reports/README.md; `root` is the reports folder, links are relative to it."""
    out = [
        "# genlab report",
        "",
        "Generated by the `report` stage from the pipeline's outputs; rebuilt by `dvc repro`",
        "whenever anything shown here changes. Wall times are not shown here (they vary run to",
        "run); see `reports/timing/` and `make bench`. `reports/index.html` is the same report",
        "as a web page that works offline, with interactive charts. The image pipeline",
        "(`make images`) has its own report, [images/README.md](images/README.md).",
        "",
    ]
    return "\n".join(out) + "\n" + report_body(cfg, root, metrics)
