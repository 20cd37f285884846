"""The Runs view, driven the way a person does in the real main window: tick models in the list
(click, then Space), choose the x axis and the smoothing with the keyboard, press Export CSV; the
curves drawn and the CSV written are the files' histories.

Expected values are computed here from ``load_model(...).history`` and a moving average written out
by hand, never read back from the view's own helpers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitlab.io import SavedModel, load_model
from digitlab.nn import Network
from digitlab.training import History, TrainConfig

MODELS = Path(__file__).resolve().parents[2] / "models"


def ema(values, weight):
    """TensorBoard's debiased moving average, written out."""
    out, last = [], 0.0
    for k, v in enumerate(values, start=1):
        last = weight * last + (1 - weight) * v
        out.append(last / (1 - weight ** k) if weight else v)
    return np.array(out)


@pytest.fixture
def runs(qtbot, main_window):
    main_window.resize(1280, 800)
    main_window.view_actions["runs"].trigger()           # View > Runs (Ctrl+5)
    view = main_window.runs_view
    assert main_window.current_view_name() == "runs" and view.isVisible()
    return view


def row_of(view, name):
    for row in range(view.list.count()):
        if view.list.item(row).text() == name:
            return view.list.item(row)
    listed = [view.list.item(r).text() for r in range(view.list.count())]
    raise AssertionError(f"{name} is not in the list: {listed}")


def tick(qtbot, view, name):
    """Click the model's name (selects it), then Space (ticks it), as a person with a keyboard does."""
    item = row_of(view, name)
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.list.visualItemRect(item).center())
    assert view.list.currentItem() is item
    before = item.checkState()
    qtbot.keyClick(view.list, Qt.Key.Key_Space)
    assert item.checkState() != before


def wait_drawn(qtbot, view, names):
    qtbot.waitUntil(lambda: sorted(e.display_name for e in view.ticked()) == sorted(names)
                    and all((e, "val_cost", "raw") in view._items for e in view.ticked()), timeout=5000)


def test_tick_choose_axis_and_smoothing_export(qtbot, runs, main_window, tmp_path):
    view, lib = runs, main_window.library
    names = ["report-no-l2", "report-l2", "best"]
    for name in names:
        tick(qtbot, view, name)
    wait_drawn(qtbot, view, names)
    assert view.legend.isVisible() and not view.placeholder.isVisible()
    # the x axis: Step -> Epoch -> Seconds with the arrow keys
    view.x_axis.setFocus()
    for _ in range(2):
        qtbot.keyClick(view.x_axis, Qt.Key.Key_Down)
    assert view.x_axis.currentText() == "Seconds"
    # the smoothing: Home (0), three PageUps (0.30), five Rights (0.35)
    view.smoothing.setFocus()
    qtbot.keyClick(view.smoothing, Qt.Key.Key_Home)
    for _ in range(3):
        qtbot.keyClick(view.smoothing, Qt.Key.Key_PageUp)
    for _ in range(5):
        qtbot.keyClick(view.smoothing, Qt.Key.Key_Right)
    assert view.smoothing_value.text() == "0.35"
    qtbot.waitUntil(lambda: not view._redraw_timer.isActive(), timeout=2000)
    assert view.cost_plot.getPlotItem().getAxis("bottom").labelText == "seconds of training"
    for name in names:
        entry = lib.get(name)
        history = load_model(entry.path).history
        seconds = history.column("elapsed")
        x, y = view.plotted(entry, "val_cost", "raw")
        assert np.array_equal(x, seconds) and np.array_equal(y, history.column("val_cost"))
        x, y = view.plotted(entry, "train_cost", "smoothed")
        assert np.array_equal(x, seconds)
        np.testing.assert_allclose(y, ema(history.column("train_cost"), 0.35), rtol=1e-12)
        x, y = view.plotted(entry, "val_accuracy", "smoothed")
        np.testing.assert_allclose(y, ema(100 * history.column("val_accuracy"), 0.35), rtol=1e-12)
    # Export CSV…: the dialog answered with a file name
    out = tmp_path / "curves.csv"
    view.ask_export_path = lambda suggested: str(out)
    qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    assert out.is_file()
    assert main_window.statusBar().currentMessage().startswith("Wrote curves.csv: the curves of 3 models")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["model"] for r in rows} == set(names)
    for name in names:
        path = lib.get(name).path
        history = load_model(path).history
        for series in ("train_cost", "val_cost", "val_accuracy"):
            part = [r for r in rows if r["model"] == name and r["series"] == series]
            assert {r["file"] for r in part} == {str(path)}
            assert [float(r["value"]) for r in part] == history.column(series).tolist()
            assert [int(r["step"]) for r in part] == history.column("step").astype(int).tolist()
            assert [float(r["seconds"]) for r in part] == history.column("elapsed").tolist()
            np.testing.assert_allclose([float(r["smoothed"]) for r in part],
                                       ema(history.column(series), 0.35), rtol=1e-12)


