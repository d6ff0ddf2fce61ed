"""The 2-D datasets: points uniform in the square, plain or labelled by region (docs/data.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from genlab.common.errors import GenlabError
from genlab.common.io import read_points
from genlab.diffusion.truth import num_classes, region_of, sample_square

CSV_DECIMALS = 6  # decimals the data CSVs keep (write_csv's float format)


def make_square(n: int, seed: int) -> pd.DataFrame:
    """n points uniform in [-1, 1]^2 as a frame with columns x, y."""
    pts = sample_square(n, torch.Generator().manual_seed(seed)).numpy()
    return pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1]})


def stored_square(n: int, seed: int) -> pd.DataFrame:
    """`make_square`'s points rounded as the data CSVs store them: what the stages train on."""
    return make_square(n, seed).round(CSV_DECIMALS)


def make_classes(n: int, seed: int, layout: str) -> pd.DataFrame:
    """n points uniform in the square labelled by region: columns x, y, label.

    Coordinates are rounded to the decimals the CSV keeps before labelling, so the label
    of every stored point is the region of its stored coordinates.
    """
    frame = stored_square(n, seed)
    xy = torch.tensor(frame[["x", "y"]].to_numpy())
    return frame.assign(label=region_of(xy, layout).numpy())


def read_square(path: Path | str) -> torch.Tensor:
    """The points of data/square.csv as a float64 tensor (n, 2)."""
    return torch.tensor(read_points(path)[["x", "y"]].to_numpy())


def read_classes(path: Path | str, layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (float64, n x 2) and labels of data/classes.csv, labels checked against `layout`."""
    frame = read_points(path, ("x", "y", "label"), int_columns=("label",))
    labels = torch.tensor(frame["label"].to_numpy())
    classes = num_classes(layout)
    bad = labels[(labels < 0) | (labels >= classes)]
    if len(bad):
        raise GenlabError(
            f"{path}: label {int(bad[0])} is outside the {layout} layout "
            f"(labels 0..{classes - 1}); rerun the data stage"
        )
    return torch.tensor(frame[["x", "y"]].to_numpy()), labels
