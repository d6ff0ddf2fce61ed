"""Time the diffusion trainings: the two stages' settings at the params.yaml defaults, and
the speed issue's reference setting (3000 full-batch epochs on 1000 points).

Each run is timed end to end in this process (the first one in a process also pays
one-off set-up costs, so a short warm-up run goes first). Example, on the plain AVX2 path of a
CPU that has more:

    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/train_speed.py
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch
import typer

from genlab.config import PARAMS_FILE, load_config
from genlab.diffusion.data import make_classes, make_square
from genlab.diffusion.training import train_denoiser
from genlab.diffusion.truth import num_classes


def main(repeats: int = typer.Option(2, help="timed runs of each setting (best is shown).")):
    """Print seconds per training (best of `repeats`) and epochs per second."""
    cfg = load_config(PARAMS_FILE)
    d, device = replace(cfg.denoiser, device="cpu"), torch.device("cpu")
    print(f"cpu capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    square = make_square(cfg.data.n, cfg.data.seed)
    x0 = torch.tensor(square[["x", "y"]].to_numpy(), dtype=torch.float32)
    classes = make_classes(cfg.classes.n, cfg.classes.seed, cfg.classes.layout)
    xc = torch.tensor(classes[["x", "y"]].to_numpy(), dtype=torch.float32)
    labels = torch.tensor(classes["label"].to_numpy())
    cond = {"labels": labels, "num_classes": num_classes(cfg.classes.layout)}
    cond["class_dim"] = cfg.conditional.class_dim
    runs = {
        "train (defaults)": (x0, d, {}),
        "train_conditional (defaults)": (
            xc,
            cfg.conditional.denoiser(d),
            cond,
        ),
        "3000 full-batch epochs, 1000 points": (
            x0[:1000],
            replace(d, epochs=3000, batch_size=0),
            {},
        ),
    }
    train_denoiser(x0[:100], replace(d, epochs=10), device)  # warm-up: one-off set-up
    for name, (x, settings, extra) in runs.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            train_denoiser(x, settings, device, **extra)
            times.append(time.perf_counter() - start)
        best = min(times)
        print(f"{name:40s} {best:6.2f} s  {settings.epochs / best:7.0f} epochs/s", flush=True)


if __name__ == "__main__":
    typer.run(main)
