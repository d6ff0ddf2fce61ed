"""The GPT's tokenizers: exact round trips, save and load, BPE compression, one-line errors."""

from __future__ import annotations

import pytest
import torch

from genlab.common.errors import GenlabError
from genlab.common.io import write_json
from genlab.gpt.tokenizer import (
    CharTokenizer,
    build_tokenizer,
    encode_ids,
    from_dict,
    load_tokenizer,
)

TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank,\n"
    "and of having nothing to do: once or twice she had peeped into the book her\n"
    "sister was reading, but it had no pictures or conversations in it, 'and what\n"
    "is the use of a book,' thought Alice 'without pictures or conversations?'\n"
)


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenizers_round_trip_and_survive_save_load(kind, tmp_path):
    train, val = TEXT[:200], TEXT[200:] + " caf\u00e9 \u2713\n"
    tok = build_tokenizer(kind, train, 300, val)
    for text in (TEXT, val, "  two  spaces\n\nand newlines\n"):
        assert tok.decode(tok.encode(text)) == text
    write_json(tmp_path / "tok.json", tok.to_dict())
    again = load_tokenizer(tmp_path / "tok.json")
    assert again.kind == kind and again.vocab_size == tok.vocab_size
    assert again.encode(TEXT) == tok.encode(TEXT)
    assert again.decode(tok.encode(val)) == val


def test_bpe_compresses_and_is_trained_deterministically():
    a = build_tokenizer("bpe", TEXT * 3, 300)
    b = build_tokenizer("bpe", TEXT * 3, 300)
    assert a.to_dict() == b.to_dict()
    assert len(a.encode(TEXT)) < len(TEXT) / 1.5


def test_unknown_tokenizer_and_unknown_character_are_one_line_errors():
    with pytest.raises(GenlabError, match="unknown kind 'word'"):
        build_tokenizer("word", TEXT, 300)
    with pytest.raises(GenlabError, match="unknown tokenizer kind 'word'"):
        from_dict({"kind": "word"})
    with pytest.raises(GenlabError, match="'#' is not in the corpus vocabulary"):
        CharTokenizer.fit("abc").encode("a#")


def test_encode_ids_is_a_long_tensor_of_the_token_ids():
    tok = CharTokenizer.fit(TEXT)
    ids = encode_ids(tok, "Alice")
    assert ids.dtype == torch.long and ids.tolist() == tok.encode("Alice")
