"""What a trained GPT does (DESIGN.md section 7): samples, probabilities, attention, inversion.

The model is used in eval mode (no dropout) and never changed; everything
random takes an explicit seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genlab.errors import GenlabError
from genlab.gpt import GPT
from genlab.plotting import figure, save
from genlab.tokenizer import TextTokenizer


def encode_prompt(tokenizer: TextTokenizer, text: str, key: str, block_size: int) -> list[int]:
    """Token ids of a prompt from params; a one-line error naming the key if it cannot be used."""
    ids = tokenizer.encode(text)
    if not ids:
        raise GenlabError(f"params: {key} = {text!r} encodes to no tokens; use a non-empty text")
    if len(ids) > block_size:
        raise GenlabError(
            f"params: {key} is {len(ids)} tokens long; the model reads at most "
            f"block_size = {block_size}"
        )
    return ids


# ---------------------------------------------------------------- sampling and probabilities


@torch.no_grad()
def generate(
    model: GPT,
    ids: list[int],
    n_new: int,
    temperature: float = 1.0,
    top_k: int = 0,
    generator: torch.Generator | None = None,
) -> tuple[list[int], list[float]]:
    """Sample `n_new` tokens after `ids`; return them and each one's model log-probability.

    Sampling draws from softmax(logits / temperature), restricted to the `top_k`
    most likely tokens when top_k > 0. The log-probability returned is the
    model's own, log softmax(logits) at temperature 1, whatever was sampled from.
    The context is cropped to the last block_size tokens.
    """
    model.eval()
    x = torch.tensor([ids], dtype=torch.long)
    new: list[int] = []
    logps: list[float] = []
    for _ in range(n_new):
        logits = model(x[:, -model.cfg.block_size :])[0][0, -1].float()
        scaled = logits / temperature
        if 0 < top_k < scaled.numel():
            kth = torch.topk(scaled, top_k).values[-1]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        nxt = int(torch.multinomial(scaled.softmax(-1), 1, generator=generator))
        new.append(nxt)
        logps.append(float(logits.log_softmax(-1)[nxt]))
        x = torch.cat([x, torch.tensor([[nxt]])], dim=1)
    return new, logps


@torch.no_grad()
def score(model: GPT, ids: list[int], start: int) -> list[float]:
    """log p(x_i | x_<i) for i >= start, from one forward pass over the whole sequence."""
    if not 1 <= start < len(ids) or len(ids) > model.cfg.block_size + 1:
        raise ValueError(f"cannot score from {start} in {len(ids)} tokens")
    model.eval()
    x = torch.tensor([ids[:-1]], dtype=torch.long)
    logp = model(x)[0][0].float().log_softmax(-1)
    targets = torch.tensor(ids[1:])
    per_token = logp.gather(1, targets[:, None])[:, 0]
    return per_token[start - 1 :].tolist()


def token_label(token: str) -> str:
    """A token as a readable label: spaces as a visible mark, newlines as \\n."""
    return token.replace(" ", "\u2423").replace("\n", "\\n").replace("\t", "\\t") or "\u2205"


def token_table(tokens: list[str], ids: list[int], logps: list[float], rescored: list[float]):
    """One row per generated token: its probability and log-probability, sampled and re-scored."""
    return pd.DataFrame(
        {
            "position": np.arange(1, len(ids) + 1),
            "token": [token_label(t) for t in tokens],
            "token_id": ids,
            "prob": np.exp(logps),
            "logprob": logps,
            "logprob_rescored": rescored,
        }
    )


def plot_token_probs(table: pd.DataFrame, prompt: str, path: Path | str) -> None:
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


# ---------------------------------------------------------------- attention


@torch.no_grad()
def attention_maps(model: GPT, ids: list[int]) -> np.ndarray:
    """softmax(QK^T / sqrt(d)) of every block and head for one sequence: [layer, head, T, T]."""
    model.eval()
    _, _, maps = model(torch.tensor([ids], dtype=torch.long), return_attn=True)
    return torch.stack([m[0] for m in maps]).float().numpy()


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


# ---------------------------------------------------------------- inversion


@dataclass
class Inversion:
    losses: list[float]  # cross-entropy before update 0, 1, ..., steps
    first_step: int | None  # updates done when the greedy output first spelt the target
    success: bool  # whether the final vectors spell it
    predicted: list[int]  # final greedy output
    nearest: list[int]  # the token embedding nearest (cosine) to each optimised vector


def invert(model: GPT, target: list[int], steps: int, lr: float, seed: int) -> Inversion:
    """Optimise T input vectors, fed in place of token embeddings, so the greedy output is `target`.

    The model is frozen; Adam on the vectors minimises the cross-entropy of the
    output at every position against the target token there.
    """
    model.eval()
    wanted = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    table = model.wte.weight
    gen = torch.Generator().manual_seed(seed)
    shape = (1, len(target), model.cfg.n_embd)
    vectors = (torch.randn(shape, generator=gen) * float(table.std())).requires_grad_()
    opt = torch.optim.Adam([vectors], lr=lr)
    y = torch.tensor([target])
    losses: list[float] = []
    first: int | None = None
    try:
        for step in range(steps + 1):
            logits, loss, _ = model(embeds=vectors, targets=y)
            losses.append(float(loss.detach()))
            predicted = logits[0].argmax(-1)
            if first is None and bool((predicted == y[0]).all()):
                first = step
            if step == steps:
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        for p, w in zip(model.parameters(), wanted, strict=True):
            p.requires_grad_(w)
    with torch.no_grad():
        sims = (
            torch.nn.functional.normalize(vectors[0], dim=-1)
            @ torch.nn.functional.normalize(table, dim=-1).T
        )
    return Inversion(
        losses=losses,
        first_step=first,
        success=bool((predicted == y[0]).all()),
        predicted=predicted.tolist(),
        nearest=sims.argmax(-1).tolist(),
    )


def plot_inversion(inv: Inversion, target: str, path: Path) -> None:
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
