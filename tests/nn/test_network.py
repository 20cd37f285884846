"""The network: gradients against finite differences (input_scale too), softmax shortcut, L2, batch norm."""

import numpy as np
import pytest

from digitlab.nn import Network, cross_entropy_from_logits, softmax
from digitlab.nn import network as network_module
from digitlab.nn.activations import ACTIVATIONS


def _numeric_grad(net, X, y, l2, input_scale=1.0, eps=1e-6):
    """Central differences of the training cost for every parameter, running stats frozen."""
    saved = [(m.copy(), v.copy()) for m, v in zip(net.running_means, net.running_vars)]

    def cost():
        c = net.loss_and_grad(X, y, l2, input_scale)
        for (m, v), rm, rv in zip(saved, net.running_means, net.running_vars):
            rm[...], rv[...] = m, v
        return c

    num = np.zeros_like(net.params)
    for i in range(net.params.size):
        old = net.params[i]
        net.params[i] = old + eps
        plus = cost()
        net.params[i] = old - eps
        minus = cost()
        net.params[i] = old
        num[i] = (plus - minus) / (2 * eps)
    cost()
    return num


@pytest.mark.parametrize("sizes", [(12, 6, 5, 4), (12, 4)])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("l2", [0.0, 2.5])
@pytest.mark.parametrize("input_scale", [1.0, 1 / 255])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("sparse_input", [False, True], ids=["dense", "sparse-input"])
def test_every_gradient_matches_finite_differences(sizes, batch_norm, l2, input_scale, activation,
                                                   sparse_input, monkeypatch):
    # the sparse-input first layer (a wide network's) is forced on this small one by its threshold
    monkeypatch.setattr(network_module, "SPARSE_INPUT_MIN_UNITS", 1 if sparse_input else 10**9)
    rng = np.random.default_rng(7)
    net = Network(sizes, batch_norm=batch_norm, seed=1, dtype=np.float64, activation=activation)
    assert net._sparse_input is sparse_input
    if batch_norm and len(sizes) > 2:  # move gamma, beta and b away from their start so all paths are tested
        net.gammas[0][...] = rng.uniform(0.5, 1.5, 6)
        net.betas[1][...] = rng.uniform(-0.5, 0.5, 5)
        net.biases[0][...] = rng.normal(size=6)
    # input_scale is how the trainer feeds MNIST: raw pixel values 0..255 and 1/255 here
    X = rng.random((9, 12)) if input_scale == 1.0 else rng.integers(0, 256, (9, 12)).astype(np.float64)
    X[:, [0, 5, 11]] = 0.0        # empty columns, as MNIST's border pixels are in every batch
    for b in net.biases[len(sizes) - 2 if batch_norm else 0:]:
        b += rng.uniform(0.05, 0.2, b.size)   # no pre-activation exactly at ReLU's kink (a dead row)
    y = rng.integers(0, sizes[-1], 9)
    net.loss_and_grad(X, y, l2, input_scale)
    analytic = net.grads.copy()
    numeric = _numeric_grad(net, X, y, l2, input_scale)
    assert np.max(np.abs(analytic - numeric)) < 1e-7 * max(1.0, np.max(np.abs(numeric)))
    # and the gradient is not trivially zero
    assert np.abs(analytic).max() > 1e-3


