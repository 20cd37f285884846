"""The network view and switching units off (issue 12, items 3 and 4), driven as a person does:
strokes on the Draw canvas, a click on a unit in Draw > Network, Evaluate shown.

Every expected number is computed independently: the model files are read with h5py and the
forward pass is written out in NumPy (docs/model-format.md), in float64, with a silenced unit's
output set to 0 after its ReLU.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette

from digitlab.data import load_dataset, prepare_splits
from digitlab.gui.network_view import NEGATIVE, POSITIVE

RUN_TIMEOUT = 60_000
SEVEN = [[(0.2, 0.2), (0.8, 0.2), (0.55, 0.5), (0.4, 0.85)], [(0.35, 0.5), (0.7, 0.5)]]


# ---------------------------------------------------------------- the independent computation
def read_model(path) -> dict:
    with h5py.File(path, "r") as f:
        layers = f["layers"]
        n = int(layers.attrs["n_layers"])
        return {"bn": bool(layers.attrs["batch_norm"]), "eps": float(layers.attrs["bn_eps"]),
                "layers": [{k: np.asarray(layers[str(i)][k], dtype=np.float64) for k in layers[str(i)].keys()}
                           for i in range(1, n + 1)]}


def forward(model: dict, X, silenced=()) -> tuple[list[np.ndarray], np.ndarray]:
    """Hidden activations (silenced units 0) and output probabilities of rows ``X``."""
    a, hidden = np.asarray(X, dtype=np.float64).reshape(-1, 784), []
    for number, layer in enumerate(model["layers"][:-1], start=1):
        z = a @ layer["W"] + layer["b"]
        if model["bn"]:
            z = (layer["gamma"] * (z - layer["running_mean"]) / np.sqrt(layer["running_var"] + model["eps"])
                 + layer["beta"])
        a = np.maximum(z, 0.0)
        for lay, unit in silenced:
            if lay == number:
                a[:, unit] = 0.0
        hidden.append(a)
    z = a @ model["layers"][-1]["W"] + model["layers"][-1]["b"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return hidden, p / p.sum(axis=1, keepdims=True)


def expected_colour(value: float, scale: float, base) -> np.ndarray:
    """The documented map: the background at 0, orange at the layer's largest, purple at minus it."""
    full = POSITIVE if value >= 0 else NEGATIVE
    t = abs(value) / scale if scale > 0 else 0.0
    b = np.array([base.red(), base.green(), base.blue()], dtype=float)
    return b + (np.array([full.red(), full.green(), full.blue()], dtype=float) - b) * min(t, 1.0)


def rgb(colour) -> np.ndarray:
    return np.array([colour.red(), colour.green(), colour.blue()], dtype=float)


# ---------------------------------------------------------------- driving the window
@pytest.fixture(scope="module")
def small_splits():
    s = prepare_splits(load_dataset(None), n_validation=1000, seed=0, train_subset=1500)
    s.x_test, s.y_test = s.x_test[:2000], s.y_test[:2000]
    return s


@pytest.fixture
def window(qtbot, make_settings, small_splits):
    from digitlab.gui.main_window import MainWindow
    w = MainWindow(settings=make_settings(), evaluate_splits_for=lambda config: small_splits)
    w.confirm_close = lambda: True
    w.show_error = lambda title, text, details=None: pytest.fail(f"{title}: {text}")
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.pair.set_pair(w.library.get("report-no-l2"), w.library.get("report-bn"))
    yield w
    assert w.shutdown(30000)


def draw(qtbot, view, shape=SEVEN) -> None:
    """Strokes on the canvas with the mouse: press, a move every few pixels, release."""
    c = view.canvas
    r = c.target_rect()

    def at(x, y):
        return QPoint(round(r.x() + x * r.width()), round(r.y() + y * r.height()))

    for points in shape:
        p = np.asarray(points)
        qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=at(*p[0]))
        for a, b in zip(p[:-1], p[1:]):
            for t in np.linspace(0, 1, 12)[1:]:
                qtbot.mouseMove(c, at(*(a + (b - a) * t)))
        qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=at(*p[-1]))
    qtbot.wait(60)           # the throttle's trailing prediction


def click_unit(qtbot, nv, layer, unit) -> None:
    qtbot.mouseClick(nv.canvas.viewport(), Qt.MouseButton.LeftButton, pos=nv.unit_position(layer, unit))


