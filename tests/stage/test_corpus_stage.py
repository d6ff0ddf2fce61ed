"""Stage corpus as a process: no usable source stops it in one line, writing nothing."""

from __future__ import annotations

import subprocess
import sys

import yaml
from conftest import assert_stage_error

UNREACHABLE = "http://127.0.0.1:9/pg11.txt"  # the discard port: nobody listens


def test_missing_corpus_stage_fails_with_one_line_and_exit_2(tmp_path, root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["corpus"]["sources"] = ["no/such/alice.txt", UNREACHABLE]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = subprocess.run(
        [sys.executable, str(root / "stages/corpus.py"), "--out-dir", "out"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert_stage_error(proc, "no/such/alice.txt (not found)", UNREACHABLE)
    assert not (tmp_path / "out").exists()
