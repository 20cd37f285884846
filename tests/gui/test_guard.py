"""The guard keeps a failing Qt event handler from taking the app down (Python 3.11 + PySide6)."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from digitlab.gui import guard
from digitlab.gui.guard import call_guarded, error_reporter, guarded, set_error_hook


@pytest.fixture(autouse=True)
def _fresh_guard():
    guard.reset_reported()
    previous = set_error_hook(None)
    yield
    set_error_hook(previous)
    guard.reset_reported()


class Broken(QWidget):
    """Every handler fails the way the interpreter itself fails (the case that crashes 3.11)."""

    def __init__(self):
        super().__init__()
        self.resize(120, 120)
        self.paints = 0

    @guarded
    def paintEvent(self, event):
        self.paints += 1
        return 1 / 0

    @guarded
    def mousePressEvent(self, event):
        return [][3]

    @guarded
    def mouseMoveEvent(self, event):
        return int("x")

    @guarded
    def resizeEvent(self, event):
        return {}["missing"]

    @guarded(default=False)
    def event(self, ev):
        return QWidget.event(self, ev)


def test_failing_handlers_do_not_crash_and_are_reported(qtbot, caplog):
    messages = []
    set_error_hook(messages.append)
    w = Broken()
    qtbot.addWidget(w)
    caplog.set_level(logging.ERROR, logger="digitlab.gui")
    with qtbot.waitSignal(error_reporter().error_occurred, timeout=2000):
        w.show()
        qtbot.waitExposed(w)
    w.repaint()
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseMove(w, QPoint(20, 20))
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    w.resize(150, 150)
    qtbot.wait(10)
    # still alive and still painting
    assert w.paints >= 1
    kinds = " ".join(messages)
    assert "ZeroDivisionError" in kinds
    assert "IndexError" in kinds
    assert "Broken.paintEvent" in kinds
    # logged with a traceback
    assert any("Traceback" in r.getMessage() for r in caplog.records)


def test_same_error_is_reported_once():
    messages = []
    set_error_hook(messages.append)

    @guarded
    def handler():
        return 1 / 0

    for _ in range(5):
        assert handler() is None
    assert len(messages) == 1
    assert guard.last_error() == messages[0]


def test_default_is_returned_and_value_passes_through():
    @guarded(default=False)
    def failing(x):
        raise ValueError("bad")

    @guarded(default=False)
    def fine(x):
        return x * 2

    assert failing(1) is False
    assert fine(21) == 42
    assert fine.__guarded__ and fine.__name__ == "fine"


def test_a_failing_hook_is_contained(caplog):
    def bad_hook(msg):
        raise RuntimeError("hook broke")

    set_error_hook(bad_hook)
    caplog.set_level(logging.ERROR, logger="digitlab.gui")
    assert call_guarded("somewhere", lambda: 1 / 0, default="d") == "d"
    assert "hook broke" in caplog.text


def test_signal_carries_message(qtbot):
    with qtbot.waitSignal(error_reporter().error_occurred, timeout=1000) as blocker:
        call_guarded("place", lambda: [][1])
    assert "IndexError" in blocker.args[0]
    assert "place" in blocker.args[0]


_SCRIPT = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QWidget
from digitlab.gui.guard import guarded
app = QApplication([])
GUARD = sys.argv[1] == "guarded"
class W(QWidget):
    def resizeEvent(self, e):
        1 / 0
if GUARD:
    W.resizeEvent = guarded(W.resizeEvent)
w = W(); w.show(); w.resize(200, 200); app.processEvents()
print("alive")
"""


def test_guard_prevents_the_real_crash_in_a_fresh_process(tmp_path):
    """Without the guard this Python 3.11 + PySide6 combination dies (SIGSEGV); with it, it lives."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**__import__("os").environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", _SCRIPT, "guarded"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "alive" in out.stdout
    assert "ZeroDivisionError" in out.stderr  # logged with its traceback


_REFCOUNT_SCRIPT = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from digitlab.process import install_refcount_guard
install_refcount_guard()   # what every entry point does: protects None/True/False on Python 3.11
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
w = QWidget()
class O(QObject):
    s = Signal()
o = O()
o.s.connect(lambda: None)
for i in range(50000):
    w.setObjectName("x")   # void method: drops a reference to None in PySide6 6.12 on 3.11
    o.s.emit()             # emit: drops a reference to True
print("alive")
"""


def test_many_qt_calls_do_not_exhaust_none_or_true(tmp_path):
    """50 000 void calls and emits would abort Python 3.11 ("deallocating None") unprotected."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", _REFCOUNT_SCRIPT], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "alive" in out.stdout


def test_every_overridden_qt_virtual_in_the_draw_and_models_views_is_guarded():
    """Any Qt virtual that Python overrides (event handlers, size hints, item-model methods) runs
    under the guard, since an exception in one of them kills Python 3.11 + PySide6."""
    from PySide6.QtCore import QAbstractItemModel, QObject
    from PySide6.QtWidgets import QWidget

    from digitlab.gui.canvas import DrawingCanvas
    from digitlab.gui.draw_view import DigitPreview, DrawView
    from digitlab.gui.models_view import LibraryTableModel, ModelsView
    from digitlab.gui.probability_bars import ProbabilityBars

    qt_bases = (QWidget, QAbstractItemModel, QObject)
    for cls in (DrawingCanvas, DigitPreview, DrawView, ProbabilityBars, ModelsView, LibraryTableModel):
        for name, value in vars(cls).items():
            if name.startswith("_") or not callable(value):
                continue
            if any(hasattr(base, name) for base in qt_bases) and name not in ("tr",):
                assert getattr(value, "__guarded__", False), f"{cls.__name__}.{name} is not guarded"
