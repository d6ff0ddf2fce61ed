"""The image pipeline (images/dvc.yaml) end to end on tiny params in a scratch repository:
every output built, byte-identical when forced again, an experiment on a sampler param
re-runs only what reads it, and a bad param stops it at check_params with one line."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from conftest import ROOT, Scratch, _new_repo, assert_one_line

TINY_IMAGES = {
    "img_data": {"n": 60, "held_out": 20},
    "img_unet": {"channels": [8, 8, 16], "groups": 4, "emb_dim": 16, "heads": 2},
    "img_train": {"epochs": 1, "batch_size": 20, "warmup": 1, "device": "cpu"},
    "img_classifier": {
        "channels": [4, 8],
        "features": 8,
        "epochs": 1,
        "batch_size": 20,
        "device": "cpu",
    },
    "img_sampler": {"steps": 2, "per_class": 1, "batch": 50, "device": "cpu"},
    "img_figures": {"nfe": [2, 3], "step_counts": [1, 2], "forward_steps": 3, "gif_frames": 3},
}
FIGURES = (
    "forward_process.png",
    "schedules.png",
    "embedding.png",
    "loss.png",
    "samples_per_class.png",
    "samples_free.png",
    "steps_and_samplers.png",
    "quality_vs_nfe.png",
    "reverse_process.gif",
)


@pytest.fixture(scope="module")
def images_repo(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    """The scratch repository of the main tiny pipeline, plus the image pipeline on tiny
    params, built once (`dvc repro images/dvc.yaml`) and committed."""
    repo = _new_repo(tmp_path_factory.mktemp("images") / "repo")
    (repo.path / "images").mkdir()
    shutil.copy(ROOT / "images/dvc.yaml", repo.path / "images/dvc.yaml")
    params = yaml.safe_load((ROOT / "images/params.yaml").read_text())
    for section, values in TINY_IMAGES.items():
        params[section].update(values)
    (repo.path / "images/params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    repo.env["GENLAB_THREADS"] = "1"  # tiny convolutions: one thread is the fastest
    repo.commit("tiny image pipeline")
    repo.run("dvc", "repro", "images/dvc.yaml")
    repo.commit("built")
    return repo


def test_every_output_is_built_and_reported(images_repo):
    repo = images_repo.path
    for name in FIGURES:
        assert (repo / "reports/images/figures" / name).stat().st_size > 0, name
    assert (repo / "reports/images/figures/reverse_process.gif").read_bytes()[:6] == b"GIF89a"
    report = (repo / "reports/images/README.md").read_text()
    assert all(f"figures/{name}" in report for name in FIGURES)
    assert "img_cfg_class_accuracy" in report and "| euler |" in report
    sample = json.loads((repo / "reports/metrics/img_sample.json").read_text())
    assert {"img_fid", "img_cfg_class_accuracy", "img_cfg_fid", "img_nfe"} <= set(sample)
    quality = json.loads((repo / "reports/metrics/img_quality.json").read_text())
    assert quality["img_best_sampler"] in {"euler", "heun", "stochastic", "ddpm"}
    assert "img_fid_heun_nfe2" in quality and "img_fid_ddpm_nfe3" in quality
    classifier = json.loads((repo / "reports/metrics/img_classifier.json").read_text())
    assert classifier["img_fid_floor"] >= 0 and classifier["img_fid_size"] == 10
    # the main pipeline is not touched by the image pipeline
    assert not (repo / "dvc.lock").exists() and (repo / "images/dvc.lock").is_file()


def test_forced_rerun_is_byte_identical(images_repo):
    images_repo.run("dvc", "repro", "--force", "images/dvc.yaml")
    status = images_repo.run("git", "status", "--porcelain", "--", ".", ":!reports/timing").stdout
    assert status.strip() == "", status


def test_sampler_experiment_reruns_sampling_only(images_repo):
    ran = images_repo.run(
        "dvc", "exp", "run", "images/dvc.yaml", "-S", "images/params.yaml:img_sampler.guidance=2"
    ).stdout
    for stage in ("sample", "quality", "figures", "report"):
        assert f"Running stage 'images/dvc.yaml:{stage}'" in ran, ran
    for stage in ("data", "train", "classifier"):
        assert f"Running stage 'images/dvc.yaml:{stage}'" not in ran, ran


def test_bad_param_stops_at_check_params(images_repo):
    proc = images_repo.run(
        "dvc",
        "exp",
        "run",
        "images/dvc.yaml",
        "-S",
        "images/params.yaml:img_train.epochs=0",
        check=False,
    )
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: params")]
    assert len(errors) == 1, proc.stderr
    assert_one_line(errors[0], "img_train.epochs", "0", ">= 1")
    images_repo.run("git", "checkout", "--", "images/params.yaml")
