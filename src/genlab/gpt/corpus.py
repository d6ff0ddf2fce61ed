"""The text corpus: fetch it from the first source that works, clean it, split it by position."""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from genlab.common.errors import GenlabError

_START = re.compile(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG[^\n]*$", re.I | re.M)
_END = re.compile(r"^\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG[^\n]*$", re.I | re.M)


@dataclass(frozen=True)
class Corpus:
    text: str
    source: str
    skipped: tuple[str, ...] = ()  # earlier sources that failed, each with the reason


class SourceFailed(Exception):
    """One source did not give a usable text; the message says why, in a few words."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def strip_gutenberg(text: str) -> str:
    """The text between Project Gutenberg's "*** START OF" and "*** END OF" lines, if present.

    A text without the markers is returned unchanged (byte for byte).
    """
    start, end = _START.search(text), _END.search(text)
    if start is None and end is None:
        return text
    lo = start.end() if start is not None else 0
    hi = end.start() if end is not None and end.start() >= lo else len(text)
    return text[lo:hi].strip("\r\n")


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM) with LF line endings; binary data is refused."""
    if b"\x00" in raw:
        raise SourceFailed("binary data (NUL bytes), expected plain text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFailed(f"not UTF-8 text (byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read(source: str, root: Path, timeout: float) -> bytes:
    if is_url(source):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            raise SourceFailed(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceFailed(f"unreachable: {str(reason)[:80] or type(exc).__name__}") from None
    path = root / source
    if not path.is_file():
        raise SourceFailed("not found")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceFailed(f"unreadable: {exc.strerror}") from None


def fetch_corpus(sources: tuple[str, ...], root: Path = Path("."), timeout: float = 30.0) -> Corpus:
    """The cleaned text of the first source (a path relative to `root`, or a URL) that works.

    Raises one GenlabError naming every source tried and why each failed.
    """
    failures = []
    for source in sources:
        try:
            text = strip_gutenberg(decode_text(_read(source, root, timeout)))
            if not text.strip():
                raise SourceFailed("empty text")
        except SourceFailed as exc:
            failures.append(f"{source} ({exc})")
            continue
        return Corpus(text, source, tuple(failures))
    raise GenlabError(
        "corpus: no source gave a usable text; tried "
        + "; ".join(failures)
        + " (set corpus.sources in params.yaml)"
    )


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """Training and validation text split by position: the first 1 - val_fraction is training."""
    cut = int(round(len(text) * (1.0 - val_fraction)))
    train, val = text[:cut], text[cut:]
    if len(train) < 2 or len(val) < 2:
        raise GenlabError(
            f"corpus: a text of {len(text)} characters split with val_fraction = {val_fraction} "
            "leaves fewer than 2 characters on one side; use a longer text"
        )
    return train, val


def describe(text: str) -> dict[str, int | str]:
    """sha256, size in bytes (UTF-8), characters and lines of a text."""
    raw = text.encode("utf-8")
    return {
        "corpus_sha256": hashlib.sha256(raw).hexdigest(),
        "corpus_bytes": len(raw),
        "corpus_chars": len(text),
        "corpus_lines": text.count("\n") + (0 if text.endswith("\n") or not text else 1),
    }


def read_split(path: Path | str) -> str:
    """A split written by the corpus stage, with a one-line error when it is missing or empty."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"{path}: corpus split not found (run `dvc repro corpus`)")
    try:
        text = decode_text(path.read_bytes())
    except SourceFailed as exc:
        raise GenlabError(f"{path}: {exc}") from None
    if not text:
        raise GenlabError(f"{path}: corpus split is empty; rerun `dvc repro corpus`")
    return text
