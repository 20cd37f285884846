"""Switching hidden units off (issue 12): a silenced unit outputs 0, checked against the forward
pass written out in NumPy from the model file (docs/model-format.md), and against the equivalent
network whose outgoing weights of that unit are zero."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from digitlab.data import load_dataset
from digitlab.io import load_model
from digitlab.reports.analysis import evaluate

MODELS = Path(__file__).resolve().parents[2] / "models"


def numpy_forward(path, X, silenced=()):
    """Logits and hidden activations of the model file at ``path``, read with h5py, in float64,
    with the units ``silenced`` ((hidden layer from 1, unit)) set to 0 after the ReLU."""
    with h5py.File(path, "r") as f:
        layers = f["layers"]
        n, bn = int(layers.attrs["n_layers"]), bool(layers.attrs["batch_norm"])
        eps = float(layers.attrs["bn_eps"])
        arrays = [{k: np.asarray(layers[str(i)][k], dtype=np.float64) for k in layers[str(i)].keys()}
                  for i in range(1, n + 1)]
    a, hidden = np.asarray(X, dtype=np.float64), []
    for number, layer in enumerate(arrays[:-1], start=1):
        z = a @ layer["W"] + layer["b"]
        if bn:
            z = (layer["gamma"] * (z - layer["running_mean"]) / np.sqrt(layer["running_var"] + eps)
                 + layer["beta"])
        a = np.maximum(z, 0.0)
        for lay, unit in silenced:
            if lay == number:
                a[:, unit] = 0.0
        hidden.append(a)
    return a @ arrays[-1]["W"] + arrays[-1]["b"], hidden


@pytest.fixture(scope="module")
def test_digits():
    raw = load_dataset()
    X = raw.test_images[:2000].reshape(2000, -1).astype(np.float32) / 255
    return X, raw.test_labels[:2000].astype(int)


@pytest.mark.parametrize("name", ["report-no-l2", "report-bn"])
def test_a_silenced_unit_outputs_zero_and_the_logits_follow(name, test_digits):
    X, y = test_digits
    path = MODELS / f"{name}.h5"
    net = load_model(path).network
    silenced = [(1, 3), (1, 11), (2, 0), (3, 4)]
    want_logits, want_hidden = numpy_forward(path, X, silenced)
    got_hidden = net.hidden_activations(X, silenced)
    for got, want, (layer, unit) in zip(got_hidden, want_hidden, [(1, 3), (2, 0), (3, 4)]):
        assert np.all(got[:, unit] == 0)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(net.logits(X, silenced), want_logits, rtol=1e-4, atol=1e-3)
    proba = net.predict_proba(X, silenced)
    assert np.array_equal(np.argmax(proba, axis=1), np.argmax(want_logits, axis=1))
    want_acc = float(np.mean(np.argmax(want_logits, axis=1) == y))
    assert net.accuracy(X, y, silenced) == pytest.approx(want_acc, abs=1e-12)
    assert evaluate(net, X, y, silenced=silenced).accuracy == pytest.approx(want_acc, abs=1e-12)
    # and silencing changes something: these units matter for some digits
    assert not np.array_equal(np.argmax(proba, axis=1), net.predict(X))


def test_silencing_equals_zeroing_the_units_outgoing_weights(test_digits):
    X, _ = test_digits
    net = load_model(MODELS / "report-l2.h5").network
    cut = net.copy()
    cut.weights[1][5, :] = 0          # hidden layer 1, unit 5 feeds weight layer 2 through row 5
    np.testing.assert_allclose(net.predict_proba(X, [(1, 5)]), cut.predict_proba(X), rtol=1e-5, atol=1e-6)
    one = X[7].reshape(28, 28)
    np.testing.assert_allclose(net.predict_one(one, [(1, 5)]), cut.predict_one(one), rtol=1e-5, atol=1e-6)


def test_nothing_silenced_is_the_usual_path_bit_for_bit(test_digits):
    X, _ = test_digits
    net = load_model(MODELS / "report-bn.h5").network
    assert net.keep_masks(()) is None and net.keep_masks(None) is None
    for silenced in (None, (), []):
        assert net.predict_proba(X, silenced).tobytes() == net.predict_proba(X).tobytes()


@pytest.mark.parametrize("bad, words", [([(0, 1)], "hidden layer 0 does not exist"),
                                        ([(4, 0)], "hidden layer 4 does not exist"),
                                        ([(2, 7)], "has units 0 to 6, not 7")])
def test_a_unit_that_does_not_exist_is_named(bad, words):
    net = load_model(MODELS / "report-no-l2.h5").network
    with pytest.raises(ValueError, match=words):
        net.predict_proba(np.zeros((1, 784), np.float32), bad)
