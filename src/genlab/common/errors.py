"""The one exception type a stage turns into a one-line message."""

from __future__ import annotations

from typing import Any


class GenlabError(Exception):
    """A user-facing error: bad params, bad input files, a failed run.

    Its message is a single line naming what is wrong and what is allowed.
    """


def bad_param(key: str, value: Any, allowed: str) -> GenlabError:
    """The error for a params value: `params: KEY = VALUE is invalid: ALLOWED`."""
    return GenlabError(f"params: {key} = {value!r} is invalid: {allowed}")
