"""Stage gpt_analyze: samples, token probabilities, attention maps and embedding inversion."""

from pathlib import Path

import numpy as np
import typer

from genlab.common.cli import run_stage
from genlab.common.io import write_csv, write_json, write_npz, write_text
from genlab.config import PARAMS_FILE, load_config
from genlab.gpt import figures
from genlab.gpt.analysis import analyze, samples_markdown, token_label
from genlab.gpt.training import load_gpt


def main(
    params: Path = typer.Option(PARAMS_FILE, help="params file (section gpt_analysis)."),
    model: Path = typer.Option(Path("models/gpt.pt"), help="trained GPT checkpoint."),
    out_dir: Path = typer.Option(Path("reports/gpt"), help="folder for the reports and figures."),
    metrics: Path = typer.Option(Path("reports/metrics/gpt_analysis.json"), help="metrics."),
) -> None:
    """Sample continuations, score one token by token, dump attention, invert a target sentence."""
    cfg = load_config(params).gpt_analysis
    net, tok = load_gpt(model)
    result = analyze(net, tok, cfg)

    write_csv(out_dir / "token_probs.csv", result.probs)
    figures.plot_token_probs(result.probs, cfg.prob_prompt, out_dir / "token_probs.png")
    tokens = np.array(result.attention_tokens, dtype=str)
    write_npz(out_dir / "attention.npz", attention=result.attention, tokens=tokens)
    labels = [token_label(t) for t in result.attention_tokens]
    figures.plot_attention(result.attention, labels, out_dir)
    figures.plot_inversion(result.inversion, cfg.inversion_target, out_dir / "inversion_loss.png")
    write_text(out_dir / "samples.md", samples_markdown(result, cfg, tok.kind))
    write_json(metrics, result.metrics())
    inv = result.inversion
    print(
        f"sequence log-prob {result.seq_logprob:.4f} (re-scored {result.seq_rescored:.4f}); "
        + (
            f"inversion spelt the target at step {inv.first_step}"
            if inv.success
            else "inversion did not succeed"
        )
        + f", final loss {inv.losses[-1]:.4f}"
    )


if __name__ == "__main__":
    run_stage(main)
