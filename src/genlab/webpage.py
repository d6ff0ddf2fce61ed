"""reports/index.html: the report as one web page that works from disk with no network.

The same sections as reports/README.md (rendered from the same markdown), every figure
embedded as a data: URI, interactive charts of the plots dvc.yaml declares, the params the
pipeline ran with and what differs from HEAD, under a table of contents. Nothing in the page
depends on the time or the machine: same inputs, same bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

from genlab.charts import CHARTS, STYLE, chart_spec, script_json
from genlab.common.errors import GenlabError
from genlab.config import Config
from genlab.report import captioned, flatten, key_value_table

MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}

PAGE_STYLE = (
    STYLE
    + """
img { max-width: 100%; height: auto; }
code { background: #f3f3f3; padding: 0 0.2rem; }
nav { background: #f7f7f7; padding: 0.5rem 1rem; border: 1px solid #ddd; }
nav ul { margin: 0.2rem 0; }
nav > ul { columns: 2; }
nav li { break-inside: avoid; }
.chart { width: 100%; margin: 1rem 0 2rem; }
"""
)

# vega-embed's menu: save as SVG or PNG; no links to online editors.
EMBED_OPTIONS = {
    "mode": "vega-lite",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}


def data_uri(path: Path) -> str:
    """A file's bytes as a data: URI, so the page needs no file beside it."""
    if path.suffix not in MIME or not path.is_file():
        raise GenlabError(f"{path}: missing or not an image the page can embed (run `dvc repro`)")
    return f"data:{MIME[path.suffix]};base64," + base64.b64encode(path.read_bytes()).decode()


class Page:
    """Collects HTML sections and their headings, for the table of contents."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parts: list[str] = []
        self.headings: list[tuple[int, str, str]] = []  # level, anchor, title
        self.md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def anchor(self, level: int, title: str) -> str:
        """A unique id for a heading, recorded for the contents."""
        base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
        taken = {a for _, a, _ in self.headings}
        name = next(n for n in [base, *(f"{base}-{i}" for i in range(2, 999))] if n not in taken)
        self.headings.append((level, name, title.replace("`", "")))
        return name

    def markdown(self, text: str) -> None:
        """Add markdown: headings get ids, images become data: URIs of the files they name."""
        tokens = self.md.parse(text)
        for i, token in enumerate(tokens):
            if token.type == "heading_open" and token.tag in ("h2", "h3"):
                token.attrSet("id", self.anchor(int(token.tag[1]), tokens[i + 1].content))
            for child in token.children or []:
                if child.type == "image":
                    child.attrSet("src", data_uri(self.root / str(child.attrGet("src"))))
        self.parts.append(self.md.renderer.render(tokens, self.md.options, {}))

    def charts(self, cfg: Config) -> dict[str, dict]:
        """Add a section with one container per declared plot; returns the specs by id."""
        specs = {}
        self.parts.append(
            f'<h2 id="{self.anchor(2, "Interactive charts")}">Interactive charts</h2>'
        )
        self.parts.append(
            "<p>The plots <code>dvc.yaml</code> declares: hover for values; drag to pan and "
            "scroll to zoom the line charts; the menu saves a chart as SVG or PNG.</p>"
        )
        for chart in CHARTS:
            anchor = self.anchor(3, chart.title)
            files = ", ".join(f"`reports/{f}`" for f in chart.y)
            caption = self.md.renderInline(captioned(f"From {files}", chart.params, cfg))
            self.parts.append(f'<h3 id="{anchor}">{html.escape(chart.title)}</h3>')
            self.parts.append(f'<div class="chart" id="chart-{anchor}"></div><p>{caption}.</p>')
            specs[f"chart-{anchor}"] = chart_spec(chart, self.root)
        return specs

    def contents(self) -> str:
        """The table of contents: sections, each with its subsections nested."""
        out = ["<nav><strong>Contents</strong>", "<ul>"]
        for i, (level, anchor, title) in enumerate(self.headings):
            nxt = self.headings[i + 1][0] if i + 1 < len(self.headings) else 2
            item = f'<li><a href="#{anchor}">{html.escape(title)}</a>'
            if level == 2 and nxt == 3:
                out += [item, "<ul>"]  # the section's item stays open for its subsections
            else:
                out.append(item + "</li>")
            if level == 3 and nxt == 2:
                out.append("</ul></li>")
        out += ["</ul>", "</nav>"]
        return "\n".join(out)


def params_markdown(cfg: Config) -> str:
    """Every param the pipeline ran with, one table per section of params.yaml."""
    out = ["## Parameters", ""]
    for section, values in dataclasses.asdict(cfg).items():
        out += [f"### {section}", "", key_value_table(flatten(values), "param")]
    return "\n".join(out)


def build_page(cfg: Config, root: Path, report: str, comparison: str, bundle: str) -> str:
    """The page: `report` and `comparison` are markdown, `bundle` the charting library."""
    page = Page(root)
    page.markdown(comparison)
    specs = page.charts(cfg)
    page.markdown(report)
    page.markdown(params_markdown(cfg))
    embed = (
        f"const specs = {script_json(specs)};\n"
        f"for (const [id, spec] of Object.entries(specs)) "
        f"vegaEmbed('#' + id, spec, {script_json(EMBED_OPTIONS)});"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>genlab report</title>",
            f"<style>{PAGE_STYLE}</style>",
            "</head>",
            "<body>",
            "<h1>genlab report</h1>",
            "<p>Built by the <code>report</code> stage from the pipeline's outputs: the same "
            "report as <code>reports/README.md</code>, with interactive charts. It needs no "
            "server and no network.</p>",
            page.contents(),
            *page.parts,
            f"<script>{bundle}</script>",
            f"<script>{embed}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )
