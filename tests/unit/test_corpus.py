"""The corpus: sources tried in order, Gutenberg's header and footer stripped, one-line failures."""

from __future__ import annotations

import urllib.request

import pytest

from genlab.common.errors import GenlabError
from genlab.gpt import corpus
from genlab.gpt.corpus import describe, fetch_corpus, split_text, strip_gutenberg

BODY = "CHAPTER I.\nDown the Rabbit-Hole\n\nAlice was beginning to get very tired.\n"
GUTENBERG = (
    "\ufeffThe Project Gutenberg eBook of Alice's Adventures in Wonderland\r\n"
    "This eBook is for the use of anyone anywhere.\r\n\r\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN WONDERLAND ***\r\n\r\n"
    + BODY.replace("\n", "\r\n")
    + "\r\n*** END OF THE PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN WONDERLAND ***\r\n"
    "Updated editions will replace the previous one.\r\n"
)
UNREACHABLE = "http://127.0.0.1:9/pg11.txt"  # the discard port: nobody listens


def test_gutenberg_header_and_footer_are_stripped():
    text = corpus.decode_text(GUTENBERG.encode("utf-8"))
    assert strip_gutenberg(text) == BODY.rstrip("\n")
    old_style = (
        "header\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\nbody\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK X ***\nlicence"
    )
    assert strip_gutenberg(old_style) == "body"


def test_text_without_markers_is_unchanged():
    assert strip_gutenberg(BODY) == BODY
    assert strip_gutenberg("no final newline") == "no final newline"


def test_download_is_used_when_the_local_file_is_missing(tmp_path, monkeypatch):
    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return GUTENBERG.encode("utf-8")

    seen = []

    def fake_urlopen(url, timeout):
        seen.append((url, timeout))
        return Response()

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    got = fetch_corpus(("missing.txt", "https://example.invalid/pg11.txt"), tmp_path, timeout=5)
    assert got.source == "https://example.invalid/pg11.txt"
    assert got.text == BODY.rstrip("\n")
    assert got.skipped == ("missing.txt (not found)",)
    assert seen == [("https://example.invalid/pg11.txt", 5)]


def test_local_file_comes_first(tmp_path):
    (tmp_path / "alice.txt").write_text(BODY)
    got = fetch_corpus(("alice.txt", UNREACHABLE), tmp_path, timeout=1)
    assert (got.text, got.source) == (BODY, "alice.txt")


def test_every_failing_source_is_named_in_one_line(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n\n")
    (tmp_path / "binary.bin").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    sources = ("missing.txt", "empty.txt", "binary.bin", "latin1.txt", UNREACHABLE)
    with pytest.raises(GenlabError) as info:
        fetch_corpus(sources, tmp_path, timeout=2)
    message = str(info.value)
    assert "\n" not in message
    for source, reason in zip(
        sources, ("not found", "empty", "binary", "not UTF-8", "unreachable"), strict=True
    ):
        assert f"{source} ({reason}" in message, message


def test_split_by_position_and_describe():
    train, val = split_text("abcdefghij" * 10, 0.1)
    assert (len(train), len(val)) == (90, 10) and train + val == "abcdefghij" * 10
    with pytest.raises(GenlabError, match="val_fraction"):
        split_text("abc", 0.1)
    stats = describe("a\nb\n")
    assert stats["corpus_lines"] == 2 and stats["corpus_bytes"] == 4
    assert describe("a\nb")["corpus_lines"] == 2
