"""The figures of the unconditional exercise, one function per question."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genlab import plotting
from genlab.schedules import GRIDS, SCHEDULES, Schedule, sigma_grid


def forward_process(t: torch.Tensor, path: torch.Tensor, out: Path) -> None:
    """Q1: a forward-process path from a point outside the square, coloured by t."""
    fig, axes = plotting.figure(1, 1, size=4.6)
    ax = axes[0, 0]
    sc = plotting.path_by_time(ax, path.numpy(), t.numpy())
    plotting.outline_square(ax)
    plotting.mark(ax, path[0].tolist(), "x0", color="red")
    fig.colorbar(sc, ax=ax, label="t")
    ax.set_title("Forward process x_t = x_0 + sigma(t) eps")
    ax.autoscale()
    plotting.save(fig, out)


def loss_curve(losses: np.ndarray, out: Path, window: int = 50) -> None:
    """Q2: training loss per epoch with a moving average."""
    fig, axes = plotting.figure(1, 1, size=4.6)
    ax = axes[0, 0]
    epochs = np.arange(1, len(losses) + 1)
    ax.plot(epochs, losses, lw=0.5, alpha=0.4, label="per epoch")
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(epochs[window - 1 :], smooth, lw=1.5, label=f"mean of {window}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("denoising loss ||D - eps||^2")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("Training loss")
    plotting.save(fig, out)


def seed_grid(clouds: Sequence[torch.Tensor], seeds: Sequence[int], title: str, out: Path) -> None:
    """Q3: a grid of sample clouds, one per seed."""
    cols = int(np.ceil(np.sqrt(len(clouds))))
    rows = int(np.ceil(len(clouds) / cols))
    fig, axes = plotting.figure(cols, rows, size=2.6)
    for ax in axes.flat[len(clouds) :]:
        ax.axis("off")
    for ax, pts, seed in zip(axes.flat, clouds, seeds, strict=False):
        plotting.points(ax, pts.numpy(), lim=1.6)
        ax.set_title(f"seed {seed}")
    fig.suptitle(title)
    plotting.save(fig, out)


def step_counts(
    trajectories: Sequence[torch.Tensor],
    clouds: Sequence[torch.Tensor],
    counts: Sequence[int],
    title: str,
    out: Path,
) -> None:
    """Q4: one point's trajectory (top row) and a cloud of samples (bottom row) per step count."""
    fig, axes = plotting.figure(len(counts), 2, size=2.4)
    for j, (traj, pts, n) in enumerate(zip(trajectories, clouds, counts, strict=True)):
        path = traj.numpy()
        plotting.path_by_time(axes[0, j], path, np.linspace(1.0, 0.0, len(path)), cmap="plasma")
        plotting.outline_square(axes[0, j])
        axes[0, j].set_xlim(-2, 2)
        axes[0, j].set_ylim(-2, 2)
        axes[0, j].set_title(f"{n} steps")
        plotting.points(axes[1, j], pts.numpy(), lim=1.6)
    axes[0, 0].set_ylabel("one trajectory")
    axes[1, 0].set_ylabel("samples")
    fig.suptitle(title)
    plotting.save(fig, out)


def schedules_and_grids(
    sigma_min: float,
    steps: int,
    rho: float,
    clouds: dict[str, torch.Tensor],
    title: str,
    out: Path,
) -> None:
    """Q5: sigma(t) of every schedule, sigma_i of every grid, and samples drawn on each grid."""
    fig, axes = plotting.figure(2 + len(clouds), 1, size=3.4)
    t = torch.linspace(0.0, 1.0, 400, dtype=torch.float64)
    for name in SCHEDULES:
        sched = Schedule(name, sigma_min)
        tt = t[t >= sched.t_min]
        axes[0, 0].plot(tt, sched.sigma(tt), label=name)
    axes[0, 0].set_yscale("log")
    axes[0, 0].set_xlabel("t")
    axes[0, 0].set_ylabel("sigma(t)")
    axes[0, 0].set_title("Training schedules")
    axes[0, 0].legend()
    exp = Schedule("exp", sigma_min)
    for grid in GRIDS:
        sig = sigma_grid(exp, steps, grid, rho)
        axes[0, 1].plot(np.arange(steps + 1), sig, marker="o", ms=3, label=grid)
    axes[0, 1].set_yscale("log")
    axes[0, 1].set_xlabel("step i")
    axes[0, 1].set_ylabel("sigma_i")
    axes[0, 1].set_title(f"Sampling grids, {steps} steps (exp schedule)")
    axes[0, 1].legend()
    for ax, (grid, pts) in zip(axes[0, 2:], clouds.items(), strict=True):
        plotting.points(ax, pts.numpy(), lim=1.6)
        ax.set_title(f"grid {grid}, {steps} steps")
    fig.suptitle(title)
    plotting.save(fig, out)


def determinism(
    deterministic: torch.Tensor,
    stochastic: torch.Tensor,
    trajectories: torch.Tensor,
    start: torch.Tensor,
    labels: tuple[str, str],
    out: Path,
) -> None:
    """Q6: one start noise sampled repeatedly, deterministic vs stochastic, plus 4 paths."""
    fig, axes = plotting.figure(3, 1, size=3.6)
    spread_d = float((deterministic - deterministic[0]).abs().max())
    spread_s = float((stochastic - stochastic[0]).abs().max())
    for ax, pts, label, spread in (
        (axes[0, 0], deterministic, labels[0], spread_d),
        (axes[0, 1], stochastic, labels[1], spread_s),
    ):
        plotting.points(ax, pts.numpy(), lim=1.6, s=30, alpha=0.7)
        plotting.mark(ax, start.tolist(), "start", color="gray", marker="x")
        ax.set_title(f"{label}: {len(pts)} runs\nmax spread {spread:.2g}")
    ax = axes[0, 2]
    for k in range(trajectories.shape[1]):
        ax.plot(trajectories[:, k, 0], trajectories[:, k, 1], lw=1.0, label=f"run {k + 1}")
        ax.scatter(trajectories[-1, k, 0], trajectories[-1, k, 1], s=25, zorder=3)
    plotting.mark(ax, start.tolist(), "start", color="gray", marker="x")
    plotting.outline_square(ax)
    ax.set_aspect("equal")
    ax.legend(fontsize=7)
    ax.set_title(f"{trajectories.shape[1]} stochastic trajectories")
    plotting.save(fig, out)


def quality_vs_nfe(table: pd.DataFrame, out: Path) -> None:
    """in_support and swd_ratio against NFE for every sampler (log NFE axis)."""
    fig, axes = plotting.figure(2, 1, size=3.8)
    for kind, rows in table.groupby("sampler", sort=False):
        axes[0, 0].plot(rows["nfe"], rows["in_support"], marker="o", label=kind)
        axes[0, 1].plot(rows["nfe"], rows["swd_ratio"], marker="o", label=kind)
    for ax, name in zip(
        axes[0], ("in_support (higher is better)", "swd_ratio (1 is best)"), strict=True
    ):
        ax.set_xscale("log")
        ax.set_xlabel("NFE (denoiser calls)")
        ax.set_ylabel(name)
        ax.legend()
    axes[0, 1].axhline(1.0, color="gray", ls="--", lw=0.8)
    fig.suptitle("Quality per sampler step")
    plotting.save(fig, out)
