"""What a trained GPT does: samples, token probabilities, attention, inversion (docs/gpt.md).

The model is used in eval mode (no dropout) and never changed; everything
random takes an explicit seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from genlab.common.errors import GenlabError
from genlab.common.io import markdown_table
from genlab.common.optim import Adam
from genlab.gpt.config import GptAnalysisConfig
from genlab.gpt.model import GPT
from genlab.gpt.tokenizer import TextTokenizer


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


# ---------------------------------------------------------------- attention


@torch.no_grad()
def attention_maps(model: GPT, ids: list[int]) -> np.ndarray:
    """softmax(QK^T / sqrt(d)) of every block and head for one sequence: [layer, head, T, T]."""
    model.eval()
    _, _, maps = model(torch.tensor([ids], dtype=torch.long), return_attn=True)
    return torch.stack([m[0] for m in maps]).float().numpy()


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
    opt = Adam([vectors], lr=lr)
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
            opt.zero_grad()
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


# ---------------------------------------------------------------- the whole analysis


@dataclass
class Analysis:
    """Everything `analyze` finds: samples, token probabilities, attention, inversion."""

    samples: list[tuple[str, str]]  # (prompt, prompt + continuation)
    probs: pd.DataFrame  # token_table of the scored continuation
    prob_continuation: str
    attention: np.ndarray  # [layer, head, T, T]
    attention_tokens: list[str]
    inversion: Inversion
    inversion_text: tuple[str, str]  # greedy output and nearest tokens, decoded
    seq_logprob: float  # sum of the sampled tokens' log-probabilities
    seq_rescored: float  # the same from one forward pass over the whole text

    def metrics(self) -> dict[str, float | int | bool]:
        inv = self.inversion
        return {
            "sample_logprob": self.seq_logprob,
            "sample_logprob_rescored": self.seq_rescored,
            "sample_logprob_gap": abs(self.seq_logprob - self.seq_rescored),
            "attention_max_row_error": float(np.abs(self.attention.sum(-1) - 1.0).max()),
            "inversion_success": inv.success,
            "inversion_step": inv.first_step if inv.first_step is not None else -1,
            "inversion_loss": inv.losses[-1],
        }


def analyze(model: GPT, tok: TextTokenizer, cfg: GptAnalysisConfig) -> Analysis:
    """Sample the prompts, score one continuation token by token, read the attention of
    `attention_prompt`, invert `inversion_target`. Every text is checked before any work."""
    block = model.cfg.block_size
    key = "gpt_analysis."
    prompts = [
        encode_prompt(tok, p, f"{key}prompts[{i}]", block) for i, p in enumerate(cfg.prompts)
    ]
    prob_prompt = encode_prompt(tok, cfg.prob_prompt, key + "prob_prompt", block)
    if len(prob_prompt) + cfg.prob_tokens > block:
        raise GenlabError(
            f"params: {key}prob_tokens = {cfg.prob_tokens} plus the prompt's {len(prob_prompt)} "
            f"tokens exceed block_size = {block}; the re-scoring reads them in one pass"
        )
    att_ids = encode_prompt(tok, cfg.attention_prompt, key + "attention_prompt", block)
    target = encode_prompt(tok, cfg.inversion_target, key + "inversion_target", block)

    gen = torch.Generator().manual_seed(cfg.seed)
    samples = []
    for text, ids in zip(cfg.prompts, prompts, strict=True):
        new, _ = generate(model, ids, cfg.max_new_tokens, cfg.temperature, cfg.top_k, gen)
        samples.append((text, text + tok.decode(new)))

    # A sampled continuation, then the same text re-scored in one forward pass.
    gen = torch.Generator().manual_seed(cfg.seed)
    new, logps = generate(model, prob_prompt, cfg.prob_tokens, cfg.temperature, cfg.top_k, gen)
    rescored = score(model, prob_prompt + new, len(prob_prompt))
    probs = token_table(tok.token_strings(new), new, logps, rescored)

    inv = invert(model, target, cfg.inversion_steps, cfg.inversion_lr, cfg.inversion_seed)
    return Analysis(
        samples=samples,
        probs=probs,
        prob_continuation=tok.decode(new),
        attention=attention_maps(model, att_ids),
        attention_tokens=tok.token_strings(att_ids),
        inversion=inv,
        inversion_text=(tok.decode(inv.predicted), tok.decode(inv.nearest)),
        seq_logprob=float(sum(logps)),
        seq_rescored=float(sum(rescored)),
    )


def samples_markdown(result: Analysis, cfg: GptAnalysisConfig, tokenizer_kind: str) -> str:
    """reports/gpt/samples.md: the continuations, the token table and the inversion."""
    lines = [
        "# GPT samples\n",
        f"Temperature {cfg.temperature}, top-k {cfg.top_k or 'off'}, seed {cfg.seed}, "
        f"{cfg.max_new_tokens} new tokens per prompt ({tokenizer_kind} tokenizer).\n",
    ]
    for prompt, text in result.samples:
        lines += [f"## {prompt!r}\n", "```text", text, "```\n"]
    inv = result.inversion
    lines += [
        "## Token probabilities\n",
        f"Prompt {cfg.prob_prompt!r}, continuation {result.prob_continuation!r}.\n",
        f"Sequence log-probability sum log p(x_i | x_<i): {result.seq_logprob:.6f} nats while "
        f"sampling, {result.seq_rescored:.6f} re-scored in one forward pass.\n",
        markdown_table(result.probs, "{:.4f}"),
        "## Embedding inversion\n",
        f"Target {cfg.inversion_target!r} ({len(inv.predicted)} tokens), {cfg.inversion_steps} "
        f"Adam steps at lr {cfg.inversion_lr}.\n",
        f"- greedy output at the end: {result.inversion_text[0]!r}",
        f"- first step it spelt the target: {inv.first_step}",
        f"- final loss: {inv.losses[-1]:.6f} nats/token",
        f"- nearest token embeddings: {result.inversion_text[1]!r}\n",
    ]
    return "\n".join(lines)
