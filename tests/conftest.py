"""Shared fixtures: repository paths and a quiet, offline DVC environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("DVC_STUDIO_OFFLINE", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def root() -> Path:
    return ROOT


TINY_PARAMS = {
    "data": {"n": 200, "seed": 0},
    "denoiser": {"width": 16, "depth": 2, "epochs": 50, "device": "cpu"},
    "sampler": {"kind": "heun", "steps": 10, "n": 200},
    "figures": {
        "forward_steps": 20,
        "step_counts": [1, 3],
        "nfe": [4, 8],
        "seeds": [0, 1],
        "n": 100,
        "repeats": 3,
        "grid_steps": 3,
        "quality_n": 100,
    },
    "metrics": {"projections": 16},
}

PIPELINE_FILES = ["dvc.yaml", "stages", "src", ".dvc/config", ".dvcignore", ".gitignore"]


def pipeline_env(tmp: Path) -> dict[str, str]:
    """Environment for running dvc in a scratch repo: venv first on PATH, offline, git identity."""
    import sys

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        DVC_STUDIO_OFFLINE="true",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(tmp / "site-cache"),
        GIT_AUTHOR_NAME="genlab-test",
        GIT_AUTHOR_EMAIL="test@genlab.invalid",
        GIT_COMMITTER_NAME="genlab-test",
        GIT_COMMITTER_EMAIL="test@genlab.invalid",
    )
    return env


@pytest.fixture
def scratch_repo(tmp_path: Path):
    """A git + DVC repo in tmp_path holding the pipeline with tiny params, committed."""
    import shutil
    import subprocess

    import yaml

    repo = tmp_path / "repo"
    repo.mkdir()
    for name in PIPELINE_FILES:
        src = ROOT / name
        dst = repo / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, dst)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY_PARAMS.items():
        params[section].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = pipeline_env(tmp_path)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    run("git", "init", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "tiny pipeline")
    return repo, run
