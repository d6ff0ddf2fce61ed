"""Stage gpt_analyze as a process: a truncated checkpoint is refused in one line."""

from __future__ import annotations

import subprocess
import sys

from conftest import TEXT, assert_stage_error, tiny_model

from genlab.gpt.tokenizer import CharTokenizer
from genlab.gpt.training import save_gpt


def test_analysis_stage_refuses_a_truncated_checkpoint_in_one_line(tmp_path, root):
    model = tiny_model(vocab=CharTokenizer.fit(TEXT).vocab_size)
    save_gpt(tmp_path / "gpt.pt", model, CharTokenizer.fit(TEXT), {})
    data = (tmp_path / "gpt.pt").read_bytes()
    (tmp_path / "gpt.pt").write_bytes(data[: len(data) // 2])
    proc = subprocess.run(
        [sys.executable, str(root / "stages/gpt_analyze.py"), "--params", str(root / "params.yaml")]
        + ["--model", str(tmp_path / "gpt.pt"), "--out-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert_stage_error(proc, "not a readable gpt checkpoint")
    assert not (tmp_path / "out").exists()
