"""Classification metrics from labels and probabilities: confusion matrix and per-class scores.

Pure NumPy, shared by ``digitlab evaluate``, the Evaluate view and the reports.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """``(n_classes, n_classes)`` int counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true, dtype=np.intp)
    y_pred = np.asarray(y_pred, dtype=np.intp)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per class: ``recall`` (= per-class accuracy), ``precision``, ``f1`` and ``support``.

    A class never predicted has precision NaN (undefined, not 0), and likewise recall for a class
    absent from the data.
    """
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / support
        precision = tp / predicted
        f1 = 2 * precision * recall / (precision + recall)
    return {"recall": recall, "precision": precision, "f1": f1, "support": support.astype(int)}


def format_confusion(cm: np.ndarray) -> str:
    """The confusion matrix as aligned text with true classes as rows."""
    n = cm.shape[0]
    width = max(5, len(str(int(cm.max()))) + 1)
    lines = ["true\\pred" + "".join(f"{j:>{width}d}" for j in range(n))]
    for i in range(n):
        lines.append(f"{i:>9d}" + "".join(f"{int(v):>{width}d}" for v in cm[i]))
    return "\n".join(lines)
