"""Inside the network: first-layer weights, mean |W| per layer, weight histograms, a lambda sweep and
the hidden activations of the digit on the Draw canvas, for two models side by side.

The sweep runs ``digitlab.reports.sweep.run_sweep`` (a pool of processes) from a QObject worker on
a QThread; the worker never touches a widget, it only emits signals that the view (GUI thread)
receives. ``shutdown()`` cancels and joins it (a QThread alive at exit aborts the process).
"""

from __future__ import annotations

import digitlab.gui.guard  # noqa: F401  first: keeps PySide6 6.12 on Python 3.11 from crashing (see guard)

import logging
import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from digitlab.gui.guard import guarded
from digitlab.reports import figures as F

log = logging.getLogger("digitlab.gui")

__all__ = ["InsideView", "SweepWorker", "ModelChooser"]


def _plot_widget() -> pg.PlotWidget:
    w = pg.PlotWidget()
    w.setBackground("w")
    return w


def refresh_pair(chooser_a: "ModelChooser", chooser_b: "ModelChooser") -> None:
    """Re-read the library into both choosers; model A always shows a model when there is one."""
    chooser_a.refresh()
    chooser_b.refresh()
    if chooser_a.currentIndex() < 0 and chooser_a.count():
        chooser_a.setCurrentIndex(0)


class ModelChooser(QComboBox):
    """A combo box of the library's models (``allow_none`` adds a "none" entry first)."""

    def __init__(self, library, allow_none: bool = False, parent=None):
        super().__init__(parent)
        self.library = library
        self.allow_none = allow_none
        self.setMinimumWidth(220)
        self.refresh()

    def refresh(self, keep: bool = True) -> None:
        current = self.current_key() if keep else None
        self.blockSignals(True)
        self.clear()
        if self.allow_none:
            self.addItem("(none)", None)
        for entry in self.library.entries():
            self.addItem(entry.name, entry.key)
        if current is not None:
            self.select(current)
        self.blockSignals(False)

    def current_key(self):
        return self.currentData()

    def current_entry(self):
        key = self.currentData()
        return None if key is None else self.library.get(key)

    def select(self, entry_or_key) -> bool:
        if entry_or_key is None:
            index = 0 if self.allow_none else -1
        else:
            key = getattr(entry_or_key, "key", entry_or_key)
            index = self.findData(str(key))
        if index >= 0:
            self.setCurrentIndex(index)
            return True
        return False


class SweepWorker(QObject):
    """Runs a lambda sweep on a worker thread. Never touches widgets; talks through signals."""

    point_done = Signal(object, int, int)     # SweepPoint, done, total
    finished = Signal(object)                 # list of SweepPoint (what finished, even if cancelled)
    failed = Signal(str)

    def __init__(self, config, lambdas, seeds=(3,), workers: int | None = None):
        super().__init__()
        from digitlab.training import RunControl
        self.config, self.lambdas, self.seeds = config, list(lambdas), list(seeds)
        self.workers = workers
        self.control = RunControl()

    @Slot()
    def run(self) -> None:
        from digitlab.reports.sweep import run_sweep
        try:
            points = run_sweep(self.config, self.lambdas, self.seeds, workers=self.workers, control=self.control,
                               on_done=lambda p, n, total: self.point_done.emit(p, n, total))
        except Exception as exc:  # noqa: BLE001 - reported to the person, the thread must end cleanly
            log.exception("The lambda sweep failed")
            self.failed.emit(f"The lambda sweep failed: {exc}")
            points = []
        self.finished.emit(points)

    def cancel(self) -> None:
        self.control.cancel()


