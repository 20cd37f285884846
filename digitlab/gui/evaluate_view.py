"""The Evaluate view: one model (or two compared) on the validation or test set.

Sub-tabs: **Scores** (cost, accuracy, confusion heatmaps with counts, per-class accuracy, precision
and recall, and per-class differences when two models are chosen), **Mistakes** (a gallery of
misclassified digits, the most confident mistakes first, or the digits one model gets right and
the other wrong; clicking one shows its probability bars and "Send to Draw"), **Calibration**
(reliability diagram and ECE per model) and **Inside** (:class:`~digitlab.gui.inside_view.InsideView`).

Nothing is computed until the view is first shown (the window opens without loading MNIST);
then the data set is loaded (from the process's one split cache, ``training.cached_splits``) and the
models are evaluated on a worker thread (:class:`~digitlab.gui.background.BackgroundTask`) while a
progress row says what is being done and offers Cancel; the figures are drawn on the GUI thread when
the numbers are in. File > Export report runs on a worker thread too, its figures drawn on the GUI
thread one at a time, with progress and Cancel (a cancelled report leaves no folder behind). The
numbers come from ``digitlab.reports.analysis``; the pictures from ``digitlab.reports.figures.draw_*``,
the same code as the reports.

Models A and B are the window's :class:`~digitlab.gui.model_pair.ModelPair`: the choosers at the
top show and set it, and Inside, Draw and File > Export report follow the same two. Units switched
off in Draw's network view (:class:`~digitlab.gui.silencing.SilencedUnits`) are switched off here
too: the scores are those of the networks without them, and the headline names them beside the
intact network's accuracy, so a person can find which units matter.

The main window connects (in ``MainWindow._connect_views``)::

    evaluate_view.send_to_draw -> draw_view.load_digit                # (image28, label)
    draw_view.input_changed -> evaluate_view.show_activations         # the Inside tab
    File > Export report -> evaluate_view.export_report()
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from digitlab.data import DatasetError
from digitlab.data.labelled import load_labelled_set
from digitlab.data.personal import default_personal_set_path
from digitlab.gui import messages, theme
from digitlab.gui.background import BackgroundTask, ProgressRow
from digitlab.gui.guard import guarded
from digitlab.gui.inside_view import InsideView
from digitlab.gui.model_pair import ModelPair, PairChooser
from digitlab.gui.probability_bars import ProbabilityBars
from digitlab.gui.silencing import SilencedUnits, describe_units
from digitlab.library import ModelEntry, ModelLibrary
from digitlab.reports import figures as F
from digitlab.reports.analysis import compare, evaluate

log = logging.getLogger("digitlab.gui")

__all__ = ["EvaluateView", "GALLERY_LIMIT"]

GALLERY_LIMIT = 300
SETS = (("test", "Test set"), ("val", "Validation set"), ("personal", "My digits"))
#: The set chooser's last item: asks for a .npz file, which then joins the list above it.
CHOOSE_FILE = "choose-file"
_FILE = "file:"          # set chooser data of a chosen file: this prefix and its path
REPORT_ON = (("pair", "on A and B"), ("experiments", "on the four experiments"))
#: The report's four experiments, by the names of their models (bundled, or built by
#: ``digitlab build-models``).
EXPERIMENT_MODELS = ("report-no-l2", "report-bn", "report-l2", "report-l2-bn")
#: What Mistakes' empty probability bars say (the Draw view's bars say "Draw a digit").
CLICK_A_DIGIT = "Click a digit on the left"
LISTS = (("a", "Mistakes of model A"), ("b", "Mistakes of model B"),
         ("only_a", "A right, B wrong"), ("only_b", "B right, A wrong"))


def _digit_icon(x784: np.ndarray, size: int = 56) -> QIcon:
    img = (255 - np.clip(np.asarray(x784, dtype=float).reshape(28, 28) * 255, 0, 255)).astype(np.uint8)
    img = np.ascontiguousarray(img)
    q = QImage(img.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QIcon(QPixmap.fromImage(q).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation))


def _default_splits_for(config):
    from digitlab.training import cached_splits
    return cached_splits(config.replace(train_subset=None))       # the test set is the whole file's


class EvaluateView(QWidget):
    """Evaluate one model, or compare two, on the validation or test set.

    Parameters
    ----------
    library : ModelLibrary
    pair : ModelPair, optional
        The window's models A and B (a new one if not given).
    splits_for : callable(config) -> Splits, optional
        How to load a model's data (tests pass a small set); default: the model's own dataset.
    silencing : SilencedUnits, optional
        The window's switched-off units of A and B (a new one, nothing off, if not given).

    Signals
    -------
    send_to_draw(object, int)
        A 28x28 float image (ink high, in [0, 1]) and its true label: "put this digit on the canvas".
    status_message(str)
    sweep_running_changed(bool)
        Inside's lambda sweep started (True) or ended (False).
    report_written(str)
        The folder of a report written by :meth:`export_report`.
    evaluated()
        The numbers and figures of the chosen models are shown (after each computation).
    report_finished(str)
        An export ended: the folder written, or "" when it failed or was cancelled.
    """

    send_to_draw = Signal(object, int)
    status_message = Signal(str)
    sweep_running_changed = Signal(bool)
    report_written = Signal(str)
    evaluated = Signal()
    report_finished = Signal(str)

    def __init__(self, library: ModelLibrary, pair: ModelPair | None = None,
                 parent: QWidget | None = None, *, splits_for: Callable | None = None,
                 silencing: SilencedUnits | None = None):
        super().__init__(parent)
        self.library = library
        own_pair = pair is None
        self.pair = pair if pair is not None else ModelPair(library, self)
        self.silencing = silencing if silencing is not None else SilencedUnits(self.pair, self)
        self._splits_for = splits_for or _default_splits_for
        # datasets an injected provider has given (for the progress line; the default provider asks
        # the split cache itself)
        self._data_keys: set = set()
        self._stale = True                       # computed when first shown, not before
        self._pending = False                    # a newer choice came while computing
        self._computed_for: tuple | None = None  # (A, B, set) of what is shown or being computed
        self._eval_task = BackgroundTask("evaluate", self)
        self._eval_task.progress.connect(self._on_eval_progress)
        self._eval_task.done.connect(self._on_evaluated)
        self._eval_task.failed.connect(self._on_eval_failed)
        self._eval_task.cancelled.connect(self._on_eval_cancelled)
        self._eval_task.finished.connect(self._on_eval_finished)
        self._report_task = BackgroundTask("report", self)
        self._report_task.progress.connect(self._on_report_progress)
        self._report_task.done.connect(self._on_report_done)
        self._report_task.failed.connect(self._on_report_failed)
        self._report_task.cancelled.connect(self._on_report_cancelled)
        self._report_target: Path | None = None
        self.eval_a = self.eval_b = self.comparison = None
        self.silenced_shown: dict = {"A": (), "B": ()}   # the units off in what is shown
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
        self.set_combo.addItem("Another .npz file…", CHOOSE_FILE)
        self.set_combo.setToolTip("The test or validation set of model A's own dataset (MNIST for "
                                  "the shipped models), your digits from Draw > My digits, or "
                                  "another .npz: a set of digits (x and y) or a Keras dataset's test part")
        self._last_set_index = 0
        # replaceable for tests: which .npz file "Another .npz file…" evaluates on ("" to cancel)
        self.ask_dataset_file: Callable[[], str] = self._dialog_dataset_file
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip("Write an HTML, PDF and Markdown report (File > Export report)")
        self.export_button.clicked.connect(lambda: self.export_report())
        self.report_on = QComboBox()
        for key, text in REPORT_ON:
            self.report_on.addItem(text, key)
        self.report_on.setToolTip("What the report covers: models A and B as chosen here, or the "
                                  "report's four experiments (report-no-l2, report-bn, report-l2, "
                                  "report-l2-bn)")
        self.report_paper = QComboBox()          # the PDF's paper size
        for key, text in (("a4", "A4"), ("letter", "Letter")):
            self.report_paper.addItem(text, key)
        self.report_paper.setToolTip("The paper size of the report's PDF")
        top = QHBoxLayout()
        for w in (QLabel("Model A"), self.chooser_a, QLabel("compare with B"), self.chooser_b,
                  QLabel("on the"), self.set_combo):
            # the choosers take the spare width: long model names are not cut ("784-20-7-5-10 sgd 15.")
            top.addWidget(w, 1 if isinstance(w, PairChooser) else 0)
        top.addSpacing(12)
        top.addWidget(self.export_button)
        top.addWidget(self.report_on)
        self.headline = QLabel("Choose a model.")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)   # shows model names from files
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headline.setWordWrap(True)
        # what runs in the background: the evaluation, and an export
        self.eval_progress = ProgressRow()
        self.eval_progress.cancel_requested.connect(self._eval_task.cancel)
        self.report_progress = ProgressRow("Cancel export")
        self.report_progress.cancel_requested.connect(self.cancel_report)

        # ---------------- Scores
        scores = QWidget()
        sl = QHBoxLayout(scores)
        self.cm_a, self.cm_b = pg.PlotWidget(), pg.PlotWidget()
        for w in (self.cm_a, self.cm_b):
            w.setBackground(theme.plot_background())
            w.setMinimumSize(240, 240)
        sl.addWidget(self.cm_a, 3)
        sl.addWidget(self.cm_b, 3)
        self.class_table = QTableWidget(10, 3)
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        sl.addWidget(self.class_table, 1)     # as wide as its columns (below); the matrices get the rest

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
        both_bars = QHBoxLayout()       # side by side: the view fits a 700-pixel-high window
        both_bars.addWidget(self.bars_a, 1)
        both_bars.addWidget(self.bars_b, 1)
        right.addLayout(both_bars, 1)
        self.send_button = QPushButton("Send to Draw")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self.send_selected)
        right.addWidget(self.send_button)
        ml.addLayout(right, 2)

        # ---------------- Calibration
        calibration = QWidget()
        cl = QVBoxLayout(calibration)
        self.ece_label = QLabel("")
        self.ece_label.setTextFormat(Qt.TextFormat.PlainText)     # model names come from files
        self.ece_label.setWordWrap(True)      # one line per model, wrapped: fits a narrow window
        cl.addWidget(self.ece_label)
        row = QHBoxLayout()
        self.reliability, self.conf_counts = pg.PlotWidget(), pg.PlotWidget()
        for w in (self.reliability, self.conf_counts):
            w.setBackground(theme.plot_background())
        row.addWidget(self.reliability, 3)
        row.addWidget(self.conf_counts, 2)
        cl.addLayout(row, 1)

        self.inside = InsideView(library, self.pair)
        theme.on_palette_change(self, self._restyle)
        self.tabs = QTabWidget()
        self.tabs.addTab(scores, "Scores")
        self.tabs.addTab(mistakes, "Mistakes")
        self.tabs.addTab(calibration, "Calibration")
        self.tabs.addTab(self.inside, "Inside")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        # the headline, and under the Export button the PDF's paper (the top row is full at 1024 px)
        below = QHBoxLayout()
        below.addWidget(self.headline, 1)
        paper = QHBoxLayout()
        paper.addWidget(QLabel("PDF paper"))
        paper.addWidget(self.report_paper)
        below.addLayout(paper)
        below.setAlignment(paper, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(below)
        layout.addWidget(self.eval_progress)
        layout.addWidget(self.report_progress)
        layout.addWidget(self.tabs, 1)

        self.pair.changed.connect(self.refresh)
        self.silencing.changed.connect(lambda _side: self.refresh())
        self.set_combo.currentIndexChanged.connect(self._on_set_chosen)
        self.list_combo.currentIndexChanged.connect(lambda _i: self._fill_gallery())
        self.gallery.currentRowChanged.connect(self._on_gallery_row)
        self.inside.status_message.connect(self.status_message)
        self.inside.sweep_running_changed.connect(self.sweep_running_changed)
        self.headline.setText("The scores appear when this view is shown.")
        # Where "My digits" lives: the default file, or (in the window) the set the Draw view's
        # My digits tab has open, so both views mean the same digits.
        self.personal_set_path: Callable[[], Path] = default_personal_set_path

    # ------------------------------------------------------------------ choices
    def set_models(self, a: ModelEntry | None, b: ModelEntry | None = None) -> None:
        """Choose model A (and B to compare, or None): the window's pair, so every view follows."""
        self.pair.set_pair(a, b)

    def set_data_set(self, which: str | Path) -> None:
        """``"test"``, ``"val"``, ``"personal"`` (Draw > My digits) or the path of a .npz file."""
        if which in dict(SETS):
            self.set_combo.setCurrentIndex(self.set_combo.findData(which))
            return
        path = Path(which).expanduser().absolute()
        index = self.set_combo.findData(_FILE + str(path))
        if index < 0:
            index = self.set_combo.count() - 1          # above "Another .npz file…"
            self.set_combo.insertItem(index, path.name, _FILE + str(path))
            self.set_combo.setItemData(index, str(path), Qt.ItemDataRole.ToolTipRole)
        self.set_combo.setCurrentIndex(index)

    def _on_set_chosen(self, index: int) -> None:
        if self.set_combo.itemData(index) != CHOOSE_FILE:
            self._last_set_index = index
            self.refresh()
            return
        path = self.ask_dataset_file()
        if path:
            self.set_data_set(path)
        else:                                  # cancelled: the set shown stays chosen
            self.set_combo.blockSignals(True)
            self.set_combo.setCurrentIndex(self._last_set_index)
            self.set_combo.blockSignals(False)

    def _dialog_dataset_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Evaluate on the digits of a .npz file",
                                              str(default_personal_set_path().parent),
                                              "Digits (*.npz)")
        return path

    def _set_file(self, which: str) -> Path | None:
        """The file a set choice reads (My digits or a chosen .npz), or None for the model's own."""
        if which == "personal":
            return self.personal_set_path()
        return Path(which[len(_FILE):]) if which.startswith(_FILE) else None

    def _set_key(self, which: str) -> tuple:
        """What decides whether a shown evaluation is still current: for a file, its size and
        time of change too (My digits grows while the person draws)."""
        path = self._set_file(which)
        if path is None:
            return (which,)
        try:
            st = os.stat(path)
        except OSError:
            return (which, None)
        return (which, st.st_size, st.st_mtime_ns)

    def _data(self, config):
        """The splits of ``config``'s dataset (safe from a worker thread: the split cache locks)."""
        data = self._splits_for(config)
        self._data_keys.add((config.dataset, config.n_validation))
        return data

    def _has_data(self, config) -> bool:
        """Whether :meth:`_data` has ``config``'s splits at hand (else it loads them first)."""
        if self._splits_for is _default_splits_for:
            from digitlab.training.splits import is_cached
            return is_cached(config.replace(train_subset=None))
        return (config.dataset, config.n_validation) in self._data_keys

    # ------------------------------------------------------------------ evaluation
    def refresh(self) -> None:
        """Evaluate the chosen models on the chosen set: now if the view is shown (on a worker
        thread; ``evaluated`` when the figures are drawn), else when it is next shown."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        a, b, which = self.pair.a, self.pair.b, self.set_combo.currentData()
        off_a, off_b = self.silencing.units("A"), self.silencing.units("B")
        key = (self._set_key(which), off_a, off_b)
        same = self._computed_for is not None and self._computed_for[0] is a \
            and self._computed_for[1] is b and self._computed_for[2] == key
        if same and not self._pending and (self.eval_a is not None or self._eval_task.is_running()):
            return                             # shown (or being computed) already: a refused choice
        if self._eval_task.is_running():      # a newer choice: start again once that one ends
            self._pending = True
            self._eval_task.cancel()
            return
        self._computed_for = (a, b, key)
        if a is None:
            self.eval_a = self.eval_b = self.comparison = None
            self.headline.setText("Choose a model: the library has none yet (train one, or add model files)."
                                  if not len(self.library) else "Choose a model.")
            self._draw()
            self.evaluated.emit()
            return
        # what the worker needs, taken here in the GUI thread (an entry loads its weights here)
        net_a, cfg_a, name_a = a.network, a.config, a.display_name
        job_b = None
        if b is not None and b.network.layer_sizes[0] == net_a.layer_sizes[0]:
            job_b = (b.network, b.config, b.display_name)
        set_file = self._set_file(which)
        loaded = set_file is None and self._has_data(cfg_a)
        # what was shown belongs to the previous choice: cleared while the new one is computed
        self.eval_a = self.eval_b = self.comparison = None
        self._draw()

        def compute(control, say):
            if not loaded:
                say("Loading the data set…")
            if set_file is None:
                data = self._data(cfg_a)
                X, y = getattr(data, f"x_{which}"), getattr(data, f"y_{which}")
                set_name = f"the {dict(SETS)[which].lower()} of {data.name}"
            else:
                if which == "personal" and not os.path.lexists(set_file):
                    raise DatasetError(f"you have no digits yet ({set_file} does not exist); draw "
                                       f"some in Draw and add them in its My digits tab")
                # read as `digitlab evaluate --dataset` reads it: x and y, or a Keras test half
                digits = load_labelled_set(set_file)
                X, y = digits.inputs(), digits.labels()
                set_name = "My digits" if which == "personal" else set_file.name
                set_name += f" ({set_file})"
            say(f"Evaluating {name_a}…")
            start = time.perf_counter()
            eval_a = evaluate(net_a, X, y, name=name_a, l2=cfg_a.l2, m=cfg_a.batch_size, silenced=off_a)
            # with units off, the intact network's accuracy beside it: what those units were worth
            intact = {"A": net_a.accuracy(X, y) if off_a else None, "B": None}
            eval_b = comparison = None
            if job_b is not None:
                net_b, cfg_b, name_b = job_b
                say(f"Evaluating {name_b}…")
                eval_b = evaluate(net_b, X, y, name=name_b, l2=cfg_b.l2, m=cfg_b.batch_size, silenced=off_b)
                intact["B"] = net_b.accuracy(X, y) if off_b else None
                comparison = compare(eval_a, eval_b)
            return {"set_name": set_name, "which": which, "X": X, "y": y, "eval_a": eval_a,
                    "eval_b": eval_b, "comparison": comparison, "elapsed": time.perf_counter() - start,
                    "silenced": {"A": off_a, "B": off_b}, "intact": intact}

        self.eval_progress.start("Loading the data set…" if not loaded else "Evaluating…")
        self._eval_task.start(compute)

    def is_evaluating(self) -> bool:
        """True while the chosen models are being evaluated."""
        return self._eval_task.is_running() or self._pending

    @guarded
    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        # a set file may have changed meanwhile (digits added in Draw): refresh sees whether it did
        if self._stale or self._set_file(self.set_combo.currentData()) is not None:
            self.refresh()

    @Slot(str)
    def _on_eval_progress(self, text: str) -> None:
        self.eval_progress.set_text(text)

    @Slot(object)
    def _on_evaluated(self, result: dict) -> None:
        if self._pending:               # superseded by a newer choice
            return
        self.eval_a, self.eval_b, self.comparison = result["eval_a"], result["eval_b"], result["comparison"]
        self.current_x, self.current_y = result["X"], result["y"]
        # plain text (the headline shows names from files, never rendered as HTML)
        self.silenced_shown = result["silenced"]
        off = {side: self._silenced_words(side, result) for side in ("A", "B")}
        parts = [f"A: {self.eval_a.name}{off['A']} — cost {self.eval_a.cost:.4f} (cross-entropy "
                 f"{self.eval_a.cross_entropy:.4f}), accuracy {100 * self.eval_a.accuracy:.2f} %, "
                 f"ECE {100 * self.eval_a.ece:.2f} %"]
        if self.eval_b is not None:
            parts.append(f"B: {self.eval_b.name}{off['B']} — cost {self.eval_b.cost:.4f} (cross-entropy "
                         f"{self.eval_b.cross_entropy:.4f}), accuracy {100 * self.eval_b.accuracy:.2f} %, "
                         f"ECE {100 * self.eval_b.ece:.2f} %; "
                         f"{len(self.comparison.only_a)} digits only A gets "
                         f"right, {len(self.comparison.only_b)} only B")
        parts.append(f"{self.eval_a.n} images of {result['set_name']}, evaluated in "
                     f"{1000 * result['elapsed']:.0f} ms")
        self.headline.setText("\n".join(parts))
        self._draw()
        self.evaluated.emit()

    @staticmethod
    def _silenced_words(side: str, result: dict) -> str:
        """`` with layer 1 unit 3 switched off (intact: 95.10 %)`` for a side with units off."""
        units, intact = result["silenced"][side], result["intact"][side]
        if not units or intact is None:
            return ""
        return f" with {describe_units(units)} switched off (intact: {100 * intact:.2f} %)"

    def accuracy_shown(self, side: str = "A") -> float | None:
        """The accuracy the headline shows for ``side`` (with its silenced units off), or None."""
        ev = self.eval_a if side.upper() == "A" else self.eval_b
        return None if ev is None else ev.accuracy

    @Slot(object)
    def _on_eval_failed(self, exc: object) -> None:
        if self._pending:
            return
        a = self.pair.a
        self.eval_a = self.eval_b = self.comparison = None
        # a dataset problem is shown, not raised
        if self._set_file(self.set_combo.currentData()) is not None:
            self.headline.setText(f"Cannot evaluate on this set: {exc}")
        else:
            name = a.name if a is not None else "the model"
            self.headline.setText(f"Cannot load the data of {name}: {exc}")
        self._draw()
        self.evaluated.emit()

    @Slot()
    def _on_eval_finished(self) -> None:
        self.eval_progress.stop()
        if self._pending:
            self._pending = False
            self.refresh()

    @Slot()
    def _on_eval_cancelled(self) -> None:
        if not self._pending:      # the person's Cancel: what was shown before stays
            self.headline.setText("Evaluation cancelled: choose a model or the set again to evaluate.")

    def _draw(self) -> None:
        self._draw_confusions()
        self._fill_class_table()
        self._fill_gallery()
        self._draw_calibration()

    def _draw_confusions(self) -> None:
        look = theme.look()
        for widget, ev, tag in ((self.cm_a, self.eval_a, "A"), (self.cm_b, self.eval_b, "B")):
            plot = widget.getPlotItem()
            plot.clear()
            widget.setVisible(ev is not None or tag == "A")
            if ev is not None:
                off = len(self.silenced_shown.get(tag, ()))
                title = f"{tag}: {ev.name}" + (f" ({off} unit{'s' if off != 1 else ''} off)" if off else "")
                F.style_plot(plot, title, "predicted digit", "true digit", look=look)
                F.draw_confusion(plot, ev.cm, look=look)

    def plot_widgets(self) -> list:
        """Every pyqtgraph widget of this view, Inside's included."""
        return [self.cm_a, self.cm_b, self.reliability, self.conf_counts, *self.inside.plot_widgets()]

    def _restyle(self) -> None:
        """The theme changed: the matrices and calibration plots drawn again in its colours (Inside
        and the probability bars restyle themselves)."""
        for widget in (self.cm_a, self.cm_b, self.reliability, self.conf_counts):
            theme.style_plot_widget(widget)
        self._draw_confusions()
        self._draw_calibration()

    def _fill_class_table(self) -> None:
        t = self.class_table
        evs = [e for e in (self.eval_a, self.eval_b) if e is not None]
        headers = ["Digit"]
        for tag, e in zip("AB", evs):
            headers += [f"{tag}\naccuracy",
                        f"{tag}\nprecision"]   # two lines: the table fits beside the matrices
        if len(evs) == 2:
            headers += ["B − A\naccuracy"]
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
        for c, tip in enumerate(["The true digit"] + [
                f"Model {tag}: {what}" for tag in "AB"[:len(evs)]
                for what in ("accuracy on the images of this digit (recall)",
                             "precision: of the images it calls this digit, the fraction that are")]
                + (["B's accuracy minus A's, in percentage points"] if len(evs) == 2 else [])):
            t.horizontalHeaderItem(c).setToolTip(tip)
        # as wide as its columns: the confusion matrices give way, the table is never cut off
        t.setMinimumWidth(t.horizontalHeader().length() + 2 * t.frameWidth()
                          + t.verticalScrollBar().sizeHint().width())

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
        self.gallery.setCurrentRow(-1)      # a refilled list starts with no digit chosen
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
        # the bars always name their model (not "No model chosen" once one is), and invite a click
        for bars, ev in ((self.bars_a, self.eval_a), (self.bars_b, self.eval_b)):
            bars.set_model_name(ev.name if ev is not None else None)
            bars.set_empty_text(CLICK_A_DIGIT)
        if index is None:
            for bars in (self.bars_a, self.bars_b):
                bars.set_true_label(None)
                bars.set_probabilities(None)
            return
        label = int(self.eval_a.y[index])
        for bars, ev in ((self.bars_a, self.eval_a), (self.bars_b, self.eval_b)):
            if ev is None:
                continue
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
        self.status_message.emit(f"Sent digit {self._selected} (a {label}) to the Draw view")

    # ------------------------------------------------------------------ calibration
    def _draw_calibration(self) -> None:
        rel_plot, cnt_plot = self.reliability.getPlotItem(), self.conf_counts.getPlotItem()
        for p in (rel_plot, cnt_plot):
            p.clear()
            if p.legend is not None:
                p.legend.scene() and p.legend.scene().removeItem(p.legend)
                p.legend = None
        items = [(f"{tag}: {e.name}", e.calibration) for tag, e in zip("AB", (self.eval_a, self.eval_b)) if e]
        look = theme.look()
        F.style_plot(rel_plot, "Reliability diagram", "confidence (mean per bin)",
                     "accuracy (fraction correct)", look=look)
        F.style_plot(cnt_plot, "Predictions per confidence bin", "confidence", "predictions (log scale)",
                     look=look)
        if items:
            F.draw_reliability(rel_plot, items, look=look)
            F.draw_confidence_counts(cnt_plot, items, look=look)
            self.ece_label.setText("Expected calibration error (10 bins):\n" + "\n".join(
                f"{name} {100 * rel.ece:.2f} % (mean confidence {100 * rel.mean_confidence:.1f} %, accuracy "
                f"{100 * rel.accuracy_overall:.1f} %)" for name, rel in items))
        else:
            self.ece_label.setText("")

    # ------------------------------------------------------------------ inside, report, lifetime
    def show_activations(self, x) -> None:
        """Connect ``DrawView.input_changed`` here: the Inside tab shows each hidden layer's activations."""
        self.inside.show_activations(x)

    def show_training(self, network, step: int) -> None:
        """The network being trained (Inside can show it in place of A, step by step)."""
        self.inside.show_training(network, step)

    def sweep_running(self) -> bool:
        """Is Inside's lambda sweep training?"""
        return self.inside.sweep_running()

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
                      formats=("html", "pdf", "md"), include_sweep: bool = True,
                      paper: str | None = None) -> Path | None:
        """Start writing a report (HTML, PDF, Markdown, tables) into a new folder; returns the
        folder it will be, or None when nothing was started.

        ``out_dir`` defaults to asking the person (``ask_report_dir``); ``which`` to the "on ..."
        choice (:meth:`report_models`); ``paper`` ("a4" or "letter") to the paper choice beside it.
        The Inside tab's last lambda sweep is included with its
        setting (data size, seeds, lambdas) stated. The report is built on a worker thread (its
        figures drawn on the GUI thread, one at a time) with progress and Cancel
        (:meth:`cancel_report`); ``report_written(folder)`` when it is complete, and
        ``report_finished(folder or "")`` however it ends. A cancelled or failed export leaves no
        folder behind.
        """
        from digitlab.reports.report import write_report
        if self._report_task.is_running():
            self.show_error("A report is being written",
                            "Wait until the report being written is done, or cancel it.")
            return None
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
                            f"{out} already exists. A report is written into a new folder; "
                            "choose another name.")
            return None
        sweep = list(self.inside.sweep_points) if include_sweep else []
        paper = paper or self.report_paper.currentData()
        sweep_setting = self.inside.sweep_setting if sweep else None
        models = [e.model for e in entries]          # loaded here, in the GUI thread
        config = entries[0].config
        task = self._report_task

        def write(control, say):
            say("loading the data set")
            splits = self._data(config)
            def progress(text):      # a cancel once the folder is in place is too late: it is kept
                if not text.startswith("wrote "):
                    say(text)

            return write_report(models, out, formats, sweep=sweep or None, sweep_setting=sweep_setting,
                                splits=splits, paper=paper, on_progress=progress, gui_call=task.call_in_gui)

        self._report_target = out
        self.export_button.setEnabled(False)
        self.report_progress.start(f"Writing the report into {out.name}…")
        self.status_message.emit(f"Writing the report into {out}…")
        task.start(write)
        return out

    def report_running(self) -> bool:
        return self._report_task.is_running()

    def cancel_report(self) -> None:
        """Stop the export in progress: nothing of it is left on disk."""
        if self._report_task.is_running():
            self._report_task.cancel()
            self.report_progress.set_text("Cancelling the report…")

    @Slot(str)
    def _on_report_progress(self, text: str) -> None:
        self.report_progress.set_text(f"Report: {text}")
        self.status_message.emit(f"Report: {text}")

    def _report_ended(self) -> None:
        self.report_progress.stop()
        self.export_button.setEnabled(True)
        self._report_target = None

    @Slot(object)
    def _on_report_done(self, path: object) -> None:
        self._report_ended()
        self.status_message.emit(f"Report written to {path}")
        self.report_written.emit(str(path))
        self.report_finished.emit(str(path))

    @Slot(object)
    def _on_report_failed(self, exc: object) -> None:
        self._report_ended()
        log.error("Report export failed: %s", exc)
        self.show_error("Cannot export the report", str(exc),
                        messages.error_details(exc) if isinstance(exc, BaseException) else None)
        self.report_finished.emit("")

    @Slot()
    def _on_report_cancelled(self) -> None:
        target = self._report_target
        self._report_ended()
        self.status_message.emit("Report cancelled" + (f": {target} was not written" if target else ""))
        self.report_finished.emit("")

    def _dialog_report_dir(self) -> str:
        default = str(Path.home() / f"digitlab-report-{time.strftime('%Y%m%d-%H%M%S')}")
        path, _ = QFileDialog.getSaveFileName(self, "Export report into a new folder", default, "Folder (*)")
        return path

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and join every background thread (evaluation, export, sweep)."""
        self._pending = False            # no new evaluation starts while closing
        ok = self._report_task.shutdown(timeout_ms)
        ok = self._eval_task.shutdown(timeout_ms) and ok
        return self.inside.shutdown(timeout_ms) and ok

    @guarded
    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
