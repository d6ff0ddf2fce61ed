"""DVC workflows on tiny params: a parallel queue of experiments, and sharing through the remote."""

from __future__ import annotations

import json
import time


def _queue_done(repo) -> bool:
    status = repo.run("dvc", "queue", "status").stdout
    return not any(word in status for word in ("Queued", "Running"))


def _finished_experiments(repo) -> int:
    # refs/exps/<2 hex>/<38 hex>/<name> is written when an experiment's results are committed.
    refs = repo.run("git", "for-each-ref", "--format=%(refname)", "refs/exps").stdout.split()
    return sum(1 for ref in refs if len(ref.split("/")) == 5 and len(ref.split("/")[2]) == 2)


def test_queue_runs_two_experiments_without_retraining(built_repo):
    # Each experiment reproduces `sample` (and whatever it needs), not the whole pipeline.
    built_repo.run("dvc", "exp", "run", "sample", "--queue", "-S", "sampler.steps=2,3")
    built_repo.run("dvc", "queue", "start", "-j", "2")
    deadline = time.monotonic() + 240
    # Wait on the cheap git refs; every `dvc queue status` costs a second of the CPU that the
    # queue's workers need, so it is asked only every 10 s (to notice a failure) and at the end.
    polls = 0
    while _finished_experiments(built_repo) < 2 and (polls % 10 or not _queue_done(built_repo)):
        assert time.monotonic() < deadline, built_repo.run("dvc", "queue", "status").stdout
        time.sleep(1)
        polls += 1
    # The ref is written when the results are collected, before the outputs reach the cache
    # and the worker cleans up: wait for the queue itself to finish too.
    while not _queue_done(built_repo):
        assert time.monotonic() < deadline, built_repo.run("dvc", "queue", "status").stdout
        time.sleep(1)
    status = built_repo.run("dvc", "queue", "status").stdout
    assert "Failed" not in status, status

    shown = json.loads(built_repo.run("dvc", "exp", "show", "--json").stdout)
    nfe = {}
    experiments = [exp for entry in shown for exp in entry.get("experiments") or []]
    for exp in experiments:
        for rev in exp["revs"]:
            data = rev["data"]
            steps = data["params"]["params.yaml"]["data"]["sampler"]["steps"]
            nfe[steps] = data["metrics"]["reports/metrics/sampling.json"]["data"]["nfe"]
            logs = built_repo.run("dvc", "queue", "logs", rev["name"]).stdout
            assert "Running stage 'sample'" in logs
            assert "Running stage 'train'" not in logs, logs
    assert nfe == {2: 2 * 2 - 1 + 1, 3: 2 * 3 - 1 + 1}


def test_push_then_pull_restores_every_output_on_another_clone(built_repo, tmp_path):
    built_repo.run("dvc", "push")
    assert (tmp_path / "genlab-remote").is_dir()
    clone = tmp_path / "clone"
    built_repo.run("git", "clone", "-q", str(built_repo.path), str(clone))
    from conftest import Scratch

    other = Scratch(clone)
    other.run("dvc", "pull")
    for rel in ("models/unconditional.pt", "data/square.csv", "reports/figures/seed_grid.png"):
        assert (clone / rel).read_bytes() == (built_repo.path / rel).read_bytes(), rel
    assert "up to date" in other.run("dvc", "status").stdout
