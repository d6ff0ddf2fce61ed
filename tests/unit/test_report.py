"""The report stage: it declares every file and param it shows, and links only files that exist."""

from __future__ import annotations

import re

import pytest
import yaml

from genlab.charts import CHARTS
from genlab.common.errors import GenlabError
from genlab.config import Config
from genlab.report import SECTIONS, TABLES, build_report, report_metrics

ENTRIES = [e for group in (SECTIONS, TABLES) for entries in group.values() for e in entries]


def _stages(root):
    return yaml.safe_load((root / "dvc.yaml").read_text())["stages"]


def test_report_stage_declares_what_it_shows(root):
    stages = _stages(root)
    report = stages["report"]
    for entry in ENTRIES:
        assert f"reports/{entry.path}" in report["deps"], entry.path
    for chart in CHARTS:
        for path in chart.y:
            assert f"reports/{path}" in report["deps"], path
    # The web page lists every param and what differs from HEAD: it depends on the whole file.
    assert report["params"] == [{"params.yaml": None}]
    metrics = {
        next(iter(m)) if isinstance(m, dict) else m
        for stage in stages.values()
        for m in stage.get("metrics", [])
    }
    assert metrics == {d for d in report["deps"] if d.startswith("reports/metrics/")}


def test_the_report_shows_only_the_metrics_files_it_declares(root, tmp_path):
    # The image pipeline's metrics belong to its own report; reading them here would leave
    # reports/README.md stale whenever they change, as they are no deps of this stage.
    for name in ("sampling.json", "img_train.json", "gpt.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in report_metrics(tmp_path)] == ["gpt.json", "sampling.json"]
    deps = set(_stages(root)["report"]["deps"])
    for path in report_metrics(root / "reports/metrics"):
        assert path.relative_to(root).as_posix() in deps, path.name


def test_every_linked_file_is_produced_by_a_stage(root):
    outs = set()
    for stage in _stages(root).values():
        for out in stage.get("outs", []):
            outs.add(next(iter(out)) if isinstance(out, dict) else out)
    for entry in ENTRIES:
        path = f"reports/{entry.path}"
        assert path in outs or any(path.startswith(o + "/") for o in outs), path


def test_report_links_resolve_and_missing_files_are_named(tmp_path):
    for entry in ENTRIES:
        (tmp_path / entry.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / entry.path).write_text("# heading\n| a |\n")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/m.json").write_text('{"x": 1.5, "nested": {"y": 2}}')
    text = build_report(Config(), tmp_path, [tmp_path / "metrics/m.json"])
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (tmp_path / link).is_file(), link
    assert "| nested.y | 2 |" in text
    (tmp_path / ENTRIES[0].path).unlink()
    with pytest.raises(GenlabError, match=ENTRIES[0].path):
        build_report(Config(), tmp_path, [])
