"""Bad input files and checkpoints: one-line errors naming the file and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import assert_stage_error

from genlab.denoiser import Denoiser, NetConfig
from genlab.errors import GenlabError
from genlab.io import read_points
from genlab.schedules import Schedule
from genlab.training import load_denoiser, save_denoiser, train_denoiser

SCHED = Schedule("exp", 0.006737947)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x,z\n0.1,0.2\n", ["missing column", "y"]),
        ("x,y\n", ["no rows"]),
        ("", ["not a readable CSV"]),
        ("x,y\n0.1,nan\n", ["column y row 1", "finite"]),
        ("x,y\n0.1,0.2\ninf,0.3\n", ["column x row 2", "finite"]),
        ("x,y\n0.1,abc\n", ["column y row 1", "'abc'"]),
    ],
)
def test_bad_data_files(tmp_path, text, words):
    path = tmp_path / "points.csv"
    path.write_text(text)
    with pytest.raises(GenlabError) as info:
        read_points(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message, (word, message)


def test_labels_must_be_integers(tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text("x,y,label\n0.1,0.2,1.5\n")
    with pytest.raises(GenlabError, match="label must hold integers"):
        read_points(path, ("x", "y", "label"), int_columns=("label",))


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    model = Denoiser(NetConfig(width=8, depth=1))
    path = tmp_path / "model.pt"
    save_denoiser(path, model, SCHED)
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
    ckpt["net"]["width"] = 16
    torch.save(ckpt, checkpoint)
    with pytest.raises(GenlabError, match="does not fit the configured model"):
        load_denoiser(checkpoint)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(GenlabError, match="checkpoint not found"):
        load_denoiser(tmp_path / "nope.pt")


def test_diverging_training_names_the_epoch():
    x0 = torch.rand(64, 2) * 2 - 1
    with pytest.raises(GenlabError, match=r"at epoch \d+"):
        train_denoiser(
            x0,
            NetConfig(width=8, depth=2),
            SCHED,
            epochs=50,
            lr=1e12,
            seed=0,
            device=torch.device("cpu"),
        )


def _run_stage(root: Path, cwd: Path, script: str, *args: str):
    import subprocess
    import sys

    return subprocess.run(
        [
            sys.executable,
            str(root / "stages" / script),
            "--params",
            str(root / "params.yaml"),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_stage_with_corrupt_checkpoint_keeps_earlier_outputs(root, tmp_path, checkpoint):
    checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    out, metrics = tmp_path / "samples.csv", tmp_path / "sampling.json"
    out.write_text("x,y\n0.5,0.5\n")
    metrics.write_text("{}\n")
    proc = _run_stage(
        root,
        tmp_path,
        "sample.py",
        "--model",
        str(checkpoint),
        "--out",
        str(out),
        "--metrics",
        str(metrics),
        "--fig-dir",
        str(tmp_path / "figs"),
    )
    assert_stage_error(proc, str(checkpoint), "not a readable denoiser checkpoint")
    assert out.read_text() == "x,y\n0.5,0.5\n" and metrics.read_text() == "{}\n"
    assert not (tmp_path / "figs").exists()


@pytest.mark.parametrize(
    ("text", "words"),
    [("x,y\n0.1,nan\n", ["column y row 1", "finite"]), ("x\n0.1\n", ["missing column", "y"])],
)
def test_train_stage_with_bad_data_writes_no_model(root, tmp_path, checkpoint, text, words):
    data = tmp_path / "bad.csv"
    data.write_text(text)
    before = checkpoint.read_bytes()
    proc = _run_stage(
        root,
        tmp_path,
        "train.py",
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
    )
    assert_stage_error(proc, str(data), *words)
    assert checkpoint.read_bytes() == before
    assert not (tmp_path / "m.json").exists()
