"""What a reader sees: reports/index.html and the `dvc plots` pages opened from disk in headless
Chromium with the network blocked. Every image and chart must render at a non-zero size and
the console must stay free of errors; a full-page screenshot of each is kept in the test's
temporary folder.

Skipped, saying why, where Playwright or Debian's `chromium` is missing (CI installs both).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from genlab.charts import CHARTS
from genlab.report import SECTIONS

pytestmark = pytest.mark.browser

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
# Quiet and offline: without the background-networking flags a closed network makes
# Chromium report refused connections of its own.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIGURES = sum(len(entries) for entries in SECTIONS.values())

MEASURE = """() => ({
  images: [...document.images].map(i => [i.alt, i.naturalWidth, i.getBoundingClientRect().height]),
  charts: [...document.querySelectorAll('.vega-embed')].map(e => {
    const g = e.querySelector('svg, canvas');
    const r = g ? g.getBoundingClientRect() : {width: 0, height: 0};
    return [e.id, r.width, r.height];
  }),
  tables: document.querySelectorAll('table').length,
})"""


@dataclass
class Visit:
    """What the browser saw on one page."""

    images: list = field(default_factory=list)
    charts: list = field(default_factory=list)
    tables: int = 0
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's `chromium` package")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def visit(browser, page_file: Path, charts: int, screenshot: Path) -> Visit:
    """Open `page_file` with every request but file: and data: refused; wait for the charts."""
    seen = Visit()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))

    def block(route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            seen.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", block)
    page.goto(page_file.as_uri())
    rendered = "n => document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length >= n"
    page.wait_for_function(rendered, arg=charts, timeout=30_000)
    page.wait_for_load_state("load")
    for key, value in page.evaluate(MEASURE).items():
        setattr(seen, key, value)
    page.screenshot(path=str(screenshot), full_page=True)
    context.close()
    print(
        f"{page_file.name}: {len(seen.images)} images, {len(seen.charts)} charts, "
        f"{seen.tables} tables, {len(seen.errors)} console errors, "
        f"{len(seen.blocked)} blocked requests; screenshot {screenshot}"
    )
    return seen


def assert_all_rendered(seen: Visit, images: int, charts: int) -> None:
    assert not seen.errors, seen.errors
    assert not seen.blocked, seen.blocked
    assert len(seen.images) == images and all(w > 0 and h > 0 for _, w, h in seen.images)
    assert len(seen.charts) == charts, seen.charts
    assert all(w > 0 and h > 0 for _, w, h in seen.charts), seen.charts


def test_report_page_renders_offline(browser, built_template, tmp_path):
    page = built_template / "reports/index.html"
    seen = visit(browser, page, len(CHARTS), tmp_path / "index.png")
    assert_all_rendered(seen, images=FIGURES, charts=len(CHARTS))
    assert seen.tables >= 5  # quality, likelihoods, samples and token probabilities, metrics
    assert (tmp_path / "index.png").stat().st_size > 0


@pytest.mark.parametrize("command", [("show",), ("diff", "HEAD")])
def test_dvc_plots_pages_render_offline(browser, built_repo, tmp_path, command):
    out = tmp_path / "dvc_plots"
    built_repo.run("dvc", "plots", *command, "-o", str(out))
    declared = len(CHARTS)  # dvc.yaml's plots, one chart each
    seen = visit(browser, out / "index.html", declared, tmp_path / "dvc_plots.png")
    assert_all_rendered(seen, images=0, charts=declared)