# ---------------------------------------------------------------- tests
def test_the_network_views_colours_are_the_activations_of_the_drawn_digit(qtbot, window):
    window.show_view("draw")
    dv = window.draw_view
    dv.show_network_tab()
    nv = dv.network_view
    assert nv.isVisible() and nv.shown_side() == "A"
    draw(qtbot, dv)
    x = dv.current_input()
    assert x is not None
    base = nv.palette().color(QPalette.ColorRole.Base)
    for side in ("A", "B"):
        nv.buttons[side].click()
        assert nv.shown_side() == side
        model = read_model(window.pair.entry(side).path)
        hidden, proba = forward(model, x)
        shown = nv.activations()
        assert [len(a) for a in shown] == [20, 7, 5, 10]
        for layer, (want, got) in enumerate(zip(hidden, shown), start=1):
            np.testing.assert_allclose(got, want[0], rtol=1e-4, atol=1e-5)
            scale = np.abs(want[0]).max()
            for unit, value in enumerate(want[0]):
                # within one step of 255 (float32 in the app, float64 here)
                got_rgb = rgb(nv.node_colour(layer, unit))
                assert np.abs(got_rgb - expected_colour(value, scale, base)).max() <= 1.0
        np.testing.assert_allclose(shown[-1], proba[0], rtol=1e-4, atol=1e-6)
        for d in range(10):
            assert np.abs(rgb(nv.node_colour(4, d)) - expected_colour(proba[0, d], 1.0, base)).max() <= 1.0
        # the strongest unit of each hidden layer is full orange, a zero one the background
        for layer, want in enumerate(hidden, start=1):
            assert np.array_equal(rgb(nv.node_colour(layer, int(np.argmax(want[0])))), rgb(POSITIVE))
            for unit in np.flatnonzero(want[0] == 0):
                assert np.array_equal(rgb(nv.node_colour(layer, int(unit))), rgb(base))
        # the output nodes say what the bars say
        bars = dv.bars_a if side == "A" else dv.bars_b
        np.testing.assert_allclose(shown[-1], bars.probabilities(), rtol=1e-6)


