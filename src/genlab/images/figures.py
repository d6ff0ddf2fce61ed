"""Every figure of the image pipeline: PNGs through common.plotting and an animated GIF with
fixed bytes for fixed frames."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from genlab.common.io import atomic_path
from genlab.common.plotting import figure, save

SIDE = 28


def tile(images: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """uint8 images (N, 28, 28) as one uint8 mosaic of `cols` columns, white gaps between."""
    n = len(images)
    rows = -(-n // cols)
    cell = SIDE + pad
    out = np.full((rows * cell + pad, cols * cell + pad), 255, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * cell : pad + r * cell + SIDE, pad + c * cell : pad + c * cell + SIDE] = img
    return out


def _show(ax, mosaic: np.ndarray, title: str = "") -> None:
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title:
        ax.set_title(title)


def forward_process(
    states: np.ndarray, sigmas: Sequence[float], scale: Sequence[float], path: Path
) -> None:
    """One digit noised to each sigma, shown as the network sees it (x / sqrt(1 + sigma^2)
    for VP, the DDPM state), one panel per noise level."""
    fig, axes = figure(len(states), 1, size=1.6)
    for ax, img, s, a in zip(axes[0], states, sigmas, scale, strict=True):
        _show(ax, img, f"sigma {s:.3g}\nsqrt(abar) {a:.2f}")
    fig.suptitle("A digit through the forward process")
    save(fig, path)


def schedules(curves: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    """beta_k, alpha-bar_k and sigma_k = sqrt((1 - abar) / abar) against k / T, side by side."""
    fig, axes = figure(3, 1, size=3.4)
    for name, c in curves.items():
        if "beta" in c:
            axes[0, 0].plot(c["t"], c["beta"], label=name)
        axes[0, 1].plot(c["t"], c["alpha_bar"], label=name)
        axes[0, 2].semilogy(c["t"], c["sigma"], label=name)
    for ax, label in zip(axes[0], ("beta", "alpha-bar", "sigma (VE scale)"), strict=True):
        ax.set_xlabel("t = k / T")
        ax.set_title(label)
        ax.legend()
    save(fig, path)


def embedding(matrix: np.ndarray, sigmas: np.ndarray, path: Path) -> None:
    """The sinusoidal embedding of ln(sigma): one row per noise level, one column per value."""
    fig, axes = figure(1, 1, size=4.5)
    ax = axes[0, 0]
    im = ax.imshow(
        matrix,
        aspect="auto",
        cmap="RdBu",
        vmin=-1,
        vmax=1,
        interpolation="nearest",
        extent=(0, matrix.shape[1], np.log10(sigmas[-1]), np.log10(sigmas[0])),
    )
    ax.set_xlabel("embedding dimension (cos | sin)")
    ax.set_ylabel("log10 sigma")
    ax.grid(False)
    fig.colorbar(im, ax=ax)
    ax.set_title("Sinusoidal embedding of the noise level")
    save(fig, path)


def class_grid(images: np.ndarray, per_row: int, title: str, path: Path) -> None:
    """Samples grouped by class: one row per class 0..9."""
    fig, axes = figure(1, 1, size=6.0)
    _show(axes[0, 0], tile(images, per_row), title)
    save(fig, path)


def steps_grid(cells: dict[tuple[str, int], np.ndarray], path: Path) -> None:
    """A mosaic of samples for every sampler (rows) and step count (columns)."""
    samplers = list(dict.fromkeys(k for k, _ in cells))
    steps = list(dict.fromkeys(s for _, s in cells))
    fig, axes = figure(len(steps), len(samplers), size=1.7)
    for i, kind in enumerate(samplers):
        for j, n in enumerate(steps):
            ax = axes[i, j]
            _show(ax, tile(cells[(kind, n)], 2), f"{kind}, {n} steps" if i == 0 else f"{n} steps")
            if j == 0:
                ax.set_ylabel(kind)
    fig.suptitle("Samples against step count and sampler (same start noise)")
    save(fig, path)


def quality_vs_nfe(table: pd.DataFrame, floor: float, path: Path) -> None:
    """FID against NFE per sampler, with the floor between two held-out halves."""
    fig, axes = figure(1, 1, size=4.2)
    ax = axes[0, 0]
    for kind, rows in table.groupby("sampler", sort=False):
        ax.plot(rows["nfe"], rows["fid"], marker="o", label=kind)
    ax.axhline(floor, color="black", ls="--", lw=1, label="floor (held-out halves)")
    ax.set_xlabel("NFE")
    ax.set_ylabel("Frechet distance (classifier features)")
    ax.set_yscale("log")
    ax.legend()
    save(fig, path)


def loss_curve(losses: np.ndarray, steps_per_epoch: int, path: Path) -> None:
    """Training loss per step and its running mean over one epoch."""
    fig, axes = figure(1, 1, size=4.2)
    ax = axes[0, 0]
    ax.plot(losses, lw=0.6, alpha=0.5, label="step")
    w = max(1, min(steps_per_epoch, len(losses)))
    mean = np.convolve(losses, np.ones(w) / w, mode="valid")
    ax.plot(np.arange(w - 1, len(losses)), mean, label=f"mean of {w} steps")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (sum over pixels)")
    ax.set_yscale("log")
    ax.legend()
    save(fig, path)


def reverse_gif(frames: np.ndarray, cols: int, path: Path, zoom: int = 3, ms: int = 120) -> None:
    """An animated GIF of the reverse process: frames (F, N, 28, 28) uint8, N digits per frame,
    the last frame held longer. Pillow writes no timestamps: same frames, same bytes."""
    pics = [
        Image.fromarray(tile(f, cols)).resize(
            (tile(f, cols).shape[1] * zoom, tile(f, cols).shape[0] * zoom), Image.NEAREST
        )
        for f in frames
    ]
    durations = [ms] * (len(pics) - 1) + [ms * 12]
    buffer = io.BytesIO()
    pics[0].save(
        buffer, format="GIF", save_all=True, append_images=pics[1:], duration=durations, loop=0
    )
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
