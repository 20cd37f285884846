"""Training off the GUI thread: a worker QObject on a QThread, and its GUI-thread controller.

:class:`TrainWorker` runs ``digitlab.training.train`` for one or more jobs (one job for Start,
the report's four for "Run the report's four experiments") inside a QThread. It never touches a
widget: it only emits signals, whose queued delivery carries the data to the GUI thread.

:class:`TrainController` lives in the GUI thread. It builds the thread and the worker, connects
``finished -> thread.quit`` and ``deleteLater``, re-emits everything from the GUI thread (so
``qtbot.waitSignal(controller.finished)`` is safe, see QT-NOTES: never wait on a worker-thread
object), forwards Pause/Resume/Stop, Step, the speed limit and a person's new learning rate or
L2 lambda to the core's thread-safe ``RunControl``, and joins the thread in
:meth:`TrainController.shutdown` (used by the window's closeEvent and by test teardown).

Every step's mini-batch cost reaches the GUI (``steps``): at once while a person follows the run
(a Step budget, a speed limit, or paused), otherwise gathered and sent every
``STEP_EMIT_INTERVAL`` seconds, so a fast run does not flood the event loop. A copy of the network
(``network``) follows each step the same way, at most every ``NETWORK_EMIT_INTERVAL`` seconds in
a fast run.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitlab.data import Splits
from digitlab.training import RunControl, TrainConfig, TrainResult, train
from digitlab.training.mixing import DEFAULT_EXTRA_SHARE

log = logging.getLogger("digitlab.gui")

__all__ = ["TrainWorker", "TrainController", "FineTuning", "load_splits", "Job", "TRAINING_SWITCH_INTERVAL",
           "STEP_EMIT_INTERVAL", "NETWORK_EMIT_INTERVAL"]

# While the worker runs NumPy-heavy Python, the GUI thread must wait for the GIL each time it
# needs it (every paint re-enters Python many times); CPython hands the GIL over only after the
# switch interval (5 ms by default). A shorter interval while training keeps those waits short.
TRAINING_SWITCH_INTERVAL = 0.001
# A fast run's steps are sent in batches this far apart (the plots draw at most 20 times a second),
# and a copy of its network at most this often (copying a large network takes milliseconds).
STEP_EMIT_INTERVAL = 0.1
NETWORK_EMIT_INTERVAL = 0.5
# While a person follows the run, a copy after every step, but at most this often (a run slowed
# to 100 steps a second would otherwise copy and redraw 100 networks a second); the step a Step
# ends on is always sent.
NETWORK_FOLLOW_INTERVAL = 0.05

Job = tuple[str, TrainConfig]
SplitsProvider = Callable[[TrainConfig], Splits]

def load_splits(config: TrainConfig) -> Splits:
    """The train/validation/test splits for ``config``, exactly as the command line makes them.

    The core's one split cache (:func:`digitlab.training.cached_splits`: same dataset, same fixed
    split seed, same subset, kept for the session so the second run on the same data starts at
    once). Safe to call from the worker thread.
    """
    from digitlab.training import cached_splits

    return cached_splits(config)


@dataclass(frozen=True)
class FineTuning:
    """What a run starts from and mixes in besides its settings (the Train form's fine-tuning rows).

    Files are named here and read by the worker, on its thread: a model's weights and a set of
    digits are loaded where the training runs, and a bad file is reported like any failed run.
    """

    start_path: Path | None = None       # a model file whose weights start the run; None: fresh
    start_name: str = ""                 # its name, recorded in the new model (init_from)
    extra_path: Path | None = None       # a .npz of digits (x, y) mixed into every epoch; None: none
    extra_share: float = DEFAULT_EXTRA_SHARE
    # Continue the run saved in start_path exactly (digitlab.training.continuing) for this many
    # more epochs, instead of fine-tuning it; None: fine-tune.
    more_epochs: int | None = None

    @property
    def active(self) -> bool:
        return self.start_path is not None or self.extra_path is not None

    @property
    def continues(self) -> bool:
        return self.start_path is not None and self.more_epochs is not None


class TrainWorker(QObject):
    """Runs the jobs one after another in its thread; talks only through signals.

    Signals (emitted in the worker thread):
      ``status(str)``                    what it is doing ("Loading MNIST…")
      ``run_started(int, str, object)``  job index, label, TrainConfig
      ``check(object)``                  a ``Check`` of the current job
      ``epoch(int, int, int)``           epoch, step, total epochs of the current job
      ``steps(object)``                  ``[(step, mini-batch cost, learning rate), ...]`` of the current job
      ``network(object, int)``           a copy of the network being trained, and its step
      ``changed(object)``                a ``Change`` the run has just applied
      ``run_finished(int, object)``      job index, its ``TrainResult``
      ``error(str)``                     an exception, in words (then ``finished``)
      ``finished(object)``               always last: the list of ``TrainResult`` so far
    """

    status = Signal(str)
    run_started = Signal(int, str, object)
    check = Signal(object)
    epoch = Signal(int, int, int)
    steps = Signal(object)
    network = Signal(object, int)
    changed = Signal(object)
    run_finished = Signal(int, object)
    error = Signal(str)
    finished = Signal(object)

    def __init__(self, jobs: Sequence[Job], control: RunControl,
                 splits_for: SplitsProvider | None = None, fine_tuning: FineTuning | None = None) -> None:
        super().__init__()
        self._jobs = list(jobs)
        self._control = control
        self._splits_for = splits_for or load_splits
        self._fine_tuning = fine_tuning or FineTuning()
        self._pending_steps: list[tuple[int, float, float]] = []
        self._steps_sent_at = self._network_sent_at = 0.0
        self._saved = None          # the model a continued run goes on from

    def _on_step(self, info) -> None:
        """Every step: its cost (and any change it applied) on to the GUI, now or gathered."""
        self._pending_steps.append((info.step, info.cost, info.learning_rate))
        for change in info.changes:
            self.changed.emit(change)
        now = time.perf_counter()
        following = self._control.stepping
        if following or now - self._steps_sent_at >= STEP_EMIT_INTERVAL:
            self._send_steps(now)
        since = now - self._network_sent_at
        last_of_a_step = self._control.steps_left == 1
        if since >= NETWORK_EMIT_INTERVAL or (following and (since >= NETWORK_FOLLOW_INTERVAL
                                                             or last_of_a_step)):
            self._network_sent_at = now
            self.network.emit(info.network.copy(), info.step)

    def _send_steps(self, now: float | None = None) -> None:
        if self._pending_steps:
            steps, self._pending_steps = self._pending_steps, []
            self.steps.emit(steps)
        self._steps_sent_at = time.perf_counter() if now is None else now

    def _on_check(self, check) -> None:
        self._send_steps()              # the steps before the check, drawn with it
        self.check.emit(check)

    def _load_fine_tuning(self):
        """The starting network, what the new model records about it, and the extra digits."""
        ft = self._fine_tuning
        initial, origin, extra = None, {}, None
        if ft.start_path is not None:
            from digitlab.io import load_model
            from digitlab.training.fine_tune import start_origin
            self.status.emit(f"Loading {ft.start_name or Path(ft.start_path).name}…")
            model = load_model(ft.start_path)
            initial, origin = model.network, start_origin(ft.start_name or model.name, ft.start_path)
            if ft.continues:
                from digitlab.training.continuing import continue_problems
                problems = continue_problems(model.training_state, model.origin, model.stop_reason)
                if problems:
                    raise ValueError("; ".join(problems))
                self._saved, initial = model, None
        if ft.extra_path is not None:
            from digitlab.data.labelled import load_labelled_set
            self.status.emit(f"Loading {Path(ft.extra_path).name}…")
            extra = load_labelled_set(ft.extra_path)
        return initial, origin, extra

    def _mixed(self, splits: Splits, extra, config: TrainConfig) -> Splits:
        if extra is None:
            return splits
        from digitlab.training.mixing import mix_extra
        return mix_extra(splits, extra.x, extra.y, share=self._fine_tuning.extra_share, name=extra.name,
                         checksum=extra.checksum, seed=config.seed)

    @Slot()
    def run(self) -> None:
        results: list[TrainResult] = []
        try:
            initial, origin, extra = self._load_fine_tuning()
            for index, (label, config) in enumerate(self._jobs):
                if self._control.cancelled:
                    break
                resume = {}
                if self._saved is not None:
                    from digitlab.training.continuing import continue_config
                    saved = self._saved
                    config = continue_config(saved.config, saved.training_state,
                                             more_epochs=self._fine_tuning.more_epochs)
                    resume = dict(resume=saved.training_state, history=saved.history)
                self.status.emit(f"Loading {config.dataset}…")
                splits = self._mixed(self._splits_for(config), extra, config)
                if self._control.cancelled:
                    break
                self.run_started.emit(index, label, config)
                if resume:
                    self._replay_history(resume["history"])
                result = train(config, splits, initial=initial, control=self._control,
                               on_check=self._on_check, on_epoch=self.epoch.emit, on_step=self._on_step,
                               **resume)
                self._send_steps()
                result.origin.update(origin)
                results.append(result)
                self.run_finished.emit(index, result)
                if result.stop_reason == "cancelled":
                    break
        except Exception as exc:  # noqa: BLE001 - reported to the person, never lost
            self._send_steps()
            log.error("Training failed:\n%s", traceback.format_exc())
            self.error.emit(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        finally:
            self.finished.emit(results)


    def _replay_history(self, history) -> None:
        """A continued run's curves start with the saved run's checks and changes."""
        for check in history.checks:
            self.check.emit(check)
        for change in history.changes:
            self.changed.emit(change)


class TrainController(QObject):
    """Owns the training thread; lives in the GUI thread and re-emits the worker's signals.

    Signals (emitted in the GUI thread):
      ``started()``, ``status(str)``, ``run_started(int, str, object)``, ``check(int, object)``
      (job index, Check), ``epoch(int, int, int)``, ``steps(int, object)`` (job index, steps),
      ``network(object, int)``, ``changed(int, object)`` (job index, Change),
      ``run_finished(int, object)``, ``error(str)``, ``paused_changed(bool)``, and
      ``finished(object)`` (list of TrainResult) once the thread has really ended, so
      ``is_running()`` is already False there.
    """

    started = Signal()
    status = Signal(str)
    run_started = Signal(int, str, object)
    check = Signal(int, object)
    epoch = Signal(int, int, int)
    steps = Signal(int, object)
    network = Signal(object, int)
    changed = Signal(int, object)
    run_finished = Signal(int, object)
    error = Signal(str)
    paused_changed = Signal(bool)
    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainWorker | None = None
        self._control: RunControl | None = None
        self._results: list[TrainResult] = []
        self._current = -1
        self.run_started_at = 0.0
        self.paused_seconds = 0.0
        self._paused_at: float | None = None
        self._saved_switch_interval = sys.getswitchinterval()
        self._speed: float | None = None       # kept for the next run too

    # ----------------------------------------------------------------- commands
    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        """Paused, or taking a Step's steps and about to pause: not running freely."""
        c = self._control
        return c is not None and (c.paused or c.steps_left is not None)

    def start(self, jobs: Sequence[Job], splits_for: SplitsProvider | None = None,
              fine_tuning: FineTuning | None = None, steps: int | None = None) -> bool:
        """Start training ``jobs`` (``[(label, TrainConfig), ...]``); False if already running.

        ``fine_tuning``: start every job from a saved model and/or mix extra digits into it (or
        continue a saved run). ``steps``: take that many steps, then pause (Step with no run)."""
        if self.is_running():
            return False
        self._control = RunControl(steps=steps)
        self._control.set_speed(self._speed)
        self._results = []
        self._current = -1
        self._thread = QThread()
        self._thread.setObjectName("digitlab-training")
        self._worker = TrainWorker(jobs, self._control, splits_for, fine_tuning)
        self._worker.moveToThread(self._thread)

        w, t = self._worker, self._thread
        t.started.connect(w.run)
        w.status.connect(self._on_status)
        w.run_started.connect(self._on_run_started)
        w.check.connect(self._on_check)
        w.epoch.connect(self._on_epoch)
        w.steps.connect(self._on_steps)
        w.network.connect(self._on_network)
        w.changed.connect(self._on_changed)
        w.run_finished.connect(self._on_run_finished)
        w.error.connect(self._on_error)
        w.finished.connect(self._on_worker_finished)
        w.finished.connect(t.quit)
        t.finished.connect(w.deleteLater)
        t.finished.connect(self._on_thread_finished)
        self._saved_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._saved_switch_interval, TRAINING_SWITCH_INTERVAL))
        t.start()
        self.started.emit()
        if steps is not None:
            self._paused_at = time.perf_counter()
            self.paused_changed.emit(True)       # it pauses by itself after those steps
        return True

    def step(self, n: int = 1) -> None:
        """Take ``n`` more steps, then pause (running or paused)."""
        if self._control is None:
            return
        was_paused = self._control.paused
        self._control.step(n)
        if was_paused:
            self._count_pause_end()
        # Shown as paused straight away: the run pauses by itself after n steps, and the buttons
        # offer Resume rather than a Pause that would cut the steps short.
        if self._paused_at is None:
            self._paused_at = time.perf_counter()
        self.paused_changed.emit(True)

    def set_speed(self, steps_per_second: float | None) -> None:
        """At most this many steps per second (None: full speed), for this run and the next."""
        self._speed = steps_per_second
        if self._control is not None:
            self._control.set_speed(steps_per_second)

    @property
    def speed(self) -> float | None:
        return self._speed

    def change(self, setting: str, value: float) -> None:
        """A new learning rate or L2 lambda from the run's next step (ValueError: why not)."""
        if self._control is None:
            raise ValueError("no run is training, so there is nothing to change; the form's settings "
                             "are the next run's")
        self._control.change(setting, value)

    def _count_pause_end(self) -> None:
        if self._paused_at is not None:
            self.paused_seconds += time.perf_counter() - self._paused_at
            self._paused_at = None

    def pause(self) -> None:
        if self._control is not None and not self._control.paused:
            self._control.pause()
            self._paused_at = time.perf_counter()
            self.paused_changed.emit(True)

    def resume(self) -> None:
        """Run freely again (also after Step: the paused look ends, and so do the steps left)."""
        control = self._control
        if control is not None and (control.paused or control.steps_left is not None):
            control.resume()
            self._count_pause_end()
            self.paused_changed.emit(False)

    def toggle_pause(self) -> None:
        self.resume() if self.is_paused() else self.pause()

    def is_stepping(self) -> bool:
        """Whether the run is taking a Step's steps, to pause after them."""
        return self._control is not None and self._control.steps_left is not None

    def stop(self) -> None:
        """Ask the run to stop (it ends as "cancelled", keeping what it learned)."""
        if self._control is not None:
            self._control.cancel()
            self.resume()  # a paused run must wake up to notice the cancel

    def active_seconds(self) -> float:
        """Time the current job has been training, pauses excluded."""
        if not self.run_started_at:
            return 0.0
        now = time.perf_counter()
        paused = self.paused_seconds + (now - self._paused_at if self._paused_at else 0.0)
        return max(0.0, now - self.run_started_at - paused)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop and join the thread (closeEvent, test teardown). True when nothing runs any more."""
        thread = self._thread
        if thread is None:
            return True
        self.stop()
        thread.requestInterruption()
        thread.quit()
        done = thread.wait(timeout_ms)
        if not done:
            log.error("The training thread did not stop within %d ms", timeout_ms)
            return False
        self._release_thread()
        return True

    # ----------------------------------------------------------------- worker -> GUI thread
    @Slot(str)
    def _on_status(self, text: str) -> None:
        self.status.emit(text)

    @Slot(int, str, object)
    def _on_run_started(self, index: int, label: str, config: object) -> None:
        self._current = index
        self.run_started_at = time.perf_counter()
        self.paused_seconds = 0.0
        self._paused_at = time.perf_counter() if self.is_paused() else None
        self.run_started.emit(index, label, config)

    @Slot(object)
    def _on_check(self, check: object) -> None:
        self.check.emit(self._current, check)

    @Slot(int, int, int)
    def _on_epoch(self, epoch: int, step: int, total: int) -> None:
        self.epoch.emit(epoch, step, total)

    @Slot(object)
    def _on_steps(self, steps: object) -> None:
        self.steps.emit(self._current, steps)

    @Slot(object, int)
    def _on_network(self, network: object, step: int) -> None:
        self.network.emit(network, step)

    @Slot(object)
    def _on_changed(self, change: object) -> None:
        self.changed.emit(self._current, change)

    @Slot(int, object)
    def _on_run_finished(self, index: int, result: object) -> None:
        self.run_finished.emit(index, result)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.error.emit(message)

    @Slot(object)
    def _on_worker_finished(self, results: object) -> None:
        self._results = list(results or [])

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:  # already joined by shutdown()
            return
        self._release_thread()

    def _release_thread(self) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait()  # QThread.finished is emitted just before the thread really ends
        sys.setswitchinterval(self._saved_switch_interval)
        self._thread = None
        self._worker = None
        self._control = None
        self.run_started_at = 0.0
        self._paused_at = None
        results, self._results = self._results, []
        thread.deleteLater()
        self.finished.emit(results)
