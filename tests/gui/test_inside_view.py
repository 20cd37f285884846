"""Evaluate > Inside on its own, checked against the model files read with h5py and NumPy alone
(docs/model-format.md): the activations shown for a digit are the network's hidden activations,
the weight tiles are the first layer's weights, the table's mean |W| are the layers'."""

from __future__ import annotations

import h5py
import numpy as np
import pyqtgraph as pg
import pytest

from digitlab.data import load_dataset
from digitlab.gui.inside_view import InsideView
from digitlab.gui.model_pair import ModelPair
from digitlab.library import ModelLibrary
from digitlab.paths import bundled_models_dir

TILE, PAD, COLS = 28, 2, 5         # the tile layout of figures.tile_image as InsideView draws it
# The tiles' colour map (figures._diverging_rgba): white at 0, this red at +1, this blue at -1.
RED = np.array([178, 24, 43], dtype=float)
BLUE = np.array([33, 102, 172], dtype=float)


def read_layers(path) -> dict:
    """Every array and the batch-norm constant of a model file, as float64, with h5py alone."""
    with h5py.File(path, "r") as f:
        layers = f["layers"]
        n = int(layers.attrs["n_layers"])
        out = {"batch_norm": bool(layers.attrs["batch_norm"]), "eps": float(layers.attrs["bn_eps"]),
               "layers": []}
        for number in range(1, n + 1):
            g = layers[str(number)]
            out["layers"].append({k: np.asarray(g[k], dtype=np.float64) for k in g.keys()})
    return out


def hidden_activations(model: dict, x: np.ndarray) -> list[np.ndarray]:
    """The forward pass of docs/model-format.md, written out: each hidden layer after its ReLU."""
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    out = []
    for layer in model["layers"][:-1]:
        z = a @ layer["W"] + layer["b"]
        if model["batch_norm"]:
            z = (layer["gamma"] * (z - layer["running_mean"]) / np.sqrt(layer["running_var"] + model["eps"])
                 + layer["beta"])
        a = np.maximum(z, 0.0)
        out.append(a)
    return out


def predicted_digit(model: dict, x: np.ndarray) -> int:
    last = model["layers"][-1]
    return int(np.argmax(hidden_activations(model, x)[-1] @ last["W"] + last["b"]))


