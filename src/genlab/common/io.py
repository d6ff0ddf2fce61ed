"""File I/O written once: atomic writes, JSON/CSV outputs, validated inputs, checkpoints."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from genlab.common.errors import GenlabError

if TYPE_CHECKING:
    import torch

# torch is imported inside the checkpoint functions only: stages that never touch a model
# (check_params, corpus, report) start in a fraction of a second without it.

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    A run killed mid-write leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give outputs the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _rounded(obj: Any, digits: int) -> Any:
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    return obj


def write_json(path: Path | str, data: dict, digits: int = 6) -> None:
    """Write metrics as sorted, indented JSON with floats rounded to `digits` significant digits."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_rounded(data, digits), indent=2, sort_keys=True) + "\n")


def cache_path(name: str) -> Path:
    """A file in genlab's folder of the user's cache ($XDG_CACHE_HOME/genlab, else
    ~/.cache/genlab): things worth keeping between runs that never change an output."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "genlab" / name


def write_text(path: Path | str, text: str) -> None:
    """Write text as UTF-8 bytes, whatever the machine's locale."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))


def write_csv(path: Path | str, frame: pd.DataFrame, float_format: str = "%.6f") -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")


def write_npz(path: Path | str, **arrays: np.ndarray) -> None:
    """Like np.savez_compressed, but byte-identical for identical arrays.

    np.savez stamps each member with the current time; here every member gets a fixed date,
    and members are written whole so the zip headers do not depend on the Python version.
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue())


def write_table(stem: Path | str, frame: pd.DataFrame, float_format: str = "{:.4f}") -> None:
    """Write a table twice: STEM.csv for tools and STEM.md for the report."""
    stem = Path(stem)
    write_csv(stem.with_suffix(".csv"), frame)
    write_text(stem.with_suffix(".md"), markdown_table(frame, float_format))


def write_live(folder: Path | str, rows: Sequence[dict[str, float]]) -> None:
    """Log curves with DVCLive: one TSV per metric under FOLDER/plots/metrics, keyed by `step`.

    Setting the step directly writes one row per entry; `next_step()` would rewrite the
    summary every time and cost seconds on long curves.
    """
    from dvclive import Live

    with Live(str(folder), dvcyaml=False, save_dvc_exp=False) as live:
        for row in rows:
            live.step = int(row["step"])
            for name, value in row.items():
                if name != "step":
                    live.log_metric(name, value)


def markdown_table(frame: pd.DataFrame, float_format: str = "{:.4f}") -> str:
    """A GitHub-flavoured markdown table of a frame (no extra dependency)."""
    cols = [str(c) for c in frame.columns]

    def cell(v: Any) -> str:
        if v is None or v is pd.NA:
            return ""
        if isinstance(v, (float, np.floating)):
            return float_format.format(v)
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def read_points(
    path: Path | str, columns: Sequence[str] = ("x", "y"), int_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """Read a CSV of points, checking it has the columns, at least one row and finite values."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"{path}: file not found (run `dvc repro` to build it)")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise GenlabError(f"{path}: not a readable CSV ({type(exc).__name__})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GenlabError(
            f"{path}: missing column(s) {', '.join(missing)}; expected columns {', '.join(columns)}"
        )
    if len(frame) == 0:
        raise GenlabError(f"{path}: has no rows; expected at least one point")
    frame = frame[list(columns)]
    for c in columns:
        values = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise GenlabError(
                f"{path}: column {c} row {row + 1} is {frame[c].iloc[row]!r}; "
                "expected a finite number"
            )
        if c in int_columns and not np.all(values == np.round(values)):
            raise GenlabError(f"{path}: column {c} must hold integers")
        frame[c] = values.astype(np.int64) if c in int_columns else values
    return frame


def read_column(path: Path | str, column: str, sep: str = "\t") -> np.ndarray:
    """One numeric column of a TSV log (such as DVCLive's plots), checked to exist."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"{path}: log not found (run `dvc repro` to build it)")
    frame = pd.read_csv(path, sep=sep)
    if column not in frame.columns or len(frame) == 0:
        raise GenlabError(f"{path}: expected a non-empty column {column!r}")
    return frame[column].to_numpy(dtype=np.float64)


def save_checkpoint(path: Path | str, kind: str, payload: dict[str, Any]) -> None:
    """Save a checkpoint atomically, tagged with its kind so a wrong file is caught on load."""
    # Saving through a buffer keeps the bytes independent of the temporary file's name,
    # which torch.save would otherwise record as the archive's folder.
    import torch

    buffer = io.BytesIO()
    torch.save({"genlab": kind, **payload}, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_checkpoint(path: Path | str, kind: str) -> dict[str, Any]:
    """Load a checkpoint saved by `save_checkpoint`, with a one-line error for any bad file."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"{path}: checkpoint not found (run `dvc repro` to train it)")
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to deserialise means "not readable"
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise GenlabError(
            f"{path}: not a readable {kind} checkpoint ({reason}); rerun its training stage"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("genlab") != kind:
        found = ckpt.get("genlab") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise GenlabError(f"{path}: expected a {kind} checkpoint, found {found!r}")
    return ckpt


def load_state(model: torch.nn.Module, state: dict, path: Path | str) -> None:
    """load_state_dict with a one-line error when the checkpoint's shapes do not fit."""
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()), str(exc))
        raise GenlabError(
            f"{path}: checkpoint does not fit the configured model ({first[:160]})"
        ) from None