class InsideView(QWidget):
    """First-layer weights, weights per layer, histograms, lambda sweep and activations.

    Parameters
    ----------
    library : ModelLibrary

    Signals
    -------
    sweep_finished(object)
        The list of ``SweepPoint`` of a finished (or cancelled) sweep, emitted in the GUI thread.
    status_message(str)
    """

    sweep_finished = Signal(object)
    status_message = Signal(str)

    def __init__(self, library, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self._thread: QThread | None = None
        self._worker: SweepWorker | None = None
        self.sweep_points: list = []
        self._last_input = None
        self._act_items: list = [[], []]

        self.chooser_a = ModelChooser(library)
        self.chooser_b = ModelChooser(library, allow_none=True)
        a, b = library.default_pair() if hasattr(library, "default_pair") else (None, None)
        self.chooser_a.select(a)
        self.chooser_b.select(b if b is not a else None)
        top = QHBoxLayout()
        top.addWidget(QLabel("Model A"))
        top.addWidget(self.chooser_a)
        top.addSpacing(16)
        top.addWidget(QLabel("Model B"))
        top.addWidget(self.chooser_b)
        top.addStretch(1)

        self.tabs = QTabWidget()
        # -- weights
        weights = QWidget()
        grid = QGridLayout(weights)
        self.tiles_a, self.tiles_b = _plot_widget(), _plot_widget()
        grid.addWidget(QLabel("First-layer weights, one 28x28 tile per hidden unit (red +, blue −)"), 0, 0, 1, 2)
        grid.addWidget(self.tiles_a, 1, 0)
        grid.addWidget(self.tiles_b, 1, 1)
        self.weights_table = QTableWidget(0, 3)
        self.weights_table.setHorizontalHeaderLabels(["Layer", "A: mean |W|", "B: mean |W|"])
        self.weights_table.verticalHeader().setVisible(False)
        self.weights_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.weights_table.setMaximumWidth(360)
        self.bars = _plot_widget()
        F.style_plot(self.bars.getPlotItem(), "Mean |W| per layer", "", "mean |W|")
        grid.addWidget(self.weights_table, 2, 0)
        grid.addWidget(self.bars, 2, 1)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)
        self.tabs.addTab(weights, "Weights")
        # -- histograms
        self.histograms = pg.GraphicsLayoutWidget()
        self.histograms.setBackground("w")
        self.tabs.addTab(self.histograms, "Histograms")
        # -- sweep
        sweep = QWidget()
        sl = QVBoxLayout(sweep)
        row = QHBoxLayout()
        row.addWidget(QLabel("L2 strengths (lambda)"))
        self.lambdas_edit = QLineEdit("0,1,3,5,10")
        self.lambdas_edit.setMaximumWidth(200)
        row.addWidget(self.lambdas_edit)
        self.quick_box = QCheckBox("quick (10,000 training images)")
        self.quick_box.setChecked(True)
        row.addWidget(self.quick_box)
        self.sweep_button = QPushButton("Run lambda sweep")
        self.sweep_button.clicked.connect(lambda: self.start_sweep())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_sweep)
        row.addWidget(self.sweep_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        sl.addLayout(row)
        self.sweep_note = QLabel(f"Trains model A's setting once per lambda in {os.cpu_count() or 1} processes.")
        self.sweep_note.setStyleSheet("color: #5f6368;")
        sl.addWidget(self.sweep_note)
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m runs")
        self.progress.setValue(0)
        sl.addWidget(self.progress)
        plots = QHBoxLayout()
        self.sweep_acc, self.sweep_w = _plot_widget(), _plot_widget()
        F.style_plot(self.sweep_acc.getPlotItem(), "Test accuracy", "lambda", "test accuracy (%)")
        F.style_plot(self.sweep_w.getPlotItem(), "Mean |W| per layer", "lambda", "mean |W|")
        plots.addWidget(self.sweep_acc)
        plots.addWidget(self.sweep_w)
        sl.addLayout(plots, 1)
        self.tabs.addTab(sweep, "Lambda sweep")
        # -- activations
        acts = QWidget()
        al = QVBoxLayout(acts)
        self.act_label = QLabel("Draw a digit in the Draw view: each hidden layer's activations appear here.")
        self.act_label.setWordWrap(True)
        al.addWidget(self.act_label)
        self.act_a, self.act_b = _plot_widget(), _plot_widget()
        al.addWidget(self.act_a, 1)
        al.addWidget(self.act_b, 1)
        self.tabs.addTab(acts, "Activations")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)

        self.chooser_a.currentIndexChanged.connect(lambda _i: self.refresh())
        self.chooser_b.currentIndexChanged.connect(lambda _i: self.refresh())
        if hasattr(library, "add_listener"):
            library.add_listener(self._library_changed)
        self.refresh()

    # ------------------------------------------------------------------ models
    def models(self):
        a, b = self.chooser_a.current_entry(), self.chooser_b.current_entry()
        return a, b

    def set_models(self, a, b=None) -> None:
        self.chooser_a.blockSignals(True)
        self.chooser_a.select(a)
        self.chooser_a.blockSignals(False)
        self.chooser_b.select(b)
        self.refresh()

    def _library_changed(self) -> None:
        refresh_pair(self.chooser_a, self.chooser_b)
        self.refresh()

    def refresh(self) -> None:
        a, b = self.models()
        pairs = [(e.name, e.network) for e in (a, b) if e is not None and e.network is not None]
        for plot_widget, pair in ((self.tiles_a, pairs[0] if pairs else None),
                                  (self.tiles_b, pairs[1] if len(pairs) > 1 else None)):
            plot = plot_widget.getPlotItem()
            plot.clear()
            if pair and pair[1].layer_sizes[0] == 784:
                plot.setTitle(pair[0])
                F.draw_tiles(plot, pair[1].weights[0])
            else:
                plot.setTitle("")
        # weights table and bars
        n_layers = max((net.n_layers for _, net in pairs), default=0)
        self.weights_table.setRowCount(n_layers)
        self.weights_table.setHorizontalHeaderLabels(["Layer"] + [f"{n}" for n, _ in pairs] + [""] * (2 - len(pairs)))
        for l in range(n_layers):
            self.weights_table.setItem(l, 0, QTableWidgetItem(f"Layer {l + 1}"))
            for k in range(2):
                text = ""
                if k < len(pairs) and l < pairs[k][1].n_layers:
                    text = f"{pairs[k][1].mean_abs_weights()[l]:.5f}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.weights_table.setItem(l, k + 1, item)
        self.weights_table.resizeColumnsToContents()
        bars = self.bars.getPlotItem()
        bars.clear()
        if bars.legend is not None:
            bars.legend.clear()
        if pairs:
            common = min(net.n_layers for _, net in pairs)
            F.draw_weight_bars(bars, [n for n, _ in pairs], [net.mean_abs_weights()[:common] for _, net in pairs])
        # histograms
        self.histograms.clear()
        if pairs:
            from digitlab.reports.analysis import layer_histograms
            for l, (edges, counts) in enumerate(layer_histograms([net for _, net in pairs])):
                plot = self.histograms.addPlot(row=l // 2, col=l % 2)
                F.style_plot(plot, f"Layer {l + 1} weights", "weight value", "count")
                F.draw_histograms(plot, edges, counts, [n for n, _ in pairs], legend=(l == 0))
        self._build_activation_bars(pairs)
        if self._last_input is not None:
            self.show_activations(self._last_input)

    # ------------------------------------------------------------------ activations
    def _build_activation_bars(self, pairs) -> None:
        self._act_items = [[], []]
        for k, widget in enumerate((self.act_a, self.act_b)):
            plot = widget.getPlotItem()
            plot.clear()
            widget.setVisible(k < len(pairs))
            if k >= len(pairs):
                continue
            name, net = pairs[k]
            F.style_plot(plot, f"{name}: hidden-layer activations (after ReLU)", "hidden unit", "activation")
            x0, ticks = 0, []
            for l, units in enumerate(net.layer_sizes[1:-1]):
                item = pg.BarGraphItem(x=x0 + np.arange(units), height=np.zeros(units), width=0.8,
                                       brush=F.color(l), pen=None)
                plot.addItem(item)
                self._act_items[k].append(item)
                ticks.append((x0 + (units - 1) / 2, f"hidden layer {l + 1} ({units})"))
                x0 += units + 2
            plot.getAxis("bottom").setTicks([ticks])

    def show_activations(self, x) -> None:
        """Show each hidden layer's activations of the input ``x`` (784 or 28x28; None clears)."""
        self._last_input = None if x is None else np.asarray(x, dtype=np.float32).reshape(-1)
        a, b = self.models()
        nets = [e.network for e in (a, b) if e is not None and e.network is not None]
        if self._last_input is None:
            for items in self._act_items:
                for item in items:
                    item.setOpts(height=np.zeros(len(item.opts["x"])))
            self.act_label.setText("Draw a digit in the Draw view: each hidden layer's activations appear here.")
            return
        for k, net in enumerate(nets[:2]):
            if net.layer_sizes[0] != self._last_input.size:
                continue
            acts = net.hidden_activations(self._last_input)
            for item, act in zip(self._act_items[k], acts):
                item.setOpts(height=np.asarray(act[0], dtype=float))
        probs = [int(np.argmax(net.predict_one(self._last_input))) for net in nets[:2]
                 if net.layer_sizes[0] == self._last_input.size]
        self.act_label.setText("The digit on the Draw canvas; predicted " + ", ".join(
            f"{p} by model {'AB'[k]}" for k, p in enumerate(probs)) + ".")

    def activation_heights(self, model: int = 0) -> list[np.ndarray]:
        """The bar heights shown for model A (0) or B (1), per hidden layer (for tests)."""
        return [np.asarray(item.opts["height"], dtype=float) for item in self._act_items[model]]

    # ------------------------------------------------------------------ sweep
    def sweep_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start_sweep(self, lambdas=None, config=None, seeds=(3,), workers: int | None = None) -> bool:
        """Start a lambda sweep of model A's setting (or ``config``) on a worker thread."""
        from digitlab.reports.sweep import parse_lambdas
        if self.sweep_running():
            return False
        try:
            values = parse_lambdas(self.lambdas_edit.text()) if lambdas is None else list(lambdas)
        except ValueError as exc:
            self.sweep_note.setText(str(exc))
            return False
        if config is None:
            a = self.chooser_a.current_entry()
            if a is None or a.config is None:
                self.sweep_note.setText("Choose model A first: the sweep trains its setting.")
                return False
            config = a.config
            if self.quick_box.isChecked():
                config = config.replace(train_subset=10000)
        self.sweep_points = []
        self.progress.setRange(0, len(values) * len(seeds))
        self.progress.setValue(0)
        self.sweep_note.setText(f"Training {config.describe()} for lambda = "
                                + ", ".join(f"{v:g}" for v in values) + " …")
        self._thread = QThread(self)
        self._worker = SweepWorker(config, values, seeds, workers)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.point_done.connect(self._on_point)          # queued: slots of this GUI-thread view
        self._worker.failed.connect(self._on_failed)
        self._worker.finished.connect(self._on_sweep_finished)
        self._worker.finished.connect(self._thread.quit)
        self._thread.finished.connect(self._worker.deleteLater)
        self.sweep_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._thread.start()
        return True

    def cancel_sweep(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.sweep_note.setText("Cancelling: the runs in progress finish first …")

    @Slot(object, int, int)
    def _on_point(self, point, done: int, total: int) -> None:
        self.sweep_points.append(point)
        self.progress.setValue(done)
        self._draw_sweep(self.sweep_points)

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.sweep_note.setText(text)
        self.status_message.emit(text)

    @Slot(object)
    def _on_sweep_finished(self, points) -> None:
        self.sweep_points = list(points)
        self._draw_sweep(self.sweep_points)
        self.sweep_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self._thread is not None:
            self._thread.wait(5000)
        self._thread, self._worker = None, None
        if points:
            self.sweep_note.setText(f"Sweep done: {len(points)} run(s).")
        self.sweep_finished.emit(list(points))

    def _draw_sweep(self, points) -> None:
        from digitlab.reports.sweep import sweep_table
        acc, w = self.sweep_acc.getPlotItem(), self.sweep_w.getPlotItem()
        acc.clear()
        w.clear()
        if w.legend is not None:
            w.legend.clear()
        if points:
            table = sweep_table(points)
            F.draw_sweep_accuracy(acc, table)
            F.draw_sweep_weights(w, table)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel a running sweep and join its thread; True if nothing is left running."""
        if self._worker is not None:
            self._worker.cancel()
        if self._thread is not None:
            self._thread.quit()
            ok = self._thread.wait(timeout_ms)
            if ok:
                self._thread = None
            return ok
        return True

    @guarded
    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
