"""The params sections of the diffusion models, each with its defaults (equal to params.yaml)
and the ranges `genlab.config` enforces.

Kept apart from the code that uses them, with no dependency but the standard library, so
that every stage can validate the whole params file without importing the other stages'
code (and DVC re-runs a stage only when code it actually runs changes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from genlab.common.errors import bad_param
from genlab.common.params import Device, items, number

ScheduleName = Literal["exp", "linear", "sqrt", "square"]
GridName = Literal["uniform", "karras", "quadratic"]
SamplerKind = Literal["euler", "stochastic", "heun", "dpmpp_2m", "edm"]
TimeInput = Literal["t", "log_sigma", "fourier"]
LrSchedule = Literal["constant", "cosine"]
Parameterization = Literal["eps", "edm"]
SigmaSampling = Literal["uniform_t", "lognormal"]
Layout = Literal["grid", "rings"]


@dataclass(frozen=True)
class DataConfig:
    """Params section `data`: the unconditional dataset, points uniform in [-1, 1]^2."""

    n: int = number(16000, lo=1)
    seed: int = number(0, lo=0)


@dataclass(frozen=True)
class ClassesConfig:
    """Params section `classes`: the square's points labelled by region."""

    layout: Layout = "grid"
    n: int = number(9000, lo=1)
    seed: int = number(0, lo=0)


@dataclass(frozen=True)
class DenoiserConfig:
    """Params section `denoiser`: the schedule, the MLP and its Adam training."""

    schedule: ScheduleName = "exp"
    sigma_min: float = number(0.006737947, gt=0.0)
    sigma_max: float = number(5.0, gt=0.0, hi=1000.0)
    time_input: TimeInput = "fourier"
    x_fourier: int = number(2, lo=0, hi=16)
    x_fourier_blur: float = number(3.0, lo=0.0, hi=100.0)
    width: int = number(64, lo=1)
    depth: int = number(3, lo=1)
    members: int = number(2, lo=1, hi=64)
    epochs: int = number(4000, lo=1)
    lr: float = number(0.02, gt=0.0)
    adam_eps: float = number(0.0005, gt=0.0)
    lr_schedule: LrSchedule = "cosine"
    scale_input: bool = True
    parameterization: Parameterization = "edm"
    sigma_sampling: SigmaSampling = "uniform_t"
    p_mean: float = number(-1.2)
    p_std: float = number(1.2, gt=0.0)
    noise_draws: int = number(1, lo=1, hi=1024)
    batch_size: int = number(1000, lo=0)
    ema: float = number(0.0, lo=0.0, hi=0.99999)
    seed: int = number(0, lo=0)
    device: Device = "auto"

    def check(self, prefix: str) -> None:
        if self.sigma_min >= self.sigma_max:
            raise bad_param(
                f"{prefix}.sigma_min", self.sigma_min, f"expected < sigma_max = {self.sigma_max}"
            )


@dataclass(frozen=True)
class ConditionalConfig:
    """Params section `conditional`: the class-conditional denoiser (the `denoiser` settings
    with a learned class embedding and its own members and training length) and its samples
    per class."""

    class_dim: int = number(8, lo=1)
    x_fourier: int = number(3, lo=0, hi=16)
    x_fourier_blur: float = number(2.0, lo=0.0, hi=100.0)
    members: int = number(2, lo=1, hi=64)
    epochs: int = number(4000, lo=1)
    batch_size: int = number(1000, lo=0)
    adam_eps: float = number(0.001, gt=0.0)
    n: int = number(200, lo=1)

    def denoiser(self, base: DenoiserConfig) -> DenoiserConfig:
        """The conditional model's settings: `base` (section `denoiser`) with every field this
        section shares with it (input features, members, training length, batch size, Adam
        epsilon) taken from this section."""
        shared = {f.name for f in fields(DenoiserConfig)} & {f.name for f in fields(self)}
        return replace(base, **{name: getattr(self, name) for name in sorted(shared)})


