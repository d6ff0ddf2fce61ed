"""Stage likelihood as a process: a bad label in params stops it in one line before work."""

from __future__ import annotations

import subprocess
import sys

import yaml
from conftest import assert_stage_error


def test_likelihood_stage_reports_a_bad_label_in_one_line_before_work(tmp_path, root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params.setdefault("likelihood", {})["points"] = [[0.0, 0.0, 12]]
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(params))
    proc = subprocess.run(
        [sys.executable, str(root / "stages/likelihood.py"), "--params", str(bad),
         "--out-dir", str(tmp_path / "out"), "--unconditional", str(tmp_path / "missing.pt")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert_stage_error(proc, "likelihood.points[0]", "12")
    assert not (tmp_path / "out").exists()
