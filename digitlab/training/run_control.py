"""Steering a run from another thread: pause, resume, cancel, step, slow down, change settings.

The training loop asks a :class:`RunControl` between two steps; the GUI (or a test) sets it from
its own thread. Everything here is thread-safe: Events for pausing and cancelling, a lock for the
few numbers (the step budget, the speed limit, the pending setting changes).

- **Step / Step N**: :meth:`RunControl.step` lets the run take exactly ``n`` more steps, then
  pauses it again (a check that falls on one of them is made as usual).
- **Speed**: :meth:`RunControl.set_speed` limits the run to at most ``s`` steps per second, so a
  class can follow it; the waits count as paused time, not as training time.
- **Changing a running run**: :meth:`RunControl.change` queues a new learning rate or L2 lambda;
  the loop takes it before its next step (:meth:`take_changes`) and records it in the history.
"""

from __future__ import annotations

import threading
import time

from .config import field_problems

#: The settings a running run accepts changes to, and the words a person reads for them.
CHANGEABLE = {"learning_rate": "learning rate", "l2": "L2 lambda"}
#: The slowest and fastest speed limits (steps per second) a run accepts.
MIN_SPEED, MAX_SPEED = 0.1, 1000.0
# A throttled run sleeps in slices this long, so a pause, a stop or a new speed is seen quickly.
_WAIT_SLICE = 0.05


class RunControl:
    """Pause, resume, cancel, step and slow down a run from any thread; queue setting changes.

    The training thread calls :meth:`wait_if_paused` between steps; it blocks on an Event while
    paused, so a paused run costs no CPU. Cancelling also releases a paused run.

    ``steps``: start with a step budget (``RunControl(steps=1)`` takes one step, then pauses;
    ``steps=0`` starts paused at step 0).
    """

    def __init__(self, *, steps: int | None = None):
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._budget: int | None = None     # steps left before pausing again; None: no limit
        self._speed: float | None = None    # at most this many steps per second; None: no limit
        self._changes: dict[str, float] = {}
        if steps is not None:
            self._set_budget(steps)

    # -- pause, resume, cancel
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        """Run freely again (an unfinished Step N is forgotten)."""
        with self._lock:
            self._budget = None
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_if_paused(self) -> float:
        """Block while paused; return the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - start

    # -- stepping
    def step(self, n: int = 1) -> None:
        """Take exactly ``n`` more steps (>= 1), then pause."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"the number of steps must be a whole number >= 1, got {n!r}")
        self._set_budget(n)

    def _set_budget(self, n: int) -> None:
        with self._lock:
            self._budget = n if n > 0 else None
        if n > 0:
            self._running.set()
        else:
            self._running.clear()

    @property
    def steps_left(self) -> int | None:
        """Steps the run takes before it pauses again; None when it runs freely."""
        return self._budget

    def after_step(self) -> None:
        """The loop took a step: count it against the budget, pausing when it is used up."""
        if self._budget is None:        # the usual run: no lock taken
            return
        with self._lock:
            if self._budget is None:
                return
            self._budget -= 1
            if self._budget <= 0:
                self._budget = None
                self._running.clear()

    # -- speed
    def set_speed(self, steps_per_second: float | None) -> None:
        """Limit the run to at most ``steps_per_second`` (None: as fast as it goes)."""
        if steps_per_second is not None:
            s = float(steps_per_second)
            if not MIN_SPEED <= s <= MAX_SPEED:
                raise ValueError(f"the speed must be between {MIN_SPEED:g} and {MAX_SPEED:g} steps per "
                                 f"second, got {steps_per_second!r}")
            steps_per_second = s
        with self._lock:
            self._speed = steps_per_second

    @property
    def speed(self) -> float | None:
        return self._speed

    @property
    def stepping(self) -> bool:
        """Whether a person is following the run step by step (a Step budget or a speed limit), so
        every step's result should be shown at once."""
        return self._budget is not None or self._speed is not None or self.paused

    def throttle(self, step_began: float) -> float:
        """With a speed limit, wait until a step that began at ``step_began`` (``perf_counter``)
        has taken its share of a second; returns the seconds waited. A pause, a stop or a faster
        speed ends the wait early."""
        waited = 0.0
        while True:
            speed = self._speed
            if speed is None or self.cancelled or self.paused:
                return waited
            left = step_began + 1.0 / speed - time.perf_counter()
            if left <= 0:
                return waited
            start = time.perf_counter()
            self._cancelled.wait(min(left, _WAIT_SLICE))
            waited += time.perf_counter() - start

    # -- changing settings
    def change(self, name: str, value: float) -> None:
        """Queue a new value of a setting of :data:`CHANGEABLE`; the run uses it from its next
        step. A ValueError says what is wrong with it (the same limits as the form's)."""
        if name not in CHANGEABLE:
            raise ValueError(f"only {' and '.join(CHANGEABLE.values())} can change during a run, "
                             f"not {name!r}")
        problems = field_problems(name, value)
        if problems:        # in a person's words: "learning rate must be > 0", not "learning_rate"
            raise ValueError(problems[0].replace(name, CHANGEABLE[name], 1))
        with self._lock:
            self._changes[name] = float(value)

    def take_changes(self) -> dict[str, float]:
        """The queued changes (setting -> new value), emptied; called by the loop before a step."""
        if not self._changes:            # the usual run: no lock taken
            return {}
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes
