"""Training with another activation or with dropout: the settings are checked, a seed gives the
same run bit for bit, dropout draws from its own stream and is off at inference."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.data import Splits
from digitlab.nn.activations import ACTIVATIONS
from digitlab.training import TrainConfig, train
from digitlab.training.config import format_dropout, parse_dropout
from digitlab.training.trainer import initial_network_problems


def _splits(seed=0, n=400):
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((784, 10))

    def part(k):
        x = rng.random((k, 784), dtype=np.float32)
        return x, np.argmax(x @ teacher, axis=1).astype(np.int64)

    return Splits(*part(n), *part(120), *part(120), "synthetic", "0")


SPLITS = _splits()


def _run(**changes):
    config = TrainConfig(batch_size=50, eval_every=4, max_epochs=2, learning_rate=0.05, **changes)
    return train(config, SPLITS)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_the_same_seed_gives_the_same_run_with_dropout(activation):
    a, b = _run(activation=activation, dropout=0.3), _run(activation=activation, dropout=0.3)
    assert a.network.activation == activation
    assert np.array_equal(a.network.params, b.network.params)
    assert [c.train_cost for c in a.history.checks] == [c.train_cost for c in b.history.checks]
    # another seed draws other masks (and another initialisation)
    other = _run(activation=activation, dropout=0.3, seed=4)
    assert not np.array_equal(a.network.params, other.network.params)


def test_dropout_changes_training_but_not_the_shuffles_or_the_start():
    plain, dropped = _run(), _run(dropout=(0.5, 0.0, 0.0))
    assert not np.array_equal(plain.network.params, dropped.network.params)
    # a layer with rate 0 everywhere is no dropout at all: the same run bit for bit
    assert np.array_equal(plain.network.params, _run(dropout=(0.0, 0.0, 0.0)).network.params)


def test_dropout_is_off_at_inference():
    result = _run(dropout=0.5)
    net = result.network
    x = SPLITS.x_test[:7]
    # predictions are deterministic and use every unit unscaled: the plain forward pass by hand
    A = x.astype(net.dtype)
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        A = np.maximum(A @ W + b, 0)
    Z = A @ net.weights[-1] + net.biases[-1]
    np.testing.assert_allclose(net.logits(x), Z, rtol=1e-5, atol=1e-6)
    assert np.array_equal(net.predict_proba(x), net.predict_proba(x))


def test_the_activation_reaches_the_network_and_a_starting_network_keeps_its_own():
    result = _run(activation="tanh")
    assert result.network.activation == "tanh"
    problems = initial_network_problems(TrainConfig(batch_size=50), result.network)
    assert any("hidden layers use tanh but the settings ask for relu" in p for p in problems)
    resumed = train(TrainConfig(batch_size=50, eval_every=4, max_epochs=1, learning_rate=0.05,
                                activation="tanh"), SPLITS, initial=result.network)
    assert resumed.network.activation == "tanh"


@pytest.mark.parametrize("text, rates", [
    ("0.2", (0.2,)), ("0.2,0.1,0", (0.2, 0.1, 0.0)), (" 0.5 0.25 ", (0.5, 0.25)), ("", ()), ("none", ()),
    ("0", ()), ("0,0,0", ()),
])
def test_dropout_text_becomes_rates(text, rates):
    assert parse_dropout(text) == rates


OUT_OF_RANGE = "a dropout rate must be in [0, 1) (the share of units dropped; 1 would drop them all), got "


@pytest.mark.parametrize("text, message", [
    ("1", OUT_OF_RANGE + "1"),
    ("0.2,x", "dropout rate must be a number, got 'x'"),
    ("-0.1", OUT_OF_RANGE + "-0.1"),
    ("nan", "a dropout rate must be a number in [0, 1), got nan"),
])
def test_bad_dropout_text_is_refused_in_words(text, message):
    with pytest.raises(ValueError) as info:
        parse_dropout(text)
    assert str(info.value) == message


def test_the_settings_check_activation_and_dropout():
    assert TrainConfig(dropout=0.2).dropout == (0.2,)
    assert TrainConfig(dropout=(0.2, 0.1, 0.0)).problems() == []
    assert TrainConfig(dropout=(0.2, 0.1)).problems() == [
        "dropout gives 2 rates but the network has 3 hidden layers; give one rate per hidden layer, "
        "or one for all"]
    assert TrainConfig(activation="swish").problems() == [
        "activation must be one of relu, leaky_relu, tanh, sigmoid, got 'swish'"]
    assert TrainConfig(dropout="0.2").problems() == [
        "dropout must be a list of rates, one per hidden layer (or one for all), got '0.2'"]
    config = TrainConfig(activation="leaky_relu", dropout=(0.2, 0.1, 0.0))
    assert config.dropout_per_layer() == (0.2, 0.1, 0.0)
    assert TrainConfig(dropout=0.3).dropout_per_layer() == (0.3, 0.3, 0.3)
    assert "leaky ReLU (slope 0.01), dropout 0.2,0.1,0" in config.describe()
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert format_dropout(()) == "none"
