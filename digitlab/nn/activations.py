"""Hidden-layer activations and their derivatives, as tables keyed by name (as scikit-learn does).

An activation works in place on the pre-activations ``Z`` and returns them, now the activations
``A``: the network keeps ``A`` for the backward pass and never needs ``Z`` again. Its derivative is
therefore written in terms of the output ``A`` and multiplies the incoming gradient ``delta`` in
place: ``delta *= f'(Z)``. That holds for the four here: ReLU ``A > 0``, leaky ReLU
``where(A > 0, 1, LEAKY_SLOPE)``, tanh ``1 - A**2``, sigmoid ``A * (1 - A)``.

Adding an activation is one entry in each table; tests/nn/test_activations.py then checks its
derivative against finite differences and trains a network with it, and tests/nn/test_network.py
runs the full gradient check with it. Model files record the hidden layers' activation by its key
here (``hidden_activation`` on /layers, docs/model-format.md), and a reader refuses a key it does
not know; an ONNX exporter maps ReLU, LeakyRelu (alpha = LEAKY_SLOPE), Tanh and Sigmoid one to one.
"""

from __future__ import annotations

import numpy as np

#: Leaky ReLU's slope for negative inputs, the usual 0.01 (PyTorch's and ONNX's default alpha).
LEAKY_SLOPE = 0.01


def relu(Z: np.ndarray) -> np.ndarray:
    """``max(Z, 0)``, in place."""
    np.maximum(Z, 0, out=Z)
    return Z


def relu_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= relu'(Z)`` from the output ``A = relu(Z)``: ``A > 0`` exactly where ``Z > 0``."""
    delta *= A > 0


def leaky_relu(Z: np.ndarray) -> np.ndarray:
    """``Z`` where positive, ``LEAKY_SLOPE * Z`` elsewhere, in place: a negative unit still
    passes a small gradient, so it cannot die as a ReLU unit can."""
    np.multiply(Z, LEAKY_SLOPE, out=Z, where=Z < 0)
    return Z


def leaky_relu_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= 1 or LEAKY_SLOPE``: the slope keeps the sign, so ``A > 0`` exactly where ``Z > 0``."""
    np.multiply(delta, LEAKY_SLOPE, out=delta, where=A <= 0)


def tanh(Z: np.ndarray) -> np.ndarray:
    """``tanh(Z)``, in place (saturates to exactly +-1 for large ``|Z|``, never overflows)."""
    np.tanh(Z, out=Z)
    return Z


def tanh_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= 1 - A**2``, since ``tanh'(Z) = 1 - tanh(Z)**2``."""
    delta *= 1 - A * A


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-Z))``, in place, written as ``(1 + tanh(Z / 2)) / 2``: the same function,
    but ``exp(-Z)`` would overflow (a warning, and inf) for ``Z`` below about -89 in float32,
    while tanh saturates cleanly, so a large ``|Z|`` gives exactly 0 or 1."""
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z += 1
    Z *= 0.5
    return Z


def sigmoid_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= A * (1 - A)``, since ``sigmoid'(Z) = sigmoid(Z) * (1 - sigmoid(Z))``."""
    delta *= A * (1 - A)


ACTIVATIONS = {"relu": relu, "leaky_relu": leaky_relu, "tanh": tanh, "sigmoid": sigmoid}
DERIVATIVES = {"relu": relu_derivative, "leaky_relu": leaky_relu_derivative, "tanh": tanh_derivative,
               "sigmoid": sigmoid_derivative}

#: How people read each activation (the form's choices, the report's settings).
ACTIVATION_WORDS = {"relu": "ReLU", "leaky_relu": "leaky ReLU (slope 0.01)", "tanh": "tanh",
                    "sigmoid": "sigmoid"}

#: The smallest and largest value each activation can give (None: unbounded), e.g. for a plot's axis.
ACTIVATION_RANGES = {"relu": (0.0, None), "leaky_relu": (None, None), "tanh": (-1.0, 1.0),
                     "sigmoid": (0.0, 1.0)}
