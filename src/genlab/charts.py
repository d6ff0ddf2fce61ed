"""Interactive charts that need no network: Vega-Lite specs of the plots dvc.yaml declares,
the charting library as one inline bundle, and the page template `dvc plots` fills with it.

The bundle (Vega, Vega-Lite and Vega-Embed) comes from `vl-convert-python`, pinned in
constraints.txt, so the pages built from it are the same bytes on every machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from genlab.common.errors import GenlabError
from genlab.common.io import cache_path, write_text

# dvc-render fills these in a template; the bundle must not contain them.
DVC_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


@dataclass(frozen=True)
class Chart:
    """One plot of dvc.yaml's `plots`: y columns per file (relative to the reports folder)."""

    title: str
    x: str
    y: dict[str, str]
    x_label: str
    y_label: str
    params: tuple[str, ...] = ()  # the params its data came from, quoted in its caption
    bar: bool = False
    log_x: bool = False
    split_by: tuple[str, ...] = ()  # columns whose values draw one line each (sampler, grid)
    extra: tuple[str, ...] = field(default=())  # more columns shown on hover


CHARTS: list[Chart] = [
    Chart(
        "Denoiser training loss",
        "step",
        {"train/unconditional/plots/metrics/loss.tsv": "loss"},
        "epoch",
        "loss",
        ("denoiser.width", "denoiser.depth", "denoiser.members", "denoiser.epochs", "denoiser.lr"),
    ),
    Chart(
        "Conditional denoiser training loss",
        "step",
        {"train/conditional/plots/metrics/loss.tsv": "loss"},
        "epoch",
        "loss",
        ("conditional.members", "conditional.epochs", "conditional.class_dim"),
    ),
    Chart(
        "Quality vs NFE",
        "nfe",
        {"quality/quality_vs_nfe.csv": "swd_ratio"},
        "NFE",
        "swd_ratio",
        ("sampler.grid", "sampler.denoise_final", "figures.nfe", "figures.quality_n"),
        log_x=True,
        split_by=("sampler", "grid"),
        extra=("steps", "in_support"),
    ),
    Chart(
        "GPT training and validation loss",
        "step",
        {
            "train/gpt/plots/metrics/train_loss.tsv": "train_loss",
            "train/gpt/plots/metrics/val_loss.tsv": "val_loss",
        },
        "step",
        "loss (nats/token)",
        ("tokenizer.kind", "gpt.n_layer", "gpt.n_embd", "gpt.iters", "gpt.lr"),
    ),
    Chart(
        "GPT token probabilities",
        "prob",
        {"gpt/token_probs.csv": "position"},
        "p(token | before)",
        "position",
        ("gpt_analysis.prob_prompt", "gpt_analysis.temperature", "gpt_analysis.seed"),
        bar=True,
        extra=("token",),
    ),
]


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise GenlabError(f"{path}: missing; the report charts it (run `dvc repro`)")
    frame = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GenlabError(f"{path}: missing column(s) {', '.join(missing)} the report charts")
    return frame


def chart_rows(chart: Chart, root: Path) -> list[dict[str, object]]:
    """The chart's data in long form: x, value, series, and the extra columns present."""
    rows: list[dict[str, object]] = []
    for rel, column in chart.y.items():
        frame = _read(root / rel, [chart.x, column])
        extra = list(dict.fromkeys(c for c in (*chart.extra, *chart.split_by) if c in frame))
        for record in frame[[chart.x, column, *extra]].to_dict("records"):
            row = {chart.x: record[chart.x], "value": record[column], "series": column}
            split = [str(record[c]) for c in chart.split_by if c in record]
            if split:
                row["series"] = ", ".join(split)
            row.update({c: record[c] for c in chart.extra if c in record})
            rows.append(row)
    return rows


def chart_spec(chart: Chart, root: Path) -> dict:
    """A Vega-Lite spec of the chart with its data inline; drag to pan, scroll to zoom."""
    x = {"field": chart.x, "type": "quantitative", "title": chart.x_label}
    if chart.log_x:
        x["scale"] = {"type": "log"}
    y = {"field": "value", "type": "quantitative", "title": chart.y_label, "scale": {"zero": False}}
    tooltip = [{"field": f} for f in ("series", chart.x, "value", *chart.extra)]
    rows = chart_rows(chart, root)
    spec: dict = {
        "title": chart.title,
        "width": "container",
        "height": 280,
        "data": {"values": rows},
        "params": [{"name": "zoom", "select": "interval", "bind": "scales"}],
    }
    if chart.bar:
        y = {"field": "value", "type": "ordinal", "title": chart.y_label, "sort": "ascending"}
        spec["mark"] = {"type": "bar", "tooltip": True}
        spec["encoding"] = {"x": x, "y": y, "tooltip": tooltip}
        spec.pop("params")  # an ordinal axis neither pans nor zooms
        spec["height"] = {"step": 14}
    else:
        # a point per row carries the hover values; small ones on long curves
        spec["mark"] = {"type": "line", "point": {"size": 30 if len(rows) <= 200 else 8}}
        color = {"field": "series", "type": "nominal", "title": None}
        spec["encoding"] = {"x": x, "y": y, "color": color, "tooltip": tooltip}
    return spec


def script_json(value: object) -> str:
    """JSON safe inside an HTML <script>: no `</` that could close the element early."""
    return json.dumps(value, sort_keys=True, allow_nan=False).replace("</", "<\\/")


def offline_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script that sets window.vegaEmbed; no network.

    Bundling takes about 2 s and depends only on the vl-convert version, so the result is
    kept in the user's cache folder ($XDG_CACHE_HOME/genlab, else ~/.cache/genlab) under
    that version's name; an unwritable cache folder only costs the time.
    """
    import vl_convert

    cache = cache_path(f"vega-bundle-{vl_convert.__version__}.js")
    try:
        bundle = cache.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        bundle = ""
    if "vegaEmbed" not in bundle:
        bundle = vl_convert.javascript_bundle()
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_text(cache, bundle)
        except OSError:
            pass
    bad = [p for p in DVC_PLACEHOLDERS if p in bundle]
    if bad:
        raise GenlabError(f"the charting bundle contains {', '.join(bad)}; dvc plots would break")
    return bundle.replace("</script", "<\\/script")


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; }
"""


def plots_template(bundle: str) -> str:
    """The page `dvc plots show` and `dvc plots diff` fill: the bundle inline, no CDN scripts.

    dvc-render replaces `{plot_divs}` with the charts and `{refresh_tag}` with an optional
    refresh tag; leaving out `{scripts}` keeps its CDN script tags out of the page.
    """
    head = ["<!DOCTYPE html>", "<html>", "<head>", '<meta charset="utf-8">', "{refresh_tag}"]
    head += ["<title>genlab plots</title>", f"<style>{STYLE}</style>", f"<script>{bundle}</script>"]
    body = ["</head>", "<body>", "<h1>genlab plots</h1>", "{plot_divs}", "</body>", "</html>"]
    return "\n".join(head + body) + "\n"
