"""Noise schedules sigma(t) of the variance-exploding SDE, and sampling grids (docs/schedules.md).

All four schedules reach sigma(1) = sigma_max. The lower end is set by `sigma_min`:
t_min = sigma^-1(sigma_min), so every schedule spans the same sigma range and
the samplers' grids are comparable across schedules.

exp is the geometric schedule of Song et al. (2021), sigma_min (sigma_max / sigma_min)^t
on [0, 1]; with sigma_max = 1 and sigma_min = e^-5 it is exp(5 (t - 1)).
linear, sqrt and square are t, sqrt(t) and t^2 scaled by sigma_max.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import get_args

import torch

from genlab.diffusion.config import GridName, ScheduleName

SCHEDULES: tuple[str, ...] = get_args(ScheduleName)
GRIDS: tuple[str, ...] = get_args(GridName)


@dataclass(frozen=True)
class Schedule:
    """sigma(t) on [t_min, 1] with its derivative and inverse."""

    name: str
    sigma_min: float
    sigma_max: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.name!r}; expected one of {SCHEDULES}")
        if not 0.0 < self.sigma_min < self.sigma_max:
            raise ValueError(
                f"need 0 < sigma_min < sigma_max, got sigma_min={self.sigma_min}, "
                f"sigma_max={self.sigma_max}"
            )

    @property
    def log_range(self) -> float:
        """ln(sigma_max / sigma_min): the exp schedule's rate sigma'/sigma."""
        return math.log(self.sigma_max / self.sigma_min)

    @property
    def t_min(self) -> float:
        return float(self.t_of_sigma(torch.tensor(self.sigma_min, dtype=torch.float64)))

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        if self.name == "exp":
            return self.sigma_max * torch.exp(self.log_range * (t - 1.0))
        if self.name == "linear":
            return self.sigma_max * t
        if self.name == "sqrt":
            return self.sigma_max * torch.sqrt(t)
        return self.sigma_max * t**2

    def dsigma(self, t: torch.Tensor) -> torch.Tensor:
        """d sigma / d t."""
        if self.name == "exp":
            return self.log_range * self.sigma(t)
        if self.name == "linear":
            return torch.full_like(t, self.sigma_max)
        if self.name == "sqrt":
            return 0.5 * self.sigma_max / torch.sqrt(t)
        return 2.0 * self.sigma_max * t

    def t_of_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        """The inverse sigma^-1: the training time at which the noise level is sigma."""
        s = sigma / self.sigma_max
        if self.name == "exp":
            return 1.0 + torch.log(s) / self.log_range
        if self.name == "linear":
            return s
        if self.name == "sqrt":
            return s**2
        return torch.sqrt(s)


def sigma_grid(
    schedule: Schedule, steps: int, grid: str = "uniform", rho: float = 7.0
) -> torch.Tensor:
    """A decreasing float64 grid sigma_0 = sigma_max > ... > sigma_steps = sigma_min.

    uniform: uniform in the training time t; karras: Karras et al. (2022) with
    exponent rho; quadratic: t quadratic in the step index, big steps at high noise and fine
    ones near the data ("coarse to fine").
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    u = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    t_min, smin, smax = schedule.t_min, schedule.sigma_min, schedule.sigma_max
    if grid == "uniform":
        sig = schedule.sigma(1.0 - u * (1.0 - t_min))
    elif grid == "quadratic":
        sig = schedule.sigma(t_min + (1.0 - t_min) * (1.0 - u) ** 2)
    elif grid == "karras":
        a, b = smax ** (1.0 / rho), smin ** (1.0 / rho)
        sig = (a + u * (b - a)) ** rho
    else:
        raise ValueError(f"unknown grid {grid!r}; expected one of {GRIDS}")
    sig[0], sig[-1] = smax, smin
    return sig
