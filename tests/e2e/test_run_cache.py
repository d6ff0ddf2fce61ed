"""DVC caching on tiny params: code changes re-run what they affect, parameter sets that ran
before are restored from the run cache, and a failed stage loses nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SAMPLE_OUTPUTS = (
    "reports/samples/unconditional.csv",
    "reports/metrics/sampling.json",
    "reports/figures/seed_grid.png",
    "reports/figures/determinism.png",
)


def _digests(repo: Path, paths=SAMPLE_OUTPUTS) -> dict[str, str]:
    return {p: hashlib.md5((repo / p).read_bytes()).hexdigest() for p in paths}


def _ran(log: str, stage: str) -> bool:
    return f"Running stage '{stage}'" in log


def _restored(log: str, stage: str) -> bool:
    return f"Stage '{stage}' is cached - skipping run" in log


def test_going_back_to_sampler_params_restores_sample_from_the_run_cache(built_repo):
    before = _digests(built_repo.path)
    first = built_repo.run("dvc", "exp", "run", "-S", "sampler.steps=5").stdout
    assert _ran(first, "sample")
    assert _digests(built_repo.path) != before
    built_repo.run("git", "checkout", "--", "params.yaml")
    back = built_repo.run("dvc", "exp", "run").stdout
    assert _restored(back, "sample"), back
    assert not _ran(back, "sample") and not _ran(back, "train"), back
    assert _digests(built_repo.path) == before


def test_going_back_to_a_gpt_param_does_not_retrain(built_repo):
    paths = ("models/gpt.pt", "reports/metrics/gpt.json")
    before = _digests(built_repo.path, paths)
    first = built_repo.run("dvc", "exp", "run", "-S", "gpt.iters=12").stdout
    assert _ran(first, "gpt_train")
    built_repo.run("git", "checkout", "--", "params.yaml")
    back = built_repo.run("dvc", "exp", "run").stdout
    assert _restored(back, "gpt_train"), back
    assert not _ran(back, "gpt_train"), back
    assert _digests(built_repo.path, paths) == before


def test_editing_sampling_code_reruns_sample_not_train(built_repo):
    samplers = built_repo.path / "src/genlab/diffusion/samplers.py"
    text = samplers.read_text()
    old = "    return calls + int(denoise_final)\n"
    assert old in text
    samplers.write_text(text.replace(old, "    calls = calls + 0  # edited\n" + old))
    status = built_repo.run("dvc", "status").stdout
    assert "sample:" in status and "train:" not in status, status
    log = built_repo.run("dvc", "repro").stdout
    assert _ran(log, "sample") and not _ran(log, "train"), log


def test_bad_params_stop_before_any_output_is_cleared(built_repo):
    before = _digests(built_repo.path)
    proc = built_repo.run("dvc", "exp", "run", "-S", "likelihood.ode_steps=0", check=False)
    assert proc.returncode != 0
    assert "likelihood.ode_steps" in proc.stdout + proc.stderr
    assert _ran(proc.stdout, "check_params") and not _ran(proc.stdout, "likelihood")
    assert _digests(built_repo.path) == before


def test_failed_stage_then_checkout_restores_outputs_byte_for_byte(built_repo):
    trained = ("models/unconditional.pt", "reports/train/unconditional/plots/metrics/loss.tsv")
    metrics = ("reports/metrics/train.json",)
    before = _digests(built_repo.path, trained + metrics)
    proc = built_repo.run("dvc", "exp", "run", "-S", "denoiser.lr=1e12", check=False)
    assert proc.returncode != 0 and "diverged" in proc.stdout + proc.stderr
    assert not (built_repo.path / trained[0]).exists()  # DVC cleared it before the run
    built_repo.run("dvc", "checkout", "--force")
    built_repo.run("git", "checkout", "--", *metrics)  # cache: false metrics live in git
    assert _digests(built_repo.path, trained + metrics) == before


def test_experiment_commands_work_on_a_fresh_clone(built_repo, tmp_path):
    from conftest import Scratch

    built_repo.run("dvc", "exp", "run", "-S", "sampler.steps=5")
    for args in (
        ("dvc", "exp", "show", "--no-pager"),
        ("dvc", "params", "diff"),
        ("dvc", "plots", "diff", "HEAD", "-o", str(tmp_path / "plots")),
    ):
        built_repo.run(*args)
    diff = json.loads(built_repo.run("dvc", "metrics", "diff", "--json").stdout)
    assert "reports/metrics/sampling.json" in diff

    built_repo.run("git", "clone", "-q", str(built_repo.path), str(tmp_path / "clone"))
    fresh = Scratch(tmp_path / "clone")
    shown = json.loads(fresh.run("dvc", "metrics", "show", "--json").stdout)
    assert shown, "metrics committed to git show on a fresh clone"
    fresh.run("dvc", "params", "diff")
    fresh.run("dvc", "exp", "show", "--no-pager")
