"""Evaluate > Inside for networks with other activations: the bars are the network's own hidden
activations (negative ones for tanh and leaky ReLU), the plot names the activation, and its axis
reaches below zero only where the activation can."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.data import Splits, load_dataset
from digitlab.gui.inside_view import InsideView
from digitlab.gui.model_pair import ModelPair
from digitlab.io import save_model
from digitlab.library import ModelLibrary
from digitlab.training import TrainConfig, train

FORWARD = {"tanh": np.tanh, "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
           "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}


def _splits():
    raw = load_dataset()
    x = raw.train_images[:600].reshape(600, -1).astype(np.float32) / 255
    y = raw.train_labels[:600].astype(np.int64)
    return Splits(x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:], "mnist-600", "0")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    splits = _splits()
    for activation in ("tanh", "leaky_relu", "sigmoid"):
        config = TrainConfig(activation=activation, batch_size=50, eval_every=4, max_epochs=2,
                             learning_rate=0.1, dropout=0.1, name=activation)
        save_model(folder / f"{activation}.h5", train(config, splits))
    return ModelLibrary(None, folder)


@pytest.fixture
def view(qtbot, library):
    view = InsideView(library, ModelPair(library))
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show()
    yield view
    assert view.shutdown(30000)


def _numpy_hidden(network, x):
    a, out = np.asarray(x, np.float64).reshape(-1), []
    for W, b in zip(network.weights[:-1], network.biases[:-1]):
        a = FORWARD[network.activation](a @ W.astype(np.float64) + b)
        out.append(a)
    return out


@pytest.mark.parametrize("a, b", [("tanh", "leaky_relu"), ("sigmoid", "tanh")])
def test_the_bars_follow_each_networks_activation(qtbot, view, library, a, b):
    view.set_models(library.get(a), library.get(b))
    view.tabs.setCurrentIndex(view.tabs.count() - 1)
    digit = load_dataset().test_images[0].astype(np.float32) / 255
    view.show_activations(digit)
    for side, name in enumerate((a, b)):
        network = library.get(name).network
        assert network.activation == name
        shown = view.activation_heights(side)
        for got, want in zip(shown, _numpy_hidden(network, digit)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        lowest = min(h.min() for h in shown)
        if name in ("tanh", "leaky_relu"):
            assert lowest < 0             # what a ReLU's bars never show
        else:
            assert lowest >= 0
        plot = (view.act_a, view.act_b)[side].getPlotItem()
        words = {"tanh": "tanh", "leaky_relu": "leaky ReLU (slope 0.01)", "sigmoid": "sigmoid"}[name]
        assert f"hidden-layer activations (after {words})" in plot.titleLabel.text
        y_min = plot.getViewBox().state["limits"]["yLimits"][0]
        assert y_min == {"tanh": -1.0, "leaky_relu": None, "sigmoid": 0.0}[name]
