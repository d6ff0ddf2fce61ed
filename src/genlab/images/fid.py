"""An MNIST Frechet distance: the Frechet (2-Wasserstein) distance between Gaussians fitted to
the classifier's features of two image sets, and the scores of samples (docs/images.md)."""

from __future__ import annotations

import numpy as np
import torch

from genlab.images.classifier import Classifier, predict


def _sqrtm_psd(c: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2) of two feature sets.

    Means and covariances (denominator N - 1) in float64; the matrix square roots come from
    symmetric eigendecompositions, so the result is real and >= 0.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _sqrtm_psd(ca)
    cross = _sqrtm_psd(root_a @ cb @ root_a)
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2.0 * np.trace(cross))
    return max(value, 0.0)


def halves(labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint halves of the held-out images, each with half of every class."""
    gen = torch.Generator().manual_seed(seed)
    first, second = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        first.append(idx[: len(idx) // 2])
        second.append(idx[len(idx) // 2 : 2 * (len(idx) // 2)])
    return torch.sort(torch.cat(first)).values, torch.sort(torch.cat(second)).values


class Scorer:
    """Scores image sets against the held-out digits with a trained classifier.

    The reference is one half of the held-out digits; `floor` is the distance from the
    other half, the value a perfect sampler would show with `size` images.
    """

    def __init__(
        self, classifier: Classifier, held_out: torch.Tensor, labels: torch.Tensor, seed: int
    ):
        self.classifier = classifier
        first, second = halves(labels, seed)
        self.size = len(first)
        _, self.reference = predict(classifier, held_out[second])
        _, self.other = predict(classifier, held_out[first])
        self.floor = frechet_distance(self.other.numpy(), self.reference.numpy())

    def fid(self, samples: torch.Tensor) -> float:
        """The Frechet distance of `samples` (the first `size` of them, clipped to the pixel
        range [-1, 1] as the figures show them) to the reference."""
        _, feats = predict(self.classifier, samples[: self.size].clamp(-1.0, 1.0))
        return frechet_distance(feats.numpy(), self.reference.numpy())

    def class_accuracy(self, samples: torch.Tensor, labels: torch.Tensor) -> float:
        """The fraction of samples (clipped to [-1, 1]) the classifier assigns to the class
        they were drawn for."""
        predicted, _ = predict(self.classifier, samples.clamp(-1.0, 1.0))
        return float((predicted == labels).double().mean())
