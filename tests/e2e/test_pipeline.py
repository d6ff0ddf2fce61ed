"""End to end on tiny params: dvc repro builds everything; an experiment re-runs sampling only,
the comparison commands show it, and going back restores the old outputs from the run cache."""

from __future__ import annotations

import html
import json
import re

from conftest import Scratch, digests

from genlab.report import shown

SAMPLE_OUTPUTS = (
    "reports/samples/unconditional.csv",
    "reports/metrics/sampling.json",
    "reports/figures/seed_grid.png",
    "reports/figures/determinism.png",
)
FIGURES = (
    "forward_process",
    "loss_unconditional",
    "seed_grid",
    "steps_effect",
    "schedules_and_grids",
    "determinism",
    "quality_vs_nfe",
)


def test_repro_builds_every_output(built_repo):
    repo = built_repo.path
    for name in FIGURES:
        assert (repo / "reports/figures" / f"{name}.png").stat().st_size > 0
    metrics = json.loads((repo / "reports/metrics/sampling.json").read_text())
    assert set(metrics) >= {"in_support", "swd", "swd_floor", "swd_ratio", "nfe"}
    status = built_repo.run("dvc", "status")
    assert "up to date" in status.stdout


def test_sampling_experiment_reruns_sampling_only_and_going_back_restores_it(built_repo, tmp_path):
    before = json.loads((built_repo.path / "reports/metrics/sampling.json").read_text())
    outputs = digests(built_repo.path, SAMPLE_OUTPUTS)
    ran = built_repo.run("dvc", "exp", "run", "-S", "sampler.steps=5").stdout
    assert "Running stage 'sample'" in ran
    for stage in ("data", "train", "figures"):
        assert f"Running stage '{stage}'" not in ran, ran
    after = json.loads((built_repo.path / "reports/metrics/sampling.json").read_text())
    assert after["nfe"] == 2 * 5 - 1 + 1 != before["nfe"]
    assert digests(built_repo.path, SAMPLE_OUTPUTS) != outputs

    diffs = {
        kind: json.loads(built_repo.run("dvc", kind, "diff", "--json").stdout)
        for kind in ("params", "metrics")
    }
    changed = diffs["metrics"]["reports/metrics/sampling.json"]
    assert changed["nfe"]["old"] == before["nfe"] and changed["nfe"]["new"] == after["nfe"]

    # The web page lists the same differences as `dvc params diff` and `dvc metrics diff`.
    shown_rows = _comparison_rows((built_repo.path / "reports/index.html").read_text())
    expected = set()
    for diff in diffs.values():
        for path, keys in diff.items():
            for key, change in keys.items():
                if path == "params.yaml" or path.startswith("reports/metrics/"):
                    expected.add((path, key, shown(change["old"]), shown(change["new"])))
    assert ("params.yaml", "sampler.steps", "10", "5") in expected
    assert shown_rows == expected

    # The commands that compare experiments work here and on a fresh clone.
    for args in (
        ("dvc", "exp", "show", "--no-pager"),
        ("dvc", "plots", "diff", "HEAD", "-o", str(tmp_path / "plots")),
    ):
        built_repo.run(*args)
    built_repo.run("git", "clone", "-q", str(built_repo.path), str(tmp_path / "clone"))
    fresh = Scratch(tmp_path / "clone")
    assert json.loads(fresh.run("dvc", "metrics", "show", "--json").stdout)
    fresh.run("dvc", "params", "diff")
    fresh.run("dvc", "exp", "show", "--no-pager")

    # Going back to the old params restores `sample` from the run cache, byte for byte.
    built_repo.run("git", "checkout", "--", "params.yaml")
    back = built_repo.run("dvc", "exp", "run").stdout
    assert "Stage 'sample' is cached - skipping run" in back, back
    for stage in ("sample", "train"):
        assert f"Running stage '{stage}'" not in back, back
    assert digests(built_repo.path, SAMPLE_OUTPUTS) == outputs


def _comparison_rows(page: str) -> set[tuple[str, ...]]:
    """(path, key, HEAD, workspace) of every row of the page's comparison tables."""
    rows = set()
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        cells = [html.unescape(c) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", row, flags=re.S)]
        if len(cells) == 5 and (cells[0] == "params.yaml" or cells[0].startswith("reports/")):
            rows.add(tuple(cells[:4]))
    return rows
