"""One model, or two, on one labelled set: what the Evaluate view and the reports show.

Pure NumPy: :func:`evaluate` runs the network once and keeps the probabilities; everything else
(confusion matrix, per-class scores, calibration, the misclassified digits ordered by confidence,
the comparison of two models) is computed from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .calibration import Reliability, reliability
from .metrics import confusion_matrix, per_class_scores

__all__ = ["Evaluation", "evaluate", "misclassified", "Comparison", "compare", "layer_histograms"]


@dataclass(eq=False)
class Evaluation:
    """A model's predictions on one labelled set, and the numbers derived from them.

    Attributes
    ----------
    name : str
    proba : (n, classes) float probabilities
    y : (n,) int true labels
    pred : (n,) int predicted labels
    confidence : (n,) float, the probability of the predicted class
    cost : float, the cross-entropy (plus the L2 term when ``l2`` was given)
    cross_entropy : float
    accuracy : float in [0, 1]
    cm : (classes, classes) int confusion matrix, rows = true, columns = predicted
    scores : dict of per-class ``recall`` (= per-class accuracy), ``precision``, ``f1``, ``support``
    calibration : :class:`~digitlab.reports.calibration.Reliability`
    """

    name: str
    proba: np.ndarray
    y: np.ndarray
    pred: np.ndarray
    confidence: np.ndarray
    cost: float
    cross_entropy: float
    accuracy: float
    cm: np.ndarray
    scores: dict = field(repr=False)
    calibration: Reliability = field(repr=False)

    @property
    def n(self) -> int:
        return int(len(self.y))

    @property
    def n_classes(self) -> int:
        return int(self.cm.shape[0])

    @property
    def correct(self) -> np.ndarray:
        return self.pred == self.y

    @property
    def ece(self) -> float:
        return self.calibration.ece

    def misclassified(self, limit: int | None = None) -> np.ndarray:
        """Indices of the wrong predictions, the most confident mistakes first."""
        return misclassified(self.proba, self.y, limit)


def evaluate(network, X, y, *, name: str = "", l2: float = 0.0, m: int | None = None,
             n_bins: int = 10, silenced=None) -> Evaluation:
    """Run ``network`` on ``X`` once; return an :class:`Evaluation`.

    ``silenced``: hidden units switched off, ``(layer, unit)`` pairs (``Network.keep_masks``);
    the evaluation is then of the network without them.

    ``l2`` and ``m`` add the report's L2 term to ``cost`` (``m`` = the batch size the model trained
    with, as ``digitlab evaluate`` and the trainer do); ``cross_entropy`` never includes it.
    """
    y = np.asarray(y, dtype=np.intp)
    proba = np.asarray(network.predict_proba(X, silenced) if silenced else network.predict_proba(X),
                       dtype=np.float64)
    n, k = proba.shape
    pred = np.argmax(proba, axis=1)
    conf = proba[np.arange(n), pred]
    # log of the true class's probability, floored like the network's own cross-entropy would be
    ce = float(-np.mean(np.log(np.maximum(proba[np.arange(n), y], 1e-300)))) if n else float("nan")
    cost = ce + (l2 / (2 * (m or n)) * network.l2_sum() if l2 else 0.0)
    cm = confusion_matrix(y, pred, k)
    return Evaluation(name=name, proba=proba, y=y, pred=pred, confidence=conf, cost=float(cost),
                      cross_entropy=ce, accuracy=float(np.mean(pred == y)) if n else float("nan"),
                      cm=cm, scores=per_class_scores(cm), calibration=reliability(proba, y, n_bins))


def misclassified(proba, y, limit: int | None = None) -> np.ndarray:
    """Indices where ``argmax(proba) != y``, by decreasing confidence (ties: lower index first)."""
    proba = np.asarray(proba)
    y = np.asarray(y)
    pred = np.argmax(proba, axis=1)
    wrong = np.flatnonzero(pred != y)
    conf = proba[wrong, pred[wrong]]
    order = wrong[np.lexsort((wrong, -conf))]
    return order if limit is None else order[:limit]


@dataclass(eq=False)
class Comparison:
    """Two models on the same set.

    Attributes
    ----------
    a, b : Evaluation
    only_a : indices that ``a`` gets right and ``b`` wrong, ``b``'s most confident mistakes first
    only_b : indices that ``b`` gets right and ``a`` wrong, ``a``'s most confident mistakes first
    both_wrong : indices both get wrong
    recall_diff, precision_diff : (classes,) ``b - a`` per class
    cm_diff : ``b.cm - a.cm``
    """

    a: Evaluation
    b: Evaluation
    only_a: np.ndarray
    only_b: np.ndarray
    both_wrong: np.ndarray
    recall_diff: np.ndarray
    precision_diff: np.ndarray
    cm_diff: np.ndarray

    def rows(self) -> list[dict]:
        """Per class: the recall (per-class accuracy) and precision of both, and b - a."""
        out = []
        for k in range(self.a.n_classes):
            out.append({
                "Digit": k,
                f"Recall {self.a.name}": float(self.a.scores["recall"][k]),
                f"Recall {self.b.name}": float(self.b.scores["recall"][k]),
                "Recall difference": float(self.recall_diff[k]),
                f"Precision {self.a.name}": float(self.a.scores["precision"][k]),
                f"Precision {self.b.name}": float(self.b.scores["precision"][k]),
                "Precision difference": float(self.precision_diff[k]),
            })
        return out


def compare(a: Evaluation, b: Evaluation) -> Comparison:
    """Compare two evaluations of the same labelled set."""
    if a.n != b.n or not np.array_equal(a.y, b.y):
        raise ValueError("the two evaluations are not on the same labelled set")
    ca, cb = a.correct, b.correct

    def by_confidence(mask, wrong_eval):
        idx = np.flatnonzero(mask)
        conf = wrong_eval.confidence[idx]
        return idx[np.lexsort((idx, -conf))]

    return Comparison(
        a=a, b=b,
        only_a=by_confidence(ca & ~cb, b),
        only_b=by_confidence(cb & ~ca, a),
        both_wrong=np.flatnonzero(~ca & ~cb),
        recall_diff=b.scores["recall"] - a.scores["recall"],
        precision_diff=b.scores["precision"] - a.scores["precision"],
        cm_diff=b.cm.astype(int) - a.cm.astype(int),
    )


def layer_histograms(networks, bins: int = 60, quantile: float = 0.999):
    """Common histogram edges per layer for several networks' weights.

    Returns ``[(edges, [counts per network])]`` per weight layer; the range is symmetric and covers
    ``quantile`` of the absolute weights of all the networks, so one outlier does not squash the rest.
    Small layers get fewer bins (about a third of their weight count, at least 8).
    """
    networks = list(networks)
    out = []
    for layer in range(min(n.n_layers for n in networks)):
        values = [np.asarray(n.weights[layer], dtype=float).ravel() for n in networks]
        top = float(np.quantile(np.abs(np.concatenate(values)), quantile)) or 1.0
        n_bins = int(min(bins, max(8, values[0].size // 3)))
        edges = np.linspace(-top, top, n_bins + 1)
        out.append((edges, [np.histogram(np.clip(v, -top, top), edges)[0] for v in values]))
    return out
