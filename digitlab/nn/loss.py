"""Softmax with cross-entropy: the output layer's probabilities, cost and gradient.

For logits ``Z`` (one row per example) and integer labels ``y``, the probabilities are
``P = exp(Z) / sum(exp(Z))`` per row and the cost is the mean of ``log(sum(exp(Z))) - Z[y]`` (the
log of a probability written as a log-sum-exp, so that log never sees 0). Shifting a row by any
constant changes neither, so every function here subtracts a maximum first: exp then never
overflows, since the largest exponent is 0. The gradient of the mean cost with respect to ``Z`` is
``(P - onehot(y)) / m``: the Jacobian of softmax and the ``1/p`` of the log cancel, which is why the
two are always paired.

Three entry points, each tuned for its caller and kept numerically as it was so that shipped
models and seeded runs give the same bits: :func:`softmax` (inference probabilities),
:func:`cross_entropy_from_logits` (inference cost, e.g. the validation checks) and
:func:`softmax_cross_entropy` (training: cost and gradient from one pass, the fast path).
"""

from __future__ import annotations

import numpy as np


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so that exp cannot overflow."""
    Z = Z - Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def cross_entropy_from_logits(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean categorical cross-entropy of integer labels ``y`` given logits ``Z``, computed stably.

    Row maxima are taken over a transposed copy: NumPy reduces a (n, 10) array along its short
    axis about fifty times slower than along its long one.
    """
    Z = Z - np.ascontiguousarray(Z.T).max(axis=0)[:, None]
    log_s = np.log(np.exp(Z) @ np.ones(Z.shape[1], dtype=Z.dtype))
    return float(np.mean(log_s - Z[np.arange(len(y)), y]))


def softmax_cross_entropy(Z: np.ndarray, y: np.ndarray, rows: np.ndarray,
                          ones: np.ndarray) -> tuple[float, np.ndarray]:
    """Training's mean cost and its gradient ``dZ = (P - onehot(y)) / m``; overwrites ``Z``.

    ``rows`` is ``arange(m)`` and ``ones`` is ``ones(classes)``, both made once by the caller. The
    fast path shifts by the whole batch's maximum (one fast reduction instead of m row maxima) and
    sums rows as a product with ``ones``. Only if that underflows a whole row (logits more than
    ~70 apart across rows) does it pay for the exact per-row shift.
    """
    m = Z.shape[0]
    Z -= Z.max()
    E = np.exp(Z)
    S = E @ ones
    if S.min() < 1e-30:
        # Shift each row by its own maximum; the batch shift above needs no undoing, since a
        # constant per row changes nothing.
        Z -= Z.max(axis=1, keepdims=True)
        np.exp(Z, out=E)
        S = E @ ones
    cost = float(np.log(S).sum() - Z[rows, y].sum()) / m
    dZ = E
    dZ /= S[:, None]
    dZ[rows, y] -= 1.0
    dZ /= m
    return cost, dZ
