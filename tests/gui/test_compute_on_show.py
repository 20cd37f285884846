"""Start fast, compute when seen: the window opens without touching the data set; Evaluate computes
when first shown, on a worker thread, with a progress row; File > Export report runs off the GUI
thread, stays responsive while the person switches views, and Cancel leaves nothing on disk.

Driven in the real main window with the bundled models and the real MNIST test set.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer

from digitlab.gui.stall_meter import StallMeter

TIMEOUT = 60_000


@pytest.fixture
def counted_splits():
    """The real splits (as the app makes them), counting the calls and the threads they run in."""
    from digitlab.training import splits_for

    calls: list[str] = []
    cache: dict = {}

    def load(config):
        calls.append(threading.current_thread().name)
        key = (config.dataset, config.n_validation)
        if key not in cache:
            cache[key] = splits_for(config.replace(train_subset=None))
        return cache[key]

    load.calls = calls
    return load


@pytest.fixture
def window(qtbot, make_settings, counted_splits):
    from digitlab.gui.main_window import MainWindow

    w = MainWindow(settings=make_settings(), evaluate_splits_for=counted_splits)
    w.confirm_close = lambda: True
    w.errors = []
    w.show_error = lambda title, text, details=None: w.errors.append((title, text, details))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    assert w.shutdown(30000)


def spin(qtbot, ms: int) -> None:
    qtbot.wait(ms)


def test_the_first_show_builds_no_splits_until_evaluate_is_shown(qtbot, window, counted_splits):
    spin(qtbot, 300)
    assert window.current_view_name() != "evaluate"
    assert counted_splits.calls == [], "the window's first show loaded the data set"
    assert window.evaluate_view.eval_a is None
    # Draw predicts without any data set
    window.show_view("draw")
    assert window.pair.a is not None
    with qtbot.waitSignal(window.draw_view.input_changed, timeout=5000):
        import numpy as np
        digit = np.zeros((28, 28), np.float32)
        digit[4:24, 12:16] = 1.0
        window.draw_view.canvas.set_image_array(digit)
    assert counted_splits.calls == []
    # Evaluate shown: now, and off the GUI thread
    with qtbot.waitSignal(window.evaluate_view.evaluated, timeout=TIMEOUT):
        window.show_view("evaluate")
    assert len(counted_splits.calls) == 1
    assert counted_splits.calls[0] != threading.main_thread().name
    assert window.evaluate_view.eval_a is not None and window.evaluate_view.eval_a.n == 10000


def test_evaluate_shows_progress_then_figures_without_blocking(qtbot, window):
    ev = window.evaluate_view
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    meter = StallMeter(10)
    timer.start(10)
    meter.start()
    window.show_view("evaluate")
    assert ev.eval_progress.isVisible(), "a progress indication while it computes"
    assert ev.eval_progress.label.text()
    with qtbot.waitSignal(ev.evaluated, timeout=TIMEOUT):
        pass  # only waiting for the signal
    meter.stop()
    timer.stop()
    assert not ev.eval_progress.isVisible()
    assert ev.eval_a is not None and "accuracy" in ev.headline.text()
    texts = [i.toPlainText() for i in ev.cm_a.getPlotItem().items if hasattr(i, "toPlainText")]
    assert sum(int(t) for t in texts) == 10000                     # the confusion matrix is drawn
    assert ev.gallery.count() > 0
    assert len(ticks) >= 10, "the 10 ms timer kept ticking while Evaluate computed"
    assert meter.max_ms < 500, meter.summary()   # 0.8-1.4 s before; ~0.2 s idle machine


@pytest.mark.slow
def test_export_stays_responsive_and_cancel_leaves_nothing(qtbot, window, tmp_path):
    ev = window.evaluate_view
    with qtbot.waitSignal(ev.evaluated, timeout=TIMEOUT):
        window.show_view("evaluate")
    parent = tmp_path / "reports"
    parent.mkdir()
    # a complete export, switching views while it runs
    out = parent / "report"
    meter = StallMeter(10)
    meter.start()
    with qtbot.waitSignal(ev.report_written, timeout=TIMEOUT):
        assert window.export_report(str(out)) == out
        assert ev.report_progress.isVisible() and ev.report_running()
        for name in ("draw", "models", "train", "evaluate"):
            window.show_view(name)
            spin(qtbot, 30)
    meter.stop()
    assert not window.errors, window.errors
    assert (out / "report.html").is_file() and (out / "report.pdf").is_file()
    assert meter.max_ms < 500, meter.summary()   # 0.8-1.4 s before; ~0.2 s idle machine
    assert not ev.report_progress.isVisible()
    # a cancelled export: no folder, no staging leftovers
    before = sorted(p.name for p in parent.iterdir())
    out2 = parent / "cancelled"
    with qtbot.waitSignal(ev.report_finished, timeout=TIMEOUT) as finished:
        assert window.export_report(str(out2)) == out2
        window.show_view("draw")
        spin(qtbot, 50)
        window.show_view("evaluate")
        ev.report_progress.cancel_button.click()
    assert finished.args == [""]
    assert not ev.report_running() and ev.export_button.isEnabled()
    assert not out2.exists()
    assert sorted(p.name for p in parent.iterdir()) == before
    assert not window.errors, window.errors
