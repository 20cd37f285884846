"""The main window: views, menus, shortcuts, settings that survive a restart, closing while training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from digitlab import __version__
from digitlab.gui.main_window import MainWindow, about_text, app_settings

RUN_TIMEOUT = 60_000
REPO = Path(__file__).resolve().parents[2]


def _menu_texts(menu) -> list[str]:
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def test_five_views_and_switching_with_the_keyboard(qtbot, main_window):
    tabs = main_window.views
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Train", "Draw", "Models", "Evaluate", "Runs"]
    main_window.activateWindow()
    for i, name in enumerate(["draw", "models", "evaluate", "runs", "train"], start=1):
        main_window.view_actions[name].trigger()
        assert tabs.currentIndex() == i % 5 and main_window.current_view_name() == name
        assert main_window.view_actions[name].isChecked()
    assert [a.shortcut().toString() for a in main_window.view_actions.values()] == [
        "Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+5"]


def test_menus_and_shortcuts(main_window):
    menus = main_window.menus
    assert _menu_texts(menus["File"]) == ["Open model…", "Save model…", "Export weights…", "Export report…",
                                          "Quit"]
    assert _menu_texts(menus["Train"]) == ["Start", "Pause", "Stop", "Step",
                                           "Run the report's four experiments"]
    assert _menu_texts(menus["View"]) == ["Train", "Draw", "Models", "Evaluate", "Runs", "Theme"]
    assert _menu_texts(menus["Help"]) == ["Show log folder", "About digitlab", "About Qt"]
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in main_window.actions()}
    assert shortcuts["Open model…"] == "Ctrl+O"
    assert shortcuts["Save model…"] == "Ctrl+S"
    assert shortcuts["Quit"] == "Ctrl+Q"
    assert shortcuts["Start"] == "F5"
    assert shortcuts["Stop"] == "Shift+F5"
    # nothing to save or stop before a run
    assert not main_window.save_action.isEnabled()
    assert not main_window.stop_action.isEnabled() and main_window.start_action.isEnabled()


def test_about_credits_mnist_and_shows_the_version(main_window):
    text = about_text()
    for needle in ("Yann LeCun", "Corinna Cortes", "Christopher J. C. Burges", "CC BY-SA 3.0", __version__):
        assert needle in text
    shown = []
    main_window.show_about = lambda: shown.append(True)
    main_window.about_action.trigger()
    assert shown == [True]


def test_f5_starts_and_the_status_bar_follows_the_run(qtbot, main_window, fill_form, quick_settings):
    view = main_window.train_view
    fill_form(view.form, {**quick_settings, "max_epochs": "1000"})
    main_window.start_action.trigger()
    assert main_window.state_label.text() == "Training"
    assert main_window.stop_action.isEnabled() and not main_window.start_action.isEnabled()
    qtbot.waitUntil(lambda: len(view.plots.run_ids()) == 1, timeout=RUN_TIMEOUT)
    main_window.pause_action.trigger()
    assert main_window.state_label.text() == "Paused"
    assert main_window.pause_action.text().replace("&", "") == "Resume"
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        main_window.stop_action.trigger()
    assert main_window.state_label.text() == "Idle"
    assert main_window.save_action.isEnabled()


def test_invalid_settings_start_nothing_and_f5_says_why(main_window, fill_form):
    fill_form(main_window.train_view.form, {"batch_size": "-3"})
    assert main_window.start_action.isEnabled()   # a disabled F5 would swallow the key silently
    main_window.start_action.trigger()
    assert not main_window.train_view.is_training()
    assert main_window.statusBar().currentMessage().startswith("Cannot start: ")


def test_settings_persist_across_two_windows(qtbot, make_settings, fill_form):
    first = MainWindow(settings=make_settings())
    qtbot.addWidget(first)
    first.show()
    fill_form(first.train_view.form, {"learning_rate": "0.02", "train_subset": "5000"})
    first.train_view.form.batch_norm.setChecked(True)
    runs = first.runs_view
    runs.x_axis.setCurrentIndex(runs.x_axis.findData("seconds"))
    runs.smoothing.setValue(85)
    first.resize(first.minimumSizeHint().width(), 640)   # as close as it gets to the offscreen 800x800 screen
    size = first.size()
    first.show_view("models")
    sizes = [500, 700]
    first.train_view.splitter.setSizes(sizes)
    sizes = first.train_view.splitter.sizes()
    first.close()
    assert not first.isVisible()

    second = MainWindow(settings=make_settings())
    qtbot.addWidget(second)
    second.show()
    config = second.train_view.form.config()
    assert config.learning_rate == 0.02 and config.train_subset == 5000 and config.batch_norm
    assert second.runs_view.x_axis_name() == "seconds" and second.runs_view.smoothing_weight() == 0.85
    # restoreGeometry keeps a window on its screen: the offscreen screen is only 800 px wide
    screen_width = second.screen().availableGeometry().width()
    assert second.height() == size.height()
    assert second.width() == size.width() or size.width() > screen_width
    assert second.views.currentIndex() == 2
    second.show_view("train")
    qtbot.wait(20)
    assert abs(second.train_view.splitter.sizes()[0] - sizes[0]) <= 2     # the settings pane's width
    second.close()


def test_damaged_settings_fall_back_to_the_defaults(qtbot, settings_path, make_settings):
    settings = make_settings()
    settings.setValue("train/settings", "{not json")
    settings.setValue("window/view", "seven")
    settings.sync()
    window = MainWindow(settings=make_settings())
    qtbot.addWidget(window)
    assert window.train_view.form.is_valid()
    assert window.views.currentIndex() == 0


def test_settings_location_is_overridable(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_SETTINGS", str(tmp_path / "other.ini"))
    s = app_settings()
    s.setValue("x", 1)
    s.sync()
    assert (tmp_path / "other.ini").exists()
    monkeypatch.delenv("DIGITLAB_SETTINGS")
    assert Path(app_settings().fileName()).is_relative_to(tmp_path)   # QSettings.setPath in conftest


def test_close_during_training_asks_then_stops_and_joins(qtbot, main_window, fill_form, quick_settings):
    view = main_window.train_view
    fill_form(view.form, {**quick_settings, "max_epochs": "100000"})
    checks = []
    view.controller.check.connect(lambda _i, c: checks.append(c))
    view.start()
    qtbot.waitUntil(lambda: len(checks) >= 3, timeout=RUN_TIMEOUT)

    asked = []
    main_window.confirm_close = lambda: asked.append("no") or False
    main_window.close()
    assert asked == ["no"] and main_window.isVisible() and view.is_training()   # "No" keeps training

    main_window.confirm_close = lambda: asked.append("yes") or True
    thread = view.controller._thread
    main_window.close()
    assert asked == ["no", "yes"] and not main_window.isVisible()
    assert not view.is_training()
    assert thread.isFinished()                                                   # joined, not abandoned


def test_closing_a_paused_run_does_not_hang(qtbot, main_window, fill_form, quick_settings):
    view = main_window.train_view
    fill_form(view.form, {**quick_settings, "max_epochs": "100000"})
    view.start()
    qtbot.waitUntil(lambda: len(view.plots.run_ids()) == 1, timeout=RUN_TIMEOUT)
    view.toggle_pause()
    main_window.close()
    assert not main_window.isVisible() and not view.is_training()


def test_close_event_is_guarded():
    assert getattr(MainWindow.closeEvent, "__guarded__", False)


def test_opening_a_foreign_file_shows_the_error_and_changes_nothing(qtbot, main_window, tmp_path):
    bad = tmp_path / "not-a-model.h5"
    bad.write_bytes(b"this is not HDF5")
    errors = []
    main_window.show_error = lambda title, text, details=None: errors.append((title, text))
    before = len(getattr(main_window.library, "entries", lambda: [])())
    main_window.ask_open_path = lambda: str(bad)
    main_window.open_action.trigger()
    assert errors and "not-a-model.h5" in errors[0][1]
    assert len(getattr(main_window.library, "entries", lambda: [])()) == before
    assert main_window.isVisible()


def test_save_model_from_the_menu(qtbot, main_window, fill_form, quick_settings, tmp_path, monkeypatch):
    io = pytest.importorskip("digitlab.io")
    if not hasattr(io, "save_model"):
        pytest.skip("digitlab.io.save_model is not there yet")
    view = main_window.train_view
    fill_form(view.form, {**quick_settings, "max_epochs": "1"})
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        main_window.start_action.trigger()
    target = tmp_path / "mine.h5"
    main_window.ask_save_path = lambda suggested: str(target)
    main_window.save_action.trigger()
    assert target.exists()
    assert io.load_model(target).config.layer_sizes == (784, 20, 7, 5, 10)
    out = tmp_path / "weights.npz"
    main_window.ask_export_path = lambda: (str(out), "npz")
    main_window.export_weights_action.trigger()
    assert out.exists()
    # File > Export weights offers ONNX too, through the real dialog code (Qt's dialog answered)
    import onnxruntime as ort  # in the test extra

    from digitlab.gui import models_view
    onnx_filter = next(f for f, fmt in models_view.EXPORT_FILTERS.items() if fmt == "onnx")
    asked = []
    monkeypatch.setattr(models_view.QFileDialog, "getSaveFileName",
                        lambda parent, title, where, filters: (asked.append(filters), (str(tmp_path / "run"),
                                                                                       onnx_filter))[1])
    main_window.ask_export_path = main_window._dialog_export_weights
    main_window.export_weights_action.trigger()
    assert onnx_filter in asked[0]
    session = ort.InferenceSession(str(tmp_path / "run.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((16, 784), dtype=np.float32)
    (probabilities,) = session.run(["probabilities"], {"pixels": x})
    want = view.last_run().network.predict_proba(x)
    assert np.abs(probabilities - want).max() < 1e-5
    meta = session.get_modelmeta().custom_metadata_map
    assert "metrics.test_accuracy" in meta        # the run's metrics went along with the network


def test_an_edited_settings_file_leaves_the_runs_views_defaults(qtbot, make_settings):
    settings = make_settings()
    settings.setValue("runs/x_axis", "fortnights")
    settings.setValue("runs/smoothing", "lots")
    settings.sync()
    window = MainWindow(settings=make_settings())
    qtbot.addWidget(window)
    assert window.runs_view.x_axis_name() == "step" and window.runs_view.smoothing_weight() == 0.6


def test_app_names_for_qsettings_and_the_entry_point():
    from digitlab.app import make_app

    app = make_app()
    assert app is QApplication.instance()
    assert app.organizationName() == "digitlab" and app.applicationName() == "digitlab"
    assert app.applicationVersion() == __version__
    assert not app.windowIcon().isNull()
    out = subprocess.run([sys.executable, str(REPO / "main.py"), "--version"], capture_output=True,
                         text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == f"digitlab {__version__}"


def test_a_trained_model_saved_from_train_appears_in_the_library(qtbot, main_window, fill_form,
                                                                 quick_settings, isolated_home, tmp_path):
    view = main_window.train_view
    library = main_window.library
    before = {e.key for e in library.entries()}
    fill_form(view.form, {**quick_settings, "max_epochs": "2"})
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        view.start()
    with qtbot.waitSignal(view.model_saved, timeout=10_000) as blocker:
        qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    saved = Path(blocker.args[0])
    assert saved.is_relative_to(isolated_home)
    added = [e for e in library.entries() if e.key not in before]
    assert len(added) == 1 and added[0].path == saved.resolve()
    assert added[0].name == view.model_name()
    assert "Saved as" in view.message_label.text()

    # the same file opened from File > Open model… is recognised, not duplicated
    main_window.ask_open_path = lambda: str(saved)
    entry = main_window.open_model()
    assert entry is not None and entry.key == added[0].key
    assert main_window.views.currentIndex() == 2


def test_a_digit_sent_from_evaluate_lands_on_the_draw_canvas(qtbot, main_window):
    image = np.zeros((28, 28), dtype=np.float32)
    image[6:22, 12:16] = 1.0                                   # a plain "1"
    main_window.show_view("evaluate")
    main_window.evaluate_view.send_to_draw.emit(image, 1)
    assert main_window.views.currentIndex() == 1
    assert main_window.draw_view.true_label() == 1


def test_export_report_from_the_file_menu(qtbot, main_window, tmp_path):
    out = tmp_path / "report"
    main_window.evaluate_view.ask_report_dir = lambda: str(out)
    errors = []
    main_window.show_error = lambda title, text, details=None: errors.append(text)
    with qtbot.waitSignal(main_window.evaluate_view.report_written, timeout=60000):
        main_window.export_report_action.trigger()     # written on a worker thread
        assert main_window.views.currentIndex() == 3
    assert not errors, errors
    assert out.is_dir() and any(out.iterdir())


def test_an_error_while_closing_is_reported_not_fatal(qtbot, main_window, monkeypatch):
    from digitlab.gui import guard

    guard.reset_reported()

    def broken(*_a, **_k):
        return 1 / 0                     # an interpreter-raised error: fatal on 3.11 if unguarded

    monkeypatch.setattr(main_window, "save_settings", broken)
    main_window.close()
    assert "closeEvent" in (guard.last_error() or "") and "ZeroDivisionError" in guard.last_error()
