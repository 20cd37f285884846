"""The Draw view, used the way a person uses it: draw a digit stroke by stroke and watch two
networks' probabilities; undo, clear, erase; load test digits; choose other models."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from digitlab.data import drawing_to_mnist_steps
from digitlab.gui.draw_view import DigitPreview, DrawView
from digitlab.io import SavedModel
from digitlab.library import ModelLibrary
from digitlab.nn import Network
from digitlab.training import TrainConfig

io = pytest.importorskip("digitlab.io")
training = pytest.importorskip("digitlab.training")


# ---------------------------------------------------------------- helpers
def make_model(path, name, *, seed=0, l2=0.0, batch_norm=False, accuracy=0.9):
    """A tiny real model file: an untrained 784-20-7-5-10 network saved by the core."""
    net = Network((784, 20, 7, 5, 10), batch_norm=batch_norm, seed=seed)
    cfg = training.TrainConfig(l2=l2, batch_norm=batch_norm, seed=seed)
    io.save_model(path, io.SavedModel(network=net, config=cfg, name=name,
                                      metrics={"test_accuracy": accuracy}))
    return path


@pytest.fixture
def library(tmp_path):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    make_model(bundled / "report-no-l2.h5", "report-no-l2", seed=1)
    make_model(bundled / "report-l2.h5", "report-l2", seed=2, l2=5.0)
    make_model(bundled / "report-bn.h5", "report-bn", seed=3, batch_norm=True)
    return ModelLibrary(bundled_dir=bundled)


@pytest.fixture
def view(qtbot, library):
    v = DrawView(library)
    qtbot.addWidget(v)
    v.resize(1280, 760)
    v.show()
    qtbot.waitExposed(v)
    return v


def canvas_point(view, fx, fy):
    r = view.canvas.target_rect()
    return QPoint(int(r.x() + fx * r.width()), int(r.y() + fy * r.height()))


def stroke(qtbot, view, points, button=Qt.MouseButton.LeftButton, steps=6):
    """Press, move through ``points`` (fractions of the canvas) with interpolated samples, release."""
    c = view.canvas
    pts = [canvas_point(view, *p) for p in points]
    qtbot.mousePress(c, button, pos=pts[0])
    for a, b in zip(pts, pts[1:]):
        for t in np.linspace(0, 1, steps + 1)[1:]:
            qtbot.mouseMove(c, QPoint(int(a.x() + (b.x() - a.x()) * t), int(a.y() + (b.y() - a.y()) * t)))
    qtbot.mouseRelease(c, button, pos=pts[-1])


SEVEN = [[(0.3, 0.2), (0.7, 0.2), (0.6, 0.45), (0.5, 0.8)], [(0.45, 0.5), (0.7, 0.5)]]


def draw_seven(qtbot, view):
    for s in SEVEN:
        stroke(qtbot, view, s)


def converted(canvas):
    """The core's conversion of what is on the canvas: its strokes redrawn with MNIST's pen."""
    return drawing_to_mnist_steps(canvas.drawing())["centred"]


def assert_prediction_shown(bars):
    p = bars.probabilities()
    assert p is not None
    assert p.shape == (10,)
    assert abs(p.sum() - 1.0) < 1e-5
    assert (p >= 0).all()
    np.testing.assert_allclose(bars.bar_heights(), p)
    assert bars.predicted_text() == str(int(np.argmax(p)))
    assert "%" in bars.confidence_text()


# ---------------------------------------------------------------- tests
def test_defaults_to_the_reports_two_models(view):
    a, b = view.models()
    assert a.name == "report-no-l2"
    assert b.name == "report-l2"
    assert view.combo_a.currentText().startswith("report-no-l2")
    assert view.combo_b.currentText().startswith("report-l2")
    assert view.combo_a.count() == 3


def test_empty_canvas_gives_no_prediction(view):
    assert view.current_input() is None
    for bars in (view.bars_a, view.bars_b):
        assert bars.probabilities() is None
        assert bars.predicted_text() == ""
        assert "Draw a digit" in bars.confidence_text()
    assert "Draw a digit" in view.verdict_text()
    assert view.preview.array() is None


def test_drawing_a_digit_shows_both_sets_of_probabilities(qtbot, view):
    inputs = []
    view.input_changed.connect(inputs.append)
    draw_seven(qtbot, view)
    for bars in (view.bars_a, view.bars_b):
        assert_prediction_shown(bars)
    x = view.current_input()
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    # the preview shows exactly what the networks receive ...
    np.testing.assert_array_equal(view.preview.array(), x)
    # ... which is the core's conversion of the canvas's strokes
    assert view.current_steps()["source"] == "strokes"
    np.testing.assert_array_equal(x, converted(view.canvas))
    # ... and the bars are the networks' own output for it
    a, b = view.models()
    np.testing.assert_allclose(view.bars_a.probabilities(), a.network.predict_one(x), rtol=1e-6)
    np.testing.assert_allclose(view.bars_b.probabilities(), b.network.predict_one(x), rtol=1e-6)
    # the difference is visible at a glance
    pa, pb = view.bars_a.predicted(), view.bars_b.predicted()
    text = view.verdict_text()
    if pa == pb:
        assert text.startswith(f"Both say {pa}")
    else:
        assert text.startswith("They disagree") and f"A says {pa}" in text and f"B says {pb}" in text
    assert inputs and inputs[-1] is not None
    np.testing.assert_array_equal(inputs[-1], x)


def test_bars_appear_during_the_first_stroke(qtbot, view):
    c = view.canvas
    p0 = canvas_point(view, 0.5, 0.2)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=p0)
    # the press alone already puts ink down and is classified at once (no waiting for the timer)
    assert view.bars_a.probabilities() is not None
    qtbot.mouseMove(c, canvas_point(view, 0.5, 0.5))
    qtbot.mouseMove(c, canvas_point(view, 0.5, 0.8))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=canvas_point(view, 0.5, 0.8))
    # after the stroke ends, the bars show the whole stroke
    np.testing.assert_array_equal(view.current_input(), converted(c))


def test_predictions_are_throttled_while_drawing(qtbot, view):
    calls = []
    view.input_changed.connect(lambda x: calls.append(x))
    c = view.canvas
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=canvas_point(view, 0.2, 0.2))
    n_moves = 120
    for i in range(n_moves):
        qtbot.mouseMove(c, canvas_point(view, 0.2 + 0.6 * i / n_moves, 0.2 + 0.6 * i / n_moves))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=canvas_point(view, 0.8, 0.8))
    assert 1 <= len(calls) < n_moves / 4          # coalesced, yet...
    np.testing.assert_array_equal(view.current_input(),  # ...the final input is the final drawing
                                  converted(c))


def test_trailing_update_while_the_button_is_held(qtbot, view):
    c = view.canvas
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=canvas_point(view, 0.3, 0.3))
    for i in range(10):
        qtbot.mouseMove(c, canvas_point(view, 0.3 + 0.04 * i, 0.3))
    # no release yet: the throttle timer still brings the bars up to date within ~30 ms
    qtbot.waitUntil(lambda: np.array_equal(view.current_input(),
                                           converted(c)), timeout=1000)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=canvas_point(view, 0.66, 0.3))


def test_undo_and_clear(qtbot, view):
    stroke(qtbot, view, SEVEN[0])
    first = view.current_input()
    stroke(qtbot, view, SEVEN[1])
    assert not np.array_equal(view.current_input(), first)
    view.undo_button.click()
    np.testing.assert_array_equal(view.current_input(), first)
    view.clear_button.click()
    assert view.current_input() is None
    assert view.bars_a.probabilities() is None and view.bars_b.probabilities() is None
    assert "Draw a digit" in view.verdict_text()
    view.undo_button.click()              # the clear can be undone too
    np.testing.assert_array_equal(view.current_input(), first)
    assert view.bars_a.probabilities() is not None


def test_eraser_erases(qtbot, view):
    stroke(qtbot, view, [(0.5, 0.2), (0.5, 0.8)])
    assert view.current_input() is not None
    view.eraser_button.click()
    assert view.canvas.is_eraser()
    stroke(qtbot, view, [(0.5, 0.1), (0.5, 0.9)])
    assert view.canvas.is_empty()
    assert view.current_input() is None
    assert view.bars_a.probabilities() is None
    view.pen_button.click()
    assert not view.canvas.is_eraser()


def test_brush_slider_changes_the_brush(qtbot, view):
    assert view.canvas.brush_size() == 7
    view.brush_slider.setValue(12)
    assert view.canvas.brush_size() == 12
    assert view.brush_value.text() == "12 %"


def test_load_digit_shows_true_label(qtbot, view):
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 13:16] = 1.0
    view.load_digit(digit, label=1)
    assert view.true_label() == 1
    assert "true label 1" in view.source_label.text()
    assert_prediction_shown(view.bars_a)
    pa, pb = view.bars_a.predicted(), view.bars_b.predicted()
    text = view.verdict_text()
    if pa == pb == 1:
        assert "both are right" in text
    elif pa == pb:
        assert "but it is a 1" in text
    else:
        assert "it is a 1" in text
    # drawing over it marks it edited; clearing forgets it
    stroke(qtbot, view, [(0.2, 0.2), (0.3, 0.3)])
    assert "(edited)" in view.source_label.text()
    view.clear()
    assert view.true_label() is None and view.source_label.text() == ""


def test_random_test_digit(qtbot, view):
    view.random_button.click()
    assert view.true_label() in range(10)
    assert "MNIST test digit #" in view.source_label.text()
    assert_prediction_shown(view.bars_a)
    assert_prediction_shown(view.bars_b)


def test_choosing_another_model_in_the_combo(qtbot, view, library):
    draw_seven(qtbot, view)
    bn = library.get("report-bn")
    idx = view.combo_b.findData(bn.key)
    assert idx >= 0
    view.combo_b.setCurrentIndex(idx)
    assert view.models()[1] is bn
    np.testing.assert_allclose(view.bars_b.probabilities(), bn.network.predict_one(view.current_input()),
                               rtol=1e-6)
    assert "BN" in view.bars_b._detail.text()


def test_set_models_takes_library_entries_and_a_finished_run_as_an_unsaved_entry(qtbot, view, library):
    draw_seven(qtbot, view)
    view.set_models(library.get("report-bn"), library.get("report-l2"))
    assert view.models()[0].name == "report-bn"
    net = Network(seed=42)
    run = library.add_run(SavedModel(network=net, config=TrainConfig(), name="a run"))
    view.set_models(run, None)
    assert view.models()[1] is None
    assert view.bars_b.probabilities() is None
    np.testing.assert_allclose(view.bars_a.probabilities(), net.predict_one(view.current_input()), rtol=1e-6)
    assert view.combo_a.currentText() == "a run (unsaved)"
    assert "Network A says" in view.verdict_text()
    with pytest.raises(TypeError):
        view.set_models("report-bn", None)          # one model type: a library entry


def test_library_changes_are_followed(qtbot, view, library, tmp_path):
    assert view.combo_a.count() == 3
    extra = make_model(tmp_path / "mine.h5", "mine", seed=9)
    entry = library.import_file(extra)
    assert view.combo_a.count() == 4
    view.set_models(entry, None)
    library.delete(entry)
    assert view.combo_a.count() == 3
    assert view.models()[0] is not None and view.models()[0].name != "mine"


def test_no_models_says_so_and_still_previews(qtbot, tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    v = DrawView(ModelLibrary(bundled_dir=empty))
    qtbot.addWidget(v)
    v.resize(1280, 760)
    v.show()
    assert "No models yet" in v.verdict_text()
    assert not v.combo_a.isEnabled()
    stroke(qtbot, v, [(0.5, 0.2), (0.5, 0.8)])
    assert v.current_input() is not None          # the preview works without models
    assert v.bars_a.probabilities() is None
    assert "No model chosen" in v.bars_a.confidence_text()


def test_show_steps(qtbot, view):
    draw_seven(qtbot, view)
    view.show_steps.setChecked(True)
    steps = view.current_steps()
    # drawn strokes: redrawn with MNIST's pen, scaled to the 20-px box, centred
    np.testing.assert_array_equal(view.step_first.array(), steps["redrawn"])
    np.testing.assert_array_equal(view.step_scale.array(), steps["scaled"])
    np.testing.assert_array_equal(view.step_centre.array(), view.current_input())
    assert max(steps["scaled"].shape) == 20
    assert view.step_first.toolTip() == "1. strokes re-drawn with MNIST's pen"
    assert [lab.text() for lab in view.step_labels] == ["MNIST's pen", "scaled to 20", "centred"]
    # a loaded digit has no strokes: its crop is the first step, and the captions say so
    view.load_digit(np.pad(np.ones((16, 3)), ((6, 6), (12, 13))), 1)
    steps = view.current_steps()
    assert steps["source"] == "raster"
    np.testing.assert_array_equal(view.step_first.array(), steps["cropped"])
    np.testing.assert_array_equal(view.step_centre.array(), view.current_input())
    assert view.step_first.toolTip() == "1. cropped to the ink"


def test_first_bars_within_a_frame(qtbot, view):
    """Mouse press to repainted bars; the issue asks for < 16 ms. Generous bound here (CI noise);
    benchmarks/draw_latency.py measures median and p95."""
    from PySide6.QtWidgets import QApplication

    times = []
    for i in range(15):
        view.canvas.clear()
        qtbot.wait(40)
        t0 = time.perf_counter()
        qtbot.mousePress(view.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(view, 0.3 + 0.02 * i, 0.5))
        view.bars_b._plot.viewport().repaint()
        QApplication.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
        qtbot.mouseRelease(view.canvas, Qt.MouseButton.LeftButton,
                           pos=canvas_point(view, 0.3 + 0.02 * i, 0.5))
        assert view.bars_b.probabilities() is not None
    assert np.median(times) < 40, times


def test_handlers_are_guarded():
    for cls in (DigitPreview,):
        for name, value in vars(cls).items():
            if name.endswith("Event") and callable(value):
                assert getattr(value, "__guarded__", False), name


def test_bundled_models_recognise_test_digits_through_the_canvas(qtbot):
    """The real default pair (the pad networks), fed MNIST test digits through the canvas (scaled
    up 16x, then the MNIST conversion back to 28x28), still gets nearly all of them right: the
    drawing path does not distort what the networks see."""
    lib = ModelLibrary()
    a, b = lib.default_pair()
    if a is None or a.name != "pad" or b is None or b.name != "pad-l2":
        pytest.skip("the bundled pad models are not in models/")
    from digitlab.data import load_dataset

    v = DrawView(lib)
    qtbot.addWidget(v)
    raw = load_dataset()
    idx = np.random.default_rng(0).choice(len(raw.test_labels), 60, replace=False)
    right_a = right_b = 0
    for i in idx:
        v.load_digit(raw.test_images[i], int(raw.test_labels[i]))
        right_a += v.bars_a.predicted() == raw.test_labels[i]
        right_b += v.bars_b.predicted() == raw.test_labels[i]
    assert right_a / len(idx) > 0.8 and right_b / len(idx) > 0.75, (right_a, right_b)
