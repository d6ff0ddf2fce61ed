"""Shared fixtures: repository paths and a quiet, offline DVC environment.

Tests are arranged by level, one folder each, and marked by it: `unit` (library
functions, in-process, seconds), `stage` (a stage script run as a process) and `e2e`
(DVC commands on a scratch repository). `pytest -m "not e2e"` runs the first two.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from genlab.common.cli import usable_cores
from genlab.diffusion.config import DenoiserConfig
from genlab.diffusion.model import Denoiser
from genlab.diffusion.training import save_denoiser
from genlab.gpt.config import ModelConfig
from genlab.gpt.model import GPT

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("DVC_STUDIO_OFFLINE", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
# Each xdist worker, and every process it starts, gets its share of the cores: two workers
# with two threads each on two cores leave torch's threads waiting on each other (the tiny
# GPT training of unit/test_gpt_training.py took 14 s of CPU that way, 1.6 s alone).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ["GENLAB_THREADS"] = str(max(1, usable_cores() // _WORKERS))
torch.set_num_threads(int(os.environ.get("GENLAB_THREADS", usable_cores())))


TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank,\n"
    "and of having nothing to do: once or twice she had peeped into the book her\n"
    "sister was reading, but it had no pictures or conversations in it, 'and what\n"
    "is the use of a book,' thought Alice 'without pictures or conversations?'\n"
)


def tiny_model(vocab: int = 12, block: int = 16, seed: int = 0) -> GPT:
    """A two-block GPT small enough for unit tests, in eval mode."""
    torch.manual_seed(seed)
    return GPT(ModelConfig(block_size=block, n_layer=2, n_head=2, n_embd=16), vocab).eval()


LEVELS = ("unit", "stage", "e2e")


def _level(item: pytest.Item) -> str:
    return Path(str(item.fspath)).parent.name


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _level(item) in LEVELS:
            item.add_marker(getattr(pytest.mark, _level(item)))
    # The end-to-end tests on the built template first, then the rest: with two workers
    # (`make test`), xdist gives the first worker the first half of this list, so the
    # template's build starts at once while the other worker runs everything that does not
    # need it; work stealing evens out the ends.
    items.sort(key=_order)


def _order(item: pytest.Item) -> int:
    if {"built_repo", "built_template"} & set(getattr(item, "fixturenames", ())):
        return 0
    return 1 + (LEVELS.index(_level(item)) if _level(item) in LEVELS else 0)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    """A small untrained denoiser's checkpoint (sigma_max 1)."""
    model = Denoiser(DenoiserConfig(width=8, depth=1, sigma_max=1.0))
    path = tmp_path / "model.pt"
    save_denoiser(path, model)
    return path


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
    "classes": {"n": 200},
    "conditional": {"n": 12, "epochs": 50},
    "likelihood": {
        "elbo_samples": 256,
        "ode_steps": 20,
        "heatmap_size": 5,
        "heatmap_samples": 64,
        "heatmap_ode_steps": 5,
        "roundtrip_steps": 50,
    },
    # The mirror (linked beside the scratch repo), then a URL nobody answers: never the network.
    "corpus": {
        "sources": ["../shared/data/alice_in_wonderland.txt", "http://127.0.0.1:9/pg11.txt"]
    },
    "gpt": {
        "n_layer": 1,
        "n_head": 2,
        "n_embd": 16,
        "block_size": 80,
        "batch_size": 4,
        "iters": 20,
        "warmup_iters": 5,
        "eval_interval": 10,
        "device": "cpu",
    },
    "gpt_analysis": {
        # 12 short words, the least allowed: the attention figures' size grows with it
        "attention_prompt": "I saw a cat and a dog and a rat go by",
        "prompts": ["Alice"],
        "max_new_tokens": 10,
        "prob_tokens": 10,
        "inversion_steps": 30,
    },
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


class Scratch:
    """A scratch git + DVC repo holding the pipeline; `run` executes a command inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = pipeline_env(path.parent)

    def run(self, *args: str, check: bool = True, timeout: float = 600):
        import subprocess

        proc = subprocess.run(
            args, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-qm", message)


def _link_shared(parent: Path) -> None:
    # Stages read the corpus mirror at ../shared relative to the repository root.
    shared = ROOT.parent / "shared"
    if shared.is_dir() and not (parent / "shared").exists():
        (parent / "shared").symlink_to(shared)


def _new_repo(path: Path) -> Scratch:
    import shutil

    import yaml

    path.mkdir(parents=True)
    for name in PIPELINE_FILES:
        src, dst = ROOT / name, path / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, dst)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY_PARAMS.items():
        params[section].update(values)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _link_shared(path.parent)
    repo = Scratch(path)
    repo.run("git", "init", "-q")
    repo.commit("tiny pipeline")
    return repo


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Scratch:
    """The pipeline with tiny params in a fresh, committed repo; nothing built yet."""
    return _new_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session, shared by the xdist workers: the tiny pipeline after
    `dvc repro`, outputs committed. Tests only ever copy it."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's own
    path = shared / "template" / "repo"
    with open(shared / "template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds; the others wait for it
        if not (shared / "template.done").exists():
            repo = _new_repo(path)
            repo.run("dvc", "repro")
            repo.commit("baseline")
            (shared / "template.done").touch()
    return path


@pytest.fixture
def built_repo(built_template: Path, tmp_path: Path) -> Scratch:
    """A private copy of the built template (git history and DVC cache included)."""
    import shutil

    shutil.copytree(built_template, tmp_path / "repo", symlinks=True)
    _link_shared(tmp_path)
    return Scratch(tmp_path / "repo")


def digests(repo: Path, paths: tuple[str, ...]) -> dict[str, str]:
    """md5 of each of `paths` in the repository: to check that outputs did not change."""
    import hashlib

    return {rel: hashlib.md5((repo / rel).read_bytes()).hexdigest() for rel in paths}


def assert_one_line(message: str, *words: str) -> None:
    """A user-facing error: a single line that contains every one of `words`."""
    assert "\n" not in message.strip(), message
    for word in words:
        assert word in message, (word, message)


def assert_stage_error(proc, *words: str) -> None:
    """A stage that refused its input: exit 2, one `error:` line on stderr, no traceback."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert_one_line(lines[0], *words)
