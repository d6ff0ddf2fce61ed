"""One typed, validated config built from params.yaml.

Every section is a frozen dataclass. Each field carries its allowed range or
choices in its metadata; `load_config` checks every key before any work and
raises a one-line `GenlabError` naming the key, the value and what is allowed.
Numbers written as strings (DVC writes `-S lr=0.000001` as `1e-06`, which YAML
1.1 reads as a string) are accepted where a number belongs.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from genlab.errors import GenlabError

PARAMS_FILE = Path("params.yaml")


def _num(default: float | int, lo: float | None = None, hi: float | None = None, **kw: Any):
    """A numeric field with bounds: `lo`/`hi` inclusive, `gt`/`lt` exclusive."""
    return field(default=default, metadata={"lo": lo, "hi": hi, **kw})


def _seq(default: tuple, lo: float | None = None, hi: float | None = None, **kw: Any):
    return field(default_factory=lambda: default, metadata={"lo": lo, "hi": hi, **kw})


Device = Literal["auto", "cpu", "cuda"]
Schedule = Literal["exp", "linear", "sqrt", "square"]
Grid = Literal["uniform", "karras", "quadratic"]
SamplerKind = Literal["euler", "stochastic", "heun"]
TimeInput = Literal["t", "log_sigma", "fourier"]
LrSchedule = Literal["constant", "cosine"]


@dataclass(frozen=True)
class DataConfig:
    """The unconditional dataset: points uniform in [-1, 1]^2."""

    n: int = _num(1000, lo=1)
    seed: int = _num(0, lo=0)


@dataclass(frozen=True)
class DenoiserConfig:
    """The noise-prediction MLP and its full-batch training."""

    schedule: Schedule = "exp"
    sigma_min: float = _num(0.006737947, gt=0.0)
    sigma_max: float = _num(1.0, gt=0.0, hi=1000.0)
    time_input: TimeInput = "fourier"
    width: int = _num(128, lo=1)
    depth: int = _num(3, lo=1)
    epochs: int = _num(3000, lo=1)
    lr: float = _num(0.001, gt=0.0)
    lr_schedule: LrSchedule = "cosine"
    scale_input: bool = True
    seed: int = _num(0, lo=0)
    device: Device = "auto"

    def check(self, prefix: str) -> None:
        if self.sigma_min >= self.sigma_max:
            raise _bad(
                f"{prefix}.sigma_min", self.sigma_min, f"expected < sigma_max = {self.sigma_max}"
            )


@dataclass(frozen=True)
class SamplerConfig:
    """How samples are drawn: algorithm, step count and sigma grid."""

    kind: SamplerKind = "heun"
    steps: int = _num(50, lo=1, hi=100000)
    grid: Grid = "karras"
    rho: float = _num(7.0, gt=0.0, hi=100.0)
    eta: float = _num(1.0, lo=0.0, hi=1.0)
    denoise_final: bool = True
    n: int = _num(2000, lo=1)
    seed: int = _num(1, lo=0)


@dataclass(frozen=True)
class FiguresConfig:
    """Inputs of the exploratory figures and the quality-vs-NFE table."""

    forward_start: tuple[float, float] = _seq((1.5, 1.5))
    forward_steps: int = _num(200, lo=2)
    step_counts: tuple[int, ...] = _seq((1, 2, 5, 10, 20, 50, 100, 1000), lo=1, hi=100000)
    nfe: tuple[int, ...] = _seq((10, 20, 100, 1000), lo=1, hi=100000)
    seeds: tuple[int, ...] = _seq((0, 1, 2, 3, 4, 5, 6, 7, 8), lo=0)
    n: int = _num(1000, lo=1)
    repeats: int = _num(10, lo=2)
    grid_steps: int = _num(10, lo=1, hi=100000)
    quality_n: int = _num(2000, lo=2)


@dataclass(frozen=True)
class MetricsConfig:
    """Sliced Wasserstein distance settings."""

    projections: int = _num(256, lo=1)
    seed: int = _num(1234, lo=0)


Layout = Literal["grid", "rings"]


@dataclass(frozen=True)
class ClassesConfig:
    """The labelled dataset: points uniform in the square, labelled by region."""

    layout: Layout = "grid"
    n: int = _num(1000, lo=1)
    seed: int = _num(0, lo=0)


@dataclass(frozen=True)
class ConditionalConfig:
    """The class-conditional denoiser (the `denoiser` settings but its own epochs) and samples."""

    class_dim: int = _num(8, lo=1)
    epochs: int = _num(9000, lo=1)
    n: int = _num(200, lo=1)


LIKELIHOOD_POINTS = (
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
    """ELBO and exact ODE log-likelihood at chosen points, a heat map and a round trip."""

    points: tuple[tuple[float, ...], ...] = _seq(LIKELIHOOD_POINTS)
    elbo_samples: int = _num(16384, lo=64)
    ode_steps: int = _num(200, lo=1, hi=100000)
    heatmap_size: int = _num(31, lo=2, hi=1000)
    heatmap_lim: float = _num(1.5, gt=0.0)
    heatmap_samples: int = _num(512, lo=64)
    heatmap_ode_steps: int = _num(50, lo=1, hi=100000)
    roundtrip: tuple[float, float] = _seq((4.0, 5.5))
    roundtrip_steps: int = _num(2000, lo=1, hi=100000)
    seed: int = _num(0, lo=0)

    def check(self, prefix: str) -> None:
        for i, point in enumerate(self.points):
            if len(point) not in (2, 3):
                raise _bad(f"{prefix}.points[{i}]", list(point), "expected [x, y] or [x, y, label]")


TokenizerKind = Literal["char", "bpe"]
Precision = Literal["float32", "bfloat16"]


@dataclass(frozen=True)
class CorpusConfig:
    """The GPT's text: sources tried in order (paths from the repo root, or URLs), and the split."""

    sources: tuple[str, ...] = _seq(
        (
            "../shared/data/alice_in_wonderland.txt",
            "https://www.gutenberg.org/cache/epub/11/pg11.txt",
        )
    )
    val_fraction: float = _num(0.1, gt=0.0, lt=1.0)
    timeout: float = _num(30.0, gt=0.0, hi=600.0)