@pytest.mark.parametrize("sizes", [(12, 6, 5, 4), (12, 4)])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_input_scale_trains_exactly_like_scaled_inputs(sizes, batch_norm):
    """Raw pixels with input_scale 1/255 are the same network as pixels divided by 255."""
    rng = np.random.default_rng(11)
    raw = rng.integers(0, 256, (16, 12)).astype(np.float64)
    y = rng.integers(0, sizes[-1], 16)
    scaled_net = Network(sizes, batch_norm=batch_norm, seed=2, dtype=np.float64)
    raw_net = scaled_net.copy()
    want = scaled_net.loss_and_grad(raw / 255, y, 1.5)
    got = raw_net.loss_and_grad(raw, y, 1.5, 1 / 255)
    assert got == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(raw_net.grads, scaled_net.grads, rtol=1e-9, atol=1e-13)
    for a, b in zip(raw_net.running_means, scaled_net.running_means):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_sparse_input_first_layer_is_the_dense_layer_without_its_empty_columns(batch_norm, monkeypatch):
    """A wide first layer multiplies only the batch's non-empty pixel columns: same cost, gradients
    and running statistics as the dense product, and exact zeros for the empty columns' weights."""
    rng = np.random.default_rng(5)
    X = rng.integers(0, 256, (32, 784)).astype(np.float64)
    X[:, :200] = 0.0
    X[rng.random(X.shape) < 0.7] = 0.0
    y = rng.integers(0, 10, 32)
    sparse = Network((784, 128, 10), batch_norm=batch_norm, seed=4, dtype=np.float64)
    assert sparse._sparse_input
    monkeypatch.setattr(network_module, "SPARSE_INPUT_MIN_UNITS", 10**9)
    dense = sparse.copy()
    assert not dense._sparse_input
    cost_sparse = sparse.loss_and_grad(X, y, 2.0, 1 / 255)
    cost_dense = dense.loss_and_grad(X, y, 2.0, 1 / 255)
    assert cost_sparse == pytest.approx(cost_dense, rel=1e-12)
    np.testing.assert_allclose(sparse.grads, dense.grads, rtol=1e-9, atol=1e-13)
    for a, b in zip(sparse.running_means + sparse.running_vars, dense.running_means + dense.running_vars):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)
    empty = ~X.any(axis=0)
    assert empty.sum() >= 200
    # the weights of the empty columns get exactly no gradient except L2's pull (2.0 / 32 * W)
    np.testing.assert_array_equal(sparse._dW[0][empty], (2.0 / 32) * sparse.weights[0][empty])


def test_only_a_wide_first_layer_takes_the_sparse_input_path():
    """The report's 20-unit first layer keeps the dense product (its runs stay bit for bit)."""
    assert not Network((784, 20, 7, 5, 10))._sparse_input
    assert not Network((784, 64, 10))._sparse_input
    assert Network((784, 100, 10))._sparse_input
    assert Network((784, 1024, 512, 10))._sparse_input


def test_softmax_cross_entropy_shortcut_is_p_minus_onehot():
    rng = np.random.default_rng(0)
    net = Network((3, 4), seed=0, dtype=np.float64)     # one layer: dW = X^T (P - Y) / m
    X = rng.random((5, 3))
    y = np.array([0, 1, 2, 3, 1])
    net.loss_and_grad(X, y)
    P = softmax(X @ net.weights[0] + net.biases[0])
    Y = np.eye(4)[y]
    np.testing.assert_allclose(net._dW[0], X.T @ (P - Y) / 5, atol=1e-12)
    np.testing.assert_allclose(net._db[0], (P - Y).mean(axis=0), atol=1e-12)


def test_l2_term_and_gradient_follow_the_report():
    rng = np.random.default_rng(1)
    net = Network((6, 5, 3), seed=2, dtype=np.float64)
    X, y = rng.random((8, 6)), rng.integers(0, 3, 8)
    plain = net.loss_and_grad(X, y, 0.0)
    g_plain = net.grads.copy()
    lam = 5.0
    penalised = net.loss_and_grad(X, y, lam)
    sum_sq = sum(np.sum(W ** 2) for W in net.weights)
    assert penalised == pytest.approx(plain + lam / (2 * 8) * sum_sq, rel=1e-12)
    dW_extra = net._dW[0] - g_plain[: net.weights[0].size].reshape(net.weights[0].shape)
    np.testing.assert_allclose(dW_extra, lam / 8 * net.weights[0], atol=1e-12)
    # biases are not penalised
    np.testing.assert_allclose(net._db[0], g_plain[net.weights[0].size: net.weights[0].size + 5])


def test_cross_entropy_is_stable_for_huge_logits():
    Z = np.array([[1000.0, -1000.0, 0.0], [-5000.0, 5000.0, 1.0]])
    assert cross_entropy_from_logits(Z, np.array([0, 1])) == pytest.approx(0.0, abs=1e-12)
    # the wrong class with a huge margin: a large finite cost, not inf or nan
    assert cross_entropy_from_logits(Z, np.array([1, 0])) == pytest.approx((2000.0 + 10000.0) / 2, rel=1e-9)
    P = softmax(Z.copy())
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=1), 1)


