"""Two tokenizers built from the corpus itself: characters, and a byte-level BPE.

Both round-trip any text they can encode exactly: decode(encode(s)) == s. They
are saved to and loaded from one JSON document (`to_dict` / `from_dict`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, get_args

import torch
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from genlab.common.errors import GenlabError
from genlab.gpt.config import TokenizerKind

KINDS: tuple[str, ...] = get_args(TokenizerKind)


class TextTokenizer(Protocol):
    kind: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    def token_strings(self, ids: list[int]) -> list[str]: ...

    def to_dict(self) -> dict[str, Any]: ...


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of characters seen."""

    kind = "char"

    def __init__(self, chars: str) -> None:
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as exc:
            raise GenlabError(
                f"char tokenizer: character {exc.args[0]!r} is not in the corpus vocabulary "
                f"of {self.vocab_size} characters"
            ) from None

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def token_strings(self, ids: list[int]) -> list[str]:
        return [self.chars[i] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "chars": self.chars}


class BPETokenizer:
    """Byte-level BPE (GPT-2 style) from HF `tokenizers`; covers any text through its bytes."""

    kind = "bpe"

    def __init__(self, hf: HFTokenizer) -> None:
        self.hf = hf

    @classmethod
    def fit(cls, text: str, vocab_size: int) -> BPETokenizer:
        hf = HFTokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=[],
            show_progress=False,
        )
        hf.train_from_iterator(text.splitlines(keepends=True), trainer)
        return cls(hf)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return self.hf.decode(ids)

    def token_strings(self, ids: list[int]) -> list[str]:
        return [self.hf.decode([i]) for i in ids]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "hf": json.loads(self.hf.to_str())}


def build_tokenizer(kind: str, train: str, vocab_size: int, other: str = "") -> TextTokenizer:
    """A tokenizer of `kind` fitted on the training text.

    The char vocabulary also takes the characters of `other` (the validation
    text) so that every split can be encoded: the set of symbols says nothing
    about their statistics. BPE merges are learnt on `train` alone.
    """
    if kind == "char":
        return CharTokenizer.fit(train + other)
    if kind == "bpe":
        return BPETokenizer.fit(train, vocab_size)
    raise GenlabError(f"tokenizer: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def encode_ids(tokenizer: TextTokenizer, text: str) -> torch.Tensor:
    """A text's token ids as a 1-D long tensor."""
    return torch.tensor(tokenizer.encode(text), dtype=torch.long)


def tokenize_splits(
    kind: str, vocab_size: int, train: str, val: str
) -> tuple[TextTokenizer, torch.Tensor, torch.Tensor]:
    """A tokenizer fitted as `build_tokenizer` does, and both splits' token ids."""
    tokenizer = build_tokenizer(kind, train, vocab_size, val)
    return tokenizer, encode_ids(tokenizer, train), encode_ids(tokenizer, val)


def from_dict(data: Any, where: str = "tokenizer") -> TextTokenizer:
    """Rebuild a tokenizer saved with `to_dict`, with a one-line error for a bad document."""
    kind = data.get("kind") if isinstance(data, dict) else None
    try:
        if kind == "char" and isinstance(data.get("chars"), str) and data["chars"]:
            return CharTokenizer(data["chars"])
        if kind == "bpe":
            return BPETokenizer(HFTokenizer.from_str(json.dumps(data["hf"])))
    except Exception as exc:  # HF raises plain Exception for a malformed document
        reason = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise GenlabError(f"{where}: not a readable bpe tokenizer ({reason})") from None
    raise GenlabError(
        f"{where}: unknown tokenizer kind {kind!r}; expected one of {', '.join(KINDS)}"
    )


def load_tokenizer(path: Path | str) -> TextTokenizer:
    """Read a tokenizer JSON written by the training stage."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"{path}: tokenizer not found (run `dvc repro gpt_train`)")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GenlabError(
            f"{path}: not a JSON tokenizer file; rerun `dvc repro gpt_train`"
        ) from None
    return from_dict(data, str(path))