@dataclass(frozen=True)
class TokenizerConfig:
    """Characters, or a byte-level BPE trained on the training split."""

    kind: TokenizerKind = "char"
    vocab_size: int = _num(512, lo=257, hi=65536)


@dataclass(frozen=True)
class GptConfig:
    """The minGPT-style decoder and its AdamW training (warm-up, cosine decay, clipping)."""

    n_layer: int = _num(4, lo=1, hi=64)
    n_head: int = _num(4, lo=1, hi=64)
    n_embd: int = _num(128, lo=1, hi=4096)
    block_size: int = _num(128, lo=2, hi=4096)
    dropout: float = _num(0.1, lo=0.0, lt=1.0)
    batch_size: int = _num(16, lo=1)
    iters: int = _num(2000, lo=1)
    lr: float = _num(0.003, gt=0.0, hi=1.0)
    min_lr: float = _num(0.0003, lo=0.0, hi=1.0)
    warmup_iters: int = _num(100, lo=0)
    weight_decay: float = _num(0.1, lo=0.0, hi=10.0)
    grad_clip: float = _num(1.0, lo=0.0)
    eval_interval: int = _num(200, lo=1)
    precision: Precision = "bfloat16"
    seed: int = _num(0, lo=0)
    device: Device = "auto"

    def check(self, prefix: str) -> None:
        if self.n_embd % self.n_head:
            raise _bad(
                f"{prefix}.n_embd", self.n_embd, f"expected a multiple of n_head = {self.n_head}"
            )
        if self.min_lr > self.lr:
            raise _bad(f"{prefix}.min_lr", self.min_lr, f"expected <= lr = {self.lr}")