@dataclass(frozen=True)
class SamplerConfig:
    """Params section `sampler`: algorithm, step count and sigma grid of the samples drawn."""

    kind: SamplerKind = "stochastic"
    steps: int = number(100, lo=1, hi=100000)
    grid: GridName = "karras"
    rho: float = number(7.0, gt=0.0, hi=100.0)
    eta: float = number(1.0, lo=0.0, hi=1.0)
    s_churn: float = number(40.0, lo=0.0)
    s_tmin: float = number(0.1, lo=0.0)
    s_tmax: float = number(1000.0, lo=0.0)
    s_noise: float = number(1.0, gt=0.0)
    denoise_final: bool = True
    n: int = number(2000, lo=1)
    seed: int = number(1, lo=0)

    def check(self, prefix: str) -> None:
        if self.s_tmin > self.s_tmax:
            raise bad_param(f"{prefix}.s_tmin", self.s_tmin, f"expected <= s_tmax = {self.s_tmax}")

    def describe(self) -> str:
        """A short label for figure titles, such as `heun, 50 steps, karras grid`."""
        final = ", final denoise" if self.denoise_final else ""
        return f"{self.kind}, {self.steps} steps, {self.grid} grid{final}"


@dataclass(frozen=True)
class FiguresConfig:
    """Params section `figures`: inputs of the exploratory figures and the quality table."""

    forward_start: tuple[float, float] = items((1.5, 1.5))
    forward_steps: int = number(200, lo=2)
    step_counts: tuple[int, ...] = items((1, 2, 5, 10, 20, 50, 100, 1000), lo=1, hi=100000)
    nfe: tuple[int, ...] = items((10, 20, 100, 1000), lo=1, hi=100000)
    seeds: tuple[int, ...] = items((0, 1, 2, 3, 4, 5, 6, 7, 8), lo=0)
    n: int = number(1000, lo=1)
    repeats: int = number(10, lo=2)
    grid_steps: int = number(10, lo=1, hi=100000)
    quality_n: int = number(2000, lo=2)
    quality_grids: tuple[GridName, ...] = ("karras", "uniform")


@dataclass(frozen=True)
class MetricsConfig:
    """Params section `metrics`: the sliced Wasserstein distance."""

    projections: int = number(256, lo=1)
    references: int = number(16, lo=1, hi=64)  # the square's kept draws: 4 MB per pair at n = 2000
    seed: int = number(1234, lo=0)


POINTS = (
    (0.0, 0.0),
    (0.0, 0.0, 0.0),
    (-0.6667, -0.6667),
    (0.3, 0.3),
    (0.95, 0.95),
    (1.05, 0.0),
    (4.0, 5.5),
)


@dataclass(frozen=True)
class LikelihoodConfig:
    """Params section `likelihood`: points of the table, estimator sizes, heat map, round trip."""

    points: tuple[tuple[float, ...], ...] = items(POINTS)
    elbo_samples: int = number(16384, lo=64)
    elbo_replicates: int = number(16, lo=2, hi=1024)
    ode_steps: int = number(200, lo=1, hi=100000)
    heatmap_size: int = number(31, lo=2, hi=1000)
    heatmap_lim: float = number(1.5, gt=0.0)
    heatmap_samples: int = number(512, lo=64)
    heatmap_ode_steps: int = number(50, lo=1, hi=100000)
    roundtrip: tuple[float, float] = items((4.0, 5.5))
    roundtrip_steps: int = number(2000, lo=1, hi=100000)
    seed: int = number(0, lo=0)

    def check(self, prefix: str) -> None:
        for key in ("elbo_samples", "heatmap_samples"):
            if getattr(self, key) < self.elbo_replicates:
                raise bad_param(
                    f"{prefix}.{key}",
                    getattr(self, key),
                    f"expected >= elbo_replicates = {self.elbo_replicates}",
                )
        for i, point in enumerate(self.points):
            if len(point) not in (2, 3):
                raise bad_param(
                    f"{prefix}.points[{i}]", list(point), "expected [x, y] or [x, y, label]"
                )
