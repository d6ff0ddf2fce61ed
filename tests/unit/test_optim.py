"""genlab's Adam steps equal torch.optim's fused Adam and AdamW to the bit."""

from __future__ import annotations

import pytest
import torch

from genlab.common.optim import Adam


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))


def _groups(model: torch.nn.Module, decay: float) -> list[dict]:
    params = list(model.parameters())
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def _train(model: torch.nn.Module, opt, steps: int = 25) -> None:
    gen = torch.Generator().manual_seed(1)
    for i in range(steps):
        x = torch.randn(16, 5, generator=gen)
        loss = (model(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        for group in opt.param_groups:  # a schedule, as the trainers set it
            group["lr"] = 0.01 * (1 - i / steps)
        opt.step()


@pytest.mark.parametrize("decoupled", [False, True])
def test_steps_match_torch_fused_adam_bit_for_bit(decoupled: bool):
    ours, theirs = _model(0), _model(0)
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    reference = kind(_groups(theirs, 0.1), lr=0.01, betas=(0.9, 0.99), fused=True)
    _train(theirs, reference)
    _train(ours, Adam(_groups(ours, 0.1), lr=0.01, betas=(0.9, 0.99), decoupled=decoupled))
    start = _model(0).parameters()
    assert all(not torch.equal(p, q) for p, q in zip(ours.parameters(), start, strict=True))
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)


def test_a_parameter_without_a_gradient_is_left_alone():
    a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()
    assert torch.equal(b, torch.ones(3)) and not torch.equal(a, torch.ones(3))
    # Adam's first step moves every coordinate by lr against its gradient's sign.
    assert torch.allclose(a, torch.full((3,), 0.9))
