"""Bad input files: one-line errors naming the file and what was expected."""

from __future__ import annotations

import pytest

from genlab.common.errors import GenlabError
from genlab.common.io import read_points


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x,z\n0.1,0.2\n", ["missing column", "y"]),
        ("x,y\n", ["no rows"]),
        ("", ["not a readable CSV"]),
        ("x,y\n0.1,nan\n", ["column y row 1", "finite"]),
        ("x,y\n0.1,0.2\ninf,0.3\n", ["column x row 2", "finite"]),
        ("x,y\n0.1,abc\n", ["column y row 1", "'abc'"]),
    ],
)
def test_bad_data_files(tmp_path, text, words):
    path = tmp_path / "points.csv"
    path.write_text(text)
    with pytest.raises(GenlabError) as info:
        read_points(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message, (word, message)


def test_labels_must_be_integers(tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text("x,y,label\n0.1,0.2,1.5\n")
    with pytest.raises(GenlabError, match="label must hold integers"):
        read_points(path, ("x", "y", "label"), int_columns=("label",))
