"""Stage gpt_analyze: samples, token probabilities, attention maps and embedding inversion."""

from pathlib import Path

import numpy as np
import torch
import typer

from genlab import gpt_analysis as ga
from genlab.cli import run_stage
from genlab.config import PARAMS_FILE, load_config
from genlab.errors import GenlabError
from genlab.gpt_training import load_gpt
from genlab.io import markdown_table, write_csv, write_json, write_npz, write_text


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (section gpt_analysis)."),
    model: Path = typer.Option(Path("models/gpt.pt"), help="trained GPT checkpoint."),
    out_dir: Path = typer.Option(Path("reports/gpt"), help="folder for the reports and figures."),
    metrics: Path = typer.Option(Path("reports/metrics/gpt_analysis.json"), help="metrics."),
) -> None:
    """Sample continuations, score one token by token, dump attention, invert a target sentence."""
    cfg = load_config(params).gpt_analysis
    net, tok = load_gpt(model)
    block = net.cfg.block_size
    # Check every text from params before any work.
    prompts = [
        ga.encode_prompt(tok, p, f"gpt_analysis.prompts[{i}]", block)
        for i, p in enumerate(cfg.prompts)
    ]
    prob_prompt = ga.encode_prompt(tok, cfg.prob_prompt, "gpt_analysis.prob_prompt", block)
    if len(prob_prompt) + cfg.prob_tokens > block:
        raise GenlabError(
            f"params: gpt_analysis.prob_tokens = {cfg.prob_tokens} plus the prompt's "
            f"{len(prob_prompt)} tokens exceed block_size = {block}; the re-scoring reads them "
            "in one pass"
        )
    att_ids = ga.encode_prompt(tok, cfg.attention_prompt, "gpt_analysis.attention_prompt", block)
    target = ga.encode_prompt(tok, cfg.inversion_target, "gpt_analysis.inversion_target", block)

    # Samples.
    gen = torch.Generator().manual_seed(cfg.seed)
    lines = [
        "# GPT samples\n",
        f"Temperature {cfg.temperature}, top-k {cfg.top_k or 'off'}, seed {cfg.seed}, "
        f"{cfg.max_new_tokens} new tokens per prompt ({tok.kind} tokenizer).\n",
    ]
    for text, ids in zip(cfg.prompts, prompts, strict=True):
        new, _ = ga.generate(net, ids, cfg.max_new_tokens, cfg.temperature, cfg.top_k, gen)
        lines += [f"## {text!r}\n", "```text", text + tok.decode(new), "```\n"]

    # Token probabilities of a sampled continuation, then the same text re-scored in one pass.
    gen = torch.Generator().manual_seed(cfg.seed)
    new, logps = ga.generate(net, prob_prompt, cfg.prob_tokens, cfg.temperature, cfg.top_k, gen)
    rescored = ga.score(net, prob_prompt + new, len(prob_prompt))
    table = ga.token_table(tok.token_strings(new), new, logps, rescored)
    seq_logprob, seq_rescored = float(sum(logps)), float(sum(rescored))
    write_csv(out_dir / "token_probs.csv", table)
    ga.plot_token_probs(table, cfg.prob_prompt, out_dir / "token_probs.png")
    lines += [
        "## Token probabilities\n",
        f"Prompt {cfg.prob_prompt!r}, continuation {tok.decode(new)!r}.\n",
        f"Sequence log-probability sum log p(x_i | x_<i): {seq_logprob:.6f} nats while "
        f"sampling, {seq_rescored:.6f} re-scored in one forward pass.\n",
        markdown_table(table, "{:.4f}"),
    ]

    # Attention: every block and head, raw, plus the figures.
    att = ga.attention_maps(net, att_ids)
    strings = tok.token_strings(att_ids)
    labels = [ga.token_label(s) for s in strings]
    write_npz(out_dir / "attention.npz", attention=att, tokens=np.array(strings, dtype=str))
    n_layer = att.shape[0]
    for name, layer in (("first", 0), ("last", n_layer - 1)):
        ga.plot_attention_heatmap(
            att[layer].mean(0),
            labels,
            f"block {layer + 1} of {n_layer}, mean over {att.shape[1]} heads",
            out_dir / f"attention_{name}.png",
        )
    ga.plot_last_row(att, labels, out_dir / "attention_last_row.png")
    ga.plot_last_token_blocks(att, labels, out_dir / "attention_last_token.png")

    # Embedding inversion.
    inv = ga.invert(net, target, cfg.inversion_steps, cfg.inversion_lr, cfg.inversion_seed)
    ga.plot_inversion(inv, cfg.inversion_target, out_dir / "inversion_loss.png")
    lines += [
        "## Embedding inversion\n",
        f"Target {cfg.inversion_target!r} ({len(target)} tokens), {cfg.inversion_steps} Adam "
        f"steps at lr {cfg.inversion_lr}.\n",
        f"- greedy output at the end: {tok.decode(inv.predicted)!r}",
        f"- first step it spelt the target: {inv.first_step}",
        f"- final loss: {inv.losses[-1]:.6f} nats/token",
        f"- nearest token embeddings: {tok.decode(inv.nearest)!r}\n",
    ]
    write_text(out_dir / "samples.md", "\n".join(lines))
    write_json(
        metrics,
        {
            "sample_logprob": seq_logprob,
            "sample_logprob_rescored": seq_rescored,
            "sample_logprob_gap": abs(seq_logprob - seq_rescored),
            "attention_max_row_error": float(np.abs(att.sum(-1) - 1.0).max()),
            "inversion_success": inv.success,
            "inversion_step": inv.first_step if inv.first_step is not None else -1,
            "inversion_loss": inv.losses[-1],
        },
    )
    print(
        f"sequence log-prob {seq_logprob:.4f} (re-scored {seq_rescored:.4f}); inversion "
        + (f"spelt the target at step {inv.first_step}" if inv.success else "did not succeed")
        + f", final loss {inv.losses[-1]:.4f}"
    )


if __name__ == "__main__":
    run_stage(main)
