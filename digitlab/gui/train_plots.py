"""Live training curves: cost and validation accuracy against steps, several runs at once.

Checks arrive whenever the trainer produces them (queued from the worker thread); they are only
buffered on arrival. A QTimer flushes the buffer at most ``max_fps`` times a second, appending to
preallocated numpy arrays that double when full and calling ``setData`` on curves made once per
run (the pyqtgraph ``scrollingPlots`` pattern): nothing is re-plotted from scratch.

Besides the checks, every step's mini-batch cost is drawn as a thin, light line under the run's
curves (``add_steps``: one point per step, so a Step shows at once), and a setting changed during
the run as a vertical line labelled with its new value (``add_change``: "lr 0.01", "L2 5").

Non-finite values (a diverging run) are dropped rather than drawn; the view shows the core's
message instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from digitlab.gui import theme
from digitlab.reports import figures as F

__all__ = ["GrowingBuffer", "TrainPlots", "PALETTE"]

# Distinct, colour-blind-friendly (Okabe-Ito) colours; runs cycle through them.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
FADED_COLOR = "#8a8a8a"  # earlier runs: one quiet grey, so they never look like a live run
FADED_ALPHA = 110
MAX_FADED_RUNS = 8
# Training costs above this stretch the cost plot no further: 2.5 is just above ln 10 = 2.30, the
# cost of guessing among ten classes, so a higher training cost is a spike, not a trend.
TRAIN_COST_CEILING = 2.5
# The mini-batch cost of every step: light enough to read as the noise under the curves.
BATCH_COST_ALPHA = 80
# How a change marker names each setting, e.g. "lr 0.01".
CHANGE_NAMES = {"learning_rate": "lr", "l2": "L2"}


class GrowingBuffer:
    """A 1-D float array that grows by doubling; ``view()`` is the filled part (no copy)."""

    def __init__(self, capacity: int = 256) -> None:
        self._data = np.empty(max(1, capacity), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        return self._data.size

    def extend(self, values: Sequence[float] | np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        need = self._n + values.size
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), dtype=np.float64)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n:need] = values
        self._n = need

    def view(self) -> np.ndarray:
        return self._data[: self._n]

    def clear(self) -> None:
        self._n = 0


@dataclass
class _Series:
    """One curve and its growing x/y buffers."""

    item: pg.PlotDataItem
    x: GrowingBuffer = field(default_factory=GrowingBuffer)
    y: GrowingBuffer = field(default_factory=GrowingBuffer)

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        ok = np.isfinite(ys)
        if not ok.any():
            return
        self.x.extend(xs[ok])
        self.y.extend(ys[ok])

    def push(self) -> None:
        self.item.setData(self.x.view(), self.y.view())


@dataclass
class _Run:
    run_id: int
    label: str
    color: str
    train_cost: _Series
    val_cost: _Series
    val_acc: _Series
    best_marker: pg.ScatterPlotItem
    best_acc_marker: pg.ScatterPlotItem
    best_line: pg.InfiniteLine
    batch_cost: _Series | None = None
    pending: list = field(default_factory=list)
    pending_steps: list = field(default_factory=list)
    changes: list = field(default_factory=list)     # (step, text, InfiniteLine)
    best_step: int | None = None
    best_cost: float = math.inf
    faded: bool = False
    live: bool = True


#: The two plots of a run's curves, with their titles and y labels (the Train view's and the Runs
#: view's).
PLOT_LABELS = (("Cost — solid: validation, dashed: training", "cross-entropy"),
               ("Validation accuracy", "accuracy (%)"))


def cost_and_accuracy_plots() -> tuple[pg.PlotWidget, pg.PlotWidget]:
    """The cost plot and the validation-accuracy plot, titled and labelled, without pyqtgraph's
    context menu, its auto-range button and its SI prefixes."""
    plots = []
    for title, ylabel in PLOT_LABELS:
        plot = pg.PlotWidget()
        pi = plot.getPlotItem()
        pi.setTitle(title, size="11pt")
        pi.setLabel("left", ylabel)
        # no grid: pyqtgraph replays grid lines across the whole plot on every repaint, which
        # measured as the largest share of the GUI thread's time while training
        pi.setMenuEnabled(False)
        pi.hideButtons()
        for axis in ("left", "bottom"):
            # a cost or a step count has no unit to prefix: pyqtgraph's automatic SI prefix
            # turned costs of 0.2-0.8 into "cross-entropy (x0.001)" with ticks 200-800
            pi.getAxis(axis).enableAutoSIPrefix(False)
        plots.append(plot)
    return plots[0], plots[1]


class TrainPlots(QWidget):
    """Two linked plots (cost, validation accuracy) with one set of curves per run.

    ``begin_run(label)`` returns a run id; ``add_check(run_id, check)`` buffers a check (anything
    with ``step``, ``train_cost``, ``val_cost``, ``val_accuracy``); ``add_steps(run_id, rows)``
    buffers steps ``(step, cost, ...)``; ``add_change(run_id, change)`` marks a setting changed
    during the run (anything with ``step``, ``setting``, ``new``); ``end_run(run_id, best_step)``
    marks the early-stopping point for good. ``fade_previous()`` turns every earlier run into a
    faded curve kept for comparison.
    """

    flushed = Signal()

    def __init__(self, parent: QWidget | None = None, *, max_fps: float = 20.0) -> None:
        super().__init__(parent)
        self._runs: dict[int, _Run] = {}
        self._next_id = 0
        self.flush_count = 0

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        self.cost_plot, self.acc_plot = cost_and_accuracy_plots()
        for plot in (self.cost_plot, self.acc_plot):
            pi = plot.getPlotItem()
            pi.setLabel("bottom", "step")
            # The view follows the data in coarse steps set by _follow() rather than pyqtgraph's
            # auto-range: a range that changes on every flush regenerates the axes (and their
            # width, which re-lays out the plot) and costs a second paint per frame.
            pi.getViewBox().disableAutoRange()
            pi.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
            plot.setMinimumHeight(160)
            layout.addWidget(plot, 3 if plot is self.cost_plot else 2)
        self.acc_plot.setXLink(self.cost_plot)
        self._following = True            # False once the person pans or zooms, until the next run
        self._x_max = 0.0
        self._cost_max = 0.0
        self.cost_plot.setRange(xRange=(0, 1000), yRange=(0, 2.5), padding=0)
        self.acc_plot.setRange(yRange=(0, 100), padding=0)
        self.cost_legend = self.cost_plot.getPlotItem().addLegend(offset=(-10, 10))

        self.cost_legend.hide()  # an empty legend is a stray little box

        self.placeholder = pg.TextItem("The curves appear here while a run trains: press Start (F5).",
                                       anchor=(0.5, 0.5))
        self.cost_plot.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(500, 1.25)

        self.message = pg.TextItem(anchor=(0.5, 0.5))
        self.message.setZValue(100)
        self.cost_plot.addItem(self.message, ignoreBounds=True)
        self.message.hide()
        self._restyle()
        theme.on_palette_change(self, self._restyle)

        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(1000 / max_fps)))
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def _restyle(self) -> None:
        """Background, axes, titles, legend and notes in the theme's colours (at start and when
        the theme changes); the runs' own colours stay."""
        look = theme.look()
        for plot in (self.cost_plot, self.acc_plot):
            theme.style_plot_widget(plot)
        self.placeholder.setColor(look.muted)
        self.message.setColor(theme.error_text())
        for run in self._runs.values():
            if not run.faded:
                self._ink_run(run, look)

    def _ink_run(self, run: _Run, look: F.Look) -> None:
        """A live or finished run's curves: its colour (the palette's black drawn light on a dark
        ground), its best-point stars outlined in the text colour."""
        color = F.color(PALETTE.index(run.color), look) if run.color in PALETTE else run.color
        run.train_cost.item.setPen(pg.mkPen(color, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine))
        run.val_cost.item.setPen(pg.mkPen(color, width=2.2))
        run.val_acc.item.setPen(pg.mkPen(color, width=2.2))
        for marker in (run.best_marker, run.best_acc_marker):
            marker.setBrush(pg.mkBrush(color))
            marker.setPen(pg.mkPen(look.text, width=0.8))
        run.best_line.setPen(pg.mkPen(color, width=1, style=pg.QtCore.Qt.PenStyle.DotLine))

    # ----------------------------------------------------------------- runs
    def begin_run(self, label: str, color: str | None = None) -> int:
        run_id = self._next_id
        self._next_id += 1
        color = color or PALETTE[run_id % len(PALETTE)]
        cost_pi = self.cost_plot.getPlotItem()
        acc_pi = self.acc_plot.getPlotItem()
        # one legend entry per run (the validation curve); the title says which line is which
        train = cost_pi.plot([], [], pen=pg.mkPen(color, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine))
        val = cost_pi.plot([], [], pen=pg.mkPen(color, width=2.2), name=label)
        acc = acc_pi.plot([], [], pen=pg.mkPen(color, width=2.2), name=label)
        best = pg.ScatterPlotItem(size=13, symbol="star", brush=pg.mkBrush(color),
                                      pen=pg.mkPen("k", width=0.8))
        best_acc = pg.ScatterPlotItem(size=13, symbol="star", brush=pg.mkBrush(color),
                                          pen=pg.mkPen("k", width=0.8))
        cost_pi.addItem(best)
        acc_pi.addItem(best_acc)
        line = pg.InfiniteLine(angle=90, movable=False,
                               pen=pg.mkPen(color, width=1, style=pg.QtCore.Qt.PenStyle.DotLine))
        line.hide()
        cost_pi.addItem(line, ignoreBounds=True)
        light = QColor(color)
        light.setAlpha(BATCH_COST_ALPHA)
        batch = cost_pi.plot([], [], pen=pg.mkPen(light, width=1))
        batch.setZValue(-1)
        # a long run has tens of thousands of steps: draw at most a point or two per pixel
        batch.setDownsampling(auto=True, method="peak")
        for item in (train, val, acc, batch):
            item.setClipToView(True)
        run = _Run(run_id, label, color, _Series(train), _Series(val), _Series(acc), best, best_acc, line,
                   batch_cost=_Series(batch))
        self._runs[run_id] = run
        self._ink_run(run, theme.look())
        self._following = True
        self.message.hide()
        self.placeholder.hide()
        self.cost_legend.show()
        return run_id

    def add_check(self, run_id: int, check: Any) -> None:
        """Buffer one check; the timer draws it (cheap: safe to call for every check)."""
        run = self._runs.get(run_id)
        if run is not None:
            run.pending.append((check.step, check.train_cost, check.val_cost, check.val_accuracy))

    def add_steps(self, run_id: int, rows) -> None:
        """Buffer steps, each ``(step, mini-batch cost, ...)``; the timer draws them."""
        run = self._runs.get(run_id)
        if run is not None:
            run.pending_steps.extend((r[0], r[1]) for r in rows)

    def add_change(self, run_id: int, change: Any) -> None:
        """Mark a setting changed during the run: a vertical line at ``change.step`` labelled with the
        new value ("lr 0.01"), in the run's colour."""
        run = self._runs.get(run_id)
        if run is None:
            return
        text = f"{CHANGE_NAMES.get(change.setting, change.setting)} {change.new:g}"
        # labels of changes close together are stacked downwards instead of overlapping
        position = 0.95 - 0.08 * (len(run.changes) % 6)
        line = pg.InfiniteLine(pos=change.step, angle=90, movable=False,
                               pen=pg.mkPen(run.color, width=1.5, style=pg.QtCore.Qt.PenStyle.DashDotLine),
                               label=text, labelOpts={"position": position, "color": run.color,
                                                      "fill": pg.mkBrush(255, 255, 255, 220),
                                                      "anchors": [(0, 0.5), (0, 0.5)]})
        self.cost_plot.getPlotItem().addItem(line, ignoreBounds=True)
        run.changes.append((int(change.step), text, line))

    def change_marks(self, run_id: int) -> list[tuple[int, str]]:
        """``[(step, label), ...]`` of the run's change markers, in order."""
        return [(step, text) for step, text, _line in self._runs[run_id].changes]

    def end_run(self, run_id: int, best_step: int | None = None) -> None:
        self.flush()
        run = self._runs.get(run_id)
        if run is None:
            return
        run.live = False
        if best_step is not None and best_step > 0:
            run.best_step = int(best_step)
            steps = run.val_cost.x.view()
            hits = np.flatnonzero(steps == best_step)
            if hits.size:
                run.best_cost = float(run.val_cost.y.view()[hits[0]])
            self._place_best(run)

    def fade_previous(self) -> None:
        """Fade every run drawn so far (kept for comparison) and drop them from the legends."""
        for run in list(self._runs.values()):
            if run.faded:
                continue
            run.faded = True
            color = QColor(FADED_COLOR)
            color.setAlpha(FADED_ALPHA)
            run.train_cost.item.setPen(pg.mkPen(color, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
            run.val_cost.item.setPen(pg.mkPen(color, width=1.5))
            run.val_acc.item.setPen(pg.mkPen(color, width=1.5))
            for marker in (run.best_marker, run.best_acc_marker):
                marker.setBrush(pg.mkBrush(color))
                marker.setPen(pg.mkPen(color))
            run.best_line.hide()
            run.batch_cost.item.hide()           # the noise of old runs would only blur the live one
            for _step, _text, line in run.changes:
                line.setPen(pg.mkPen(color, width=1, style=pg.QtCore.Qt.PenStyle.DashDotLine))
                line.label.setColor(color)
            self.cost_legend.removeItem(run.val_cost.item)  # the accuracy plot shares its colours
        self.cost_legend.setVisible(bool(self.cost_legend.items))
        faded = [r for r in self._runs.values() if r.faded]
        for run in faded[:-MAX_FADED_RUNS] if len(faded) > MAX_FADED_RUNS else []:
            self._remove(run)

    def clear(self) -> None:
        for run in list(self._runs.values()):
            self._remove(run)
        self.message.hide()
        self._x_max = self._cost_max = 0.0
        self.cost_legend.clear()
        self.cost_legend.hide()

    def show_message(self, text: str) -> None:
        """Words over the cost plot (a diverged run says why instead of drawing NaNs)."""
        self.message.setText(text)
        vb = self.cost_plot.getPlotItem().getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        self.message.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        self.message.show()

    def _remove(self, run: _Run) -> None:
        for pi, items in ((self.cost_plot.getPlotItem(), (run.train_cost.item, run.val_cost.item,
                                                          run.best_marker, run.best_line,
                                                          run.batch_cost.item,
                                                          *[line for _s, _t, line in run.changes])),
                          (self.acc_plot.getPlotItem(), (run.val_acc.item, run.best_acc_marker))):
            for item in items:
                pi.removeItem(item)
        self._runs.pop(run.run_id, None)

    # ----------------------------------------------------------------- drawing
    def run_ids(self) -> list[int]:
        return list(self._runs)

    def series(self, run_id: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The plotted (x, y) data of ``"train_cost"``, ``"val_cost"``, ``"val_acc"`` or
        ``"batch_cost"`` (every step's mini-batch cost) of a run."""
        item = getattr(self._runs[run_id], name).item
        x, y = item.getData()
        return (np.array([]) if x is None else np.asarray(x), np.array([]) if y is None else np.asarray(y))

    def best_step(self, run_id: int) -> int | None:
        return self._runs[run_id].best_step

    def is_faded(self, run_id: int) -> bool:
        return self._runs[run_id].faded

    def flush(self) -> None:
        """Append every buffered check to its curves (one ``setData`` per changed curve)."""
        changed = False
        for run in self._runs.values():
            if run.pending_steps:
                rows = np.asarray(run.pending_steps, dtype=np.float64)
                run.pending_steps.clear()
                run.batch_cost.extend(rows[:, 0], rows[:, 1])
                run.batch_cost.push()
                changed = True
            if not run.pending:
                continue
            rows = np.asarray(run.pending, dtype=np.float64)
            run.pending.clear()
            steps = rows[:, 0]
            run.train_cost.extend(steps, rows[:, 1])
            run.val_cost.extend(steps, rows[:, 2])
            run.val_acc.extend(steps, rows[:, 3] * 100.0)
            for series in (run.train_cost, run.val_cost, run.val_acc):
                series.push()
            if run.live:
                vals = rows[:, 2]
                finite = np.isfinite(vals)
                if finite.any():
                    i = int(np.nanargmin(np.where(finite, vals, np.inf)))
                    if vals[i] < run.best_cost:
                        run.best_cost = float(vals[i])
                        run.best_step = int(steps[i])
                        self._place_best(run)
            changed = True
        if changed:
            self._follow()
            self.flush_count += 1
            self.flushed.emit()

    @staticmethod
    def _nice_ceiling(value: float) -> float:
        """The smallest 'round' number (1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8 x 10^k) >= value."""
        if not value > 0:
            return 1.0
        exponent = math.floor(math.log10(value))
        for mantissa in (1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10):
            candidate = mantissa * 10.0 ** exponent
            if candidate >= value * (1 - 1e-12):
                return candidate
        return 10.0 ** (exponent + 1)

    def _follow(self) -> None:
        """Grow the visible range in coarse steps so every curve stays in view."""
        if not self._following:
            return
        x_max = cost_max = 0.0
        for run in self._runs.values():
            for series in (run.train_cost, run.val_cost, run.batch_cost):
                if len(series.x):
                    x_max = max(x_max, float(series.x.view()[-1]))
            # the height follows the validation cost and the training cost up to a limit: the
            # first training cost (the mean over the first steps) is often the highest point and
            # must be seen, but a wild first batch (a huge learning rate) may leave the top of the
            # plot rather than flatten every curve
            if len(run.val_cost.y):
                cost_max = max(cost_max, float(run.val_cost.y.view().max()))
            for series in (run.train_cost, run.batch_cost):
                if len(series.y):
                    cost_max = max(cost_max, min(float(series.y.view().max()), TRAIN_COST_CEILING))
        if x_max <= 0:
            return
        x_needed = self._nice_ceiling(x_max * 1.04)
        cost_needed = self._nice_ceiling(cost_max * 1.08)
        if x_needed != self._x_max or cost_needed != self._cost_max:
            self._x_max, self._cost_max = x_needed, cost_needed
            self.cost_plot.setRange(xRange=(0, x_needed), yRange=(0, cost_needed), padding=0)

    def _on_manual_range(self, *_args) -> None:
        self._following = False

    def _place_best(self, run: _Run) -> None:
        if run.best_step is None or not math.isfinite(run.best_cost):
            return
        run.best_marker.setData([run.best_step], [run.best_cost])
        acc_steps = run.val_acc.x.view()
        hits = np.flatnonzero(acc_steps == run.best_step)
        if hits.size:
            run.best_acc_marker.setData([run.best_step], [run.val_acc.y.view()[hits[0]]])
        run.best_line.setValue(run.best_step)
        if not run.faded:
            run.best_line.show()
