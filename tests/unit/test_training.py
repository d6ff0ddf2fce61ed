"""Denoiser training and checkpoints: round trips, one-line errors for bad checkpoints, a
diverging run that names its epoch, the class-conditional model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from genlab.common.errors import GenlabError
from genlab.diffusion.config import DenoiserConfig
from genlab.diffusion.model import Denoiser
from genlab.diffusion.schedules import Schedule
from genlab.diffusion.training import load_denoiser, save_denoiser, train_denoiser
from genlab.diffusion.truth import region_of

SCHED = Schedule("exp", 0.006737947)

# The schedule of SCHED (sigma_max 1), a constant learning rate and unscaled inputs.
BASE = replace(DenoiserConfig(), sigma_max=1.0, lr_schedule="constant", scale_input=False)


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    model = Denoiser(replace(BASE, width=8, depth=1))
    path = tmp_path / "model.pt"
    save_denoiser(path, model)
    return path


def test_checkpoint_round_trip(checkpoint):
    model, schedule = load_denoiser(checkpoint)
    assert schedule == SCHED and model.cfg.width == 8


def test_truncated_checkpoint(checkpoint):
    checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    with pytest.raises(GenlabError, match="not a readable denoiser checkpoint"):
        load_denoiser(checkpoint)


def test_not_a_checkpoint(checkpoint):
    checkpoint.write_text("hello, I am a text file\n")
    with pytest.raises(GenlabError, match="not a readable denoiser checkpoint"):
        load_denoiser(checkpoint)


def test_checkpoint_of_another_kind(checkpoint):
    torch.save({"weights": torch.zeros(3)}, checkpoint)
    with pytest.raises(GenlabError, match="expected a denoiser checkpoint"):
        load_denoiser(checkpoint)


def test_checkpoint_whose_weights_do_not_fit(checkpoint):
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["config"]["width"] = 16
    torch.save(ckpt, checkpoint)
    with pytest.raises(GenlabError, match="does not fit the configured model"):
        load_denoiser(checkpoint)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(GenlabError, match="checkpoint not found"):
        load_denoiser(tmp_path / "nope.pt")


def test_diverging_training_names_the_epoch():
    x0 = torch.rand(64, 2) * 2 - 1
    cfg = replace(BASE, width=8, depth=2, epochs=50, lr=1e12, seed=0)
    with pytest.raises(GenlabError, match=r"at epoch \d+"):
        train_denoiser(x0, cfg, torch.device("cpu"))


def test_conditional_training_and_checkpoint_classes(tmp_path):
    x0 = torch.rand(64, 2) * 2 - 1
    labels = region_of(x0, "grid")
    cfg = replace(BASE, width=8, depth=1, epochs=5, lr=1e-3, seed=0)
    model, losses = train_denoiser(
        x0, cfg, torch.device("cpu"), labels=labels, num_classes=9, class_dim=3
    )
    assert len(losses) == 5
    save_denoiser(tmp_path / "c.pt", model)
    loaded, _ = load_denoiser(tmp_path / "c.pt", num_classes=9)
    assert loaded.class_dim == 3 and loaded.num_classes == 9
    with pytest.raises(GenlabError, match="trained for 9 classes, expected 5"):
        load_denoiser(tmp_path / "c.pt", num_classes=5)
