"""Adam and AdamW on torch's fused kernels, without torch.optim's start-up cost.

Building any torch.optim optimiser imports torch._dynamo: 1.3-1.5 s of every training
process on a 2-core CPU, a tenth of a diffusion training stage. `Adam` calls the kernels
that torch.optim.Adam(fused=True) and AdamW(fused=True) call (aten::_fused_adam_ and
_fused_adamw_, on CPU and CUDA), in the same way, so its steps are the same to the bit
(tests/unit/test_optim.py). It keeps only what the trainers here use: parameter groups
with their own `lr` and `weight_decay`, `step` and `zero_grad`; a learning-rate schedule
sets `group["lr"]` before each step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

FUSED_DEVICES = ("cpu", "cuda")


def cosine_lr(lr: float, step: int, total: int) -> float:
    """The learning rate at `step` of `total`, annealed from `lr` to 0 along a half cosine."""
    return 0.5 * lr * (1 + math.cos(math.pi * step / total))


class Adam:
    """Adam (Kingma & Ba 2015) with L2 weight decay, or AdamW (Loshchilov & Hutter 2019) with
    `decoupled=True`. `params` is a list of tensors or of groups {"params": ..., and
    optionally "lr" and "weight_decay"}. The defaults are torch.optim.Adam's; note that
    weight_decay defaults to 0 for AdamW too (torch.optim.AdamW's default is 0.01)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = [
            {"lr": lr, "weight_decay": weight_decay, **group, "params": list(group["params"])}
            for group in groups
        ]
        self.betas, self.eps = betas, eps
        self.kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
        # per parameter: (step count, first moment, second moment); the step is a float32
        # tensor on the parameter's device, as the fused kernels take it
        self.state: dict[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p.device.type not in FUSED_DEVICES:
                    raise ValueError(f"fused Adam runs on {FUSED_DEVICES}, not {p.device.type}")

    def zero_grad(self) -> None:
        """Drop the gradients (set them to None, as zero_grad(set_to_none=True) does)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if p not in self.state:
                    zero = torch.zeros((), dtype=torch.float32, device=p.device)
                    self.state[p] = (zero, torch.zeros_like(p), torch.zeros_like(p))
            steps, exp_avgs, exp_avg_sqs = zip(*(self.state[p] for p in params), strict=True)
            torch._foreach_add_(list(steps), 1)
            self.kernel(
                params,
                [p.grad for p in params],
                list(exp_avgs),
                list(exp_avg_sqs),
                [],
                list(steps),
                amsgrad=False,
                lr=group["lr"],
                beta1=self.betas[0],
                beta2=self.betas[1],
                weight_decay=group["weight_decay"],
                eps=self.eps,
                maximize=False,
            )
