"""The network's steps one by one: batch-norm folding, the fused loss, the flat L2, the running statistics."""

import numpy as np
import pytest

from digitlab.nn import Network, cross_entropy_from_logits, softmax
from digitlab.nn.l2 import FlatL2, l2_penalty, sum_of_squares
from digitlab.nn.layers import batch_norm_forward, fold_batch_norm
from digitlab.nn.loss import softmax_cross_entropy


def test_folded_batch_norm_is_the_layer_then_inference_batch_norm():
    rng = np.random.default_rng(0)
    A, W, b = rng.normal(size=(7, 5)), rng.normal(size=(5, 4)), rng.normal(size=4)
    gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    mean, var = rng.normal(size=4), rng.uniform(0.1, 3, 4)
    want = gamma * (A @ W + b - mean) / np.sqrt(var + 1e-5) + beta
    W2, b2 = fold_batch_norm(W, b, gamma, beta, mean, var, 1e-5)
    np.testing.assert_allclose(A @ W2 + b2, want, rtol=1e-12, atol=1e-12)


def test_batch_norm_forward_normalises_and_keeps_an_unbiased_running_variance():
    rng = np.random.default_rng(1)
    Z = rng.normal(3.0, 2.0, size=(32, 3))
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0])
    running_mean, running_var = np.zeros(3), np.ones(3)
    expected_var = Z.var(axis=0, ddof=1)
    expected_mean = Z.mean(axis=0)
    Y, (xhat, inv_std) = batch_norm_forward(Z.copy(), gamma, beta, running_mean, running_var,
                                            np.ones(32), 0.9, 1e-5)
    np.testing.assert_allclose(xhat.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(xhat.std(axis=0), 1, rtol=1e-5)
    np.testing.assert_allclose(Y, xhat * gamma + beta, rtol=1e-12)
    np.testing.assert_allclose(running_mean, 0.1 * expected_mean, rtol=1e-12)
    np.testing.assert_allclose(running_var, 0.9 + 0.1 * expected_var, rtol=1e-12)


@pytest.mark.parametrize("spread", [3.0, 400.0])   # 400: rows far apart, the per-row fallback
def test_fused_training_loss_is_the_inference_cost_and_p_minus_onehot(spread):
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(6, 5)) * 3
    Z[0] += spread                                   # row 0 far above the others when spread is large
    y = np.array([0, 1, 2, 3, 4, 0])
    cost, dZ = softmax_cross_entropy(Z.copy(), y, np.arange(6), np.ones(5))
    assert cost == pytest.approx(cross_entropy_from_logits(Z, y), rel=1e-12)
    np.testing.assert_allclose(dZ, (softmax(Z) - np.eye(5)[y]) / 6, atol=1e-15)


def test_flat_l2_gives_the_reports_penalty_and_gradient_on_weights_only():
    net = Network((6, 5, 3), seed=2, dtype=np.float64)
    net.biases[0][...] = 1.0                          # biases present but never penalised
    mask = np.zeros_like(net.params)
    mask[: net.weights[0].size] = 1
    mask[net.weights[0].size + 5: net.weights[0].size + 5 + net.weights[1].size] = 1
    grads = np.zeros_like(net.params)
    penalty = FlatL2(mask).add_gradient(net.params, grads, 5.0, 8)
    assert penalty == pytest.approx(l2_penalty(5.0, 8, sum_of_squares(net.weights)), rel=1e-12)
    assert penalty == pytest.approx(5.0 / 16 * sum(np.sum(W ** 2) for W in net.weights), rel=1e-12)
    np.testing.assert_allclose(grads, 5.0 / 8 * net.params * mask, rtol=1e-15)
    assert not grads[net.weights[0].size: net.weights[0].size + 5].any()
