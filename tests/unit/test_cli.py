"""The stage plumbing: threads that never depend on other processes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from genlab.common import cli
from genlab.common.errors import GenlabError


@pytest.fixture
def slots(monkeypatch):
    monkeypatch.delenv("GENLAB_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_stage_takes_every_core_it_may_use_whatever_else_runs(slots):
    cores = len(os.sched_getaffinity(0))
    assert cli.claim_threads() == cores == torch.get_num_threads()
    assert cli.claim_threads() == cores  # a second stage in this process: the same number


def test_genlab_threads_sets_the_number(slots, monkeypatch):
    monkeypatch.setenv("GENLAB_THREADS", "1")
    assert cli.claim_threads() == 1 == torch.get_num_threads()
    monkeypatch.setenv("GENLAB_THREADS", "two")
    with pytest.raises(GenlabError, match="GENLAB_THREADS"):
        cli.claim_threads()


STAGE = """
from genlab.common.cli import run_stage
from genlab.common.errors import GenlabError

def main(how: str) -> None:
    for _ in range(5000):  # a few buffers' worth in small writes: the last is still buffered
        print("line")
    if how == "refuse":
        raise GenlabError("bad value")
    if how == "message":
        raise SystemExit("stopped")

run_stage(main)
"""


@pytest.mark.parametrize(
    ("how", "code", "err"),
    [("ok", 0, ""), ("refuse", 2, "error: bad value\n"), ("message", 1, "stopped\n")],
)
def test_a_stage_process_flushes_its_output_and_keeps_its_exit_code(tmp_path, how, code, err):
    script = tmp_path / "stage.py"
    script.write_text(STAGE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered
    proc = subprocess.run(
        [sys.executable, str(script), how], capture_output=True, text=True, env=env
    )
    assert (proc.returncode, proc.stderr) == (code, err)
    assert proc.stdout == "line\n" * 5000


TURNS = """
import sys, time, types
from pathlib import Path
from genlab.common.cli import run_stage

# stands in for torch, whose import would cost a second: the lock is for stages that use it
sys.modules["torch"] = types.SimpleNamespace(set_num_threads=lambda n: None)

def main(name: str) -> None:
    Path(name).write_text(str(time.time()))
    while not Path("release").exists():
        time.sleep(0.05)

run_stage(main)
"""


def test_torch_stages_take_turns_on_the_cores(tmp_path):
    script = tmp_path / "stage.py"
    script.write_text(TURNS)
    env = {k: v for k, v in os.environ.items() if k not in ("GENLAB_THREADS", "WORLD_SIZE")}
    env["TMPDIR"] = str(tmp_path)  # a lock file of its own

    def start(name: str) -> subprocess.Popen:
        cmd = [sys.executable, str(script), name]
        return subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)

    def wait_for(path, deadline=30.0) -> None:
        end = time.monotonic() + deadline
        while not path.exists():
            assert time.monotonic() < end, f"{path.name} never appeared"
            time.sleep(0.05)

    first = start("first")
    wait_for(tmp_path / "first")  # the first stage is running and holds the cores
    second = start("second")
    time.sleep(1.0)
    assert not (tmp_path / "second").exists()  # it waits for them
    released = time.time()
    (tmp_path / "release").touch()
    assert first.wait(30) == 0 and second.wait(30) == 0
    assert float((tmp_path / "second").read_text()) >= released
    assert "waiting for another genlab stage" in second.stderr.read()
    assert (tmp_path / "genlab-cores.lock").exists()
