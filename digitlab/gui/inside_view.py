"""Inside the network: first-layer weights, mean |W| per layer, weight histograms, a lambda sweep and
the hidden activations of the digit on the Draw canvas, for the window's networks A and B
(:class:`~digitlab.gui.model_pair.ModelPair`: chosen above, in Evaluate, in Draw or in Models).

The sweep runs ``digitlab.reports.sweep.run_sweep`` (a pool of processes) from a QObject worker on
a QThread; the worker never touches a widget, it only emits signals that the view (GUI thread)
receives. ``shutdown()`` cancels and joins it (a QThread alive at exit aborts the process).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from digitlab.gui import theme
from digitlab.gui.guard import guarded
from digitlab.gui.model_pair import ModelPair
from digitlab.library import ModelEntry, ModelLibrary
from digitlab.nn import Network
from digitlab.nn.activations import ACTIVATION_RANGES, ACTIVATION_WORDS
from digitlab.reports import figures as F
from digitlab.reports.sweep import SweepSetting

log = logging.getLogger("digitlab.gui")

__all__ = ["InsideView", "SweepWorker"]


def _plot_widget() -> pg.PlotWidget:
    w = pg.PlotWidget()
    w.setBackground(theme.plot_background())
    return w


class SweepWorker(QObject):
    """Runs a lambda sweep on a worker thread. Never touches widgets; talks through signals."""

    point_done = Signal(object, int, int)     # SweepPoint, done, total
    finished = Signal(object)                 # list of SweepPoint (what finished, even if cancelled)
    failed = Signal(str)

    def __init__(self, setting: SweepSetting, workers: int | None = None):
        super().__init__()
        from digitlab.training import RunControl
        self.setting = setting
        self.config, self.lambdas, self.seeds = setting.config, list(setting.lambdas), list(setting.seeds)
        self.workers = workers
        self.control = RunControl()

    @Slot()
    def run(self) -> None:
        from digitlab.reports.sweep import run_sweep
        try:
            points = run_sweep(self.config, self.lambdas, self.seeds, workers=self.workers,
                               control=self.control,
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
    pair : ModelPair
        The window's networks A and B, shown by name at the top (chosen in Evaluate above, Draw
        or Models).

    Signals
    -------
    sweep_finished(object)
        The list of ``SweepPoint`` of a finished (or cancelled) sweep, emitted in the GUI thread.
    sweep_running_changed(bool)
        A sweep started (True) or ended (False): the window's status bar shows it.
    status_message(str)
    """

    sweep_finished = Signal(object)
    sweep_running_changed = Signal(bool)
    status_message = Signal(str)

    def __init__(self, library: ModelLibrary, pair: ModelPair, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.pair = pair
        self._thread: QThread | None = None
        self._worker: SweepWorker | None = None
        self.sweep_points: list = []
        self.sweep_setting: SweepSetting | None = None   # what the last sweep trained
        self._last_input = None
        self._act_items: list = [[], []]

        # one choice of A and B for the whole window: shown here, chosen in the row above
        self.models_label = QLabel()
        self.models_label.setTextFormat(Qt.TextFormat.PlainText)    # names come from files
        self.models_label.setToolTip("Networks A and B: choose them above (or in Draw or Models)")
        top = QHBoxLayout()
        top.addWidget(self.models_label, 1)
        # the network being trained in place of A, redrawn as it learns
        self.follow_box = QCheckBox("Show the training run as A")
        self.follow_box.setToolTip("While a run trains, show its network in place of A: after every "
                                   "step when you Step or slow it down, twice a second otherwise")
        self.follow_box.toggled.connect(lambda _on: self.refresh())
        top.addWidget(self.follow_box)
        self._training: tuple[str, Network] | None = None
        # a step's network is drawn at most every 50 ms, the latest one (a timer coalesces them)
        self._training_timer = QTimer(self)
        self._training_timer.setSingleShot(True)
        self._training_timer.setInterval(50)
        self._training_timer.timeout.connect(self.refresh)

        self.tabs = QTabWidget()
        # -- weights
        weights = QWidget()
        grid = QGridLayout(weights)
        self.tiles_a, self.tiles_b = _plot_widget(), _plot_widget()
        grid.addWidget(QLabel("First-layer weights, one 28x28 tile per hidden unit (red +, blue −)"),
                       0, 0, 1, 2)
        grid.addWidget(self.tiles_a, 1, 0)
        grid.addWidget(self.tiles_b, 1, 1)
        self.weights_table = QTableWidget(0, 3)
        self.weights_table.setHorizontalHeaderLabels(["Layer", "A: mean |W|", "B: mean |W|"])
        self.weights_table.verticalHeader().setVisible(False)
        self.weights_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.weights_table.setMaximumWidth(360)
        self.bars = _plot_widget()
        F.style_plot(self.bars.getPlotItem(), "Mean |W| per layer", "", "mean |W|", look=theme.look())
        grid.addWidget(self.weights_table, 2, 0)
        grid.addWidget(self.bars, 2, 1)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)
        self.tabs.addTab(weights, "Weights")
        # -- histograms
        self.histograms = pg.GraphicsLayoutWidget()
        self.histograms.setBackground(theme.plot_background())
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
        self.sweep_note = QLabel(f"Trains model A's setting once per lambda in {os.cpu_count() or 1} "
                                 "processes.")
        self.sweep_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)    # a quieter note
        sl.addWidget(self.sweep_note)
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m runs")
        sl.addWidget(self.progress)
        # before a sweep: as many runs as the lambdas box asks for (not the bar's default 100)
        self.lambdas_edit.textChanged.connect(lambda _t: self._show_planned_runs())
        self._show_planned_runs()
        plots = QHBoxLayout()
        self.sweep_acc, self.sweep_w = _plot_widget(), _plot_widget()
        F.style_plot(self.sweep_acc.getPlotItem(), "Test accuracy", "lambda", "test accuracy (%)",
                     look=theme.look())
        F.style_plot(self.sweep_w.getPlotItem(), "Mean |W| per layer", "lambda", "mean |W|",
                     look=theme.look())
        plots.addWidget(self.sweep_acc)
        plots.addWidget(self.sweep_w)
        sl.addLayout(plots, 1)
        self._draw_sweep([])
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

        self._stale = True              # drawn when first shown (and after a change, when next shown)
        self.pair.changed.connect(self.refresh)
        theme.on_palette_change(self, self._restyle)
        self.models_label.setText(self.pair.names_text())

    # ------------------------------------------------------------------ models
    def models(self) -> tuple[ModelEntry | None, ModelEntry | None]:
        return self.pair.a, self.pair.b

    def set_models(self, a: ModelEntry | None, b: ModelEntry | None = None) -> None:
        """Choose A and B (the window's pair: every view follows)."""
        self.pair.set_pair(a, b)

    def _named_networks(self) -> list[tuple[str, Network]]:
        if self.follow_box.isChecked() and self._training is not None:
            b = self.pair.b
            return [self._training] + ([(b.display_name, b.network)] if b is not None else [])
        return [(e.display_name, e.network) for e in self.pair.entries()]

    def show_training(self, network: Network, step: int) -> None:
        """The network being trained, after ``step`` steps: drawn in place of A while "Show the
        training run as A" is ticked."""
        self._training = (f"training run, step {step}", network)
        if self.follow_box.isChecked() and not self._training_timer.isActive():
            self._training_timer.start()

    def refresh(self) -> None:
        """Draw the chosen networks: now if this tab is shown, else when it is next shown."""
        self.models_label.setText(self.pair.names_text())
        if self.follow_box.isChecked() and self._training is not None:
            b = self.pair.b
            self.models_label.setText(f"A: {self._training[0]} · B: {b.display_name if b else '(none)'}")
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        pairs = self._named_networks()
        look = theme.look()
        for plot_widget, pair in ((self.tiles_a, pairs[0] if pairs else None),
                                  (self.tiles_b, pairs[1] if len(pairs) > 1 else None)):
            plot = plot_widget.getPlotItem()
            plot.clear()
            if pair and pair[1].layer_sizes[0] == 784:
                plot.setTitle(pair[0])
                F.draw_tiles(plot, pair[1].weights[0], look=look)
            else:
                plot.setTitle("")
        # weights table and bars
        n_layers = max((net.n_layers for _, net in pairs), default=0)
        self.weights_table.setRowCount(n_layers)
        self.weights_table.setHorizontalHeaderLabels(["Layer"] + [f"{n}" for n, _ in pairs]
                                                     + [""] * (2 - len(pairs)))
        for layer in range(n_layers):
            self.weights_table.setItem(layer, 0, QTableWidgetItem(f"Layer {layer + 1}"))
            for k in range(2):
                text = ""
                if k < len(pairs) and layer < pairs[k][1].n_layers:
                    text = f"{pairs[k][1].mean_abs_weights()[layer]:.5f}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.weights_table.setItem(layer, k + 1, item)
        self.weights_table.resizeColumnsToContents()
        bars = self.bars.getPlotItem()
        bars.clear()
        if bars.legend is not None:
            bars.legend.clear()
        if pairs:
            common = min(net.n_layers for _, net in pairs)
            F.draw_weight_bars(bars, [n for n, _ in pairs],
                               [net.mean_abs_weights()[:common] for _, net in pairs], look=look)
        # histograms
        self.histograms.clear()
        if pairs:
            from digitlab.reports.analysis import layer_histograms
            for layer, (edges, counts) in enumerate(layer_histograms([net for _, net in pairs])):
                plot = self.histograms.addPlot(row=layer // 2, col=layer % 2)
                F.style_plot(plot, f"Layer {layer + 1} weights", "weight value", "count", look=look)
                F.draw_histograms(plot, edges, counts, [n for n, _ in pairs], legend=(layer == 0), look=look)
        self._build_activation_bars(pairs)
        if self._last_input is not None:
            self.show_activations(self._last_input)

    @guarded
    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def plot_widgets(self) -> list:
        """Every pyqtgraph widget of this view."""
        return [self.tiles_a, self.tiles_b, self.bars, self.histograms, self.sweep_acc, self.sweep_w,
                self.act_a, self.act_b]

    def _restyle(self) -> None:
        """The theme changed: plots in its colours; what the data draws is drawn again."""
        for widget in self.plot_widgets():
            theme.style_plot_widget(widget)
        self._draw_sweep(self.sweep_points)
        self.refresh()

    # ------------------------------------------------------------------ activations
    def _build_activation_bars(self, pairs) -> None:
        self._act_items = [[], []]
        look = theme.look()
        for k, widget in enumerate((self.act_a, self.act_b)):
            plot = widget.getPlotItem()
            plot.clear()
            widget.setVisible(k < len(pairs))
            if k >= len(pairs):
                continue
            name, net = pairs[k]
            words = ACTIVATION_WORDS.get(net.activation, net.activation)
            F.style_plot(plot, f"{name}: hidden-layer activations (after {words})", "hidden unit",
                         "activation", look=look)
            # no axis below what the activation can give (a ReLU is never negative, tanh >= -1)
            low = ACTIVATION_RANGES.get(net.activation, (None, None))[0]
            plot.getViewBox().setLimits(yMin=low)    # None: no limit (leaky ReLU)
            plot.getAxis("left").setWidth(48)         # A's and B's plots aligned one above the other
            x0, ticks = 0, []
            for layer, units in enumerate(net.layer_sizes[1:-1]):
                item = pg.BarGraphItem(x=x0 + np.arange(units), height=np.zeros(units), width=0.8,
                                       brush=F.color(layer, look), pen=None)
                plot.addItem(item)
                self._act_items[k].append(item)
                ticks.append((x0 + (units - 1) / 2, f"hidden layer {layer + 1} ({units})"))
                x0 += units + 2
            plot.getAxis("bottom").setTicks([ticks])

    def show_activations(self, x) -> None:
        """Show each hidden layer's activations of the input ``x`` (784 or 28x28; None clears)."""
        self._last_input = None if x is None else np.asarray(x, dtype=np.float32).reshape(-1)
        if self._stale:                 # not drawn yet: shown with the rest when the tab is shown
            return
        nets = [net for _name, net in self._named_networks()]
        if self._last_input is None:
            for items in self._act_items:
                for item in items:
                    item.setOpts(height=np.zeros(len(item.opts["x"])))
            self.act_label.setText("Draw a digit in the Draw view: "
                                   "each hidden layer's activations appear here.")
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

    def _show_planned_runs(self, seeds=(3,)) -> None:
        """While no sweep runs, the progress bar counts the runs the lambdas box asks for."""
        from digitlab.reports.sweep import parse_lambdas
        if self.sweep_running():
            return
        try:
            runs = len(parse_lambdas(self.lambdas_edit.text())) * len(seeds)
        except ValueError:
            runs = 0
        self.progress.setRange(0, max(runs, 1))
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m runs" if runs else "Enter the lambdas to try, e.g. 0,1,3,5,10")

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
            a = self.pair.a
            if a is None or a.config is None:
                self.sweep_note.setText("Choose model A first: the sweep trains its setting.")
                return False
            config = a.config
            if self.quick_box.isChecked():
                config = config.replace(train_subset=10000)
        setting = SweepSetting(config, tuple(values), tuple(seeds))
        self.sweep_points = []
        self.sweep_setting = setting
        self.progress.setRange(0, len(values) * len(seeds))
        self.progress.setFormat("%v of %m runs")
        self.progress.setValue(0)
        self.sweep_note.setText(f"Training {config.describe()} for lambda = "
                                + ", ".join(f"{v:g}" for v in values) + " …")
        self._thread = QThread(self)
        self._worker = SweepWorker(setting, workers)
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
        self.sweep_running_changed.emit(True)
        return True

    def cancel_sweep(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.sweep_note.setText("Cancelling: the runs in progress finish first …")

    @Slot(object, int, int)
    def _on_point(self, point, done: int, total: int) -> None:
        self.sweep_points.append(point)
        self.progress.setValue(done)
        self.status_message.emit(f"Lambda sweep: {done} of {total} runs done")
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
        self.sweep_running_changed.emit(False)
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
        look = theme.look()
        if points:
            table = sweep_table(points)
            F.draw_sweep_accuracy(acc, table, look=look)
            F.draw_sweep_weights(w, table, look=look)
        else:                                   # not empty axes: say what will appear
            for plot in (acc, w):
                hint = pg.TextItem("Each lambda's result appears here\nwhen its run finishes",
                                   color=look.muted, anchor=(0.5, 0.5))
                hint.setPos(0.5, 0.5)
                plot.addItem(hint)
                plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

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
