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
