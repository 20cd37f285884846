"""The course report's network the way its code was written: the textbook baseline for speed.

float64, examples as columns ``(784, m)``, a dict of parameters, tuple caches per layer, and a
shuffled copy of X every epoch, as in the classic deep-learning course notebooks the report's
``l_layer_model`` comes from. Used only by ``benchmarks/train_speed.py`` to time the same work in
the same run; it is not part of digitlab.
"""

import numpy as np


def initialize(layer_dims, rng):
    params = {}
    for l in range(1, len(layer_dims)):
        params["W" + str(l)] = (rng.standard_normal((layer_dims[l], layer_dims[l - 1]))
                                * np.sqrt(2 / layer_dims[l - 1]))
        params["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return params


def linear_forward(A, W, b):
    Z = np.dot(W, A) + b
    return Z, (A, W, b)


def relu(Z):
    return np.maximum(0, Z), Z


def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True), Z


def batchnorm_forward(Z, eps=1e-5):
    mu = np.mean(Z, axis=1, keepdims=True)
    var = np.var(Z, axis=1, keepdims=True)
    Zn = (Z - mu) / np.sqrt(var + eps)
    return Zn, (Z, mu, var, eps)


def batchnorm_backward(dZn, cache):
    Z, mu, var, eps = cache
    m = Z.shape[1]
    std_inv = 1.0 / np.sqrt(var + eps)
    Zc = Z - mu
    dvar = np.sum(dZn * Zc, axis=1, keepdims=True) * -0.5 * std_inv ** 3
    dmu = np.sum(dZn * -std_inv, axis=1, keepdims=True) + dvar * np.mean(-2.0 * Zc, axis=1, keepdims=True)
    return dZn * std_inv + dvar * 2 * Zc / m + dmu / m


def l_model_forward(X, params, use_batchnorm):
    caches = []
    A = X
    L = len(params) // 2
    for l in range(1, L):
        Z, lin = linear_forward(A, params["W" + str(l)], params["b" + str(l)])
        bn = None
        if use_batchnorm:
            Z, bn = batchnorm_forward(Z)
        A, act = relu(Z)
        caches.append((lin, bn, act))
    Z, lin = linear_forward(A, params["W" + str(L)], params["b" + str(L)])
    AL, act = softmax(Z)
    caches.append((lin, None, act))
    return AL, caches


def compute_cost(AL, Y, params, lambd):
    m = Y.shape[1]
    cost = -np.sum(Y * np.log(AL + 1e-12)) / m
    if lambd:
        cost += lambd / (2 * m) * sum(np.sum(np.square(params["W" + str(l)]))
                                      for l in range(1, len(params) // 2 + 1))
    return cost


def l_model_backward(AL, Y, caches, lambd, use_batchnorm):
    grads = {}
    L = len(caches)
    m = AL.shape[1]
    dZ = AL - Y
    for l in reversed(range(L)):
        (A_prev, W, b), bn, act = caches[l]
        if l < L - 1:
            dZ = dA * (act > 0)   # noqa: F821 (dA is the previous iteration's; the first skips this)
            if use_batchnorm:
                dZ = batchnorm_backward(dZ, bn)
        grads["dW" + str(l + 1)] = np.dot(dZ, A_prev.T) / m + (lambd / m) * W
        grads["db" + str(l + 1)] = np.sum(dZ, axis=1, keepdims=True) / m
        dA = np.dot(W.T, dZ)   # noqa: F841 (read by the next iteration)
    return grads


def update_parameters(params, grads, lr):
    for l in range(1, len(params) // 2 + 1):
        params["W" + str(l)] -= lr * grads["dW" + str(l)]
        params["b" + str(l)] -= lr * grads["db" + str(l)]
    return params


def epoch(X, Y, params, rng, lr=0.009, batch_size=256, lambd=0.0, use_batchnorm=False):
    """One epoch over columns of X (784, n) and one-hot Y (10, n)."""
    m = X.shape[1]
    perm = rng.permutation(m)
    Xs, Ys = X[:, perm], Y[:, perm]
    for k in range(0, m, batch_size):
        xb, yb = Xs[:, k:k + batch_size], Ys[:, k:k + batch_size]
        AL, caches = l_model_forward(xb, params, use_batchnorm)
        compute_cost(AL, yb, params, lambd)
        grads = l_model_backward(AL, yb, caches, lambd, use_batchnorm)
        params = update_parameters(params, grads, lr)
    return params


def validation_cost(X, Y, params, use_batchnorm):
    AL, _ = l_model_forward(X, params, use_batchnorm)
    return compute_cost(AL, Y, params, 0.0)
