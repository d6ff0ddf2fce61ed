"""Two CPU processes under torchrun (gloo) train like one process with the same global batch."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from genlab.gpt.config import GptConfig
from genlab.gpt.training import train_gpt

TRAIN = """
import json, sys
import torch
from genlab.common.cli import distributed
from genlab.gpt.training import train_gpt
sys.path.insert(0, {tests!r})
from stage.test_gpt_ddp import CFG, data

rank, world, device = distributed(1, torch.device("cpu"))
train, val = data()
result = train_gpt(train, val, CFG, 24, device)
if rank == 0:
    print(json.dumps({{**result.history[-1], "world": world}}))
"""

# Dropout off: its masks are drawn per process, so only then are the two runs comparable.
CFG = replace(
    GptConfig(),
    n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0, batch_size=8, iters=20,
    warmup_iters=2, eval_interval=20, precision="float32", device="cpu",
)  # fmt: skip


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randint(24, (3000,), generator=g), torch.randint(24, (400,), generator=g)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed missing")
def test_two_gloo_processes_match_one_process(tmp_path, root):
    train, val = data()
    single = train_gpt(train, val, CFG, 24, torch.device("cpu")).history[-1]
    script = tmp_path / "train_ddp.py"
    script.write_text(TRAIN.format(tests=str(root / "tests")))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script)],
        capture_output=True, text=True, timeout=300, env={"GENLAB_THREADS": "1", **_env()},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ddp = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ddp["step"] == single["step"] == 20
    assert abs(ddp["train_loss"] - single["train_loss"]) < 1e-3
    assert abs(ddp["val_loss"] - single["val_loss"]) < 1e-3
    assert ddp["world"] == 2
    print(f"loss difference after 20 steps: {abs(ddp['train_loss'] - single['train_loss']):.2e}")


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "GENLAB_THREADS"}
