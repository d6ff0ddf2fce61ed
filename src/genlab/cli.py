"""Shared plumbing of the stage entry points: one-line errors and progress lines."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import typer

from genlab.errors import GenlabError


def run_stage(main: Callable[..., Any]) -> None:
    """Run a stage function as a typer CLI; a GenlabError becomes one line on stderr and exit 2."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return main(*args, **kwargs)
        except GenlabError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            print("error: interrupted; no output was replaced", file=sys.stderr)
            raise typer.Exit(code=130) from None

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(wrapper)
    app()


class Progress:
    """Prints `label: i/n (pct) elapsed, ETA` to stderr at most every `every` seconds."""

    def __init__(self, label: str, total: int, every: float = 2.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.start = self.last = time.perf_counter()

    def __call__(self, i: int, note: str = "") -> None:
        now = time.perf_counter()
        if now - self.last < self.every and i < self.total:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / max(i, 1) * (self.total - i)
        extra = f" {note}" if note else ""
        print(
            f"{self.label}: {i}/{self.total} ({100 * i / self.total:.0f}%) "
            f"{elapsed:.1f}s elapsed, ETA {eta:.1f}s{extra}",
            file=sys.stderr,
            flush=True,
        )
