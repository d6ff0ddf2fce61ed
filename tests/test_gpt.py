"""The GPT: tokenizers, causality, attention, probabilities, inversion, training, errors."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import assert_one_line, assert_stage_error

from genlab import gpt_analysis as ga
from genlab.config import parse_config
from genlab.errors import GenlabError
from genlab.gpt import GPT, GPTConfig
from genlab.gpt_training import TrainSettings, load_gpt, lr_at, mean_loss, save_gpt, train_gpt
from genlab.io import save_checkpoint, write_json
from genlab.tokenizer import CharTokenizer, build_tokenizer, from_dict, load_tokenizer

TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank,\n"
    "and of having nothing to do: once or twice she had peeped into the book her\n"
    "sister was reading, but it had no pictures or conversations in it, 'and what\n"
    "is the use of a book,' thought Alice 'without pictures or conversations?'\n"
)


def tiny_model(vocab: int = 12, block: int = 16, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab, block_size=block, n_layer=2, n_head=2, n_embd=16)).eval()


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenizers_round_trip_and_survive_save_load(kind, tmp_path):
    train, val = TEXT[:200], TEXT[200:] + " caf\u00e9 \u2713\n"
    tok = build_tokenizer(kind, train, 300, val)
    for text in (TEXT, val, "  two  spaces\n\nand newlines\n"):
        assert tok.decode(tok.encode(text)) == text
    write_json(tmp_path / "tok.json", tok.to_dict())
    again = load_tokenizer(tmp_path / "tok.json")
    assert again.kind == kind and again.vocab_size == tok.vocab_size
    assert again.encode(TEXT) == tok.encode(TEXT)
    assert again.decode(tok.encode(val)) == val


def test_bpe_compresses_and_is_trained_deterministically():
    a = build_tokenizer("bpe", TEXT * 3, 300)
    b = build_tokenizer("bpe", TEXT * 3, 300)
    assert a.to_dict() == b.to_dict()
    assert len(a.encode(TEXT)) < len(TEXT) / 1.5


def test_unknown_tokenizer_and_unknown_character_are_one_line_errors():
    with pytest.raises(GenlabError, match="unknown kind 'word'"):
        build_tokenizer("word", TEXT, 300)
    with pytest.raises(GenlabError, match="unknown tokenizer kind 'word'"):
        from_dict({"kind": "word"})
    with pytest.raises(GenlabError, match="'#' is not in the corpus vocabulary"):
        CharTokenizer.fit("abc").encode("a#")


def test_future_tokens_never_change_earlier_logits():
    model = tiny_model()
    idx = torch.randint(12, (2, 16), generator=torch.Generator().manual_seed(1))
    changed = idx.clone()
    changed[:, 9:] = (changed[:, 9:] + 5) % 12
    for return_attn in (False, True):
        a = model(idx, return_attn=return_attn)[0]
        b = model(changed, return_attn=return_attn)[0]
        assert torch.allclose(a[:, :9], b[:, :9], atol=1e-6)
        assert not torch.allclose(a[:, 9:], b[:, 9:])
    # The fused kernel and the explicit softmax(QK^T / sqrt(d)) compute the same thing.
    assert torch.allclose(model(idx)[0], model(idx, return_attn=True)[0], atol=1e-5)


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


def test_warmup_then_cosine_schedule():
    s = TrainSettings(iters=100, lr=1.0, min_lr=0.1, warmup_iters=10)
    assert lr_at(0, s) == pytest.approx(0.1)
    assert lr_at(9, s) == pytest.approx(1.0)
    assert lr_at(55, s) == pytest.approx(0.55)
    assert lr_at(100, s) == pytest.approx(0.1)


def _tiny_training(**kw):
    tok = CharTokenizer.fit(TEXT)
    ids = torch.tensor(tok.encode(TEXT))
    cfg = GPTConfig(tok.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.0)
    s = TrainSettings(
        batch_size=16,
        iters=kw.pop("iters", 200),
        lr=1e-2,
        min_lr=1e-3,
        warmup_iters=10,
        eval_interval=50,
        eval_windows=8,
        **kw,
    )
    return tok, ids, train_gpt(ids, ids, cfg, s, torch.device("cpu"))


def test_tiny_model_overfits_a_tiny_text_and_training_is_deterministic(tmp_path):
    tok, ids, result = _tiny_training()
    assert result.val_loss < 1.0 < math.log(tok.vocab_size)
    assert result.history[0]["val_loss"] > 2.5
    assert result.val_loss == min(r["val_loss"] for r in result.history)
    assert mean_loss(result.model, ids) == pytest.approx(result.val_loss, rel=1e-5)
    _, _, again = _tiny_training()
    first, second = result.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    save_gpt(tmp_path / "gpt.pt", result.model, tok, {})
    model, tok2 = load_gpt(tmp_path / "gpt.pt")
    assert tok2.to_dict() == tok.to_dict()
    assert mean_loss(model, ids) == pytest.approx(result.val_loss, rel=1e-6)


def test_nan_loss_stops_training_naming_the_step(monkeypatch):
    real = torch.nn.functional.cross_entropy

    def poisoned(*args, **kw):
        out = real(*args, **kw)
        # Only the training step (with gradients) diverges; evaluations stay finite.
        return out * float("nan") if torch.is_grad_enabled() else out

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", poisoned)
    with pytest.raises(GenlabError, match=r"loss is nan at step 1 .*No model was written"):
        _tiny_training(iters=5)


def test_bad_checkpoints_are_one_line_errors(tmp_path):
    bad = tmp_path / "gpt.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(GenlabError, match="not a readable gpt checkpoint"):
        load_gpt(bad)
    save_checkpoint(bad, "denoiser", {"state_dict": {}})
    with pytest.raises(GenlabError, match="expected a gpt checkpoint, found 'denoiser'"):
        load_gpt(bad)
    model = tiny_model(vocab=CharTokenizer.fit("abc").vocab_size)
    save_gpt(bad, model, CharTokenizer.fit("abcd"), {})
    with pytest.raises(GenlabError, match="tokenizer has 4 tokens but the model expects 3"):
        load_gpt(bad)
    with pytest.raises(GenlabError, match="not found"):
        load_gpt(tmp_path / "missing.pt")


def test_prompt_longer_than_the_block_is_refused():
    tok = CharTokenizer.fit(TEXT)
    with pytest.raises(GenlabError, match="gpt_analysis.prompts.*block_size = 8"):
        ga.encode_prompt(tok, "Alice was beginning", "gpt_analysis.prompts[0]", 8)


@pytest.mark.parametrize(
    ("raw", "must_mention"),
    [
        ({"tokenizer": {"kind": "word"}}, ["tokenizer.kind", "'word'", "char, bpe"]),
        ({"tokenizer": {"vocab_size": 100}}, ["tokenizer.vocab_size", "100", ">= 257"]),
        ({"gpt": {"n_embd": 100, "n_head": 3}}, ["gpt.n_embd", "100", "multiple of n_head = 3"]),
        ({"gpt": {"min_lr": 0.1, "lr": 0.01}}, ["gpt.min_lr", "<= lr = 0.01"]),
        ({"gpt": {"precision": "fp8"}}, ["gpt.precision", "float32, bfloat16"]),
        ({"corpus": {"val_fraction": 1.0}}, ["corpus.val_fraction", "< 1.0"]),
        ({"corpus": {"sources": []}}, ["corpus.sources", "non-empty list"]),
        ({"gpt_analysis": {"attention_prompt": "too short"}}, ["attention_prompt", ">= 12 words"]),
    ],
)
def test_bad_gpt_params_give_one_line_errors(raw, must_mention):
    with pytest.raises(GenlabError) as info:
        parse_config(raw)
    assert_one_line(str(info.value), *must_mention)


@pytest.mark.parametrize("n", [2, 9, 17, 30])
def test_validation_loss_scores_every_token_once(n):
    model = tiny_model(vocab=10, block=8)
    ids = torch.randint(10, (n,), generator=torch.Generator().manual_seed(n))
    total = 0.0
    with torch.no_grad():
        for start in range(0, n - 1, 8):  # consecutive windows, each token predicted once
            w = ids[start : start + 9]
            logits = model(w[None, :-1])[0][0]
            total += float(torch.nn.functional.cross_entropy(logits, w[1:], reduction="sum"))
    assert mean_loss(model, ids, batch=2) == pytest.approx(total / (n - 1), rel=1e-5)


def test_analysis_stage_refuses_a_truncated_checkpoint_in_one_line(tmp_path, root):
    model = tiny_model(vocab=CharTokenizer.fit(TEXT).vocab_size)
    save_gpt(tmp_path / "gpt.pt", model, CharTokenizer.fit(TEXT), {})
    data = (tmp_path / "gpt.pt").read_bytes()
    (tmp_path / "gpt.pt").write_bytes(data[: len(data) // 2])
    proc = subprocess.run(
        [sys.executable, str(root / "stages/gpt_analyze.py"), "--params", str(root / "params.yaml")]
        + ["--model", str(tmp_path / "gpt.pt"), "--out-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert_stage_error(proc, "not a readable gpt checkpoint")
    assert not (tmp_path / "out").exists()