@pytest.fixture(scope="module")
def digits():
    """Three MNIST test digits as the Draw view sends them: 28x28 floats in [0, 1]."""
    raw = load_dataset()
    return [raw.test_images[i].astype(np.float32) / 255 for i in (0, 1, 2)]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The bundled models (an empty folder of the person's): shared, so each model loads once."""
    return ModelLibrary(bundled_models_dir(), tmp_path_factory.mktemp("user-models"))


@pytest.fixture
def view(qtbot, library):
    view = InsideView(library, ModelPair(library))
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show()
    yield view
    assert view.shutdown(30000)


def test_activations_shown_are_the_networks_hidden_activations(qtbot, view, digits):
    a, b = view.models()
    assert (a.name, b.name) == ("pad", "pad-l2")            # the window's default pair, named on top
    assert view.models_label.text() == "A: pad · B: pad-l2"
    view.tabs.setCurrentIndex(view.tabs.count() - 1)
    assert view.tabs.tabText(view.tabs.currentIndex()) == "Activations"
    for x in digits:
        view.show_activations(x)
        for side, entry in enumerate(view.models()):
            model = read_layers(entry.path)
            expected = hidden_activations(model, x)
            shown = view.activation_heights(side)
            assert [len(h) for h in shown] == [20, 7, 5]
            for got, want in zip(shown, expected):
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
            assert any(h.max() > 0 for h in shown)     # a real digit lights some unit up
        a, b = (read_layers(e.path) for e in view.models())
        assert view.act_label.text() == (f"The digit on the Draw canvas; predicted {predicted_digit(a, x)} "
                                         f"by model A, {predicted_digit(b, x)} by model B.")


def test_bars_sit_in_one_group_per_hidden_layer(view, digits):
    view.show_activations(digits[0])
    items = view._act_items[0]
    xs = [np.asarray(item.opts["x"]) for item in items]
    np.testing.assert_array_equal(xs[0], np.arange(20))
    np.testing.assert_array_equal(xs[1], 22 + np.arange(7))          # a gap of two between layers
    np.testing.assert_array_equal(xs[2], 31 + np.arange(5))


def test_choosing_another_b_redraws_the_last_digit_with_it(view, library, digits):
    """No batch norm this time: the other branch of the forward pass."""
    view.show_activations(digits[1])
    view.pair.set_b(library.get("report-no-l2"))
    model = read_layers(library.get("report-no-l2").path)
    assert not model["batch_norm"]
    for got, want in zip(view.activation_heights(1), hidden_activations(model, digits[1])):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert view.models_label.text() == "A: pad · B: report-no-l2"


def test_no_digit_shows_zero_bars_and_says_what_to_do(view, digits):
    view.show_activations(digits[0])
    view.show_activations(None)
    for side in (0, 1):
        assert all(not h.any() for h in view.activation_heights(side))
    assert view.act_label.text().startswith("Draw a digit in the Draw view")


def _tile_image(plot_widget) -> np.ndarray:
    images = [i for i in plot_widget.getPlotItem().items if isinstance(i, pg.ImageItem)]
    assert len(images) == 1
    return np.asarray(images[0].image)


def _signed_values(rgba: np.ndarray) -> np.ndarray:
    """Undo the colour map: red side -> +t, blue side -> -t (t in [0, 1]), from the green channel,
    which both sides lower from 255 (to 24 on red, 102 on blue). Red above blue is the red side;
    a pixel so pale that both truncate to the same byte reads as 0."""
    rgb = rgba[..., :3].astype(float)
    t_red = (255 - rgb[..., 1]) / (255 - RED[1])
    t_blue = (255 - rgb[..., 1]) / (255 - BLUE[1])
    return np.where(rgb[..., 0] > rgb[..., 2], t_red, np.where(rgb[..., 2] > rgb[..., 0], -t_blue, 0.0))


def test_the_weight_tiles_are_the_first_layers_weights(view):
    for side, plot_widget in enumerate((view.tiles_a, view.tiles_b)):
        entry = view.models()[side]
        W1 = read_layers(entry.path)["layers"][0]["W"]
        assert plot_widget.getPlotItem().titleLabel.text == entry.display_name
        img = _tile_image(plot_widget)
        units = W1.shape[1]
        rows = -(-units // COLS)
        assert img.shape == (rows * (TILE + PAD) + PAD, COLS * (TILE + PAD) + PAD, 4)
        values = _signed_values(img)
        scale = np.abs(W1).max()
        # colours are bytes: a value is known to within one step of the 231 (red) or 153 (blue)
        # levels between white and full colour
        tolerance = 1.0 / 153 + 1e-9
        for u in range(units):
            r, c = divmod(u, COLS)
            y0, x0 = PAD + r * (TILE + PAD), PAD + c * (TILE + PAD)
            tile = values[y0:y0 + TILE, x0:x0 + TILE]
            want = W1[:, u].reshape(TILE, TILE) / scale          # row by row, as the pixels are
            np.testing.assert_allclose(tile, want, atol=tolerance)
            strong = np.abs(want) > 2 * tolerance
            assert np.array_equal(np.sign(tile[strong]), np.sign(want[strong]))
        # between the tiles: the grey of "no weight", never a colour
        assert (img[:PAD, :, :3] == 235).all() and (img[:, :PAD, :3] == 235).all()


def test_the_table_holds_each_layers_mean_absolute_weight(view):
    table = view.weights_table
    a, b = (read_layers(e.path) for e in view.models())
    assert table.rowCount() == 4
    assert [table.horizontalHeaderItem(c).text() for c in range(3)] == ["Layer", "pad", "pad-l2"]
    for row in range(4):
        assert table.item(row, 0).text() == f"Layer {row + 1}"
        for column, model in ((1, a), (2, b)):
            assert float(table.item(row, column).text()) == pytest.approx(
                np.abs(model["layers"][row]["W"]).mean(), abs=1e-5)
    # L2 shrinks the weights: B's first layer is smaller than A's, as the figures show
    assert float(table.item(0, 2).text()) < float(table.item(0, 1).text())