def test_training_cost_is_finite_with_huge_logits_in_one_row():
    net = Network((2, 3), seed=0, dtype=np.float64)
    net.weights[0][...] = [[400.0, -400.0, 0.0], [0.0, 0.0, 0.0]]
    X = np.array([[1.0, 0.0], [0.0, 1.0]])   # row 0 has logits 400 apart, row 1 is flat
    cost = net.loss_and_grad(X, np.array([1, 2]), 0.0)
    assert np.isfinite(cost) and cost == pytest.approx((800 + np.log(3)) / 2, rel=1e-9)
    assert np.all(np.isfinite(net.grads))


def test_he_and_fixed_initialisation_are_gaussian_with_zero_biases():
    net = Network((784, 200, 10), init="he", seed=0)
    assert np.std(net.weights[0]) == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert np.mean(net.weights[0]) == pytest.approx(0, abs=1e-3)
    fixed = Network((784, 200, 10), init="normal", init_std=0.01, seed=0)
    assert np.std(fixed.weights[0]) == pytest.approx(0.01, rel=0.02)
    for b in net.biases + fixed.biases:
        assert not b.any()
    same = Network((784, 200, 10), init="he", seed=0)
    np.testing.assert_array_equal(net.params, same.params)
    assert not np.array_equal(net.params, Network((784, 200, 10), seed=1).params)


@pytest.mark.parametrize("kwargs, message", [
    ({"layer_sizes": (784,)}, "at least an input and an output"),
    ({"layer_sizes": (784, 0, 10)}, ">= 1"),
    ({"init": "xavier"}, "init must be one of"),
    ({"init": "normal", "init_std": 0}, "init_std must be > 0, got 0"),
    ({"activation": "swish"}, "activation must be one of relu, leaky_relu, tanh, sigmoid, got 'swish'"),
    ({"init": "x", "activation": "y"}, "invalid network settings: init must be one of he, normal, got 'x'; "
                                       "activation must be one of"),
])
def test_bad_settings_are_rejected_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


