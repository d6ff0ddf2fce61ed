"""The GPT itself: causal attention, the fused and explicit attention paths agree."""

from __future__ import annotations

import pytest
import torch

from genlab.gpt.config import ModelConfig
from genlab.gpt.model import GPT


def tiny_model(vocab: int = 12, block: int = 16, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(ModelConfig(block_size=block, n_layer=2, n_head=2, n_embd=16), vocab).eval()


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


def test_head_is_tied_and_the_block_size_is_enforced():
    model = tiny_model(vocab=7, block=8)
    assert model.vocab_size == 7 and model.cfg.block_size == 8
    assert model.head.weight is model.wte.weight
    assert model(torch.zeros(1, 8, dtype=torch.long))[0].shape == (1, 8, 7)
    with pytest.raises(ValueError, match="exceeds block_size 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
