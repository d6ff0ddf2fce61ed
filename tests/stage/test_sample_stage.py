"""Stage sample as a process: bad params and a corrupt checkpoint stop it in one line, before
it replaces any output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import assert_stage_error


def _run(root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(root / "stages/sample.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_stage_reports_bad_params_in_one_line_before_work(tmp_path, root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["sampler"]["steps"] = 0
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(params))
    out = tmp_path / "samples.csv"
    proc = _run(
        root,
        tmp_path,
        "--params",
        str(bad),
        "--out",
        str(out),
        "--model",
        str(tmp_path / "missing.pt"),
    )
    assert_stage_error(proc, "sampler.steps", ">= 1")
    assert not out.exists()


def test_stage_with_corrupt_checkpoint_keeps_earlier_outputs(root, tmp_path, checkpoint):
    checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    out, metrics = tmp_path / "samples.csv", tmp_path / "sampling.json"
    out.write_text("x,y\n0.5,0.5\n")
    metrics.write_text("{}\n")
    proc = _run(
        root,
        tmp_path,
        "--params",
        str(root / "params.yaml"),
        "--model",
        str(checkpoint),
        "--out",
        str(out),
        "--metrics",
        str(metrics),
        "--fig-dir",
        str(tmp_path / "figs"),
    )
    assert_stage_error(proc, str(checkpoint), "not a readable denoiser checkpoint")
    assert out.read_text() == "x,y\n0.5,0.5\n" and metrics.read_text() == "{}\n"
    assert not (tmp_path / "figs").exists()
