"""L2 regularisation exactly as the course report defines it, in one place.

Cost ``+ lambda / (2 m) * sum(W**2)`` and gradient ``+ (lambda / m) * W`` over every weight
matrix, with m the number of examples in the batch. Biases and batch-norm parameters are not
penalised.
"""

from __future__ import annotations

import numpy as np


def l2_penalty(l2: float, m: int, sum_of_squares: float) -> float:
    """The report's penalty ``lambda / (2 m) * sum(W**2)``."""
    return l2 / (2 * m) * sum_of_squares


def sum_of_squares(weights) -> float:
    """``sum(W**2)`` over the weight matrices ``weights``."""
    return float(sum(np.dot(W.ravel(), W.ravel()) for W in weights))


class FlatL2:
    """The penalty and its gradient for all the weights of a flat parameter buffer at once.

    The training fast path: one masked copy of the buffer (``mask`` is 1 where it holds a weight)
    gives both ``sum(W**2)`` and ``(lambda / m) W``, added to the flat gradient in one operation.
    """

    def __init__(self, mask: np.ndarray):
        self.mask = mask
        self._masked = np.empty_like(mask)

    def add_gradient(self, params: np.ndarray, grads: np.ndarray, l2: float, m: int) -> float:
        """Add the penalty's gradient to ``grads``; return the penalty."""
        masked = np.multiply(params, self.mask, out=self._masked)
        penalty = l2_penalty(l2, m, float(masked @ masked))
        masked *= l2 / m
        grads += masked
        return penalty
