"""The Runs view: tick any models of the library (bundled, yours, runs of this session not saved
yet) and see their training curves overlaid, against steps, epochs or seconds, smoothed, and
export them as CSV.

The curves are the histories the files store; reading them, the x axes, the smoothing and the CSV
are :mod:`digitlab.reports.curves` (no Qt), which ``digitlab compare`` writes from too, so the view
and the command write the same file. The plots look like the Train view's (its colours, solid
validation, dashed training cost); when the curves are smoothed, the stored values stay drawn
faintly behind them, so a smoothed dip is never mistaken for a measured one.

Each ticked model keeps one colour while it stays ticked (the first of the Train view's palette no
other ticked model has), shown as a swatch beside its name. Dialogs go through replaceable
attributes (``ask_export_path``, ``ask_confirm``, ``show_error``) so tests drive the view without
modal loops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from digitlab.gui import messages
from digitlab.gui.guard import call_guarded, guarded
from digitlab.gui.library_events import LibraryEvents
from digitlab.gui.train_plots import PALETTE, PLOT_LABELS, cost_and_accuracy_plots
from digitlab.io import ModelFileError
from digitlab.library import ModelEntry, ModelLibrary
from digitlab.reports.curves import (
    DEFAULT_SMOOTHING,
    MAX_SMOOTHING,
    SERIES,
    X_AXES,
    X_TITLES,
    RunCurves,
    curves_of,
    smooth,
    write_curves_csv,
)

log = logging.getLogger("digitlab.gui")

__all__ = ["RunsView"]

ENTRY_ROLE = Qt.ItemDataRole.UserRole
#: The raw (stored) curve behind a smoothed one: the model's colour at this opacity (0-255).
RAW_ALPHA = 90
_DASH = Qt.PenStyle.DashLine


class RunsView(QWidget):
    """Models with checkboxes, two plots (cost; validation accuracy), x axis, smoothing, Export CSV.

    Signals
    -------
    status_message(str)
        What was done, for the window's status bar (an export written).
    curves_changed()
        The plots were redrawn (a tick, the x axis, the smoothing, the library changed).
    """

    status_message = Signal(str)
    curves_changed = Signal()

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.ask_export_path: Callable[[str], str] = self._dialog_export_path
        self.ask_confirm: Callable[[str, str], bool] = lambda title, text: messages.ask_yes_no(
            self, title, text)
        self.show_error: Callable[..., object] = lambda title, text, details=None: messages.warn(
            self, title, text, details)
        self._ticked: list[ModelEntry] = []             # in the order they were ticked
        self._colour_of: dict[ModelEntry, int] = {}     # a ticked entry's index in PALETTE
        self._curves: dict[ModelEntry, RunCurves] = {}  # read once per entry
        self._items: dict[tuple[ModelEntry, str, str], pg.PlotDataItem] = {}
        self._problems: list[str] = []                  # models that could not be read, in words
        self._filling = False
        self._built = False                             # no restyle before the plots exist
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(0)
        self._redraw_timer.timeout.connect(lambda: call_guarded("RunsView.redraw", self.redraw))
        self._build_ui()
        self.library_events = LibraryEvents(library, self)
        self.library_events.changed.connect(self._on_library_changed)
        self._on_library_changed()
        self._built = True
        self._restyle()

    # ================================================================== UI
    def _build_ui(self) -> None:
        self.list = QListWidget()
        self.list.setAccessibleName("Models to compare")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setIconSize(QSize(14, 14))
        self.list.setMinimumWidth(180)
        # a long name (a run's "784-20-7-5-10 sgd 72.60 % (unsaved)") loses its middle, not its
        # "(unsaved)"; the whole name is the tooltip
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemChanged.connect(self._on_item_changed)
        list_title = QLabel("Models and runs")
        list_title.setStyleSheet("font-weight: bold;")
        list_hint = QLabel("Tick the ones to compare (Space ticks the selected one). Runs of this "
                           "session that are not saved yet are marked “(unsaved)”.")
        list_hint.setWordWrap(True)
        list_hint.setStyleSheet("color: palette(placeholder-text);")
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(list_title)
        left_lay.addWidget(self.list, 1)
        left_lay.addWidget(list_hint)

        self.x_axis = QComboBox()
        for axis in X_AXES:
            self.x_axis.addItem(axis.capitalize(), axis)
        self.x_axis.setToolTip("Steps (mini-batches), epochs (passes over the training images) or "
                               "seconds of training (pauses left out)")
        self.x_axis.currentIndexChanged.connect(lambda _i: self.schedule_redraw())
        x_label = QLabel("&X axis:")
        x_label.setBuddy(self.x_axis)

        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, round(MAX_SMOOTHING * 100))
        self.smoothing.setSingleStep(1)
        self.smoothing.setPageStep(10)
        self.smoothing.setValue(round(DEFAULT_SMOOTHING * 100))
        self.smoothing.setMinimumWidth(120)
        self.smoothing.setToolTip("TensorBoard's smoothing: a moving average of the checks, 0 (none) "
                                  f"to {MAX_SMOOTHING}; the stored values stay drawn faintly behind")
        self.smoothing.valueChanged.connect(self._on_smoothing_changed)
        smoothing_label = QLabel("&Smoothing:")
        smoothing_label.setBuddy(self.smoothing)
        self.smoothing_value = QLabel()
        self.smoothing_value.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.00 ") + 4)
        self._on_smoothing_changed(self.smoothing.value())

        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write the ticked models' curves as one CSV: a row per model, "
                                      "curve and check, with step, epoch, seconds, value and smoothed")
        self.export_button.clicked.connect(lambda _=False: call_guarded("RunsView.export", self.export_csv))

        controls = QHBoxLayout()
        controls.setSpacing(6)
        controls.addWidget(x_label)
        controls.addWidget(self.x_axis)
        controls.addSpacing(12)
        controls.addWidget(smoothing_label)
        controls.addWidget(self.smoothing, 1)
        controls.addWidget(self.smoothing_value)
        controls.addStretch(1)
        controls.addWidget(self.export_button)

        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)        # names come from files
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.note.hide()

        self.cost_plot, self.acc_plot = cost_and_accuracy_plots()      # as in the Train view
        for plot, (_title, ylabel) in zip((self.cost_plot, self.acc_plot), PLOT_LABELS):
            plot.getPlotItem().getAxis("left").setProperty("digitlab_label", ylabel)  # re-inked by _restyle
            plot.setMinimumHeight(140)
        self.acc_plot.setXLink(self.cost_plot)
        self.legend = self.cost_plot.getPlotItem().addLegend(offset=(-10, 10))
        self.placeholder = pg.TextItem("Tick models on the left to see their curves.", anchor=(0.5, 0.5))
        self.cost_plot.addItem(self.placeholder, ignoreBounds=True)

        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.setContentsMargins(0, 0, 0, 0)
        right_lay.addLayout(controls)
        right_lay.addWidget(self.note)
        right_lay.addWidget(self.cost_plot, 3)
        right_lay.addWidget(self.acc_plot, 2)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("runsSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([280, 1000])
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

    # ================================================================== theme
    def _restyle(self) -> None:
        """Plots on the palette's colours (they follow a light or dark theme), the curves' own
        colours kept; the palette's black is drawn in the text colour."""
        palette = self.palette()
        ground = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        line = palette.color(QPalette.ColorRole.Mid)
        for plot in (self.cost_plot, self.acc_plot):
            plot.setBackground(ground)
            pi = plot.getPlotItem()
            pi.titleLabel.setText(pi.titleLabel.text, color=text.name(), size="11pt")
            for axis in ("left", "bottom"):
                pi.getAxis(axis).setTextPen(text)
                pi.getAxis(axis).setPen(line)
            pi.setLabel("left", pi.getAxis("left").property("digitlab_label"), color=text.name())
        legend_ground = QColor(ground)
        legend_ground.setAlpha(220)
        self.legend.setBrush(pg.mkBrush(legend_ground))
        self.legend.setPen(pg.mkPen(line))
        self.legend.setLabelTextColor(text)
        self.placeholder.setColor(palette.color(QPalette.ColorRole.PlaceholderText))
        self.schedule_redraw()

    @guarded
    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._built:
            self._restyle()

    def colour(self, entry: ModelEntry) -> QColor:
        """The colour of a ticked model's curves (the palette's black is the text colour)."""
        hex_colour = PALETTE[self._colour_of.get(entry, 0) % len(PALETTE)]
        if QColor(hex_colour) == QColor("#000000"):
            return self.palette().color(QPalette.ColorRole.Text)
        return QColor(hex_colour)

    # ================================================================== the list
    def _on_library_changed(self) -> None:
        """The library changed (a run finished, a model saved, renamed or deleted): the list again,
        ticks kept for the models still there."""
        entries = self.library.entries()
        present = set(entries)
        self._ticked = [e for e in self._ticked if e in present]
        self._colour_of = {e: i for e, i in self._colour_of.items() if e in present}
        self._curves = {e: c for e, c in self._curves.items() if e in present}
        self._filling = True
        try:
            self.list.clear()
            for entry in entries:
                item = QListWidgetItem(entry.display_name)
                item.setData(ENTRY_ROLE, entry)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsUserCheckable)
                item.setToolTip(f"{entry.display_name}\n{entry.summary}\n"
                                f"{entry.path or 'not saved yet'}")
                item.setCheckState(Qt.CheckState.Checked if entry in self._ticked
                                   else Qt.CheckState.Unchecked)
                self.list.addItem(item)
                self._paint_swatch(item, entry)
        finally:
            self._filling = False
        self.schedule_redraw()

    def _paint_swatch(self, item: QListWidgetItem, entry: ModelEntry) -> None:
        pixmap = QPixmap(14, 14)
        pixmap.fill(self.colour(entry) if entry in self._ticked else QColor(0, 0, 0, 0))
        item.setIcon(QIcon(pixmap))

    def _item_of(self, entry: ModelEntry) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ENTRY_ROLE) is entry:
                return item
        return None

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        entry = item.data(ENTRY_ROLE)
        ticked = item.checkState() == Qt.CheckState.Checked
        if ticked and entry not in self._ticked:
            used = set(self._colour_of.values())
            self._colour_of[entry] = next(i for i in range(len(PALETTE) + 1) if i not in used)
            self._ticked.append(entry)
        elif not ticked and entry in self._ticked:
            self._ticked.remove(entry)
            self._colour_of.pop(entry, None)
        self._filling = True
        try:
            self._paint_swatch(item, entry)
        finally:
            self._filling = False
        self.schedule_redraw()

    def set_ticked(self, entry: ModelEntry | str, ticked: bool = True) -> None:
        """Tick or untick a model, as a click on its checkbox does (the name or the entry)."""
        e = self.library.get(entry)
        item = self._item_of(e) if e is not None else None
        if item is None:
            raise KeyError(f"no model {entry!r} in the Runs view's list")
        item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def ticked(self) -> list[ModelEntry]:
        """The ticked models, in the list's order."""
        order = {e: i for i, e in enumerate(self.library.entries())}
        return sorted(self._ticked, key=lambda e: order.get(e, len(order)))

    def x_axis_name(self) -> str:
        return str(self.x_axis.currentData())

    def save_state(self, settings) -> None:
        """Keep the x axis and the smoothing for the next launch (QSettings)."""
        settings.setValue("runs/x_axis", self.x_axis_name())
        settings.setValue("runs/smoothing", self.smoothing.value())

    def restore_state(self, settings) -> None:
        """The x axis and the smoothing of the last launch; a value this version does not know
        (an edited or newer settings file) leaves the default."""
        index = self.x_axis.findData(str(settings.value("runs/x_axis", self.x_axis_name())))
        if index >= 0:
            self.x_axis.setCurrentIndex(index)
        try:
            value = int(settings.value("runs/smoothing", self.smoothing.value()))
        except (TypeError, ValueError):
            return            # not a number: the default stays
        if self.smoothing.minimum() <= value <= self.smoothing.maximum():
            self.smoothing.setValue(value)

    def smoothing_weight(self) -> float:
        return self.smoothing.value() / 100.0

    def _on_smoothing_changed(self, value: int) -> None:
        self.smoothing_value.setText(f"{value / 100:.2f}")
        self.schedule_redraw()

    # ================================================================== the curves
    def curves(self, entry: ModelEntry) -> RunCurves:
        """A ticked model's curves, read from its history once (loading the model if need be);
        named as the library shows it."""
        c = self._curves.get(entry)
        if c is None:
            c = curves_of(entry.model, name=entry.display_name, file=entry.path or "")
            self._curves[entry] = c
        return replace(c, name=entry.display_name, file=str(entry.path or ""))

    def schedule_redraw(self) -> None:
        """Redraw once control returns to the event loop (several changes, one redraw)."""
        self._redraw_timer.start()

    def redraw(self) -> None:
        """Every ticked model's curves against the chosen axis, smoothed as chosen."""
        self._redraw_timer.stop()
        readable: list[tuple[ModelEntry, RunCurves]] = []
        for entry in self.ticked():
            name = entry.display_name       # a file found damaged is named by its file name after
            try:
                readable.append((entry, self.curves(entry)))
            except ModelFileError as exc:   # the library has marked it damaged and will drop it
                self._problems.append(f"{name} cannot be read: {exc}")
                if entry in self._ticked:
                    self._ticked.remove(entry)
        for (_entry, series, _kind), item in self._items.items():
            self._plot_of(series).getPlotItem().removeItem(item)
        self._items.clear()
        self.legend.clear()
        axis, weight = self.x_axis_name(), self.smoothing_weight()
        text = self.palette().color(QPalette.ColorRole.Text).name()
        for pi in (self.cost_plot.getPlotItem(), self.acc_plot.getPlotItem()):
            pi.setLabel("bottom", X_TITLES[axis], color=text)
        for entry, c in readable:
            self._draw(entry, c, axis, weight)
        self.placeholder.setVisible(not readable)
        self.legend.setVisible(bool(readable))
        for plot in (self.cost_plot, self.acc_plot):
            plot.getPlotItem().enableAutoRange()
        if not readable:
            self.cost_plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.placeholder.setPos(0.5, 0.5)
        self.export_button.setEnabled(bool(readable))
        self._show_note(readable, axis)
        self.curves_changed.emit()

    def _draw(self, entry: ModelEntry, c: RunCurves, axis: str, weight: float) -> None:
        colour = self.colour(entry)
        faint = QColor(colour)
        faint.setAlpha(RAW_ALPHA)
        x = c.x(axis)
        for series in SERIES:
            pi = self._plot_of(series).getPlotItem()
            scale = 100.0 if series == "val_accuracy" else 1.0
            dashed = series == "train_cost"
            width = 1.5 if dashed else 2.2
            raw = c.values[series] * scale
            shown = {"raw": raw} if weight == 0 else {"raw": raw, "smoothed": smooth(raw, weight)}
            for kind, y in shown.items():
                ok = np.isfinite(x) & np.isfinite(y)       # a diverging run's NaNs are not drawn
                pen_colour = faint if kind == "raw" and weight > 0 else colour
                pen = pg.mkPen(pen_colour, width=1.0 if pen_colour is faint else width,
                               style=_DASH if dashed else Qt.PenStyle.SolidLine)
                # the legend names each model once: its validation curve as drawn in front
                front = kind == ("raw" if weight == 0 else "smoothed")
                name = entry.display_name if series == "val_cost" and front else None
                item = pi.plot(x[ok], y[ok], pen=pen, name=name)
                item.setZValue(1 if front else 0)
                self._items[(entry, series, kind)] = item

    def _plot_of(self, series: str) -> pg.PlotWidget:
        return self.acc_plot if series == "val_accuracy" else self.cost_plot

    def _show_note(self, readable: list[tuple[ModelEntry, RunCurves]], axis: str) -> None:
        lines = list(self._problems)
        self._problems.clear()
        for entry, c in readable:
            if not len(c):
                lines.append(f"{entry.display_name} has no history: it stopped before its first check.")
            elif axis == "epoch" and not c.epoch_estimated:
                lines.append(f"{entry.display_name}: drawn at the epoch numbers its file records, since "
                             "its history cannot tell how many steps an epoch had.")
        self.note.setText("\n".join(lines))
        self.note.setVisible(bool(lines))

    def plotted(self, entry: ModelEntry, series: str,
                kind: str = "smoothed") -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) drawn for a ticked model's ``series`` (one of ``SERIES``): ``"smoothed"``
        (the curve in front; the raw one when smoothing is 0) or ``"raw"`` (the stored values)."""
        item = self._items.get((entry, series, kind)) or self._items.get((entry, series, "raw"))
        if item is None:
            raise KeyError(f"{entry.display_name}'s {series} is not drawn")
        x, y = item.getData()
        return (np.asarray([] if x is None else x, dtype=float),
                np.asarray([] if y is None else y, dtype=float))

    # ================================================================== export
    def export_csv(self, path: str | None = None) -> Path | None:
        """Write the ticked models' curves as CSV (reports/curves.py: the layout), with the
        smoothing chosen; asks where unless ``path``. Returns the file written, or None."""
        runs = []
        for entry in self.ticked():
            name = entry.display_name
            try:
                runs.append(self.curves(entry))
            except ModelFileError as exc:
                self.show_error("Cannot export the curves", f"{name} cannot be read: {exc}")
                return None
        if not runs:
            self.show_error("Nothing to export", "Tick at least one model whose curves to export.")
            return None
        if path is None:
            path = self.ask_export_path(str(Path.home() / "curves.csv"))
            if not path:
                return None
        dest = Path(path)
        if dest.suffix.lower() != ".csv":
            dest = dest.with_name(dest.name + ".csv")
            # the dialog asked about the name it saw; this one it never saw
            if dest.exists() and not self.ask_confirm(
                    "Replace?", f"{dest.name} already exists in {dest.parent}.\n\nReplace it?"):
                return None
        weight = self.smoothing_weight()
        try:
            write_curves_csv(dest, runs, weight, replace=True)    # the person agreed to replace
        except OSError as exc:
            self.show_error("Cannot export the curves", str(exc), messages.error_details(exc))
            return None
        rows = sum(len(r) for r in runs) * len(SERIES)
        text = (f"Wrote {dest.name}: the curves of {len(runs)} model{'s' if len(runs) != 1 else ''}, "
                f"{rows} rows, smoothing {weight:.2f}")
        self.status_message.emit(text)
        log.info("Runs view: %s (%s)", text, dest)
        return dest

    def _dialog_export_path(self, suggested: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Export curves", suggested, "CSV (*.csv)")
        return path
