"""The GPT stages in the tiny pipeline: every output built; a training param re-runs training
and going back restores it from the run cache; an analysis param leaves training alone."""

from __future__ import annotations

import json

import numpy as np
import yaml
from conftest import digests

GPT_FIGURES = (
    "token_probs",
    "attention_first",
    "attention_last",
    "attention_last_row",
    "attention_last_token",
    "inversion_loss",
)


def test_gpt_outputs_are_built(built_repo):
    repo = built_repo.path
    for name in GPT_FIGURES:
        assert (repo / "reports/gpt" / f"{name}.png").stat().st_size > 0
    assert "## Token probabilities" in (repo / "reports/gpt/samples.md").read_text()
    with np.load(repo / "reports/gpt/attention.npz") as dump:
        att, tokens = dump["attention"], dump["tokens"]
    assert att.shape == (1, 2, len(tokens), len(tokens))
    assert np.allclose(att.sum(-1), 1.0, atol=1e-5) and np.allclose(np.triu(att, 1), 0.0)
    gpt = json.loads((repo / "reports/metrics/gpt.json").read_text())
    assert set(gpt) >= {"train_loss", "val_loss", "val_bpc", "n_params"}
    timing = json.loads((repo / "reports/timing/gpt.json").read_text())
    setup = {"gpt_precision", "gpt_cpu_capability", "gpt_threads", "gpt_processes"}
    assert set(timing) == {"gpt_train_seconds", "gpt_tokens_per_second"} | setup
    corpus = json.loads((repo / "reports/metrics/corpus.json").read_text())
    assert corpus["corpus_bytes"] == corpus["train_chars"] + corpus["val_chars"]


def test_gpt_params_rerun_what_they_change_and_going_back_does_not_retrain(built_repo):
    paths = ("models/gpt.pt", "reports/metrics/gpt.json")
    before = digests(built_repo.path, paths)
    # Only `gpt_train` (and what it needs) is reproduced: the analysis is not the point here.
    first = built_repo.run("dvc", "exp", "run", "gpt_train", "-S", "gpt.iters=12").stdout
    assert "Running stage 'gpt_train'" in first
    built_repo.run("git", "checkout", "--", "params.yaml")
    back = built_repo.run("dvc", "exp", "run", "gpt_train").stdout
    assert "Stage 'gpt_train' is cached - skipping run" in back, back
    assert "Running stage 'gpt_train'" not in back, back
    assert digests(built_repo.path, paths) == before

    # An analysis param leaves training alone: besides the params check and the report,
    # which read the whole file, only the analysis is out of date.
    params = yaml.safe_load((built_repo.path / "params.yaml").read_text())
    params["gpt_analysis"]["temperature"] = 1.0
    (built_repo.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = set(json.loads(built_repo.run("dvc", "status", "--json").stdout))
    assert changed == {"check_params", "gpt_analyze", "report"}, changed
