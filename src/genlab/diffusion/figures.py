"""The diffusion figures, one function per figure: the square's model, classes, likelihoods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes

from genlab.common import plotting
from genlab.diffusion.schedules import GRIDS, SCHEDULES, Schedule, sigma_grid
from genlab.diffusion.truth import boundaries

if TYPE_CHECKING:  # annotations only: drawing never runs the experiments' code
    from genlab.diffusion.experiments import Determinism

CLASS_COLOURS = colormaps["tab10"]


def forward_process(t: torch.Tensor, path: torch.Tensor, out: Path) -> None:
    """A forward-process path from a point outside the square, coloured by t."""
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
    """Training loss per epoch with a moving average."""
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
    """A grid of sample clouds, one per seed."""
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
    """One point's trajectory (top row) and a cloud of samples (bottom row) per step count."""
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
    schedule: Schedule,
    steps: int,
    rho: float,
    clouds: dict[str, torch.Tensor],
    title: str,
    out: Path,
) -> None:
    """sigma(t) of every schedule over `schedule`'s sigma range, sigma_i of every grid
    under `schedule`, and samples drawn on each grid."""
    fig, axes = plotting.figure(2 + len(clouds), 1, size=3.4)
    t = torch.linspace(0.0, 1.0, 400, dtype=torch.float64)
    for name in SCHEDULES:
        sched = replace(schedule, name=name)
        tt = t[t >= sched.t_min]
        axes[0, 0].plot(tt, sched.sigma(tt), label=name)
    axes[0, 0].set_yscale("log")
    axes[0, 0].set_xlabel("t")
    axes[0, 0].set_ylabel("sigma(t)")
    axes[0, 0].set_title("Training schedules")
    axes[0, 0].legend()
    for grid in GRIDS:
        sig = sigma_grid(schedule, steps, grid, rho)
        axes[0, 1].plot(np.arange(steps + 1), sig, marker="o", ms=3, label=grid)
    axes[0, 1].set_yscale("log")
    axes[0, 1].set_xlabel("step i")
    axes[0, 1].set_ylabel("sigma_i")
    axes[0, 1].set_title(f"Sampling grids, {steps} steps ({schedule.name} schedule)")
    axes[0, 1].legend()
    for ax, (grid, pts) in zip(axes[0, 2:], clouds.items(), strict=True):
        plotting.points(ax, pts.numpy(), lim=1.6)
        ax.set_title(f"grid {grid}, {steps} steps")
    fig.suptitle(title)
    plotting.save(fig, out)


def determinism(runs: Determinism, out: Path, shown: int = 4) -> None:
    """One start noise sampled repeatedly, deterministic vs stochastic, plus `shown` paths."""
    fig, axes = plotting.figure(3, 1, size=3.6)
    start = runs.start.tolist()
    for ax, pts, label in zip(
        axes[0, :2], (runs.deterministic, runs.stochastic), runs.labels, strict=True
    ):
        spread = float((pts - pts[0]).abs().max())
        plotting.points(ax, pts.numpy(), lim=1.6, s=30, alpha=0.7)
        plotting.mark(ax, start, "start", color="gray", marker="x")
        ax.set_title(f"{label}: {len(pts)} runs\nmax spread {spread:.2g}")
    ax = axes[0, 2]
    paths = runs.stochastic_paths[:, :shown]
    for k in range(paths.shape[1]):
        ax.plot(paths[:, k, 0], paths[:, k, 1], lw=1.0, label=f"run {k + 1}")
        ax.scatter(paths[-1, k, 0], paths[-1, k, 1], s=25, zorder=3)
    plotting.mark(ax, start, "start", color="gray", marker="x")
    plotting.outline_square(ax)
    ax.set_aspect("equal")
    ax.legend(fontsize=7)
    ax.set_title(f"{paths.shape[1]} stochastic trajectories")
    plotting.save(fig, out)


def quality_vs_nfe(table: pd.DataFrame, out: Path) -> None:
    """in_support and swd_ratio against NFE for every sampler and grid (log NFE axis)."""
    fig, axes = plotting.figure(2, 1, size=3.8)
    styles = dict(zip(table["grid"].unique(), ("-", "--", ":"), strict=False))
    for (kind, grid), rows in table.groupby(["sampler", "grid"], sort=False):
        style = {"marker": "o", "ls": styles.get(grid, "-"), "label": f"{kind}, {grid}"}
        axes[0, 0].plot(rows["nfe"], rows["in_support"], **style)
        axes[0, 1].plot(rows["nfe"], rows["swd_ratio"], **style)
    for ax, name in zip(
        axes[0], ("in_support (higher is better)", "swd_ratio (1 is best)"), strict=True
    ):
        ax.set_xscale("log")
        ax.set_xlabel("NFE (denoiser calls)")
        ax.set_ylabel(name)
    axes[0, 1].legend(fontsize=6, ncol=2)
    axes[0, 1].axhline(1.0, color="gray", ls="--", lw=0.8)
    fig.suptitle("Quality per sampler step")
    plotting.save(fig, out)


