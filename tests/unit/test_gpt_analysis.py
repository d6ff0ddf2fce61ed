"""What a trained GPT does: attention maps, sampling and re-scoring, greedy decoding,
embedding inversion, prompts checked against the block size."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import TEXT, tiny_model

from genlab.common.errors import GenlabError
from genlab.gpt import analysis as ga
from genlab.gpt.config import GptAnalysisConfig
from genlab.gpt.tokenizer import CharTokenizer


def test_attention_rows_sum_to_one_and_are_causal():
    model = tiny_model()
    att = ga.attention_maps(model, [1, 5, 2, 7, 3, 3, 0, 11])
    assert att.shape == (2, 2, 8, 8)
    assert abs(att.sum(-1) - 1.0).max() < 1e-5
    rows, cols = np.triu_indices(8, 1)
    assert (att[..., rows, cols] == 0).all()
    assert att[..., 0, 0].min() == pytest.approx(1.0)


def test_sequence_logprob_is_the_sum_of_token_logprobs_and_a_one_pass_rescoring():
    model = tiny_model()
    prompt = [3, 1, 4]
    gen = torch.Generator().manual_seed(0)
    new, logps = ga.generate(model, prompt, 10, temperature=0.7, top_k=5, generator=gen)
    assert len(new) == len(logps) == 10 and all(lp <= 0 for lp in logps)
    rescored = ga.score(model, prompt + new, len(prompt))
    assert rescored == pytest.approx(logps, abs=1e-5)
    assert sum(rescored) == pytest.approx(sum(logps), abs=1e-4)
    # Same seed, same continuation.
    again, _ = ga.generate(model, prompt, 10, 0.7, 5, torch.Generator().manual_seed(0))
    assert again == new


def test_top_k_one_is_greedy():
    model = tiny_model()
    new, _ = ga.generate(model, [2], 5, 1.0, 1, torch.Generator().manual_seed(3))
    ids = [2]
    for _ in range(5):
        ids.append(int(model(torch.tensor([ids]))[0][0, -1].argmax()))
    assert new == ids[1:]


def test_inversion_reaches_a_short_target_with_the_model_frozen():
    model = tiny_model()
    before = [p.clone() for p in model.parameters()]
    inv = ga.invert(model, [4, 9, 1, 7, 7], steps=150, lr=0.1, seed=0)
    assert inv.success and inv.first_step is not None and inv.first_step <= 150
    assert inv.predicted == [4, 9, 1, 7, 7]
    assert inv.losses[-1] < inv.losses[0]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_prompt_longer_than_the_block_is_refused():
    tok = CharTokenizer.fit(TEXT)
    with pytest.raises(GenlabError, match="gpt_analysis.prompts.*block_size = 8"):
        ga.encode_prompt(tok, "Alice was beginning", "gpt_analysis.prompts[0]", 8)


def test_analyze_checks_its_texts_and_scores_the_continuation_it_sampled():
    tok = CharTokenizer.fit(TEXT)
    model = tiny_model(vocab=tok.vocab_size, block=32)
    cfg = GptAnalysisConfig(
        prompts=("Alice",),
        max_new_tokens=5,
        prob_prompt="Alice",
        prob_tokens=5,
        attention_prompt="the book her sister",
        inversion_target="Alice",
        inversion_steps=5,
    )
    result = ga.analyze(model, tok, cfg)
    assert [p for p, _ in result.samples] == ["Alice"]
    assert result.samples[0][1].startswith("Alice") and len(result.samples[0][1]) == 10
    assert len(result.probs) == 5 and result.attention.shape == (2, 2, 19, 19)
    metrics = result.metrics()
    assert metrics["sample_logprob_gap"] < 1e-4 and metrics["attention_max_row_error"] < 1e-5
    assert "## Token probabilities" in ga.samples_markdown(result, cfg, tok.kind)
    with pytest.raises(GenlabError, match="gpt_analysis.prob_tokens"):
        ga.analyze(model, tok, replace(cfg, prob_tokens=30))
