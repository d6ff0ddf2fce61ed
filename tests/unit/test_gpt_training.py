"""Training the GPT: the learning-rate schedule, overfitting a tiny text deterministically,
the validation loss, divergence, checkpoints."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from conftest import TEXT, tiny_model

from genlab.common.errors import GenlabError
from genlab.common.io import save_checkpoint
from genlab.gpt import training
from genlab.gpt.config import GptConfig
from genlab.gpt.tokenizer import CharTokenizer
from genlab.gpt.training import bits_per_char, load_gpt, lr_at, mean_loss, save_gpt, train_gpt


def test_warmup_then_cosine_schedule():
    s = GptConfig(iters=100, lr=1.0, min_lr=0.1, warmup_iters=10)
    assert lr_at(0, s) == pytest.approx(0.1)
    assert lr_at(9, s) == pytest.approx(1.0)
    assert lr_at(55, s) == pytest.approx(0.55)
    assert lr_at(100, s) == pytest.approx(0.1)


def _tiny_training(monkeypatch, **kw):
    monkeypatch.setattr(training, "EVAL_WINDOWS", 8)
    tok = CharTokenizer.fit(TEXT)
    ids = torch.tensor(tok.encode(TEXT))
    cfg = replace(
        GptConfig(),
        block_size=32,
        n_layer=2,
        n_head=2,
        n_embd=32,
        dropout=0.0,
        batch_size=16,
        iters=kw.pop("iters", 200),
        lr=1e-2,
        min_lr=1e-3,
        warmup_iters=10,
        weight_decay=0.1,
        grad_clip=1.0,
        eval_interval=50,
        precision="float32",
        seed=0,
        **kw,
    )
    result = train_gpt(ids, ids, cfg, tok.vocab_size, torch.device("cpu"), precision="float32")
    return tok, ids, result


def test_tiny_model_overfits_a_tiny_text_and_training_is_deterministic(tmp_path, monkeypatch):
    tok, ids, result = _tiny_training(monkeypatch)
    assert result.val_loss < 1.0 < math.log(tok.vocab_size)
    assert result.history[0]["val_loss"] > 2.5
    assert result.val_loss == min(r["val_loss"] for r in result.history)
    assert mean_loss(result.model, ids) == pytest.approx(result.val_loss, rel=1e-5)
    _, _, again = _tiny_training(monkeypatch)
    first, second = result.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    save_gpt(tmp_path / "gpt.pt", result.model, tok, {})
    model, tok2 = load_gpt(tmp_path / "gpt.pt")
    assert tok2.to_dict() == tok.to_dict()
    assert mean_loss(model, ids) == pytest.approx(result.val_loss, rel=1e-6)
    metrics = result.metrics()
    assert metrics["val_loss"] == result.val_loss and metrics["best_step"] == result.best_step
    assert metrics["n_params"] == result.model.n_params()


def test_nan_loss_stops_training_naming_the_step(monkeypatch):
    real = torch.nn.functional.cross_entropy

    def poisoned(*args, **kw):
        out = real(*args, **kw)
        # Only the training step (with gradients) diverges; evaluations stay finite.
        return out * float("nan") if torch.is_grad_enabled() else out

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", poisoned)
    with pytest.raises(GenlabError, match=r"loss is nan at step 1 .*No model was written"):
        _tiny_training(monkeypatch, iters=5)


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


def test_bits_per_char():
    assert bits_per_char(math.log(2), 10, 10) == pytest.approx(1.0)
    assert bits_per_char(2.0, 50, 100) == pytest.approx(1.0 / math.log(2))


def test_precision_auto_probes_once_and_needs_a_clear_win(tmp_path, monkeypatch):
    ids = torch.arange(500) % 7
    cpu = torch.device("cpu")
    assert training.resolve_precision(GptConfig(precision="float32"), 7, ids, cpu)[0] == "float32"
    monkeypatch.setattr(training, "native_bfloat16", lambda device: False)
    assert training.resolve_precision(GptConfig(), 7, ids, cpu)[0] == "float32"

    monkeypatch.setattr(training, "native_bfloat16", lambda device: True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    probes = []

    def fake(cfg, vocab, train_ids, device, precision, steps=3):
        probes.append(precision)
        return {"float32": 0.10, "bfloat16": 0.09}[precision]

    monkeypatch.setattr(training, "seconds_per_step", fake)
    cfg = GptConfig(precision="auto")
    assert training.resolve_precision(cfg, 7, ids, cpu)[0] == "float32"  # 10% is a near tie
    assert training.resolve_precision(cfg, 7, ids, cpu)[0] == "float32"
    assert probes == ["float32", "bfloat16"]  # the second call used the kept verdict
    monkeypatch.setattr(
        training, "seconds_per_step", lambda *a, **k: {"float32": 0.2}.get(a[4], 0.1)
    )
    wide = replace(cfg, batch_size=32)  # another shape: probed afresh
    assert training.resolve_precision(wide, 7, ids, cpu)[0] == "bfloat16"
