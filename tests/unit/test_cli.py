"""The stage plumbing: threads that never depend on other processes, one-line errors."""

from __future__ import annotations

import os

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
