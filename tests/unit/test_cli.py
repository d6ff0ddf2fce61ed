"""The stage plumbing: threads shared between concurrent stages, one-line errors."""

from __future__ import annotations

import os

import pytest
import torch

from genlab.common import cli
from genlab.common.errors import GenlabError


@pytest.fixture
def slots(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "_SLOTS", tmp_path)
    monkeypatch.delenv("GENLAB_THREADS", raising=False)
    before = torch.get_num_threads()
    yield tmp_path
    torch.set_num_threads(before)


def test_a_lone_stage_takes_every_core_it_may_use(slots):
    cores = len(os.sched_getaffinity(0))
    assert cli.claim_threads() == cores == torch.get_num_threads()


def test_concurrent_stages_split_the_cores(slots):
    cores = len(os.sched_getaffinity(0))
    (slots / str(os.getppid())).touch()  # another live stage
    (slots / "999999999").touch()  # a stage that has exited: pruned
    assert cli.claim_threads() == max(1, cores // 2)
    assert not (slots / "999999999").exists()


def test_genlab_threads_sets_the_number(slots, monkeypatch):
    monkeypatch.setenv("GENLAB_THREADS", "1")
    assert cli.claim_threads() == 1 == torch.get_num_threads()
    monkeypatch.setenv("GENLAB_THREADS", "two")
    with pytest.raises(GenlabError, match="GENLAB_THREADS"):
        cli.claim_threads()
