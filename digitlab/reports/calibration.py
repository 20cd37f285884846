"""Calibration: does a network's confidence match how often it is right?

Pure NumPy. The confidence of a prediction is the largest class probability. Predictions are put
into ``n_bins`` equal-width confidence bins, ``(0, 1/n], (1/n, 2/n], ..., ((n-1)/n, 1]`` (a
confidence of exactly 0 cannot happen with a softmax, but would go to the first bin). For each bin
the reliability diagram plots the fraction of correct predictions against the mean confidence, and

    ECE = sum over bins b of (n_b / N) * |accuracy_b - confidence_b|

is the expected calibration error (Guo et al., 2017, "On Calibration of Modern Neural Networks"):
0 for a perfectly calibrated model, larger when it is over- or under-confident. Empty bins add
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Reliability", "reliability", "expected_calibration_error", "confidences"]


@dataclass
class Reliability:
    """Per-bin statistics of a reliability diagram.

    Attributes
    ----------
    edges : (n_bins + 1,) float, bin edges from 0 to 1
    counts : (n_bins,) int, predictions per bin
    confidence : (n_bins,) float, mean confidence per bin (NaN where empty)
    accuracy : (n_bins,) float, fraction correct per bin (NaN where empty)
    ece : float, expected calibration error
    mce : float, maximum calibration error over non-empty bins
    mean_confidence, accuracy_overall : float, over all predictions
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float
    mce: float
    mean_confidence: float
    accuracy_overall: float

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def gap(self) -> np.ndarray:
        """``confidence - accuracy`` per bin: positive means over-confident."""
        return self.confidence - self.accuracy

    def rows(self) -> list[dict]:
        """One row per bin, for the report's tables (empty bins included, with None)."""
        out = []
        for k in range(len(self.counts)):
            empty = self.counts[k] == 0
            out.append({
                "Bin": f"{self.edges[k]:.2f}-{self.edges[k + 1]:.2f}",
                "Count": int(self.counts[k]),
                "Mean confidence": None if empty else float(self.confidence[k]),
                "Accuracy": None if empty else float(self.accuracy[k]),
            })
        return out


def confidences(proba) -> tuple[np.ndarray, np.ndarray]:
    """``(confidence, predicted)`` per row of a ``(n, classes)`` probability array."""
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError(f"probabilities must be (n, classes), got shape {proba.shape}")
    pred = np.argmax(proba, axis=1)
    return proba[np.arange(len(proba)), pred], pred


def _bin_index(conf: np.ndarray, n_bins: int) -> np.ndarray:
    # bin k holds (k/n, (k+1)/n]: ceil(conf * n) - 1, with 0 in the first bin
    return np.clip(np.ceil(conf * n_bins).astype(np.intp) - 1, 0, n_bins - 1)


def reliability(proba, y_true, n_bins: int = 10) -> Reliability:
    """Reliability-diagram bins and calibration errors of probabilities ``(n, classes)`` against labels."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    conf, pred = confidences(proba)
    y_true = np.asarray(y_true)
    if y_true.shape != pred.shape:
        raise ValueError(f"{len(pred)} predictions but {y_true.shape} labels")
    correct = (pred == y_true).astype(float)
    idx = _bin_index(conf, n_bins)
    counts = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    corr_sum = np.bincount(idx, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = conf_sum / counts
        acc = corr_sum / counts
    n = max(len(conf), 1)
    filled = counts > 0
    gaps = np.abs(acc[filled] - mean_conf[filled])
    ece = float(np.sum(counts[filled] / n * gaps))
    mce = float(gaps.max()) if gaps.size else 0.0
    return Reliability(
        edges=np.linspace(0.0, 1.0, n_bins + 1), counts=counts, confidence=mean_conf, accuracy=acc,
        ece=ece, mce=mce, mean_confidence=float(conf.mean()) if len(conf) else float("nan"),
        accuracy_overall=float(correct.mean()) if len(conf) else float("nan"),
    )


def expected_calibration_error(proba, y_true, n_bins: int = 10) -> float:
    """The expected calibration error (see the module docstring)."""
    return reliability(proba, y_true, n_bins).ece
