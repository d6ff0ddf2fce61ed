"""Matplotlib helpers written once: deterministic PNG output and the shapes every figure draws."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from genlab.common.io import atomic_path  # noqa: E402

plt.rcParams.update(
    {
        "figure.dpi": 110,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 9,
    }
)


def figure(ncols: int = 1, nrows: int = 1, size: float = 3.6, **kw) -> tuple[Figure, np.ndarray]:
    """A figure of ncols x nrows panels of `size` inches; axes always returned as a 2-D array."""
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False, **kw
    )
    return fig, axes


def save(fig: Figure, path: Path | str) -> None:
    """Write a PNG atomically, with no varying metadata (same figure -> same bytes)."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)


def outline_square(ax: Axes, half: float = 1.0, **kw) -> None:
    """Draw the boundary of the square [-half, half]^2."""
    xs = [-half, half, half, -half, -half]
    ys = [-half, -half, half, half, -half]
    ax.plot(xs, ys, color=kw.pop("color", "black"), lw=kw.pop("lw", 1.0), **kw)


def points(ax: Axes, pts: np.ndarray, lim: float | None = 2.0, **kw) -> None:
    """Scatter a cloud of 2-D points on equal axes, the square outlined."""
    kw.setdefault("s", 3)
    kw.setdefault("alpha", 0.6)
    kw.setdefault("linewidths", 0)
    ax.scatter(pts[:, 0], pts[:, 1], **kw)
    outline_square(ax)
    ax.set_aspect("equal")
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)


def path_by_time(
    ax: Axes, path: np.ndarray, times: np.ndarray, cmap: str = "viridis", label: str | None = None
):
    """Draw a 2-D path as segments coloured by `times`; returns the mappable for a colorbar."""
    segs = np.stack([path[:-1], path[1:]], axis=1)
    lc = LineCollection(segs, cmap=cmap, linewidths=1.2)
    lc.set_array(0.5 * (times[:-1] + times[1:]))
    ax.add_collection(lc)
    sc = ax.scatter(path[:, 0], path[:, 1], c=times, cmap=cmap, s=6, zorder=3, label=label)
    ax.set_aspect("equal")
    return sc


def mark(ax: Axes, xy: Sequence[float], text: str, **kw) -> None:
    """A labelled marker (start or end of a trajectory)."""
    ax.scatter([xy[0]], [xy[1]], s=40, zorder=4, **kw)
    ax.annotate(text, (xy[0], xy[1]), textcoords="offset points", xytext=(5, 5))
