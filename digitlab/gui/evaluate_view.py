"""The Evaluate view: one model (or two compared) on the validation or test set.

Sub-tabs: **Scores** (cost, accuracy, confusion heatmaps with counts, per-class accuracy, precision
and recall, and per-class differences when two models are chosen), **Mistakes** (a gallery of
misclassified digits, the most confident mistakes first, or the digits one model gets right and
the other wrong; clicking one shows its probability bars and "Send to Draw"), **Calibration**
(reliability diagram and ECE per model) and **Inside** (:class:`~digitlab.gui.inside_view.InsideView`).

Evaluating 10,000 images takes about 10 ms, so it happens on the GUI thread; the data set is
loaded once per dataset and kept. The numbers come from ``digitlab.reports.analysis``; the
pictures from ``digitlab.reports.figures.draw_*``, the same code as the reports.

Models A and B are the window's :class:`~digitlab.gui.model_pair.ModelPair`: the choosers at the
top show and set it, and Inside, Draw and File > Export report follow the same two.

The main window connects (in ``MainWindow._connect_views``)::

    evaluate_view.send_to_draw -> draw_view.load_digit                # (image28, label)
    draw_view.input_changed -> evaluate_view.show_activations         # the Inside tab
    File > Export report -> evaluate_view.export_report()
"""

from __future__ import annotations

import digitlab.gui.guard  # noqa: F401  first: keeps PySide6 6.12 on Python 3.11 from crashing (see guard)

import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QApplication, QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from digitlab.gui import messages
from digitlab.gui.guard import guarded
from digitlab.gui.inside_view import InsideView
from digitlab.gui.model_pair import ModelPair, PairChooser
from digitlab.gui.probability_bars import ProbabilityBars
from digitlab.library import ModelEntry, ModelLibrary
from digitlab.reports import figures as F
from digitlab.reports.analysis import compare, evaluate

log = logging.getLogger("digitlab.gui")

__all__ = ["EvaluateView", "GALLERY_LIMIT"]

GALLERY_LIMIT = 300
SETS = (("test", "Test set"), ("val", "Validation set"))
REPORT_ON = (("pair", "on A and B"), ("experiments", "on the four experiments"))
#: The report's four experiments, by the names of their models (bundled, or built by
#: ``digitlab build-models``).
EXPERIMENT_MODELS = ("report-no-l2", "report-bn", "report-l2", "report-l2-bn")
LISTS = (("a", "Mistakes of model A"), ("b", "Mistakes of model B"),
         ("only_a", "A right, B wrong"), ("only_b", "B right, A wrong"))


def _digit_icon(x784: np.ndarray, size: int = 56) -> QIcon:
    img = (255 - np.clip(np.asarray(x784, dtype=float).reshape(28, 28) * 255, 0, 255)).astype(np.uint8)
    img = np.ascontiguousarray(img)
    q = QImage(img.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QIcon(QPixmap.fromImage(q).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation))


def _default_splits_for(config):
    from digitlab.training import splits_for
    return splits_for(config.replace(train_subset=None))


