"""The GPT figures: token probabilities, attention maps and the inversion's loss."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from genlab.common.plotting import figure, save

if TYPE_CHECKING:  # annotations only
    from genlab.gpt.analysis import Inversion


def plot_token_probs(table: pd.DataFrame, prompt: str, path: Path | str) -> None:
    """Each sampled token's probability given everything before it, as bars."""
    n = len(table)
    fig, axes = figure(1, 1, size=3.6)
    fig.set_size_inches(max(6.0, 0.22 * n + 1.5), 3.6)
    ax = axes[0, 0]
    ax.bar(np.arange(n), table["prob"], color="tab:blue")
    ax.set_xticks(np.arange(n), table["token"], fontsize=7, family="monospace")
    ax.set_ylim(0, 1)
    ax.set_ylabel("p(token | everything before)")
    total = float(table["logprob"].sum())
    ax.set_title(f"continuation of {prompt!r}: sequence log-prob {total:.3f} nats", fontsize=9)
    save(fig, path)


def plot_attention_heatmap(att: np.ndarray, labels: list[str], title: str, path: Path) -> None:
    """Head-averaged attention of one block, [T, T], rows = query, columns = key."""
    T = len(labels)
    size = max(4.0, 0.13 * T + 1.5)
    fig, axes = figure(1, 1, size=size)
    ax = axes[0, 0]
    im = ax.imshow(att, cmap="viridis", vmin=0.0, vmax=max(float(att.max()), 1e-9))
    ax.grid(False)
    ax.set_xticks(np.arange(T), labels, fontsize=6, family="monospace", rotation=90)
    ax.set_yticks(np.arange(T), labels, fontsize=6, family="monospace")
    ax.set_xlabel("attended token (key)")
    ax.set_ylabel("attending token (query)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.04)
    save(fig, path)


def plot_last_row(att: np.ndarray, labels: list[str], path: Path) -> None:
    """The last query's head-averaged attention in the first and the last block, as bars."""
    T = len(labels)
    fig, axes = figure(1, 2, size=3.0)
    fig.set_size_inches(max(6.0, 0.16 * T + 1.5), 5.0)
    for ax, layer in zip(axes[:, 0], (0, att.shape[0] - 1), strict=True):
        ax.bar(np.arange(T), att[layer].mean(0)[-1], color="tab:orange")
        ax.set_xticks(np.arange(T), labels, fontsize=6, family="monospace", rotation=90)
        ax.set_ylabel("attention weight")
        ax.set_title(
            f"block {layer + 1}: what the prediction after {labels[-1]!r} looks at", fontsize=9
        )
    save(fig, path)


def plot_last_token_blocks(att: np.ndarray, labels: list[str], path: Path) -> None:
    """The last query's head-averaged attention in every block: [layer, T]."""
    rows = att.mean(1)[:, -1, :]
    T = len(labels)
    fig, axes = figure(1, 1)
    fig.set_size_inches(max(6.0, 0.13 * T + 2.0), 0.45 * rows.shape[0] + 1.8)
    ax = axes[0, 0]
    im = ax.imshow(rows, cmap="viridis", aspect="auto", vmin=0.0)
    ax.grid(False)
    ax.set_xticks(np.arange(T), labels, fontsize=6, family="monospace", rotation=90)
    ax.set_yticks(np.arange(rows.shape[0]), [f"block {i + 1}" for i in range(rows.shape[0])])
    ax.set_title(f"attention of the last token {labels[-1]!r} in every block (mean over heads)")
    fig.colorbar(im, ax=ax, fraction=0.04)
    save(fig, path)


def plot_inversion(inv: Inversion, target: str, path: Path) -> None:
    """Cross-entropy to the target while the input vectors are optimised."""
    fig, axes = figure(1, 1, size=4.0)
    fig.set_size_inches(6.0, 3.6)
    ax = axes[0, 0]
    ax.plot(np.arange(len(inv.losses)), inv.losses, color="tab:purple")
    ax.set_yscale("log")
    ax.set_xlabel("Adam step on the input vectors")
    ax.set_ylabel("cross-entropy to the target (nats/token)")
    if inv.first_step is not None:
        ax.axvline(inv.first_step, color="gray", ls="--", lw=1)
        ax.annotate(
            f"greedy output = target at step {inv.first_step}",
            (inv.first_step, inv.losses[inv.first_step]),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
        )
    ax.set_title(f"embedding inversion of {target!r}", fontsize=9)
    save(fig, path)


def plot_attention(att: np.ndarray, labels: list[str], out_dir: Path) -> None:
    """The four attention figures: first and last block maps, the last row, every block's
    last-token row (attention_first/last/last_row/last_token.png)."""
    n_layer = att.shape[0]
    for name, layer in (("first", 0), ("last", n_layer - 1)):
        plot_attention_heatmap(
            att[layer].mean(0),
            labels,
            f"block {layer + 1} of {n_layer}, mean over {att.shape[1]} heads",
            out_dir / f"attention_{name}.png",
        )
    plot_last_row(att, labels, out_dir / "attention_last_row.png")
    plot_last_token_blocks(att, labels, out_dir / "attention_last_token.png")
