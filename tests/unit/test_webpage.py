"""The web page of the report: every figure embedded, every chart declared, no network, and
the dvc plots template filled the way dvc-render fills it."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from genlab.changes import comparison_markdown
from genlab.charts import CHARTS, offline_bundle, plots_template
from genlab.common.errors import GenlabError
from genlab.config import Config
from genlab.report import SECTIONS, TABLES, report_body
from genlab.webpage import build_page

FIGURES = [e for entries in SECTIONS.values() for e in entries]
TABLE_FILES = [e for entries in TABLES.values() for e in entries]
BUNDLE = "window.vegaEmbed = function () {};"  # stands in for the charting library

CHART_DATA = {
    "train/unconditional/plots/metrics/loss.tsv": "step\tloss\n0\t2.0\n1\t1.5\n",
    "train/conditional/plots/metrics/loss.tsv": "step\tloss\n0\t3.0\n1\t2.5\n",
    "quality/quality_vs_nfe.csv": (
        "sampler,steps,nfe,in_support,swd_ratio\neuler,3,4,0.9,2.5\nheun,2,4,0.95,1.5\n"
    ),
    "train/gpt/plots/metrics/train_loss.tsv": "step\ttrain_loss\n0\t4.0\n10\t3.0\n",
    "train/gpt/plots/metrics/val_loss.tsv": "step\tval_loss\n0\t4.1\n10\t3.2\n",
    "gpt/token_probs.csv": "position,token,prob\n0,</script>,0.5\n1,b,0.25\n",
}


class Parsed(HTMLParser):
    """Every tag's attributes, and the text of every <script>."""

    VOID = {"meta", "img", "br", "hr", "input", "link"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.parents: list[tuple[str, str]] = []  # (tag, the tag it is inside)
        self.scripts: list[str] = []
        self._open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.parents.append((tag, self._open[-1] if self._open else ""))
        if tag not in self.VOID:
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:  # `<img ... />`
            return
        assert self._open and self._open[-1] == tag, (tag, self._open[-3:])
        self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1] == "script":
            self.scripts.append(data)

    def attrs(self, tag: str, name: str) -> list[str]:
        return [a[name] for t, a in self.tags if t == tag and a.get(name) is not None]


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A reports folder of tiny fake outputs: each figure's bytes name the figure."""
    for entry in FIGURES:
        (tmp_path / entry.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / entry.path).write_bytes(b"\x89PNG fake " + entry.path.encode())
    for entry in TABLE_FILES:
        (tmp_path / entry.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / entry.path).write_text(f"# {entry.path}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    for rel, text in CHART_DATA.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/m.json").write_text('{"x": 1.5, "nested": {"y": 2}}')
    return tmp_path


def _page(reports: Path) -> str:
    metrics = [reports / "metrics/m.json"]
    body = report_body(Config(), reports, metrics)
    return build_page(Config(), reports, body, comparison_markdown(None), BUNDLE)


def test_every_figure_is_embedded_and_nothing_is_fetched(reports):
    page = _page(reports)
    parsed = Parsed(page)
    sources = parsed.attrs("img", "src")
    assert len(sources) == len(FIGURES)
    embedded = sorted(base64.b64decode(s.split(",", 1)[1]) for s in sources)
    assert embedded == sorted((reports / e.path).read_bytes() for e in FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    # Nothing the browser would fetch: every link is an anchor, every source a data: URI, and
    # the charts' script names no URL (no CDN, no schema).
    refs = [v for _, a in parsed.tags for k, v in a.items() if k in ("src", "href") and v]
    assert refs and all(v.startswith(("#", "data:")) for v in refs), refs
    assert not any(t in ("link", "iframe", "object") for t, _ in parsed.tags)
    assert parsed.scripts[0] == BUNDLE and "http" not in parsed.scripts[1]


def test_contents_link_to_every_section_and_tables_render(reports):
    parsed = Parsed(_page(reports))
    ids = {a["id"] for _, a in parsed.tags if a.get("id")}
    assert not parsed._open  # every element closed, in order
    assert {parent for tag, parent in parsed.parents if tag == "ul"} == {"nav", "li"}
    links = [h[1:] for h in parsed.attrs("a", "href")]
    assert links and set(links) <= ids
    titles = ["Diffusion on the square", "Interactive charts", "Metrics", "Parameters"]
    for title in [*titles, *SECTIONS, *TABLES, "Compared with HEAD", *(c.title for c in CHARTS)]:
        assert re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") in links, title
    # one table per table file, the metrics file, and each params section
    sections = len(Config.__dataclass_fields__)
    assert sum(t == "table" for t, _ in parsed.tags) == len(TABLE_FILES) + 1 + sections


def test_every_declared_chart_gets_a_container_and_its_data(reports):
    page = _page(reports)
    parsed = Parsed(page)
    for chart in CHARTS:  # its caption quotes the params its data came from
        assert chart.params and all(f"<code>{p}=" in page for p in chart.params), chart.title
    script = parsed.scripts[-1]
    assert "</script" not in script  # a token "</script>" in the data is escaped
    specs = json.loads(script.split("const specs = ", 1)[1].split(";\n", 1)[0])
    containers = [a["id"] for t, a in parsed.tags if t == "div" and "chart" in a.get("class", "")]
    assert sorted(specs) == sorted(containers) and len(specs) == len(CHARTS)
    by_title = {spec["title"]: spec for spec in specs.values()}
    gpt = by_title["GPT training and validation loss"]["data"]["values"]
    assert {(r["series"], r["step"], r["value"]) for r in gpt} == {
        ("train_loss", 0, 4.0),
        ("train_loss", 10, 3.0),
        ("val_loss", 0, 4.1),
        ("val_loss", 10, 3.2),
    }
    quality = by_title["Quality vs NFE"]["data"]["values"]
    assert {r["series"] for r in quality} == {"euler", "heun"}  # one line per sampler
    assert by_title["Quality vs NFE"]["encoding"]["x"]["scale"] == {"type": "log"}
    tokens = by_title["GPT token probabilities"]["data"]["values"]
    assert [r["token"] for r in tokens] == ["</script>", "b"]


def test_missing_figure_or_chart_data_is_named(reports):
    (reports / "quality/quality_vs_nfe.csv").unlink()
    with pytest.raises(GenlabError, match="quality_vs_nfe.csv"):
        _page(reports)


def test_charts_are_the_plots_dvc_yaml_declares(root):
    declared = {}
    for plot in yaml.safe_load((root / "dvc.yaml").read_text())["plots"]:
        ((title, spec),) = plot.items()
        declared[title] = (spec["x"], spec["y"], spec["x_label"], spec["y_label"])
    ours = {
        c.title: (c.x, {f"reports/{f}": col for f, col in c.y.items()}, c.x_label, c.y_label)
        for c in CHARTS
    }
    assert ours == declared


def test_plots_template_carries_the_library_and_no_cdn():
    from dvc_render.html import HTML

    bundle = offline_bundle()
    assert "window.vegaEmbed" in bundle and "</script" not in bundle
    template = plots_template(bundle)
    filled = HTML(template).with_scripts('<script src="https://cdn.example/vega.js"></script>')
    page = filled.with_element("<div id='p'>plot</div>").embed()
    assert "cdn.example" not in page  # no {scripts}: dvc's CDN tags are left out
    assert "<div id='p'>plot</div>" in page and bundle in page
