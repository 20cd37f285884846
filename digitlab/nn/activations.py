"""Hidden-layer activations and their derivatives, as tables keyed by name (as scikit-learn does).

An activation works in place on the pre-activations ``Z`` and returns them, now the activations
``A``: the network keeps ``A`` for the backward pass and never needs ``Z`` again. Its derivative is
therefore written in terms of the output ``A`` and multiplies the incoming gradient ``delta`` in
place: ``delta *= f'(Z)``. That holds for the usual ones: ReLU ``A > 0``, tanh ``1 - A**2``,
sigmoid ``A * (1 - A)``, leaky ReLU ``where(A > 0, 1, slope)``.

Adding an activation is one entry in each table; tests/nn/test_activations.py then checks its
derivative against finite differences and trains a network with it, and tests/nn/test_network.py
runs the full gradient check with it. Model files do not record the activation yet (with ReLU the
only entry there is nothing to record): the change that adds a second one must also save it.
"""

from __future__ import annotations

import numpy as np


def relu(Z: np.ndarray) -> np.ndarray:
    """``max(Z, 0)``, in place."""
    np.maximum(Z, 0, out=Z)
    return Z


def relu_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= relu'(Z)`` from the output ``A = relu(Z)``: ``A > 0`` exactly where ``Z > 0``."""
    delta *= A > 0


ACTIVATIONS = {"relu": relu}
DERIVATIVES = {"relu": relu_derivative}