def test_epochs_untick_and_no_smoothing(qtbot, runs, main_window):
    view, lib = runs, main_window.library
    tick(qtbot, view, "report-l2")
    tick(qtbot, view, "report-bn")
    wait_drawn(qtbot, view, ["report-l2", "report-bn"])
    view.x_axis.setFocus()
    qtbot.keyClick(view.x_axis, Qt.Key.Key_Down)
    assert view.x_axis.currentText() == "Epoch"
    view.smoothing.setFocus()
    qtbot.keyClick(view.smoothing, Qt.Key.Key_Home)
    assert view.smoothing_value.text() == "0.00"
    qtbot.waitUntil(lambda: not view._redraw_timer.isActive(), timeout=2000)
    entry = lib.get("report-l2")
    history = load_model(entry.path).history
    x, y = view.plotted(entry, "val_cost")
    # 48,000 training images in batches of 256: 188 steps an epoch
    np.testing.assert_allclose(x, history.column("step") / 188, rtol=1e-12)
    assert np.array_equal(y, history.column("val_cost"))            # no smoothing: the stored values
    assert (entry, "val_cost", "smoothed") not in view._items
    # unticking takes its curves away and leaves the other's
    tick(qtbot, view, "report-l2")
    qtbot.waitUntil(lambda: (entry, "val_cost", "raw") not in view._items, timeout=2000)
    assert [e.display_name for e in view.ticked()] == ["report-bn"]
    tick(qtbot, view, "report-bn")
    qtbot.waitUntil(lambda: view.placeholder.isVisible(), timeout=2000)
    assert not view.export_button.isEnabled()


def _a_run(name):
    rows = [[50 * k, 1 + (k - 1) // 2, 2.0 / k, 2.1 / k, 0.1 * k, 0.25 * k, 0.1] for k in range(1, 9)]
    return SavedModel(network=Network((784, 20, 7, 5, 10), seed=4), config=TrainConfig(seed=4), name=name,
                      history=History.from_array(np.array(rows, dtype=float)))


def test_the_list_follows_the_library(qtbot, runs, main_window):
    view, lib = runs, main_window.library
    entry = lib.add_run(_a_run("fresh"))                 # a run of this session, not saved yet
    item = row_of(view, "fresh (unsaved)")
    tick(qtbot, view, "fresh (unsaved)")
    wait_drawn(qtbot, view, ["fresh (unsaved)"])
    x, y = view.plotted(entry, "val_cost", "raw")
    assert np.array_equal(x, 50.0 * np.arange(1, 9)) and np.allclose(y, 2.1 / np.arange(1, 9))
    assert item.icon().pixmap(14, 14).toImage().pixelColor(7, 7) == view.colour(entry)
    # saved under a name: the same entry, still ticked, named as the library names it now
    saved = lib.add_model(entry.model, "kept")
    assert saved is entry
    qtbot.waitUntil(lambda: [e.display_name for e in view.ticked()] == ["kept"], timeout=2000)
    assert row_of(view, "kept").checkState() == Qt.CheckState.Checked
    qtbot.waitUntil(lambda: [label.text for _sample, label in view.legend.items] == ["kept"], timeout=2000)
    # deleted: gone from the list and the plots
    lib.delete(saved)
    qtbot.waitUntil(lambda: not view.ticked() and view.placeholder.isVisible(), timeout=2000)
    assert "kept" not in [view.list.item(r).text() for r in range(view.list.count())]


def test_a_model_found_damaged_when_ticked_is_said_in_words(qtbot, runs, main_window):
    import shutil

    import h5py

    from digitlab import paths

    view, lib = runs, main_window.library
    bad = paths.user_models_dir() / "nan-weights.h5"
    shutil.copyfile(MODELS / "report-l2.h5", bad)
    with h5py.File(bad, "r+") as f:          # attributes fine, arrays bad: found on loading only
        f.attrs["name"] = "nan weights"
        f["layers/1/b"][...] = np.nan
    lib.refresh()
    tick(qtbot, view, "nan weights")
    qtbot.waitUntil(lambda: view.note.isVisible(), timeout=5000)
    assert view.note.text().startswith("nan weights cannot be read:") and "non-finite" in view.note.text()
    listed = [view.list.item(r).text() for r in range(view.list.count())]
    assert not view.ticked() and "nan weights" not in listed and "report-l2" in listed


def test_the_plots_follow_the_palette(qtbot, runs):
    from PySide6.QtGui import QColor, QPalette

    tick(qtbot, runs, "report-l2")
    dark = QPalette(runs.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor(35, 35, 35))
    dark.setColor(QPalette.ColorRole.Text, QColor(230, 230, 230))
    runs.setPalette(dark)
    for plot in (runs.cost_plot, runs.acc_plot):
        assert plot.backgroundBrush().color() == QColor(35, 35, 35)
        assert plot.getPlotItem().getAxis("left").textPen().color() == QColor(230, 230, 230)
