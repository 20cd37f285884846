"""Work off the GUI thread that a view starts, shows the progress of and may cancel.

:class:`BackgroundTask` lives in the GUI thread and runs one function at a time on its own
QThread (the same shape as :mod:`digitlab.gui.train_worker`, the house example): the worker never
touches a widget; it reports through signals, which the task re-emits in the GUI thread, so
``qtbot.waitSignal(task.finished)`` is safe. ``shutdown()`` cancels and joins the thread (a QThread
alive at exit aborts the process).

The function is called as ``fn(control, say)``: ``say(text)`` reports progress (and raises
:class:`Cancelled` once the person cancelled), ``control.check()`` does only the latter.
Something that must be made on the GUI thread (a pyqtgraph figure, any QWidget) goes through
:meth:`BackgroundTask.call_in_gui` from the worker: the GUI thread runs it between two events,
so the event loop stalls for one figure at a time, never for the whole job.

:class:`ProgressRow` is what the person sees meanwhile: a busy bar, what is being done, Cancel.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

log = logging.getLogger("digitlab.gui")

__all__ = ["BackgroundTask", "Cancelled", "TaskControl", "ProgressRow"]


class Cancelled(Exception):
    """The person cancelled: raised in the worker by ``say`` or ``control.check()``."""


class TaskControl:
    """A thread-safe cancel flag."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class _GuiJob:
    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None


class _Worker(QObject):
    """Runs ``fn(control, say)`` in its thread; talks only through signals."""

    progress = Signal(str)
    outcome = Signal(str, object)           # "done" / "failed" / "cancelled", result or exception

    def __init__(self, fn: Callable, control: TaskControl) -> None:
        super().__init__()
        self._fn = fn
        self._control = control

    def _say(self, text: str) -> None:
        self._control.check()
        self.progress.emit(text)

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(self._control, self._say)
        except Cancelled:
            self.outcome.emit("cancelled", None)
        except Exception as exc:  # noqa: BLE001 - reported to the person; the thread must end cleanly
            log.error("A background task failed:\n%s", traceback.format_exc())
            self.outcome.emit("failed", exc)
        else:
            self.outcome.emit("done", result)


class BackgroundTask(QObject):
    """One background job at a time; lives in the GUI thread.

    Signals (GUI thread): ``progress(str)``; then, once the thread has ended (``is_running()`` is
    already False), exactly one of ``done(object)`` (the function's result), ``failed(object)``
    (the exception) or ``cancelled()``, and then ``finished()``.
    """

    progress = Signal(str)
    done = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()
    _call = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._control: TaskControl | None = None
        self._outcome: tuple[str, object] = ("cancelled", None)
        # what the GUI thread made for the worker (figures: widgets), kept until the thread has
        # ended so that their last reference always goes in the GUI thread, never in the worker
        self._keep: list[object] = []
        self._call.connect(self._run_call, Qt.ConnectionType.QueuedConnection)

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, fn: Callable[[TaskControl, Callable[[str], None]], object]) -> bool:
        """Run ``fn(control, say)`` on a new thread; False if a job is still running."""
        if self._thread is not None:
            return False
        self._control = TaskControl()
        self._outcome = ("cancelled", None)
        self._thread = QThread()
        self._thread.setObjectName(f"digitlab-{self._name}")
        self._worker = _Worker(fn, self._control)
        self._worker.moveToThread(self._thread)
        w, t = self._worker, self._thread
        t.started.connect(w.run)
        w.progress.connect(self._on_progress)
        w.outcome.connect(self._on_outcome)
        # QThread.quit is thread-safe: called directly from the worker, not queued to a GUI
        # thread that may be waiting for this thread
        w.outcome.connect(t.quit, Qt.ConnectionType.DirectConnection)
        t.finished.connect(w.deleteLater)
        t.finished.connect(self._on_thread_finished)
        t.start()
        return True

    def cancel(self) -> None:
        if self._control is not None:
            self._control.cancel()

    def is_cancelled(self) -> bool:
        return self._control is not None and self._control.cancelled

    def call_in_gui(self, fn: Callable[[], object]) -> object:
        """From the worker: run ``fn()`` on the GUI thread and return its result (or raise its
        error). Raises :class:`Cancelled` instead of waiting once the job is cancelled. What ``fn``
        returns is also kept by the GUI thread until the job ends: a widget made there is never
        deleted by the worker thread dropping it."""
        control = self._control
        job = _GuiJob(fn)
        self._call.emit(job)
        while not job.done.wait(0.05):
            if control is None or control.cancelled:
                raise Cancelled()
        if job.error is not None:
            raise job.error
        return job.result

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and join the thread; True when nothing runs any more."""
        thread = self._thread
        if thread is None:
            return True
        self.cancel()
        thread.quit()
        if not thread.wait(timeout_ms):
            log.error("The %s thread did not stop within %d ms", self._name, timeout_ms)
            return False
        self._release()
        return True

    # ----------------------------------------------------------------- worker -> GUI thread
    @Slot(object)
    def _run_call(self, job: _GuiJob) -> None:
        if self._control is None or self._control.cancelled:
            job.done.set()
            return
        try:
            job.result = job.fn()
            self._keep.append(job.result)
        except BaseException as exc:  # noqa: BLE001 - handed to the worker, which reports it
            job.error = exc
        finally:
            job.done.set()

    @Slot(str)
    def _on_progress(self, text: str) -> None:
        if not self.is_cancelled():
            self.progress.emit(text)

    @Slot(str, object)
    def _on_outcome(self, kind: str, value: object) -> None:
        self._outcome = (kind, value)

    @Slot()
    def _on_thread_finished(self) -> None:
        # queued: by now shutdown() may have joined that thread and a new job may be running
        sender = self.sender()
        if self._thread is None or (sender is not None and sender is not self._thread):
            return
        self._release()

    def _release(self) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait()       # QThread.finished comes just before the thread really ends
        self._keep.clear()
        self._thread = self._worker = None
        cancelled = self._control is not None and self._control.cancelled
        self._control = None
        thread.deleteLater()
        kind, value = self._outcome
        if kind == "done":              # finished before it noticed a late cancel: it is done
            self.done.emit(value)
        elif kind == "failed" and not cancelled:
            self.failed.emit(value)
        else:
            self.cancelled.emit()
        self.finished.emit()


class ProgressRow(QWidget):
    """A busy bar, what is being done, and Cancel; hidden while nothing runs."""

    cancel_requested = Signal()

    def __init__(self, cancel_text: str = "Cancel", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)             # busy: the steps take unknown, uneven times
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.clicked.connect(self._on_cancel)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar)
        row.addWidget(self.label, 1)
        row.addWidget(self.cancel_button)
        self.hide()

    @Slot()
    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_requested.emit()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.cancel_button.setEnabled(True)
        self.show()

    def set_text(self, text: str) -> None:
        self.label.setText(text)

    def stop(self) -> None:
        self.hide()
