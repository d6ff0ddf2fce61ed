"""Fields of the params sections: a default plus the range `config.load_config` enforces.

Each section is a frozen dataclass owned by the module that uses it (the sampler's by
`diffusion.samplers`, the GPT's by `gpt.model` and `gpt.training`); its defaults are the
values in params.yaml, so a key left out of the file changes nothing.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

Device = Literal["auto", "cpu", "cuda"]  # auto: cuda when present, else cpu


def number(
    default: float | int,
    lo: float | None = None,
    hi: float | None = None,
    *,
    gt: float | None = None,
    lt: float | None = None,
) -> Any:
    """A numeric field: `lo`/`hi` are inclusive bounds, `gt`/`lt` exclusive ones."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "gt": gt, "lt": lt})


def items(default: tuple, lo: float | None = None, hi: float | None = None) -> Any:
    """A list field (a tuple once loaded); numeric bounds apply to every item."""
    return field(default_factory=lambda: default, metadata={"lo": lo, "hi": hi})
