"""The activation tables: every entry's derivative against finite differences, and a network with it.

A new activation needs its two table entries; these tests then check it with no further change.
"""

import numpy as np
import pytest

from digitlab.nn import Network
from digitlab.nn.activations import ACTIVATIONS, DERIVATIVES


def test_the_two_tables_name_the_same_activations():
    assert set(ACTIVATIONS) == set(DERIVATIVES)
    assert "relu" in ACTIVATIONS


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_from_the_output_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    # values away from 0, where ReLU and its relatives have a kink that central differences straddle
    Z = rng.uniform(0.05, 2.0, (6, 7)) * rng.choice([-1.0, 1.0], (6, 7))
    delta = rng.normal(size=Z.shape)
    f = ACTIVATIONS[name]
    eps = 1e-6
    numeric = (f(Z + eps) - f(Z - eps)) / (2 * eps) * delta
    A = f(Z.copy())
    analytic = delta.copy()
    DERIVATIVES[name](A, analytic)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert not np.allclose(analytic, delta)          # the derivative is not the identity here


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_works_in_place_and_returns_its_argument(name):
    Z = np.array([[-1.5, 0.0, 2.0]])
    before = Z.copy()
    out = ACTIVATIONS[name](Z)
    assert out is Z
    assert not np.array_equal(out, before)        # -1.5 is changed by every usual activation


def test_relu_values():
    np.testing.assert_array_equal(ACTIVATIONS["relu"](np.array([-2.0, -0.0, 0.5, 3.0])), [0.0, 0.0, 0.5, 3.0])
    delta = np.array([1.0, 2.0, 3.0])
    DERIVATIVES["relu"](np.array([0.0, 0.1, 4.0]), delta)
    np.testing.assert_array_equal(delta, [0.0, 2.0, 3.0])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_a_network_with_the_activation_uses_it_and_learns(name):
    rng = np.random.default_rng(1)
    net = Network((8, 16, 3), seed=0, dtype=np.float64, activation=name)
    assert net.copy().activation == name
    X = rng.normal(size=(60, 8))
    y = np.argmax(X[:, :3], axis=1)              # a rule a small network can learn
    hidden = net.hidden_activations(X)[0]
    np.testing.assert_array_equal(hidden, ACTIVATIONS[name](X @ net.weights[0] + net.biases[0]))
    first = net.loss_and_grad(X, y)
    for _ in range(200):
        net.loss_and_grad(X, y)
        net.params -= 0.5 * net.grads
    assert net.loss_and_grad(X, y) < 0.5 * first


def test_leaky_relu_tanh_and_sigmoid_values():
    from digitlab.nn.activations import LEAKY_SLOPE
    assert LEAKY_SLOPE == 0.01
    np.testing.assert_allclose(ACTIVATIONS["leaky_relu"](np.array([-2.0, 0.0, 3.0])), [-0.02, 0.0, 3.0])
    delta = np.array([1.0, 2.0, 3.0])
    DERIVATIVES["leaky_relu"](np.array([-0.02, 0.0, 3.0]), delta)
    np.testing.assert_allclose(delta, [0.01, 0.02, 3.0])
    np.testing.assert_allclose(ACTIVATIONS["tanh"](np.array([-1.0, 0.0, 2.0])), np.tanh([-1.0, 0.0, 2.0]))
    z = np.array([-3.0, 0.0, 0.5, 4.0])
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"](z.copy()), 1 / (1 + np.exp(-z)), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_finite_and_exact_at_the_extremes(dtype):
    """exp(-Z) would overflow far below -89 (float32); the sigmoid saturates to 0 and 1 instead,
    with no warning, and its derivative there is 0."""
    Z = np.array([-1e4, -500.0, -90.0, 90.0, 500.0, 1e4], dtype=dtype)
    with np.errstate(all="raise"):
        A = ACTIVATIONS["sigmoid"](Z)
        delta = np.ones_like(A)
        DERIVATIVES["sigmoid"](A, delta)
    np.testing.assert_array_equal(A, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(delta, 0)
    assert A.dtype == dtype
