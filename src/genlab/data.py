"""The 2-D datasets: points uniform in the square (DESIGN.md section 1)."""

from __future__ import annotations

import pandas as pd
import torch

from genlab.metrics import sample_square


def make_square(n: int, seed: int) -> pd.DataFrame:
    """n points uniform in [-1, 1]^2 as a frame with columns x, y."""
    pts = sample_square(n, torch.Generator().manual_seed(seed)).numpy()
    return pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1]})
