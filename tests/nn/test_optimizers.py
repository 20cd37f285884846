import numpy as np
import pytest

from digitlab.nn import SGD, Adam, Momentum, make_optimizer


def _quadratic_descent(opt_factory, lr, steps=200):
    """Minimise 0.5 * sum(a * p^2): the optimum is 0."""
    a = np.array([1.0, 10.0, 0.1])
    p = np.array([1.0, -2.0, 3.0])
    opt = opt_factory(p)
    for _ in range(steps):
        opt.step(a * p, lr)
    return p


def test_sgd_is_plain_gradient_descent():
    p = np.array([1.0, 2.0])
    SGD(p).step(np.array([0.5, -1.0]), 0.1)
    np.testing.assert_allclose(p, [0.95, 2.1])


def test_momentum_accumulates_velocity():
    p = np.array([0.0])
    opt = Momentum(p, 0.9)
    opt.step(np.array([1.0]), 0.1)
    opt.step(np.array([1.0]), 0.1)
    np.testing.assert_allclose(p, [-0.1 - 0.19])


def test_adam_first_step_has_size_lr_in_each_coordinate():
    p = np.array([0.0, 0.0])
    Adam(p).step(np.array([0.5, -50.0]), 0.01)
    np.testing.assert_allclose(p, [-0.01, 0.01], rtol=1e-4)


@pytest.mark.parametrize("factory, lr", [(SGD, 0.1), (lambda p: Momentum(p, 0.9), 0.02), (Adam, 0.05)])
def test_each_optimiser_converges_on_a_quadratic(factory, lr):
    p = _quadratic_descent(factory, lr, steps=2000)
    assert np.max(np.abs(p)) < 0.05


def test_unknown_optimiser_is_named():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("rmsprop", np.zeros(3))
