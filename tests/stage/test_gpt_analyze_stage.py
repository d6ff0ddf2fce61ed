"""Stage gpt_analyze as a process: a truncated checkpoint is refused in one line."""

from __future__ import annotations

import subprocess
import sys

import torch
from conftest import assert_stage_error

from genlab.gpt.config import ModelConfig
from genlab.gpt.model import GPT
from genlab.gpt.tokenizer import CharTokenizer
from genlab.gpt.training import save_gpt

TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank,\n"
    "and of having nothing to do: once or twice she had peeped into the book her\n"
    "sister was reading, but it had no pictures or conversations in it, 'and what\n"
    "is the use of a book,' thought Alice 'without pictures or conversations?'\n"
)


def tiny_model(vocab: int = 12, block: int = 16, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(ModelConfig(block_size=block, n_layer=2, n_head=2, n_embd=16), vocab).eval()


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
