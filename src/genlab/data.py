"""The 2-D datasets: points uniform in the square, plain or labelled by region (DESIGN.md 1)."""

from __future__ import annotations

import pandas as pd
import torch

from genlab.classes import region_of
from genlab.metrics import sample_square


def make_square(n: int, seed: int) -> pd.DataFrame:
    """n points uniform in [-1, 1]^2 as a frame with columns x, y."""
    pts = sample_square(n, torch.Generator().manual_seed(seed)).numpy()
    return pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1]})


def make_classes(n: int, seed: int, layout: str) -> pd.DataFrame:
    """n points uniform in the square labelled by region: columns x, y, label.

    Coordinates are rounded to the 6 decimals the CSV keeps before labelling, so the
    label of every stored point is the region of its stored coordinates.
    """
    frame = make_square(n, seed).round(6)
    xy = torch.tensor(frame[["x", "y"]].to_numpy())
    return frame.assign(label=region_of(xy, layout).numpy())