class EvaluateView(QWidget):
    """Evaluate one model, or compare two, on the validation or test set.

    Parameters
    ----------
    library : ModelLibrary
    pair : ModelPair, optional
        The window's models A and B (a new one if not given).
    splits_for : callable(config) -> Splits, optional
        How to load a model's data (tests pass a small set); default: the model's own dataset.

    Signals
    -------
    send_to_draw(object, int)
        A 28x28 float image (ink high, in [0, 1]) and its true label: "put this digit on the canvas".
    status_message(str)
    report_written(str)
        The folder of a report written by :meth:`export_report`.
    """

    send_to_draw = Signal(object, int)
    status_message = Signal(str)
    report_written = Signal(str)

    def __init__(self, library: ModelLibrary, pair: ModelPair | None = None,
                 parent: QWidget | None = None, *, splits_for: Callable | None = None):
        super().__init__(parent)
        self.library = library
        own_pair = pair is None
        self.pair = pair if pair is not None else ModelPair(library, self)
        self._splits_for = splits_for or _default_splits_for
        self._data_cache: dict = {}
        self.eval_a = self.eval_b = self.comparison = None
        self.current_x = None
        self._gallery_indices = np.zeros(0, dtype=int)
        self._selected: int | None = None
        # replaceable for tests: where a report goes (a new folder path, or "" to cancel)
        self.ask_report_dir: Callable[[], str] = self._dialog_report_dir
        self.show_error: Callable[..., object] = lambda title, text, details=None: messages.warn(
            self, title, text, details)
        if own_pair:     # in the window, the window shows what the pair refused
            self.pair.refused.connect(
                lambda text, details: self.show_error("Cannot use this model", text, details or None))

        # ---------------- choices
        self.chooser_a = PairChooser(self.pair, "A")
        self.chooser_b = PairChooser(self.pair, "B", allow_none=True)
        self.set_combo = QComboBox()
        for key, text in SETS:
            self.set_combo.addItem(text, key)
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip("Write an HTML, PDF and Markdown report (File > Export report)")
        self.export_button.clicked.connect(lambda: self.export_report())
        self.report_on = QComboBox()
        for key, text in REPORT_ON:
            self.report_on.addItem(text, key)
        self.report_on.setToolTip("What the report covers: models A and B as chosen here, or the "
                                  "report's four experiments (report-no-l2, report-bn, report-l2, "
                                  "report-l2-bn)")
        top = QHBoxLayout()
        for w in (QLabel("Model A"), self.chooser_a, QLabel("compare with B"), self.chooser_b,
                  QLabel("on the"), self.set_combo):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.export_button)
        top.addWidget(self.report_on)
        self.headline = QLabel("Choose a model.")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)   # shows model names from files
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headline.setWordWrap(True)

        # ---------------- Scores
        scores = QWidget()
        sl = QHBoxLayout(scores)
        self.cm_a, self.cm_b = pg.PlotWidget(), pg.PlotWidget()
        for w in (self.cm_a, self.cm_b):
            w.setBackground("w")
            w.setMinimumSize(300, 300)
        sl.addWidget(self.cm_a, 3)
        sl.addWidget(self.cm_b, 3)
        self.class_table = QTableWidget(10, 3)
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        sl.addWidget(self.class_table, 3)

        # ---------------- Mistakes
        mistakes = QWidget()
        ml = QHBoxLayout(mistakes)
        left = QVBoxLayout()
        self.list_combo = QComboBox()
        for key, text in LISTS:
            self.list_combo.addItem(text, key)
        left.addWidget(self.list_combo)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(56, 56))
        self.gallery.setGridSize(QSize(96, 100))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setUniformItemSizes(True)
        left.addWidget(self.gallery, 1)
        ml.addLayout(left, 3)
        right = QVBoxLayout()
        self.detail = QLabel("Click a digit to see its probabilities.")
        self.detail.setWordWrap(True)
        right.addWidget(self.detail)
        self.bars_a, self.bars_b = ProbabilityBars("Model A"), ProbabilityBars("Model B")
        right.addWidget(self.bars_a, 1)
        right.addWidget(self.bars_b, 1)
        self.send_button = QPushButton("Send to Draw")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self.send_selected)
        right.addWidget(self.send_button)
        ml.addLayout(right, 2)

        # ---------------- Calibration
        calibration = QWidget()
        cl = QVBoxLayout(calibration)
        self.ece_label = QLabel("")
        cl.addWidget(self.ece_label)
        row = QHBoxLayout()
        self.reliability, self.conf_counts = pg.PlotWidget(), pg.PlotWidget()
        for w in (self.reliability, self.conf_counts):
            w.setBackground("w")
        row.addWidget(self.reliability, 3)
        row.addWidget(self.conf_counts, 2)
        cl.addLayout(row, 1)

        self.inside = InsideView(library, self.pair)
        self.tabs = QTabWidget()
        self.tabs.addTab(scores, "Scores")
        self.tabs.addTab(mistakes, "Mistakes")
        self.tabs.addTab(calibration, "Calibration")
        self.tabs.addTab(self.inside, "Inside")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.headline)
        layout.addWidget(self.tabs, 1)

        self.pair.changed.connect(self.refresh)
        self.set_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.list_combo.currentIndexChanged.connect(lambda _i: self._fill_gallery())
        self.gallery.currentRowChanged.connect(self._on_gallery_row)
        self.inside.status_message.connect(self.status_message)
        self.refresh()

    # ------------------------------------------------------------------ choices
    def set_models(self, a: ModelEntry | None, b: ModelEntry | None = None) -> None:
        """Choose model A (and B to compare, or None): the window's pair, so every view follows."""
        self.pair.set_pair(a, b)

    def set_data_set(self, which: str) -> None:
        """``"test"`` or ``"val"``."""
        self.set_combo.setCurrentIndex(self.set_combo.findData(which))

    def _data(self, config):
        key = (config.dataset, config.n_validation)
        if key not in self._data_cache:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self._data_cache[key] = self._splits_for(config)
            finally:
                QApplication.restoreOverrideCursor()
        return self._data_cache[key]

    # ------------------------------------------------------------------ evaluation
    def refresh(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        a, b = self.pair.a, self.pair.b
        self.eval_a = self.eval_b = self.comparison = None
        if a is None:
            self.headline.setText("Choose a model: the library has none yet (train one, or add model files)."
                                  if not len(self.library) else "Choose a model.")
            self._draw()
            return
        which = self.set_combo.currentData()
        try:
            data = self._data(a.config)
        except Exception as exc:  # noqa: BLE001 - a dataset problem is shown, not raised
            self.headline.setText(f"Cannot load the data of {a.name}: {exc}")
            self._draw()
            return
        X, y = getattr(data, f"x_{which}"), getattr(data, f"y_{which}")
        self.current_x, self.current_y = X, y
        start = time.perf_counter()
        cfg = a.config
        self.eval_a = evaluate(a.network, X, y, name=a.display_name, l2=cfg.l2, m=cfg.batch_size)
        if b is not None and b.network.layer_sizes[0] == a.network.layer_sizes[0]:
            self.eval_b = evaluate(b.network, X, y, name=b.display_name, l2=b.config.l2,
                                   m=b.config.batch_size)
            self.comparison = compare(self.eval_a, self.eval_b)
        elapsed = time.perf_counter() - start
        set_name = dict(SETS)[which].lower()
        # plain text (the headline shows names from files, never rendered as HTML)
        parts = [f"A: {self.eval_a.name} — cost {self.eval_a.cost:.4f} (cross-entropy "
                 f"{self.eval_a.cross_entropy:.4f}), accuracy {100 * self.eval_a.accuracy:.2f} %, "
                 f"ECE {100 * self.eval_a.ece:.2f} %"]
        if self.eval_b is not None:
            parts.append(f"B: {self.eval_b.name} — cost {self.eval_b.cost:.4f} (cross-entropy "
                         f"{self.eval_b.cross_entropy:.4f}), accuracy {100 * self.eval_b.accuracy:.2f} %, "
                         f"ECE {100 * self.eval_b.ece:.2f} %; {len(self.comparison.only_a)} digits only A gets "
                         f"right, {len(self.comparison.only_b)} only B")
        parts.append(f"{self.eval_a.n} images of the {set_name} of {data.name}, evaluated in "
                     f"{1000 * elapsed:.0f} ms")
        self.headline.setText("\n".join(parts))
        self._draw()

    def _draw(self) -> None:
        for widget, ev, tag in ((self.cm_a, self.eval_a, "A"), (self.cm_b, self.eval_b, "B")):
            plot = widget.getPlotItem()
            plot.clear()
            widget.setVisible(ev is not None or tag == "A")
            if ev is not None:
                F.style_plot(plot, f"{tag}: {ev.name}", "predicted digit", "true digit")
                F.draw_confusion(plot, ev.cm)
        self._fill_class_table()
        self._fill_gallery()
        self._draw_calibration()

    def _fill_class_table(self) -> None:
        t = self.class_table
        evs = [e for e in (self.eval_a, self.eval_b) if e is not None]
        headers = ["Digit"]
        for tag, e in zip("AB", evs):
            headers += [f"{tag} accuracy (recall)", f"{tag} precision"]
        if len(evs) == 2:
            headers += ["B − A accuracy"]
        t.clear()
        t.setColumnCount(len(headers))
        t.setHorizontalHeaderLabels(headers)
        n = evs[0].n_classes if evs else 0
        t.setRowCount(n)
        for k in range(n):
            values = [str(k)]
            for e in evs:
                s = e.scores
                values += [f"{100 * s['recall'][k]:.1f} %", f"{100 * s['precision'][k]:.1f} %"]
            if len(evs) == 2:
                values.append(f"{100 * self.comparison.recall_diff[k]:+.1f}")
            for c, text in enumerate(values):
                item = QTableWidgetItem(text.replace("nan %", "–"))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if len(evs) == 2 and c == len(values) - 1:
                    d = self.comparison.recall_diff[k]
                    if np.isfinite(d) and d != 0:
                        item.setForeground(QColor("#009E73") if d > 0 else QColor("#D55E00"))
                t.setItem(k, c, item)
        t.resizeColumnsToContents()

    # ------------------------------------------------------------------ gallery
    def gallery_indices(self) -> np.ndarray:
        """Indices (into the chosen set) of the digits the gallery shows, in its order."""
        return self._gallery_indices.copy()

    def _fill_gallery(self) -> None:
        which = self.list_combo.currentData()
        ev = self.eval_a
        if ev is None:
            idx = np.zeros(0, dtype=int)
        elif which == "a":
            idx = ev.misclassified()
        elif which == "b":
            idx = self.eval_b.misclassified() if self.eval_b is not None else np.zeros(0, dtype=int)
        elif self.comparison is None:
            idx = np.zeros(0, dtype=int)
        else:
            idx = self.comparison.only_a if which == "only_a" else self.comparison.only_b
        self._gallery_indices = np.asarray(idx[:GALLERY_LIMIT], dtype=int)
        shown_eval = self.eval_b if (which in ("b", "only_a") and self.eval_b is not None) else ev
        self.gallery.blockSignals(True)
        self.gallery.clear()
        for i in self._gallery_indices:
            true, pred = int(shown_eval.y[i]), int(shown_eval.pred[i])
            conf = 100 * shown_eval.confidence[i]
            item = QListWidgetItem(_digit_icon(self.current_x[i]), f"{true} → {pred}\n{conf:.0f} %")
            item.setToolTip(f"image {i}: true {true}, predicted {pred} with {conf:.1f} % confidence")
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            self.gallery.addItem(item)
        self.gallery.blockSignals(False)
        total = len(idx)
        text = self.list_combo.currentText()
        self.detail.setText(f"{text}: {total} digit(s)" + (f", the {GALLERY_LIMIT} most confident shown"
                                                           if total > GALLERY_LIMIT else "")
                            + ". Click one to see its probabilities." if ev is not None else "")
        self._select(None)

    def _on_gallery_row(self, row: int) -> None:
        self._select(int(self._gallery_indices[row]) if 0 <= row < len(self._gallery_indices) else None)

    def _select(self, index: int | None) -> None:
        self._selected = index
        self.send_button.setEnabled(index is not None)
        self.bars_b.setVisible(self.eval_b is not None)
        if index is None:
            self.bars_a.set_probabilities(None)
            self.bars_b.set_probabilities(None)
            return
        label = int(self.eval_a.y[index])
        for bars, ev in ((self.bars_a, self.eval_a), (self.bars_b, self.eval_b)):
            if ev is None:
                continue
            bars.set_model_name(ev.name)
            bars.set_true_label(label)
            bars.set_probabilities(ev.proba[index])

    def selected_index(self) -> int | None:
        return self._selected

    def send_selected(self) -> None:
        """Emit ``send_to_draw`` with the selected digit (28x28) and its true label."""
        if self._selected is None:
            return
        image = np.asarray(self.current_x[self._selected], dtype=np.float32).reshape(28, 28).copy()
        label = int(self.current_y[self._selected])
        self.send_to_draw.emit(image, label)
        self.status_message.emit(f"Sent test digit {self._selected} (a {label}) to the Draw view")

    # ------------------------------------------------------------------ calibration
    def _draw_calibration(self) -> None:
        rel_plot, cnt_plot = self.reliability.getPlotItem(), self.conf_counts.getPlotItem()
        for p in (rel_plot, cnt_plot):
            p.clear()
            if p.legend is not None:
                p.legend.scene() and p.legend.scene().removeItem(p.legend)
                p.legend = None
        items = [(f"{tag}: {e.name}", e.calibration) for tag, e in zip("AB", (self.eval_a, self.eval_b)) if e]
        F.style_plot(rel_plot, "Reliability diagram", "confidence (mean per bin)", "accuracy (fraction correct)")
        F.style_plot(cnt_plot, "Predictions per confidence bin", "confidence", "predictions (log scale)")
        if items:
            F.draw_reliability(rel_plot, items)
            F.draw_confidence_counts(cnt_plot, items)
            self.ece_label.setText("Expected calibration error (10 bins): " + "; ".join(
                f"{name} {100 * rel.ece:.2f} % (mean confidence {100 * rel.mean_confidence:.1f} %, accuracy "
                f"{100 * rel.accuracy_overall:.1f} %)" for name, rel in items))
        else:
            self.ece_label.setText("")

    # ------------------------------------------------------------------ inside, report, lifetime
    def show_activations(self, x) -> None:
        """Connect ``DrawView.input_changed`` here: the Inside tab shows each hidden layer's activations."""
        self.inside.show_activations(x)

    def report_models(self, which: str | None = None) -> list[ModelEntry]:
        """What File > Export report reports on: ``"pair"`` (models A and B as chosen) or
        ``"experiments"`` (the four experiments' models, those the library has); by default what
        the "on ..." choice beside Export report says."""
        which = which or self.report_on.currentData()
        if which == "experiments":
            return [e for e in (self.library.get(n) for n in EXPERIMENT_MODELS)
                    if e is not None and not e.damaged]
        return self.pair.entries()

    def export_report(self, out_dir: str | Path | None = None, which: str | None = None,
                      formats=("html", "pdf", "md"), include_sweep: bool = True) -> Path | None:
        """Write a report (HTML, PDF, Markdown, tables) into a new folder; returns it, or None.

        ``out_dir`` defaults to asking the person (``ask_report_dir``); ``which`` to the "on ..."
        choice (:meth:`report_models`). The Inside tab's last lambda sweep is included with its
        setting (data size, seeds, lambdas) stated. Runs on the GUI thread (the figures are Qt
        widgets): a few seconds with a busy cursor.
        """
        from digitlab.reports.report import write_report
        entries = self.report_models(which)
        if not entries:
            self.show_error("Nothing to report", "Choose a model first (or train one)."
                            if (which or self.report_on.currentData()) == "pair" else
                            "The library has none of the four experiments' models.")
            return None
        if out_dir is None:
            out_dir = self.ask_report_dir()
            if not out_dir:
                return None
        out = Path(out_dir)
        if out.exists():
            self.show_error("Cannot export the report",
                            f"{out} already exists. A report is written into a new folder; choose another name.")
            return None
        sweep = self.inside.sweep_points if include_sweep else []
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            models = [e.model for e in entries]
            splits = self._data(entries[0].config)
            path = write_report(models, out, formats, sweep=sweep or None,
                                sweep_setting=self.inside.sweep_setting if sweep else None,
                                splits=splits,
                                on_progress=lambda text: self.status_message.emit(f"Report: {text}"))
        except Exception as exc:  # noqa: BLE001 - shown to the person; nothing half-written is left
            log.exception("Report export failed")
            self.show_error("Cannot export the report", str(exc), messages.error_details(exc))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.status_message.emit(f"Report written to {path}")
        self.report_written.emit(str(path))
        return path

    def _dialog_report_dir(self) -> str:
        default = str(Path.home() / f"digitlab-report-{time.strftime('%Y%m%d-%H%M%S')}")
        path, _ = QFileDialog.getSaveFileName(self, "Export report into a new folder", default, "Folder (*)")
        return path

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        return self.inside.shutdown(timeout_ms)

    @guarded
    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
