"""Stage train as a process: its help, and bad training data refused before any model is
written."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import assert_stage_error


def test_stage_help_works(root):
    proc = subprocess.run(
        [sys.executable, str(root / "stages/train.py"), "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "--params" in proc.stdout


@pytest.mark.parametrize(
    ("text", "words"),
    [("x,y\n0.1,nan\n", ["column y row 1", "finite"]), ("x\n0.1\n", ["missing column", "y"])],
)
def test_train_stage_with_bad_data_writes_no_model(root, tmp_path, checkpoint, text, words):
    data = tmp_path / "bad.csv"
    data.write_text(text)
    before = checkpoint.read_bytes()
    proc = subprocess.run(
        [
            sys.executable,
            str(root / "stages/train.py"),
            "--params",
            str(root / "params.yaml"),
            "--data",
            str(data),
            "--model",
            str(checkpoint),
            "--live-dir",
            str(tmp_path / "live"),
            "--metrics",
            str(tmp_path / "m.json"),
            "--timing",
            str(tmp_path / "t.json"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert_stage_error(proc, str(data), *words)
    assert checkpoint.read_bytes() == before
    assert not (tmp_path / "m.json").exists()
