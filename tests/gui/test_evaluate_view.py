"""The Evaluate view driven as a person would: choose models, read the matrix, click a mistake,
send it to Draw, compare two models, look inside, run a tiny lambda sweep, export a report."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitlab.data import prepare_splits
from digitlab.io import save_model
from digitlab.training import TrainConfig, train

QUICK = TrainConfig(train_subset=1500, n_validation=1000, max_epochs=2, batch_size=64, learning_rate=0.05,
                    eval_every=10, patience=100000)


@pytest.fixture(scope="module")
def small_splits():
    from digitlab.data import load_dataset
    s = prepare_splits(load_dataset(None), n_validation=1000, seed=0, train_subset=1500)
    # a 2,000-image test set keeps every evaluation quick
    s.x_test, s.y_test = s.x_test[:2000], s.y_test[:2000]
    return s


@pytest.fixture(scope="module")
def trained(small_splits):
    return {"plain": train(QUICK.replace(name="report-no-l2"), small_splits),
            "l2": train(QUICK.replace(name="report-l2", l2=5.0, seed=4), small_splits)}


@pytest.fixture
def library(trained, tmp_path):
    from digitlab.library import ModelLibrary
    folder = tmp_path / "models"
    folder.mkdir()
    save_model(folder / "report-no-l2.h5", trained["plain"], name="report-no-l2")
    save_model(folder / "report-l2.h5", trained["l2"], name="report-l2")
    return ModelLibrary(bundled_dir=tmp_path / "none", user_dir=folder)


@pytest.fixture
def view(qtbot, library, small_splits):
    from digitlab.gui.evaluate_view import EvaluateView
    v = EvaluateView(library, splits_for=lambda config: small_splits)
    qtbot.addWidget(v)
    v.resize(1300, 800)
    v.show()
    yield v
    assert v.shutdown(30000)


def choose(qtbot, combo, text):
    """Pick ``text`` in a combo, then wait while the Evaluate view computes (on its worker thread)."""
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)
    view = combo.parent()
    while view is not None and not hasattr(view, "is_evaluating"):
        view = view.parent()
    if view is not None:
        qtbot.waitUntil(lambda: not view.is_evaluating(), timeout=20000)


def test_confusion_counts_sum_to_the_set_size(qtbot, view, small_splits, trained):
    choose(qtbot, view.chooser_a, "report-no-l2")
    ev = view.eval_a
    assert ev.cm.sum() == len(small_splits.y_test) == 2000
    expected = np.bincount(small_splits.y_test * 10 + trained["plain"].network.predict(small_splits.x_test),
                           minlength=100).reshape(10, 10)
    np.testing.assert_array_equal(ev.cm, expected)
    # the heatmap's text items are the nonzero counts (and the diagonal)
    texts = [item.toPlainText() for item in view.cm_a.getPlotItem().items if hasattr(item, "toPlainText")]
    assert sum(int(t) for t in texts) == 2000
    assert f"{100 * ev.accuracy:.2f} %" in view.headline.text()
    # per-class table: digit 0's accuracy
    assert view.class_table.item(0, 1).text() == f"{100 * ev.scores['recall'][0]:.1f} %"
    # the validation set
    view.set_data_set("val")
    qtbot.waitUntil(lambda: not view.is_evaluating(), timeout=20000)
    assert view.eval_a.cm.sum() == len(small_splits.y_val)


def test_click_a_mistake_and_send_it_to_draw(qtbot, view, small_splits):
    choose(qtbot, view.chooser_a, "report-no-l2")
    view.tabs.setCurrentIndex(1)
    assert view.gallery.count() == min(300, int((view.eval_a.pred != view.eval_a.y).sum()))
    conf = view.eval_a.confidence[view.gallery_indices()]
    assert np.all(np.diff(conf) <= 0), "the most confident mistakes come first"
    item = view.gallery.item(0)
    rect = view.gallery.visualItemRect(item)
    qtbot.mouseClick(view.gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    index = view.selected_index()
    assert index == view.gallery_indices()[0]
    np.testing.assert_allclose(view.bars_a.probabilities(), view.eval_a.proba[index], rtol=1e-6)
    assert view.bars_a.predicted() == view.eval_a.pred[index] != small_splits.y_test[index]
    assert view.send_button.isEnabled()
    with qtbot.waitSignal(view.send_to_draw, timeout=2000) as blocker:
        qtbot.mouseClick(view.send_button, Qt.MouseButton.LeftButton)
    image, label = blocker.args
    assert image.shape == (28, 28) and label == small_splits.y_test[index]
    np.testing.assert_allclose(image.ravel(), small_splits.x_test[index])


def test_send_to_draw_reaches_the_draw_view(qtbot, view, library):
    from digitlab.gui.draw_view import DrawView
    draw = DrawView(library)
    qtbot.addWidget(draw)
    view.send_to_draw.connect(draw.load_digit)
    choose(qtbot, view.chooser_a, "report-no-l2")
    view.gallery.setCurrentRow(0)
    view.send_selected()
    assert draw.true_label() == int(view.current_y[view.selected_index()])
    assert draw.current_input() is not None


def test_compare_two_models(qtbot, view):
    choose(qtbot, view.chooser_a, "report-no-l2")
    choose(qtbot, view.chooser_b, "report-l2")
    c = view.comparison
    assert c is not None and view.cm_b.isVisible()
    assert view.class_table.columnCount() == 6
    d = float(view.class_table.item(3, 5).text())
    assert d == pytest.approx(100 * c.recall_diff[3], abs=0.051)
    choose(qtbot, view.list_combo, "A right, B wrong")
    shown = view.gallery_indices()
    assert len(shown) == min(300, len(c.only_a))
    assert np.all(view.eval_a.correct[shown]) and not np.any(view.eval_b.correct[shown])
    ece_text = view.ece_label.text()
    assert "Expected calibration error" in ece_text and f"{100 * view.eval_b.ece:.2f} %" in ece_text


def test_inside_weights_and_activations(qtbot, view, trained, small_splits):
    inside = view.inside
    inside.set_models(inside.library.get("report-no-l2"), inside.library.get("report-l2"))
    assert inside.weights_table.rowCount() == 0, "Inside draws nothing until it is shown"
    view.tabs.setCurrentWidget(inside)
    net = trained["plain"].network
    assert float(inside.weights_table.item(1, 1).text()) == pytest.approx(net.mean_abs_weights()[1], abs=6e-6)
    x = small_splits.x_test[0]
    view.show_activations(x.reshape(28, 28))
    heights = inside.activation_heights(0)
    expected = net.hidden_activations(x)
    assert [len(h) for h in heights] == [20, 7, 5]
    for h, e in zip(heights, expected):
        np.testing.assert_allclose(h, e[0], rtol=1e-5)
    view.show_activations(None)
    assert all(np.all(h == 0) for h in inside.activation_heights(0))


@pytest.mark.slow
def test_lambda_sweep_in_processes_keeps_the_gui_responsive(qtbot, view):
    inside = view.inside
    config = QUICK.replace(train_subset=500, max_epochs=1)
    ticks = []
    from PySide6.QtCore import QTimer
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    with qtbot.waitSignal(inside.sweep_finished, timeout=60000) as blocker:
        assert inside.start_sweep([0.0, 20.0], config=config, workers=2)
        assert inside.sweep_running() and not inside.sweep_button.isEnabled()
    timer.stop()
    points = blocker.args[0]
    assert [p.l2 for p in points] == [0.0, 20.0]
    assert inside.progress.value() == 2 and inside.sweep_button.isEnabled()
    assert len(ticks) >= 3, "the event loop kept running during the sweep"


def test_export_report_writes_a_new_folder(qtbot, view, tmp_path):
    choose(qtbot, view.chooser_a, "report-no-l2")
    choose(qtbot, view.chooser_b, "report-l2")
    out = tmp_path / "rep"
    errors = []
    view.show_error = lambda title, text, details=None: errors.append(text)
    with qtbot.waitSignal(view.report_written, timeout=60000):
        path = view.export_report(out, formats=("html",))
    assert path == out and (out / "report.html").is_file() and not errors
    assert view.export_report(out, formats=("html",)) is None
    assert "already exists" in errors[-1]
    view.ask_report_dir = lambda: ""
    assert view.export_report() is None