def test_a_clicked_unit_goes_silent_and_the_bars_and_evaluates_accuracy_follow(qtbot, window, small_splits):
    window.show_view("draw")
    dv, ev = window.draw_view, window.evaluate_view
    dv.show_network_tab()
    nv = dv.network_view
    draw(qtbot, dv)
    x = dv.current_input()
    model_a = read_model(window.pair.a.path)
    model_b = read_model(window.pair.b.path)
    hidden, intact_a = forward(model_a, x)
    _, intact_b = forward(model_b, x)
    np.testing.assert_allclose(dv.bars_a.probabilities(), intact_a[0], rtol=1e-4, atol=1e-6)
    # the unit that matters most for this digit: switching it off changes A's answer the most
    candidates = [(1, u) for u in range(20)] + [(2, u) for u in range(7)] + [(3, u) for u in range(5)]
    unit = max(candidates, key=lambda c: np.abs(forward(model_a, x, [c])[1] - intact_a).sum())
    _, silenced_a = forward(model_a, x, [unit])
    assert np.abs(silenced_a - intact_a).max() > 0.01

    click_unit(qtbot, nv, *unit)
    assert window.silencing.units("A") == (unit,)
    np.testing.assert_allclose(dv.bars_a.probabilities(), silenced_a[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dv.bars_b.probabilities(), intact_b[0], rtol=1e-4, atol=1e-6)  # B untouched
    assert nv.activations()[unit[0] - 1][unit[1]] == 0
    assert nv.node_colour(*unit) == nv.palette().color(QPalette.ColorRole.Base)
    assert "1 unit off" in dv.bars_a.model_name()
    assert f"layer {unit[0]} unit {unit[1]} switched off" in window.statusBar().currentMessage()

    # Evaluate: the accuracy without that unit, next to the intact network's
    with qtbot.waitSignal(ev.evaluated, timeout=RUN_TIMEOUT):
        window.show_view("evaluate")
    X, y = small_splits.x_test, small_splits.y_test
    want = np.mean(np.argmax(forward(model_a, X, [unit])[1], axis=1) == y)
    want_intact = np.mean(np.argmax(forward(model_a, X)[1], axis=1) == y)
    assert ev.accuracy_shown("A") == pytest.approx(want, abs=1.5 / len(y))      # a float32 near-tie at most
    assert want != want_intact
    text = ev.headline.text()
    assert f"accuracy {100 * ev.accuracy_shown('A'):.2f} %" in text
    assert f"layer {unit[0]} unit {unit[1]} switched off (intact: {100 * want_intact:.2f} %)" in text
    want_b = np.mean(np.argmax(forward(model_b, X)[1], axis=1) == y)
    assert ev.accuracy_shown("B") == pytest.approx(want_b, abs=1.5 / len(y))

    # a second click switches it back on; the Draw view's bars are the intact network's again
    window.show_view("draw")
    click_unit(qtbot, nv, *unit)
    assert window.silencing.units("A") == ()
    np.testing.assert_allclose(dv.bars_a.probabilities(), intact_a[0], rtol=1e-4, atol=1e-6)
    # and Evaluate, shown again, is the intact network's
    with qtbot.waitSignal(ev.evaluated, timeout=RUN_TIMEOUT):
        window.show_view("evaluate")
    assert ev.accuracy_shown("A") == pytest.approx(want_intact, abs=1.5 / len(y))
    assert "switched off" not in ev.headline.text()


def test_units_of_both_networks_are_switched_off_apart_and_switched_on_by_one_button(qtbot, window):
    window.show_view("draw")
    dv = window.draw_view
    dv.show_network_tab()
    nv = dv.network_view
    draw(qtbot, dv)
    x = dv.current_input()
    click_unit(qtbot, nv, 1, 2)
    click_unit(qtbot, nv, 2, 4)
    nv.buttons["B"].click()
    click_unit(qtbot, nv, 3, 1)
    assert window.silencing.units("A") == ((1, 2), (2, 4))
    assert window.silencing.units("B") == ((3, 1),)
    _, want_a = forward(read_model(window.pair.a.path), x, [(1, 2), (2, 4)])
    _, want_b = forward(read_model(window.pair.b.path), x, [(3, 1)])
    np.testing.assert_allclose(dv.bars_a.probabilities(), want_a[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dv.bars_b.probabilities(), want_b[0], rtol=1e-4, atol=1e-6)
    assert "1 unit of B off" in nv.silenced_label.text()
    # the output layer cannot be switched off: a click there does nothing
    click_unit(qtbot, nv, 4, 7)
    assert window.silencing.units("B") == ((3, 1),)
    qtbot.mouseClick(nv.reset_button, Qt.MouseButton.LeftButton)
    assert window.silencing.count() == 0 and not nv.reset_button.isEnabled()
    _, intact_a = forward(read_model(window.pair.a.path), x)
    np.testing.assert_allclose(dv.bars_a.probabilities(), intact_a[0], rtol=1e-4, atol=1e-6)


def test_another_model_on_a_side_starts_with_every_unit_on(qtbot, window):
    window.show_view("draw")
    dv = window.draw_view
    dv.show_network_tab()
    draw(qtbot, dv)
    click_unit(qtbot, dv.network_view, 1, 0)
    assert window.silencing.units("A") == ((1, 0),)
    dv.combo_a.setCurrentIndex(dv.combo_a.findText("report-l2"))
    assert window.pair.a is window.library.get("report-l2")
    assert window.silencing.units("A") == ()
    _, want = forward(read_model(window.pair.a.path), dv.current_input())
    np.testing.assert_allclose(dv.bars_a.probabilities(), want[0], rtol=1e-4, atol=1e-6)


def test_pointing_at_a_unit_shows_its_value_weights_and_top_test_digits(qtbot, window):
    window.show_view("draw")
    dv = window.draw_view
    dv.show_network_tab()
    nv = dv.network_view
    draw(qtbot, dv)
    model = read_model(window.pair.a.path)
    hidden, _ = forward(model, dv.current_input())
    qtbot.mouseMove(nv.canvas.viewport(), nv.unit_position(2, 3))
    assert nv.info.isVisible()
    assert f"Hidden layer 2, unit 3: activation {hidden[1][0, 3]:.3g}" in nv.info_text()
    assert "its 20 incoming weights" in nv.info_text()
    qtbot.waitUntil(lambda: nv.top_digits(2, 3) is not None, timeout=RUN_TIMEOUT)
    qtbot.mouseMove(nv.canvas.viewport(), nv.unit_position(2, 3) + QPoint(1, 0))
    raw = load_dataset()
    X = raw.test_images.reshape(len(raw.test_images), -1) / 255.0
    acts = forward(model, X)[0][1][:, 3]
    top = nv.top_digits(2, 3)
    assert len(top) == 9
    ninth = np.sort(acts)[-9]
    assert np.all(acts[top] >= ninth - 1e-4)                     # the nine largest (float32 ties aside)
    assert np.all(np.diff(acts[top]) <= 1e-4)                    # largest first
    labels = " ".join(str(int(raw.test_labels[i])) for i in top)
    assert f"activate it most: {labels}" in nv.info_text()
    # a first-layer unit: pointing at its weight tile shows its 784 weights
    qtbot.mouseMove(nv.canvas.viewport(), nv.tile_position(5))
    assert "Hidden layer 1, unit 5" in nv.info_text() and "784 incoming weights" in nv.info_text()
    assert nv.info.weights.pixmap().width() == 84


def test_the_view_follows_a_network_given_to_it_as_its_weights_change(qtbot, window):
    """What a training step calls (DrawView.show_training_network): the Run button offers the
    network; chosen, the picture follows the network's new weights in place, and its units cannot
    be switched off."""
    window.show_view("draw")
    dv = window.draw_view
    dv.show_network_tab()
    nv = dv.network_view
    draw(qtbot, dv)
    assert not nv.run_button.isEnabled()
    net = window.pair.a.network.copy()
    dv.show_training_network(net, "run 1")
    assert nv.run_button.isEnabled() and nv.buttons["A"].isChecked()      # offered, not forced
    nv.run_button.click()
    assert "run 1" in nv.title.text() and not nv.buttons["A"].isChecked() and nv.run_button.isChecked()
    before = nv.activations()
    net.weights[0][...] *= -1                 # a (large) training step
    dv.show_training_network(net, "run 1")
    x = dv.current_input().reshape(-1)
    want = [a[0] for a in net.hidden_activations(x)]
    for got, w in zip(nv.activations(), want):
        np.testing.assert_allclose(got, w, rtol=1e-6)
    assert not all(np.allclose(a, b) for a, b in zip(before, nv.activations()))
    click_unit(qtbot, nv, 1, 0)
    assert window.silencing.count() == 0
    nv.buttons["A"].click()
    assert nv.network() is window.pair.a.network


def test_the_run_button_follows_the_training_run_step_by_step(qtbot, window, fill_form, quick_settings):
    """Step a run in Train; Draw's network view, on Run, draws the run's network after each step."""
    import threading

    from digitlab.training import RunControl, cached_splits, train
    tv = window.train_view
    fill_form(tv.form, quick_settings)
    config = tv.form.config()
    window.show_view("draw")
    dv = window.draw_view
    dv.show_network_tab()
    nv = dv.network_view
    draw(qtbot, dv)
    tv.step(1)
    qtbot.waitUntil(nv.run_button.isEnabled, timeout=60_000)
    nv.run_button.click()
    qtbot.waitUntil(lambda: "training run, step 1" in nv.title.text(), timeout=60_000)
    tv.step(1)
    qtbot.waitUntil(lambda: "training run, step 2" in nv.title.text(), timeout=60_000)
    # the core alone, two steps of the same settings: the network drawn is that one
    control = RunControl(steps=2)
    stepped = []
    thread = threading.Thread(target=lambda: train(config, cached_splits(config), control=control,
                                                   on_step=lambda info: stepped.append(info.network.copy())))
    thread.start()
    qtbot.waitUntil(lambda: control.paused, timeout=60_000)
    control.cancel()
    thread.join(60)
    assert nv.network().params.tobytes() == stepped[-1].params.tobytes()
    x = dv.current_input().reshape(-1)
    want = [a[0] for a in nv.network().hidden_activations(x)]
    for got, w in zip(nv.activations(), want):
        np.testing.assert_allclose(got, w, rtol=1e-6)
    assert nv.network() is not window.pair.a.network and nv.network().params.tobytes() != \
        window.pair.a.network.params.tobytes()
    tv.stop()
    with qtbot.waitSignal(tv.controller.finished, timeout=60_000):
        pass