def test_batch_norm_inference_gives_each_image_the_same_answer_alone_or_in_any_batch():
    rng = np.random.default_rng(3)
    net = Network((20, 8, 6, 3), batch_norm=True, seed=4)
    for _ in range(30):  # train a little so running statistics and gamma/beta are not trivial
        X = rng.random((16, 20), dtype=np.float32)
        net.loss_and_grad(X, rng.integers(0, 3, 16))
        net.params -= 0.1 * net.grads
    X = rng.random((50, 20), dtype=np.float32)
    batch = net.predict_proba(X)
    for i in (0, 17, 49):
        np.testing.assert_allclose(net.predict_one(X[i]), batch[i], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(net.predict_proba(X[[i, 3, 5]])[0], batch[i], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(batch.sum(axis=1), 1, rtol=1e-5)


def test_batch_norm_training_normalises_each_hidden_unit_over_the_batch():
    rng = np.random.default_rng(5)
    net = Network((10, 6, 3), batch_norm=True, seed=0, dtype=np.float64)
    net.gammas[0][...] = 1.0
    X = rng.random((64, 10)) * 3 + 1
    # hook: with gamma 1 and beta 0, the pre-ReLU values are the normalised ones
    Z = X @ net.weights[0] + net.biases[0]
    xhat = (Z - Z.mean(0)) / np.sqrt(Z.var(0) + net.bn_eps)
    net.loss_and_grad(X, rng.integers(0, 3, 64))
    # the running mean moved 10 % of the way to the batch mean
    np.testing.assert_allclose(net.running_means[0], 0.1 * Z.mean(0), rtol=1e-10)
    np.testing.assert_allclose(xhat.mean(0), 0, atol=1e-12)


def test_float32_and_float64_agree_and_predict_one_matches_predict_proba():
    rng = np.random.default_rng(2)
    net = Network(seed=3)
    net64 = net.copy(dtype=np.float64)
    X = rng.random((10, 784))
    np.testing.assert_allclose(net.predict_proba(X), net64.predict_proba(X), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net.predict_one(X[4].reshape(28, 28)), net.predict_proba(X)[4], rtol=1e-6)


def test_state_round_trip_and_repr():
    net = Network(batch_norm=True, seed=9)
    other = Network(batch_norm=True, seed=10)
    other.load_state(net.state())
    np.testing.assert_array_equal(other.params, net.params)
    assert "784-20-7-5-10" in repr(net) and "batch_norm" in repr(net)
    with pytest.raises(ValueError, match="missing"):
        Network(seed=0).load_state(net.state())


def test_mean_abs_weights_is_the_reports_table():
    net = Network(seed=0)
    assert net.mean_abs_weights() == pytest.approx([float(np.abs(W).mean()) for W in net.weights])
    assert len(net.mean_abs_weights()) == 4


def _fixed_masks(rng, m, units, rates):
    """Inverted-dropout masks drawn once: 0 where a unit is dropped, 1 / (1 - p) where kept."""
    return [None if p == 0 else (rng.random((m, u)) >= p) / (1 - p) for u, p in zip(units, rates)]


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("sparse_input", [False, True], ids=["dense", "sparse-input"])
def test_dropout_gradient_matches_finite_differences_with_a_fixed_mask(batch_norm, activation, sparse_input,
                                                                       monkeypatch):
    """With the masks held fixed the thinned network is a plain function of the parameters, so
    its gradient is checked like any other: through the mask and the activation's derivative at
    the unmasked output (tanh's and sigmoid's derivatives read it)."""
    monkeypatch.setattr(network_module, "SPARSE_INPUT_MIN_UNITS", 1 if sparse_input else 10**9)
    rng = np.random.default_rng(21)
    sizes = (12, 6, 5, 4)
    net = Network(sizes, batch_norm=batch_norm, seed=3, dtype=np.float64, activation=activation)
    if batch_norm:
        net.gammas[0][...] = rng.uniform(0.5, 1.5, 6)
        net.betas[1][...] = rng.uniform(-0.5, 0.5, 5)
    for b in net.biases:
        b += rng.uniform(0.05, 0.2, b.size)
    X = rng.integers(0, 256, (9, 12)).astype(np.float64)
    X[:, [0, 5]] = 0.0
    y = rng.integers(0, 4, 9)
    masks = _fixed_masks(rng, 9, sizes[1:-1], (0.5, 0.3))
    assert all(np.any(mk == 0) and np.any(mk > 1) for mk in masks)
    cost = net.loss_and_grad(X, y, 1.5, 1 / 255, dropout_masks=masks)
    analytic = net.grads.copy()
    saved = [(m.copy(), v.copy()) for m, v in zip(net.running_means, net.running_vars)]

    def f():
        c = net.loss_and_grad(X, y, 1.5, 1 / 255, dropout_masks=masks)
        for (m, v), rm, rv in zip(saved, net.running_means, net.running_vars):
            rm[...], rv[...] = m, v
        return c

    eps, numeric = 1e-6, np.zeros_like(net.params)
    for i in range(net.params.size):
        old = net.params[i]
        net.params[i] = old + eps
        plus = f()
        net.params[i] = old - eps
        minus = f()
        net.params[i] = old
        numeric[i] = (plus - minus) / (2 * eps)
    assert np.max(np.abs(analytic - numeric)) < 1e-7 * max(1.0, np.max(np.abs(numeric)))
    # the masks matter: without them the cost and the gradient differ
    assert net.loss_and_grad(X, y, 1.5, 1 / 255) != pytest.approx(cost)
    assert not np.allclose(net.grads, analytic)
    # a dropped unit's incoming weights get no gradient from the examples that dropped it: with
    # the unit dropped for every example, only L2's pull on its weights is left
    all_dropped = [np.ones((9, 6)), np.ones((9, 5))]
    all_dropped[1][:, 2] = 0.0
    net.loss_and_grad(X, y, 0.0, 1 / 255, dropout_masks=all_dropped)
    np.testing.assert_array_equal(net._dW[1][:, 2], 0.0)
    np.testing.assert_array_equal(net._dW[2][2], 0.0)


def test_all_ones_masks_are_the_network_without_dropout():
    rng = np.random.default_rng(2)
    net = Network((12, 6, 5, 4), seed=1, dtype=np.float64, activation="tanh")
    X, y = rng.random((7, 12)), rng.integers(0, 4, 7)
    plain = net.loss_and_grad(X, y, 0.5)
    grads = net.grads.copy()
    assert net.loss_and_grad(X, y, 0.5, dropout_masks=[np.ones((7, 6)), None]) == plain
    np.testing.assert_array_equal(net.grads, grads)
    with pytest.raises(ValueError, match="one per hidden layer"):
        net.loss_and_grad(X, y, dropout_masks=[None])
