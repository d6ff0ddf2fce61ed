"""The params schema: every section of params.yaml as one typed, validated `Config`.

Each section is a frozen dataclass owned by the module that uses it, with its defaults
equal to params.yaml and its allowed ranges in the field metadata (`common.params`).
`load_config` checks every key before any work and raises a one-line `GenlabError`
naming the key, the value and what is allowed. Numbers written as strings (DVC writes
`-S lr=0.000001` as `1e-06`, which YAML 1.1 reads as a string) are accepted where a
number belongs.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml

from genlab.common.errors import GenlabError, bad_param
from genlab.diffusion.config import (
    ClassesConfig,
    ConditionalConfig,
    DataConfig,
    DenoiserConfig,
    FiguresConfig,
    LikelihoodConfig,
    MetricsConfig,
    SamplerConfig,
)
from genlab.gpt.config import CorpusConfig, GptAnalysisConfig, GptConfig, TokenizerConfig

T = TypeVar("T")

PARAMS_FILE = Path("params.yaml")


@dataclass(frozen=True)
class Config:
    """All of params.yaml, one field per section."""

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
        raise bad_param(key, value, f"expected {kind} {_range_text(meta)}")


def _to_int(key: str, value: Any, meta: dict) -> int:
    raw = value
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise bad_param(key, raw, f"expected an integer {_range_text(meta)}".rstrip()) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_param(key, raw, f"expected an integer {_range_text(meta)}".rstrip())
    _check_range(key, value, meta, "an integer")
    return value


def _to_float(key: str, value: Any, meta: dict) -> float:
    raw = value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise bad_param(key, raw, f"expected a number {_range_text(meta)}".rstrip()) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_param(key, raw, f"expected a number {_range_text(meta)}".rstrip())
    value = float(value)
    if not math.isfinite(value):
        raise bad_param(key, raw, "expected a finite number")
    _check_range(key, value, meta, "a number")
    return value


def _to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_param(key, value, "expected true or false")


def _convert(key: str, value: Any, tp: Any, meta: dict) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise bad_param(key, value, "expected one of " + ", ".join(map(str, choices)))
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(key, value, options[0], meta)
    if origin is tuple:
        args = get_args(tp)
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("[", "").replace("]", "").split(",")]
            value = [v for v in value if v]
        if not isinstance(value, (list, tuple)):
            raise bad_param(key, value, "expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            if not value:
                raise bad_param(key, value, "expected a non-empty list")
            items = [(args[0], v) for v in value]
        else:
            if len(value) != len(args):
                raise bad_param(key, value, f"expected a list of {len(args)} values")
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
            raise bad_param(key, value, "expected a non-empty string")
        return value
    if dataclasses.is_dataclass(tp):
        return build_section(tp, value, key)
    raise TypeError(f"unsupported config type {tp!r} for {key}")


def build_section(cls: type, raw: Any, prefix: str) -> Any:
    """Build dataclass `cls` from a mapping, checking every key and value."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise bad_param(prefix, raw, "expected a mapping of keys to values")
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


def parse_sections(cls: type[T], raw: Any, file: str) -> T:
    """Validate a mapping of sections, as read from params file `file`, into the dataclass
    `cls` (one field per section); runs `cls.check()` for checks across sections if any."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GenlabError(f"params: expected a mapping of sections at the top of {file}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            raise GenlabError(
                f"params: unknown section {key!r} in {file}; "
                f"allowed sections: {', '.join(sorted(names))}"
            )
    cfg = cls(**{k: build_section(hints[k], v, k) for k, v in raw.items()})
    check = getattr(cfg, "check", None)
    if check is not None:
        check()
    return cfg


def read_params(path: Path | str) -> Any:
    """The YAML content of a params file; a one-line GenlabError if it is missing or bad."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"params: file {path} not found (run from the repository root)")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise GenlabError(f"params: {path} is not valid YAML{where}") from None


def parse_config(raw: Any) -> Config:
    """Validate a params mapping (as read from params.yaml) into a Config."""
    return parse_sections(Config, raw, "params.yaml")


def load_config(path: Path | str = PARAMS_FILE) -> Config:
    """Read and validate params.yaml; raise a one-line GenlabError if anything is wrong."""
    return parse_config(read_params(path))
