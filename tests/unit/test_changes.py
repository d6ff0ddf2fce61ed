"""Differences from HEAD: params and metrics against their committed versions, as
`dvc params diff` and `dvc metrics diff` show them, and nothing without a commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from genlab.changes import Change, compare_with_head, comparison_markdown

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@genlab.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@genlab.invalid",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repo with params.yaml and one metrics file committed."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "params.yaml").write_text("sampler:\n  steps: 10\n  kind: heun\n")
    (tmp_path / "metrics/sampling.json").write_text('{"nfe": 20, "swd": 0.5, "by": {"a": 1}}')
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "baseline")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_unchanged_workspace_has_no_differences(repo):
    comparison = compare_with_head(Path("params.yaml"), [Path("metrics/sampling.json")])
    assert comparison is not None and not comparison.params and not comparison.metrics
    assert "No differences" in comparison_markdown(comparison)


def test_changed_params_and_metrics_are_listed_with_old_new_and_change(repo):
    Path("params.yaml").write_text("sampler:\n  steps: 5\n  kind: heun\n  eta: 1.0\n")
    Path("metrics/sampling.json").write_text(json.dumps({"nfe": 10, "swd": 0.5, "by": {"a": 2}}))
    Path("metrics/new.json").write_text('{"z": 1}')  # HEAD has no such file
    metrics = [Path("metrics/new.json"), Path("metrics/sampling.json")]
    comparison = compare_with_head(Path("params.yaml"), metrics)
    assert comparison.params == (
        Change("params.yaml", "sampler.eta", None, 1.0),
        Change("params.yaml", "sampler.steps", 10, 5),
    )
    assert comparison.metrics == (
        Change("metrics/sampling.json", "by.a", 1, 2),
        Change("metrics/sampling.json", "nfe", 20, 10),
    )
    text = comparison_markdown(comparison)
    assert "| params.yaml | sampler.steps | 10 | 5 | -5 |" in text
    assert "| params.yaml | sampler.eta | - | 1 | - |" in text
    assert "| metrics/sampling.json | nfe | 20 | 10 | -10 |" in text
    assert "new.json" not in text


def test_without_git_there_is_nothing_to_compare(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("a: 1\n")
    assert compare_with_head(Path("params.yaml"), []) is None
    assert "No git commit" in comparison_markdown(None)
