"""Forward and backward steps of one layer: the affine map and batch normalisation.

Row-major: a batch ``A`` is ``(m, fan_in)``, a weight matrix ``(fan_in, fan_out)``, so a layer is
``Z = A @ W + b``. Column sums over the batch are written as products with a ones vector
(``ones`` is ``ones(m)``, made once per batch size by the caller): at these sizes a matmul is
several times faster than NumPy's axis-0 reduction. Gradients are written into the caller's
arrays (views into the network's flat gradient buffer), so nothing is allocated for them.
"""

from __future__ import annotations

import numpy as np


def affine_forward(A: np.ndarray, W: np.ndarray, b: np.ndarray | None,
                   input_scale: float = 1.0) -> np.ndarray:
    """``Z = input_scale * (A @ W) + b``; ``b`` None for a normalised layer (its bias would cancel).

    ``input_scale`` lets the first layer take raw pixel values (0..255) with ``1/255`` here:
    scaling the small (m, units) product instead of the (m, 784) batch saves a pass over every
    pixel of every batch.
    """
    Z = A @ W
    if input_scale != 1.0:
        Z *= input_scale
    if b is not None:
        Z += b
    return Z


def affine_backward(A: np.ndarray, dZ: np.ndarray, ones: np.ndarray, dW: np.ndarray,
                    db: np.ndarray | None, input_scale: float = 1.0) -> None:
    """``dW = input_scale * A.T @ dZ`` and ``db = sum(dZ)`` into the given arrays (``db`` None: skip).

    The gradient for the layer's input, ``dZ @ W.T``, is left to the caller, which needs it for
    every layer but the first.
    """
    np.matmul(A.T, dZ, out=dW)
    if input_scale != 1.0:
        dW *= input_scale
    if db is not None:
        np.matmul(ones, dZ, out=db)


#: A first layer at least this wide multiplies only the input columns that hold ink somewhere in
#: the batch (:func:`sparse_input_forward`). MNIST pixels are 81 % zero and a batch of 256 digits
#: leaves about 227 of the 784 columns empty (the border), so a wide first layer's two large
#: products shrink by about 29 %. Gathering the kept rows of the weights costs a pass over them,
#: which pays from about 100 units (measured: a step at 64 units is 10 % slower sparse, at 100
#: units 19 % faster). Below, the dense product also keeps the report's 20-unit runs and the
#: shipped models' training bit for bit as they were.
SPARSE_INPUT_MIN_UNITS = 100


def sparse_input_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray | None, input_scale: float = 1.0):
    """``Z = (input_scale * X) @ W + b`` over only the columns of ``X`` that are not all zero.

    The zero columns add nothing to the product, so leaving them out changes the sum only by
    rounding order. The kept columns are gathered (and scaled, a pass over the small gathered
    batch rather than over the product) once, and kept for :func:`sparse_input_backward`.
    Returns ``Z`` and that cache.
    """
    used = X.any(axis=0)
    cols = np.flatnonzero(used)
    Xc = X[:, cols]
    if input_scale != 1.0:
        Xc *= input_scale
    Z = Xc @ W[cols]
    if b is not None:
        Z += b
    return Z, (Xc, cols, np.flatnonzero(~used))


def sparse_input_backward(cache, dZ: np.ndarray, ones: np.ndarray, dW: np.ndarray,
                          db: np.ndarray | None) -> None:
    """``dW`` and ``db`` of :func:`sparse_input_forward`: the rows of the empty columns are exactly 0."""
    Xc, cols, empty = cache
    dW[cols] = Xc.T @ dZ
    dW[empty] = 0.0
    if db is not None:
        np.matmul(ones, dZ, out=db)


def batch_norm_forward(Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                       running_var: np.ndarray, ones: np.ndarray, momentum: float, eps: float):
    """Training mode: ``gamma * (Z - mean) / sqrt(var + eps) + beta`` with the batch's statistics.

    Overwrites ``Z`` (it becomes ``xhat``) and updates the running statistics in place:
    ``momentum * running + (1 - momentum) * batch``, the variance unbiased (m / (m - 1)) as the
    inference statistic. Returns the output and ``(xhat, inv_std)`` for the backward step.
    """
    m = Z.shape[0]
    mean = ones @ Z
    mean /= m
    Z -= mean
    var = ones @ (Z * Z)
    var /= m
    inv_std = 1.0 / np.sqrt(var + eps)
    Z *= inv_std
    xhat = Z
    Y = xhat * gamma
    Y += beta
    running_mean *= momentum
    running_mean += (1 - momentum) * mean
    running_var *= momentum
    running_var += (1 - momentum) * (m / max(m - 1, 1)) * var
    return Y, (xhat, inv_std)


def batch_norm_backward(dY: np.ndarray, cache, gamma: np.ndarray, ones: np.ndarray,
                        dgamma: np.ndarray, dbeta: np.ndarray) -> np.ndarray:
    """The gradient for the normalised layer's input, from the gradient for its output ``dY``.

    Writes ``dgamma`` and ``dbeta``; overwrites and returns ``dY``. The exact batch-norm backward,
    simplified (the batch statistics depend on every row, hence the two sums):
    ``dZ = gamma / (m sigma) * (m dY - sum dY - xhat sum(dY xhat))``.
    """
    xhat, inv_std = cache
    m = dY.shape[0]
    np.matmul(ones, dY, out=dbeta)
    np.matmul(ones, dY * xhat, out=dgamma)
    dY *= m
    dY -= dbeta
    dY -= xhat * dgamma
    dY *= gamma * inv_std / m
    return dY


def fold_batch_norm(W: np.ndarray, b: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                    running_mean: np.ndarray, running_var: np.ndarray, eps: float):
    """``(W, b)`` of the affine map that equals the layer followed by inference-mode batch norm."""
    scale = gamma / np.sqrt(running_var + eps)
    return W * scale, (b - running_mean) * scale + beta
