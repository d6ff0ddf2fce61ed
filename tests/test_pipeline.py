"""End to end on tiny params: dvc repro, then an experiment that re-runs sampling only."""

from __future__ import annotations

import json


def test_repro_then_sampling_experiment(scratch_repo):
    repo, run = scratch_repo
    first = run("dvc", "repro")
    for stage in ("data", "train", "sample", "figures"):
        assert f"Running stage '{stage}'" in first.stdout
    for name in (
        "q1_forward",
        "q2_loss",
        "q3_seeds",
        "q4_steps",
        "q5_schedules_grids",
        "q6_determinism",
        "q4_quality_vs_nfe",
    ):
        assert (repo / "reports/figures" / f"{name}.png").stat().st_size > 0
    before = json.loads((repo / "reports/metrics/sampling.json").read_text())
    assert set(before) >= {"in_support", "swd", "swd_floor", "swd_ratio", "nfe"}
    run("git", "add", "-A")
    run("git", "commit", "-qm", "baseline")

    exp = run("dvc", "exp", "run", "-S", "sampler.steps=5")
    ran = exp.stdout
    assert "Running stage 'sample'" in ran
    for stage in ("data", "train", "figures"):
        assert f"Running stage '{stage}'" not in ran, ran
    after = json.loads((repo / "reports/metrics/sampling.json").read_text())
    assert after["nfe"] == 2 * 5 - 1 + 1 != before["nfe"]

    diff = run("dvc", "metrics", "diff", "--json")
    changed = json.loads(diff.stdout)["reports/metrics/sampling.json"]
    assert changed["nfe"]["old"] == before["nfe"] and changed["nfe"]["new"] == after["nfe"]