def _regions(ax: Axes, layout: str, lim: float | None = 1.3) -> None:
    """Outline the square and the boundaries between the class regions."""
    plotting.outline_square(ax)
    for (x0, y0), (x1, y1) in boundaries(layout):
        ax.plot([x0, x1], [y0, y1], color="black", lw=0.6, ls="--")
    ax.set_aspect("equal")
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)


def _by_class(ax: Axes, pts: np.ndarray, labels: np.ndarray, **kw) -> None:
    """Scatter points coloured by class label, one legend entry per class."""
    for c in np.unique(labels):
        mine = pts[labels == c]
        ax.scatter(
            mine[:, 0],
            mine[:, 1],
            s=kw.get("s", 3),
            color=CLASS_COLOURS(int(c) % 10),
            alpha=0.7,
            linewidths=0,
            label=str(int(c)),
        )


def class_data(points: np.ndarray, labels: np.ndarray, layout: str, out: Path) -> None:
    """The labelled training data coloured by class, with the region boundaries."""
    fig, axes = plotting.figure(1, 1, size=4.6)
    ax = axes[0, 0]
    _by_class(ax, points, labels, s=6)
    _regions(ax, layout)
    ax.legend(title="class", fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title(f"Training data by class ({layout} layout, {len(points)} points)")
    plotting.save(fig, out)


def class_trajectories(paths: torch.Tensor, layout: str, title: str, out: Path) -> None:
    """One sampled trajectory per class (paths: steps+1, classes, 2) over the class regions."""
    fig, axes = plotting.figure(1, 1, size=5.0)
    ax = axes[0, 0]
    path = paths.numpy()
    for c in range(path.shape[1]):
        colour = CLASS_COLOURS(c % 10)
        ax.plot(path[:, c, 0], path[:, c, 1], color=colour, lw=1.0, label=f"class {c}")
        ax.scatter(path[0, c, 0], path[0, c, 1], color=colour, marker="x", s=30)
        ax.scatter(path[-1, c, 0], path[-1, c, 1], color=colour, s=30, zorder=3, edgecolors="k")
    _regions(ax, layout, lim=None)
    ax.autoscale()
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title(f"{title}\nx: start noise, dot: sample", fontsize=8)
    plotting.save(fig, out)


def class_samples(
    noise: torch.Tensor,
    samples: torch.Tensor,
    labels: torch.Tensor,
    layout: str,
    title: str,
    out: Path,
) -> None:
    """Samples coloured by their class (right) beside the start noise they came from (left)."""
    fig, axes = plotting.figure(2, 1, size=4.4)
    lab = labels.numpy()
    _by_class(axes[0, 0], noise.numpy(), lab)
    _regions(axes[0, 0], layout, lim=3.5)
    axes[0, 0].set_title("start noise, coloured by the class asked for")
    _by_class(axes[0, 1], samples.numpy(), lab)
    _regions(axes[0, 1], layout)
    axes[0, 1].set_title(f"{len(samples)} samples")
    axes[0, 1].legend(
        title="class", fontsize=7, markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5)
    )
    fig.suptitle(title)
    plotting.save(fig, out)


def likelihood_maps(
    lim: float, maps: dict[str, np.ndarray], out: Path, floor: float = -8.0
) -> None:
    """Heat maps of log-densities over [-lim, lim]^2 on one colour scale, the square outlined.

    Values below `floor` (and -inf, outside the support) show in the lowest colour.
    """
    fig, axes = plotting.figure(len(maps), 1, size=3.8)
    top = max(float(np.nanmax(np.where(np.isfinite(m), m, np.nan))) for m in maps.values())
    for ax, (name, values) in zip(axes[0], maps.items(), strict=True):
        shown = np.clip(np.where(np.isfinite(values), values, floor), floor, None)
        im = ax.imshow(
            shown.T,
            origin="lower",
            extent=(-lim, lim, -lim, lim),
            cmap="viridis",
            vmin=floor,
            vmax=top,
        )
        plotting.outline_square(ax, color="white")
        ax.set_title(name)
        ax.grid(False)
        fig.colorbar(im, ax=ax, label=f"log p (nats), clipped at {floor:g}", shrink=0.8)
    plotting.save(fig, out)


def round_trips(trips: dict[str, tuple[torch.Tensor, torch.Tensor, float]], out: Path) -> None:
    """Per model: the ODE path from a point to sigma_max and the sampler's path back."""
    fig, axes = plotting.figure(len(trips), 1, size=4.4)
    for ax, (name, (forward, backward, error)) in zip(axes[0], trips.items(), strict=True):
        f, b = forward[:, 0].numpy(), backward[:, 0].numpy()
        ax.plot(f[:, 0], f[:, 1], lw=2.5, alpha=0.5, label="ODE to sigma_max")
        ax.plot(b[:, 0], b[:, 1], lw=1.0, ls="--", label="Heun sampler back")
        plotting.mark(ax, f[0], "x", color="red")
        plotting.mark(ax, f[-1], "x_1", color="gray")
        plotting.outline_square(ax)
        ax.set_aspect("equal")
        ax.legend(fontsize=7)
        ax.set_title(
            f"{name}: round trip of {tuple(round(float(v), 3) for v in f[0])}\n"
            f"error |back - x| = {error:.2e}"
        )
    plotting.save(fig, out)
