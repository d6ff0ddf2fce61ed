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
    first = model[0]
    for i in range(steps):
        x = torch.randn(16, 5, generator=gen)
        if i % 3 == 2:  # the first layer gets no gradient on these steps
            with torch.no_grad():
                x = first(x)
            loss = (model[2](model[1](x)) ** 2).mean()
        else:
            loss = (model(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        for k, group in enumerate(opt.param_groups):  # a schedule, as the trainers set it
            group["lr"] = 0.01 * (1 - i / steps) / (k + 1)
        opt.step()


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("betas", [None, (0.9, 0.99)])
def test_steps_match_torch_fused_adam_bit_for_bit(decoupled: bool, betas):
    # Two groups with their own learning rate and weight decay; the first layer's
    # parameters skip every third step. `betas` None: both optimisers' defaults.
    ours, theirs = _model(0), _model(0)
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    kw = {} if betas is None else {"betas": betas}
    _train(theirs, kind(_groups(theirs, 0.1), lr=0.01, fused=True, **kw))
    _train(ours, Adam(_groups(ours, 0.1), lr=0.01, decoupled=decoupled, **kw))
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
