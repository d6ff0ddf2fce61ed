"""Benchmark the pipeline on a fresh clone: wall time per stage, a cached experiment, a no-op repro.

Usage: make bench   (or: python benchmarks/bench.py --help)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DVC_STUDIO_OFFLINE", "true")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    for key in ("GIT_AUTHOR", "GIT_COMMITTER"):
        env.setdefault(f"{key}_NAME", "genlab-bench")
        env.setdefault(f"{key}_EMAIL", "bench@genlab.invalid")
    return env


def _timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"error: `{' '.join(args)}` failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def _repro_per_stage(repo: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """Run `dvc repro`, timing each stage from its "Running stage" line to the next one."""
    start = time.perf_counter()
    marks: list[tuple[str, float]] = []
    proc = subprocess.Popen(
        ["dvc", "repro"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    log = []
    for line in proc.stdout:
        log.append(line)
        if line.startswith("Running stage '"):
            marks.append((line.split("'")[1], time.perf_counter()))
            print(f"  {line.strip()}", flush=True)
    if proc.wait() != 0:
        sys.exit("error: dvc repro failed:\n" + "".join(log[-40:]))
    end = time.perf_counter()
    ends = [t for _, t in marks[1:]] + [end]
    rows = [(f"stage {name}", stop - t) for (name, t), stop in zip(marks, ends, strict=True)]
    return rows + [("full dvc repro", end - start)]


def gpt_precision(steps: int = 5) -> None:
    """The CPU's capability, the precision `auto` picks, and tokens/s of both precisions."""
    import torch

    from genlab.common.cli import cpu_capability, resolve_device
    from genlab.config import load_config
    from genlab.gpt.corpus import fetch_corpus, split_text
    from genlab.gpt.tokenizer import tokenize_splits
    from genlab.gpt.training import resolve_precision, seconds_per_step

    cfg = load_config(ROOT / "params.yaml")
    text = fetch_corpus(cfg.corpus.sources, ROOT, cfg.corpus.timeout).text
    train, val = split_text(text, cfg.corpus.val_fraction)
    tok, ids, _ = tokenize_splits(cfg.tokenizer.kind, cfg.tokenizer.vocab_size, train, val)
    device = resolve_device(cfg.gpt.device, "gpt.device")
    g = cfg.gpt
    tokens = g.batch_size * g.block_size
    print(
        f"\nGPT at default params on {device}, CPU capability {cpu_capability()}, "
        f"{torch.get_num_threads()} threads"
    )
    print("| precision | s/step | tokens/s |\n|---|---|---|")
    for precision in ("float32", "bfloat16"):
        seconds = seconds_per_step(g, tok.vocab_size, ids, device, precision, steps)
        print(f"| {precision} | {seconds:.3f} | {tokens / seconds:.0f} |")
    chosen, why = resolve_precision(g, tok.vocab_size, ids, device)
    print(f"gpt.precision = {g.precision} chooses {chosen} ({why})")


def main(keep: bool = typer.Option(False, help="keep the temporary clone")) -> None:
    """Clone HEAD into a temporary folder, run every stage timed, then the experiment checks."""
    gpt_precision()
    env = _env()
    tmp = Path(tempfile.mkdtemp(prefix="genlab-bench-"))
    repo = tmp / "genlab"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    if (ROOT.parent / "shared").is_dir():
        (tmp / "shared").symlink_to(ROOT.parent / "shared")
    rows: list[tuple[str, float]] = []
    try:
        rows += _repro_per_stage(repo, env)
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", "bench baseline"], cwd=repo, env=env, check=True)
        rows.append(("no-op dvc repro", _timed(["dvc", "repro"], repo, env)))
        exp = ["dvc", "exp", "run", "-S", "sampler.steps=5"]
        rows.append(("dvc exp run -S sampler.steps=5", _timed(exp, repo, env)))
        subprocess.run(["git", "checkout", "--", "params.yaml"], cwd=repo, check=True)
        back = _timed(["dvc", "repro"], repo, env)
        rows.append(("back to the defaults, dvc repro: sample restored (run cache)", back))
        _timed(exp, repo, env)
        subprocess.run(["git", "checkout", "--", "params.yaml"], cwd=repo, check=True)
        back = _timed(["dvc", "exp", "run"], repo, env)
        rows.append(("back to the defaults, dvc exp run: sample restored (run cache)", back))
        exp = ["dvc", "exp", "run", "-S", "gpt_analysis.temperature=1.0"]
        rows.append(("dvc exp run -S gpt_analysis.temperature=1.0", _timed(exp, repo, env)))
        subprocess.run(["git", "checkout", "--", "params.yaml"], cwd=repo, check=True)
        back = _timed(["dvc", "exp", "run"], repo, env)
        rows.append(("back to the defaults, dvc exp run: gpt_analyze restored", back))

        print("\n| step | wall time (s) |\n|---|---|")
        for name, seconds in rows:
            print(f"| {name} | {seconds:.1f} |")
        print("\nThroughput (reports/timing/):")
        for path in sorted((repo / "reports/timing").glob("*.json")):
            values = json.loads(path.read_text())
            shown = (
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()
            )
            print(f"  {path.name}: " + ", ".join(shown))
        print("\nQuality per NFE (reports/quality/quality_vs_nfe.md):\n")
        print((repo / "reports/quality/quality_vs_nfe.md").read_text())
    finally:
        if keep:
            print(f"clone kept at {repo}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    typer.run(main)
