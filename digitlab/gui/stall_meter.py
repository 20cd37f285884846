"""Measure how long the GUI event loop stalls: a fast QTimer and the gaps between its ticks.

A timer that should fire every ``interval_ms`` fires late by as long as the event loop was busy
(or starved of the GIL by another thread). ``max_ms`` is the longest such delay, ``p99_ms`` the
99th percentile. Used by the responsiveness test and ``benchmarks/gui_responsiveness.py``.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer

__all__ = ["StallMeter", "spin"]


def spin(seconds: float) -> None:
    """Run the event loop for ``seconds`` (what a script does while the app works: paints,
    signals from worker threads and timers all get their turn)."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


class StallMeter(QObject):
    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self._gaps: list[float] = []

    def start(self) -> None:
        self._gaps.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self._gaps.append(now - self._last)
        self._last = now

    @property
    def ticks(self) -> int:
        return len(self._gaps)

    def stalls_ms(self) -> np.ndarray:
        """Delay of every tick beyond its interval, in milliseconds (>= 0)."""
        gaps = np.asarray(self._gaps, dtype=np.float64) * 1000.0
        return np.clip(gaps - self.interval_ms, 0.0, None)

    @property
    def max_ms(self) -> float:
        s = self.stalls_ms()
        return float(s.max()) if s.size else 0.0

    @property
    def p99_ms(self) -> float:
        s = self.stalls_ms()
        return float(np.percentile(s, 99)) if s.size else 0.0

    def summary(self) -> str:
        return (f"event-loop stall: max {self.max_ms:.1f} ms, p99 {self.p99_ms:.1f} ms "
                f"over {self.ticks} ticks of {self.interval_ms} ms")