@dataclass(frozen=True)
class GptAnalysisConfig:
    """Sampling, token probabilities, attention maps and embedding inversion of the trained GPT."""

    prompts: tuple[str, ...] = _seq(("Alice was beginning", "The Queen said", "Down the"))
    max_new_tokens: int = _num(200, lo=1, hi=100000)
    temperature: float = _num(0.8, gt=0.0, hi=100.0)
    top_k: int = _num(0, lo=0)
    seed: int = _num(0, lo=0)
    prob_prompt: str = "Alice had learnt several things"
    prob_tokens: int = _num(40, lo=1, hi=100000)
    attention_prompt: str = "The little squirrel was around Alice but she kept saying to herself"
    inversion_target: str = "I am a little squirrel holding a walnut"
    inversion_steps: int = _num(300, lo=1, hi=100000)
    inversion_lr: float = _num(0.05, gt=0.0, hi=100.0)
    inversion_seed: int = _num(0, lo=0)

    def check(self, prefix: str) -> None:
        words = len(self.attention_prompt.split())
        if words < 12:
            raise _bad(
                f"{prefix}.attention_prompt",
                self.attention_prompt,
                f"expected >= 12 words, got {words}",
            )


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    figures: FiguresConfig = field(default_factory=FiguresConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    classes: ClassesConfig = field(default_factory=ClassesConfig)
    conditional: ConditionalConfig = field(default_factory=ConditionalConfig)
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    gpt: GptConfig = field(default_factory=GptConfig)
    gpt_analysis: GptAnalysisConfig = field(default_factory=GptAnalysisConfig)


def _bad(key: str, value: Any, allowed: str) -> GenlabError:
    return GenlabError(f"params: {key} = {value!r} is invalid: {allowed}")


def _range_text(meta: dict) -> str:
    parts = []
    if meta.get("gt") is not None:
        parts.append(f"> {meta['gt']}")
    if meta.get("lo") is not None:
        parts.append(f">= {meta['lo']}")
    if meta.get("lt") is not None:
        parts.append(f"< {meta['lt']}")
    if meta.get("hi") is not None:
        parts.append(f"<= {meta['hi']}")
    return " and ".join(parts)


def _check_range(key: str, value: float, meta: dict, kind: str) -> None:
    lo, hi, gt, lt = (meta.get(k) for k in ("lo", "hi", "gt", "lt"))
    if (
        (lo is not None and value < lo)
        or (hi is not None and value > hi)
        or (gt is not None and value <= gt)
        or (lt is not None and value >= lt)
    ):
        raise _bad(key, value, f"expected {kind} {_range_text(meta)}")


def _to_int(key: str, value: Any, meta: dict) -> int:
    raw = value
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise _bad(key, raw, f"expected an integer {_range_text(meta)}".rstrip()) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(key, raw, f"expected an integer {_range_text(meta)}".rstrip())
    _check_range(key, value, meta, "an integer")
    return value


def _to_float(key: str, value: Any, meta: dict) -> float:
    raw = value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _bad(key, raw, f"expected a number {_range_text(meta)}".rstrip()) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(key, raw, f"expected a number {_range_text(meta)}".rstrip())
    value = float(value)
    if not math.isfinite(value):
        raise _bad(key, raw, "expected a finite number")
    _check_range(key, value, meta, "a number")
    return value


def _to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _bad(key, value, "expected true or false")


def _convert(key: str, value: Any, tp: Any, meta: dict) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise _bad(key, value, "expected one of " + ", ".join(map(str, choices)))
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(key, value, options[0], meta)
    if origin is tuple:
        args = get_args(tp)
        if isinstance(value, str):
            value = [v for v in value.replace("[", "").replace("]", "").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise _bad(key, value, "expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            if not value:
                raise _bad(key, value, "expected a non-empty list")
            items = [(args[0], v) for v in value]
        else:
            if len(value) != len(args):
                raise _bad(key, value, f"expected a list of {len(args)} values")
            items = list(zip(args, value, strict=True))
        return tuple(_convert(f"{key}[{i}]", v, t, meta) for i, (t, v) in enumerate(items))
    if tp is int:
        return _to_int(key, value, meta)
    if tp is float:
        return _to_float(key, value, meta)
    if tp is bool:
        return _to_bool(key, value)
    if tp is str:
        if not isinstance(value, str) or not value.strip():
            raise _bad(key, value, "expected a non-empty string")
        return value
    if dataclasses.is_dataclass(tp):
        return build_section(tp, value, key)
    raise TypeError(f"unsupported config type {tp!r} for {key}")


def build_section(cls: type, raw: Any, prefix: str) -> Any:
    """Build dataclass `cls` from a mapping, checking every key and value."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _bad(prefix, raw, "expected a mapping of keys to values")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            allowed = ", ".join(fields)
            raise GenlabError(
                f"params: unknown key {prefix}.{key} (= {raw[key]!r}); allowed keys: {allowed}"
            )
    values = {}
    for name, f in fields.items():
        if name in raw:
            values[name] = _convert(f"{prefix}.{name}", raw[name], hints[name], dict(f.metadata))
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        check(prefix)
    return obj


def parse_config(raw: Any) -> Config:
    """Validate a params mapping (as read from params.yaml) into a Config."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GenlabError("params: expected a mapping of sections at the top of params.yaml")
    hints = typing.get_type_hints(Config)
    names = {f.name for f in dataclasses.fields(Config)}
    for key in raw:
        if key not in names:
            raise GenlabError(
                f"params: unknown section {key!r}; allowed sections: {', '.join(sorted(names))}"
            )
    return Config(**{k: build_section(hints[k], v, k) for k, v in raw.items()})


def load_config(path: Path | str = PARAMS_FILE) -> Config:
    """Read and validate params.yaml; raise a one-line GenlabError if anything is wrong."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"params: file {path} not found (run from the repository root)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise GenlabError(f"params: {path} is not valid YAML{where}") from None
    return parse_config(raw)
