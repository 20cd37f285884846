"""The Train view: settings on the left, live curves, progress and results on the right.

Everything that trains goes through :class:`~digitlab.gui.train_worker.TrainController` (a worker
on a QThread); this widget only reacts to its GUI-thread signals. Curves are buffered and drawn by
:class:`~digitlab.gui.train_plots.TrainPlots` at most ~20 times a second.

Beside Start, Pause and Stop, a person can follow a run step by step: Step takes one mini-batch
step and pauses, Step N takes N, and the speed box slows a run to a pace a class can follow (steps
per second). Step with no run starts one, paused at step 0, and takes the step. The "Change the
run" row sets a new learning rate or L2 lambda for the running (or paused) run from its next step;
the cost plot marks it and the run's history (and so its model file) records it. The form's fields
stay those of the next run.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from digitlab.gui import theme
from digitlab.gui.guard import guarded
from digitlab.gui.settings_form import SettingsForm
from digitlab.gui.train_plots import PALETTE, TrainPlots
from digitlab.gui.train_worker import FineTuning, TrainController
from digitlab.reports import tables
from digitlab.training import (
    EXPERIMENTS,
    Check,
    TrainConfig,
    TrainResult,
    default_model_name,
    format_layer_sizes,
)

if TYPE_CHECKING:
    from digitlab.data import Splits
    from digitlab.library import ModelLibrary

__all__ = ["TrainView"]

_REASON_TITLES = {
    "early_stopping": "Stopped early",
    "max_epochs": "Finished",
    "cancelled": "Cancelled",
    "diverged": "Diverged",
    "not_learning": "Not learning",
}
# Runs that ended without a usable network: shown as a problem, with the reason over the plot.
_FAILED_REASONS = ("diverged", "not_learning")
# The speed box: a run at full speed, or slowed to so many steps per second (the text says it).
SPEEDS: tuple[float | None, ...] = (None, 100.0, 20.0, 10.0, 5.0, 2.0, 1.0, 0.5)
DEFAULT_STEP_N = 10


def _speed_text(speed: float | None) -> str:
    if speed is None:
        return "Full speed"
    return f"{speed:g} step/s" if speed == 1 else f"{speed:g} steps/s"


def _fmt_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "model"


class TrainView(QWidget):
    """Train a network and watch it learn.

    Signals: ``training_changed(bool)`` (a run started / everything ended), ``paused_changed(bool)``,
    ``status_message(str)`` (one line for the status bar), ``model_saved(str)`` (path).
    """

    training_changed = Signal(bool)
    paused_changed = Signal(bool)
    status_message = Signal(str)
    model_saved = Signal(str)
    # a copy of the network being trained and its step: after every step while a person follows
    # the run (Step, a speed limit, paused), every half second otherwise
    network_stepped = Signal(object, int)

    def __init__(self, library: ModelLibrary | None = None, parent: QWidget | None = None, *,
                 splits_for: Callable[[TrainConfig], Splits] | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.splits_for = splits_for  # tests pass a small subset provider; None = the real data
        self.controller = TrainController(self)
        self.results: list[TrainResult] = []     # every finished run of this session
        self.last_result: TrainResult | None = None
        self._run_counter = 0
        self._experiment_mode = False
        self._experiment_results: list[tuple[str, TrainResult]] = []
        self._jobs: list[tuple[str, TrainConfig]] = []
        self._run_ids: dict[int, int] = {}
        self._steps_per_epoch: int | None = None
        self._total_epochs = 0
        self._last_step = 0
        self._last_epoch = 0
        # the result box: why the last run ended, and where it was saved (result, name, path)
        self._result_text = ""
        self._result_error = False
        self._saved: tuple[TrainResult, str, Path] | None = None
        # what the headline said before an invalid setting replaced it ("Cannot train yet: ...")
        self._headline_before_problem: str | None = None
        # the running run's learning rate and L2 lambda, as the "Change the run" row shows them
        self._run_settings: dict[str, float] = {}
        self._running_label: tuple[str, TrainConfig] | None = None    # the single run's label, settings

        # ---------------- left: the settings and the buttons
        self.form = SettingsForm()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        self.form_scroll = scroll

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train with these settings (F5)")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume the run (F6)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run; it keeps the best weights found so far (Shift+F5)")
        self.experiments_button = QPushButton("Run the report's four experiments")
        self.experiments_button.setToolTip(
            "Train the report's 2x2 grid one after another (no L2 / L2 x no BN / BN) and compare them")
        bold = QFont(self.start_button.font())
        bold.setBold(True)
        self.start_button.setFont(bold)
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.experiments_button.clicked.connect(self.run_experiments)

        # step by step, and slowed down
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Take one mini-batch step, then pause (F7). With no run, start "
                                    "one with these settings, paused at step 0, and take the step")
        self.step_n_button = QPushButton(f"Step {DEFAULT_STEP_N}")
        self.step_n_button.setToolTip("Take the number of steps beside, then pause")
        self.step_count = QSpinBox()
        self.step_count.setRange(1, 100_000)
        self.step_count.setValue(DEFAULT_STEP_N)
        self.step_count.setAccessibleName("Steps for Step N")
        self.step_count.setToolTip("How many mini-batch steps Step N takes")
        self.step_count.valueChanged.connect(lambda n: self.step_n_button.setText(f"Step {n}"))
        self.speed_box = QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(_speed_text(speed), speed)
        self.speed_box.setAccessibleName("Speed")
        self.speed_box.setToolTip("Slow the run down to a pace a class can follow: at most this many "
                                  "steps per second (the curves update after every step)")
        self.step_button.clicked.connect(lambda: self.step(1))
        self.step_n_button.clicked.connect(lambda: self.step(self.step_count.value()))
        self.speed_box.currentIndexChanged.connect(self._on_speed_chosen)

        # a new learning rate or L2 lambda for the running run
        self.run_lr = QLineEdit()
        self.run_lr.setAccessibleName("The run's learning rate")
        self.run_lr.setToolTip("The learning rate the running run uses from its next step on")
        self.run_l2 = QLineEdit()
        self.run_l2.setAccessibleName("The run's L2 lambda")
        self.run_l2.setToolTip("The L2 lambda the running run uses from its next step on")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Use these values from the run's next step; the cost plot marks "
                                     "the change and the saved model records it")
        self.apply_button.clicked.connect(self.apply_changes)
        for edit in (self.run_lr, self.run_l2):
            edit.returnPressed.connect(self.apply_changes)
            edit.textEdited.connect(self._on_change_edited)
        self.change_box = QGroupBox("Change the run")
        cg = QGridLayout(self.change_box)
        cg.setContentsMargins(6, 4, 6, 4)
        cg.addWidget(QLabel("Learning rate"), 0, 0)
        cg.addWidget(self.run_lr, 0, 1)
        cg.addWidget(QLabel("L2 lambda"), 1, 0)
        cg.addWidget(self.run_l2, 1, 1)
        cg.addWidget(self.apply_button, 0, 2, 2, 1)

        buttons = QWidget()
        bl = QVBoxLayout(buttons)
        bl.setContentsMargins(0, 6, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.start_button, 2)
        row.addWidget(self.pause_button, 1)
        row.addWidget(self.stop_button, 1)
        bl.addLayout(row)
        step_row = QHBoxLayout()
        step_row.addWidget(self.step_button, 1)
        step_row.addWidget(self.step_n_button, 1)
        step_row.addWidget(self.step_count, 1)
        step_row.addWidget(self.speed_box, 2)
        bl.addLayout(step_row)
        bl.addWidget(self.change_box)
        bl.addWidget(self.experiments_button)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(8, 8, 4, 8)
        ll.addWidget(scroll, 1)
        ll.addWidget(buttons)
        # wide enough for the whole form: no horizontal scrolling, no clipped units
        scroll.setMinimumWidth(self.form.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width() + 4)

        # ---------------- right: progress, plots, results
        self.headline = QLabel("Ready to train: the report's setting is filled in.")
        self.headline.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        hf = QFont(self.headline.font())
        hf.setPointSizeF(hf.pointSizeF() * 1.15)
        hf.setBold(True)
        self.headline.setFont(hf)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(14)
        self.progress_label = QLabel(" ")
        # size policy Ignored: its text changes while training must never re-lay out (and so
        # repaint) the plots; the layout gives it a share of the row instead
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(4)
        tl.addWidget(self.headline)
        pr = QHBoxLayout()
        pr.addWidget(self.progress, 2)
        pr.addWidget(self.progress_label, 3)
        tl.addLayout(pr)

        self.plots = TrainPlots()

        # result strip: why the run ended, save, clear
        self.message_label = QLabel("When a run ends, why it stopped appears here, "
                                    "and the model can be saved.")
        self.message_label.setStyleSheet("color: palette(placeholder-text);")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton("Save model")
        self.save_button.setToolTip("Save the last run to your model library (Ctrl+S to choose a file)")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.save_model())
        self.clear_button = QPushButton("Clear curves")
        self.clear_button.setToolTip("Remove the curves of earlier runs from the plots")
        self.clear_button.clicked.connect(self.plots.clear)
        result_strip = QFrame()
        result_strip.setFrameShape(QFrame.Shape.StyledPanel)
        rs = QHBoxLayout(result_strip)
        rs.setContentsMargins(8, 4, 8, 4)
        rs.addWidget(self.message_label, 1)
        rs.addWidget(self.save_button)
        rs.addWidget(self.clear_button)

        self.summary_table = self._make_table([tables.SCREEN_HEADERS[c] for c in tables.SUMMARY_COLUMNS])
        self.weights_table = self._make_table(["Layer"])
        self.tables = QTabWidget()
        self.tables.addTab(self.summary_table, "Experiments: summary")
        self.tables.addTab(self.weights_table, "Mean |weight| per layer")
        self.tables_hint = QLabel("Run the report's four experiments to fill these tables.")
        self.tables_hint.setStyleSheet("color: palette(placeholder-text);")
        self.tables.setCornerWidget(self.tables_hint, Qt.Corner.TopRightCorner)
        self.tables.hide()  # shown once the report's experiments run: single runs get the room

        plot_area = QWidget()
        pl = QVBoxLayout(plot_area)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(top)
        pl.addWidget(self.plots, 1)
        pl.addWidget(result_strip)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.setObjectName("train_right_splitter")
        self.right_splitter.addWidget(plot_area)
        self.right_splitter.addWidget(self.tables)
        self.right_splitter.setStretchFactor(0, 4)
        self.right_splitter.setStretchFactor(1, 1)
        self.right_splitter.setCollapsible(0, False)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 8, 8, 8)
        rl.addWidget(self.right_splitter)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("train_splitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(0, False)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([left.minimumSizeHint().width(), 900])
        self.right_splitter.setSizes([560, 170])

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.splitter)

        # ---------------- wiring
        self.refresh_start_models()
        if library is not None:
            from digitlab.gui.library_events import LibraryEvents
            self._library_events = LibraryEvents(library, self)
            self._library_events.changed.connect(self.refresh_start_models)
        self.form.changed.connect(self._update_buttons)
        self.form.changed.connect(self._show_form_problem)
        self.form.start_from.currentIndexChanged.connect(self._on_start_choice)
        c = self.controller
        c.status.connect(self._on_status)
        c.run_started.connect(self._on_run_started)
        c.check.connect(self._on_check)
        c.epoch.connect(self._on_epoch)
        c.steps.connect(self._on_steps)
        c.changed.connect(self._on_changed)
        c.network.connect(self.network_stepped)
        c.run_finished.connect(self._on_run_finished)
        c.error.connect(self._on_error)
        c.finished.connect(self._on_finished)
        c.paused_changed.connect(self._on_paused_changed)
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(250)
        self._progress_timer.timeout.connect(self._update_progress)
        self._update_buttons()
        self._show_form_problem()

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _make_table(headers: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        return table

    def is_training(self) -> bool:
        return self.controller.is_running()

    def has_unsaved_result(self) -> bool:
        """True when the last run left a network that is in no file (never saved, or the file
        it was saved to has since been deleted or renamed): closing the app would lose it."""
        result = self.last_result
        if result is None:
            return False
        if self._saved is None or self._saved[0] is not result:
            return True
        return not self._saved[2].exists()

    def _update_buttons(self) -> None:
        running = self.controller.is_running()
        self.start_button.setEnabled(not running and self.form.is_valid())
        self.start_button.setToolTip(
            "Train with these settings (F5)" if self.form.is_valid() or running
            else "Cannot start: " + "; ".join(self.form.problems()))
        self.experiments_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if self.controller.is_paused() else "Pause")
        self.form.setEnabled(not running)
        can_step = running or self.form.is_valid()
        self.step_button.setEnabled(can_step)
        self.step_n_button.setEnabled(can_step)
        self.step_count.setEnabled(can_step)
        self.change_box.setEnabled(running)
        self.save_button.setEnabled(not running and self.last_result is not None)

    @Slot()
    def _show_form_problem(self) -> None:
        """While the settings are invalid (and nothing runs), the headline says why."""
        if self.controller.is_running():
            return
        problems = self.form.problems()
        if problems:
            if self._headline_before_problem is None:
                self._headline_before_problem = self.headline.text()
            text = "Cannot train yet: " + "; ".join(problems)
            self.headline.setText(text)
            self.headline.setToolTip(text)  # the label is one line: the tooltip has it all
        elif self._headline_before_problem is not None:
            self.headline.setText(self._headline_before_problem)
            self.headline.setToolTip("")
            self._headline_before_problem = None

    @Slot()
    def refresh_start_models(self) -> None:
        """Offer the library's model files under the form's "Start from" (unsaved runs have no
        file to record as the starting point: save them first)."""
        models = []
        if self.library is not None:
            for entry in self.library.entries():
                if entry.path is not None and not entry.damaged and entry.config is not None:
                    models.append((entry.display_name, str(entry.path), entry.config))
        self.form.set_start_models(models)

    @Slot()
    def _on_start_choice(self) -> None:
        """The headline says what Start will do once a starting model is chosen (or dropped)."""
        if self.controller.is_running() or self._headline_before_problem is not None:
            return
        fine_tuning = self.form.fine_tuning()
        if fine_tuning.start_path is not None:
            self.headline.setText(f"Ready to fine-tune {fine_tuning.start_name}: its settings are filled in.")
        else:
            self.headline.setText("Ready to train from a fresh initialisation.")

    # ----------------------------------------------------------------- commands
    @Slot()
    def start(self, steps: int | None = None) -> bool:
        """Train one run with the form's settings. False (and the reason shown) if it cannot.

        ``steps``: take that many steps, then pause (Step with no run)."""
        if self.controller.is_running():
            return False
        try:
            config = self.form.config()
        except (ValueError, TypeError) as exc:
            # F5 or Start with an invalid form: say why here and in the status bar
            problems = self.form.problems() or [str(exc)]
            text = "Cannot start: " + "; ".join(problems)
            self._show_message(text, error=True)
            self.status_message.emit(text)
            return False
        self._run_counter += 1
        self._experiment_mode = False
        fine_tuning = self.form.fine_tuning()
        label = f"Run {self._run_counter}"
        if fine_tuning.start_path is not None:
            label += f" from {fine_tuning.start_name}"
        self._jobs = [(label, config)]
        return self._launch(fine_tuning, steps)

    @Slot()
    def step(self, n: int = 1) -> bool:
        """Take ``n`` mini-batch steps, then pause; with no run, start one paused at step 0 first.
        False (and the reason shown) if no run can start."""
        if self.controller.is_running():
            self.controller.step(n)
            self._update_buttons()
            return True
        return self.start(steps=n)

    def set_speed(self, steps_per_second: float | None) -> None:
        """Slow the run (and the next) to at most this many steps per second; None: full speed."""
        index = self.speed_box.findData(steps_per_second)
        if index < 0:
            self.speed_box.addItem(_speed_text(steps_per_second), steps_per_second)
            index = self.speed_box.count() - 1
        self.speed_box.setCurrentIndex(index)

    @Slot(int)
    def _on_speed_chosen(self, _index: int) -> None:
        speed = self.speed_box.currentData()
        self.controller.set_speed(speed)
        self.status_message.emit("Training at full speed" if speed is None
                                 else f"Training slowed to {_speed_text(speed)}")

    def continue_run(self, path: str | Path, name: str, more_epochs: int) -> bool:
        """Continue the run saved in ``path`` exactly where it ended, for ``more_epochs`` epochs
        (digitlab.training.continuing). False (and the reason shown) if it cannot start."""
        from digitlab.io import ModelFileError, read_model_info
        if self.controller.is_running():
            return False
        try:
            info = read_model_info(path)
        except ModelFileError as exc:
            self._show_message(f"Cannot continue {name}: {exc}", error=True)
            return False
        if not info.get("can_continue"):
            from digitlab.training.continuing import continue_problems
            text = "; ".join(continue_problems(None, info.get("origin", {}), info.get("stop_reason", "")))
            self._show_message(f"Cannot continue {name}: {text}", error=True)
            self.status_message.emit(f"Cannot continue {name}")
            return False
        self._run_counter += 1
        self._experiment_mode = False
        # the worker reads the file and puts the epochs in: this config only names the run
        self._jobs = [(f"Run {self._run_counter}: {name} continued", info["config"])]
        return self._launch(FineTuning(start_path=Path(path), start_name=name, more_epochs=int(more_epochs)))

    @Slot()
    def apply_changes(self) -> bool:
        """Use the "Change the run" row's learning rate and L2 lambda from the run's next step.
        False (and the reason shown) when a value is not one a run can use."""
        if not self.controller.is_running():
            return False
        from digitlab.training import TrainConfig
        wanted = {}
        for key, edit in (("learning_rate", self.run_lr), ("l2", self.run_l2)):
            try:
                value = TrainConfig.setting_from_text(key, edit.text())
                problems = TrainConfig.field_problems(key, value)
                if problems:
                    raise ValueError(problems[0])
            except ValueError as exc:
                edit.setStyleSheet("background: #fde7e9;")
                edit.setToolTip(str(exc))
                self.status_message.emit(f"Not applied: {exc}")
                self._show_message(f"Not applied: {exc}", error=True)
                return False
            if value != self._run_settings.get(key):
                wanted[key] = value
        for key, value in wanted.items():
            self.controller.change(key, value)
        if wanted:
            self.status_message.emit("The new values apply from the next step")
        return True

    @Slot()
    def _on_change_edited(self, *_args) -> None:
        for edit in (self.run_lr, self.run_l2):
            edit.setStyleSheet("")

    @Slot()
    def run_experiments(self) -> bool:
        """Run the report's four configurations one after another, all curves live."""
        if self.controller.is_running():
            return False
        self._experiment_mode = True
        self._experiment_results = []
        self.summary_table.setRowCount(0)
        self.weights_table.setRowCount(0)
        self.tables_hint.setText("0 of 4 experiments")
        if not self.tables.isVisible():
            self.tables.show()
            # room for the four rows and the header; the plots keep the rest
            table_height = min(240, self.tables.tabBar().sizeHint().height()
                               + self.summary_table.horizontalHeader().sizeHint().height()
                               + 4 * self.summary_table.verticalHeader().defaultSectionSize() + 16)
            total = sum(self.right_splitter.sizes()) or self.right_splitter.height()
            self.right_splitter.setSizes([max(200, total - table_height), table_height])
        self._jobs = [(label, config) for label, config in EXPERIMENTS]
        return self._launch()

    def _launch(self, fine_tuning: FineTuning | None = None, steps: int | None = None) -> bool:
        self.plots.fade_previous()
        self._run_ids = {}
        self._show_message("")
        self.progress.setValue(0)
        self.progress_label.setText(" ")
        self._headline_before_problem = None
        self._saved = None
        self.headline.setToolTip("")
        self.headline.setText("Preparing the data…")
        started = self.controller.start(self._jobs, self.splits_for, fine_tuning, steps)
        self._update_buttons()
        if started:
            self._progress_timer.start()
            self.training_changed.emit(True)
            self.status_message.emit("Training started")
        return started

    @Slot()
    def toggle_pause(self) -> None:
        if self.controller.is_running():
            self.controller.toggle_pause()

    @Slot()
    def stop(self) -> None:
        if self.controller.is_running():
            self.headline.setText("Stopping…")
            self.controller.stop()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop and join the training thread (window close, test teardown)."""
        return self.controller.shutdown(timeout_ms)

    def default_model_path(self, result: TrainResult | None = None) -> Path:
        from digitlab.paths import user_models_dir

        result = result or self.last_result
        config = result.config
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = user_models_dir() / f"{stamp}-{_slug(default_model_name(config, with_optimizer=True))}.h5"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.stem}-{n}.h5")
        return path

    def model_name(self, result: TrainResult | None = None) -> str:
        """A name for a person: architecture, optimiser, L2/BN, test accuracy."""
        result = result or self.last_result
        c = result.config
        parts = [default_model_name(c, with_optimizer=True)]
        acc = result.metrics.get("test_accuracy")
        if _finite(acc):
            parts.append(f"{acc * 100:.2f} %")
        if result.origin.get("init_from"):
            parts.append(f"from {result.origin['init_from']}")
        return " ".join(parts)

    def save_model(self, path: str | Path | None = None, result: TrainResult | None = None,
                   name: str | None = None) -> Path | None:
        """Save the last run (or ``result``) as HDF5.

        Without ``path`` it goes into the user's models folder through the model library (which
        then lists it); with a path it is written there and the library rescans its folders.
        """
        from digitlab.io import save_model

        result = result or self.last_result
        if result is None:
            self._show_message("Nothing to save yet: train a model first.", error=True)
            return None
        name = name or self.model_name(result)
        try:
            if path is None and self.library is not None:
                target = Path(self.library.add_model(result, name).path)
            else:
                target = Path(path) if path else self.default_model_path(result)
                save_model(target, result, name=name)
                if self.library is not None:
                    self.library.refresh()
        except Exception as exc:  # noqa: BLE001 - shown to the person, the app keeps running
            self._show_message(f"Could not save the model: {exc}", error=True)
            return None
        self.status_message.emit(f"Model saved to {target}")
        # one "Saved as" line, replaced by each save (a line per save pushed the run's own
        # message out of the result box)
        self._saved = (result, name, target)
        self._render_result()
        self.model_saved.emit(str(target))
        return target

    # ----------------------------------------------------------------- controller -> view
    @Slot(str)
    def _on_status(self, text: str) -> None:
        self.headline.setText(text)

    @Slot(int, str, object)
    def _on_run_started(self, index: int, label: str, config: TrainConfig) -> None:
        color = PALETTE[index % len(PALETTE)] if self._experiment_mode else None
        legend = label
        if self._experiment_mode:  # the report's long titles would swamp the legend
            legend = _short_label(index, config)
        self._run_ids[index] = self.plots.begin_run(legend, color)
        self._steps_per_epoch = None
        self._total_epochs = config.max_epochs
        self._last_step = self._last_epoch = 0
        self._run_settings = {"learning_rate": config.learning_rate, "l2": config.l2}
        self._show_run_settings()
        if self._experiment_mode:
            # the core's labels already start "Experiment 1: ..."; say the number only once
            title = re.sub(r"^Experiment \d+:\s*", "", label)
            self.headline.setText(f"Experiment {index + 1} of {len(self._jobs)}: {title}")
        else:
            self._running_label = (label, config)
            self._show_running_headline()
        self._update_progress()
        self.status_message.emit(f"Training {label}…")

    @Slot(int, object)
    def _on_check(self, index: int, check: Check) -> None:
        run_id = self._run_ids.get(index)
        if run_id is not None:
            self.plots.add_check(run_id, check)
        self._last_step = int(check.step)

    @Slot(int, object)
    def _on_steps(self, index: int, steps: list) -> None:
        run_id = self._run_ids.get(index)
        if run_id is not None:
            self.plots.add_steps(run_id, steps)
        self._last_step = int(steps[-1][0])
        if self.controller.is_paused() or self.controller.speed is not None:
            self._update_progress()     # a person follows it step by step: show each one

    @Slot(int, object)
    def _on_changed(self, index: int, change) -> None:
        run_id = self._run_ids.get(index)
        if run_id is not None:
            self.plots.add_change(run_id, change)
        self._run_settings[change.setting] = change.new
        self._show_run_settings()
        if not self._experiment_mode and self._running_label is not None:
            self._show_running_headline()
        words = "learning rate" if change.setting == "learning_rate" else "L2 lambda"
        self.status_message.emit(f"From step {change.step + 1} on, the {words} is {change.new:g}")

    def _show_running_headline(self) -> None:
        """ "Run 1: training 784-20-7-5-10, sgd, learning rate 0.01" with the run's current rate (and
        L2 lambda, once changed): a person who changed them reads the values the run now uses."""
        label, config = self._running_label
        lr = self._run_settings.get("learning_rate", config.learning_rate)
        l2 = self._run_settings.get("l2", config.l2)
        text = (f"{label}: training {format_layer_sizes(config.layer_sizes)}, {config.optimizer}, "
                f"learning rate {lr:g}")
        if l2 != config.l2:
            text += f", L2 lambda {l2:g}"
        self.headline.setText(text)

    def _show_run_settings(self) -> None:
        for key, edit in (("learning_rate", self.run_lr), ("l2", self.run_l2)):
            if key in self._run_settings and not edit.hasFocus():
                edit.setText(f"{self._run_settings[key]:g}")
                edit.setStyleSheet("")

    @Slot(int, int, int)
    def _on_epoch(self, epoch: int, step: int, total: int) -> None:
        # only remembered here: the progress timer shows it (a label changing on every epoch
        # costs repaints the event loop cannot afford while training)
        self._last_epoch, self._last_step, self._total_epochs = epoch, step, total
        if epoch > 0 and step > 0:
            self._steps_per_epoch = max(1, round(step / epoch))

    def _update_progress(self) -> None:
        total = max(1, self._total_epochs)
        frac = min(1.0, self._last_epoch / total)
        self.progress.setValue(int(frac * 1000))
        text = f"Epoch {self._last_epoch} / {total} · step {self._last_step}"
        active = self.controller.active_seconds()
        if self._last_epoch > 0 and active > 0:
            left = active / self._last_epoch * (total - self._last_epoch)
            text += f" · at most {_fmt_seconds(left)} left"
        if self.controller.is_paused():
            text += " · paused"
        self.progress_label.setText(text)

    @Slot(int, object)
    def _on_run_finished(self, index: int, result: TrainResult) -> None:
        run_id = self._run_ids.get(index)
        if run_id is not None:
            self.plots.end_run(run_id, result.best_step)
        self.results.append(result)
        self.last_result = result
        self._saved = None
        label = self._jobs[index][0] if index < len(self._jobs) else f"Run {index + 1}"
        reason = result.stop_reason
        title = _REASON_TITLES.get(reason, reason or "Finished")
        message = result.message or title
        metrics = result.metrics
        extra = ""
        if _finite(metrics.get("test_accuracy")) and reason not in _FAILED_REASONS:
            extra = f" Test accuracy {metrics['test_accuracy'] * 100:.2f} %."
        extra += _extra_accuracy_text(result)
        # The core's message already says why in words ("Stopped early at step ..."), so the
        # title is only added where the message does not start with it.
        text = message if message.lower().startswith(title.lower()) else f"{title}: {message}"
        self._show_message(f"{label} — {text}{extra}", error=reason in _FAILED_REASONS)
        if reason in _FAILED_REASONS:
            self.plots.show_message(message)
        if self._experiment_mode:
            self._experiment_results.append((label, result))
            self._fill_tables()
        self.status_message.emit(f"{label}: {title.lower()}")

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self._show_message(f"Training failed: {message}", error=True)
        self.status_message.emit(f"Training failed: {message}")

    @Slot(object)
    def _on_finished(self, results: list[TrainResult]) -> None:
        self._progress_timer.stop()
        self.plots.flush()
        self._update_progress()
        if self._last_epoch and self._total_epochs and results:
            reason = results[-1].stop_reason
            self.progress.setValue(1000 if reason in ("early_stopping", "max_epochs")
                                   else self.progress.value())
        self.progress_label.setText(self.progress_label.text().split(" · at most")[0])
        if self._experiment_mode and self._experiment_results:
            done = len(self._experiment_results)
            self.headline.setText(f"The report's experiments: {done} of {len(self._jobs)} done")
            self.progress_label.setText(f"{done} of {len(self._jobs)} experiments · "
                                        f"{sum(r.steps for _l, r in self._experiment_results)} steps in "
                                        + _fmt_seconds(sum(r.elapsed for _l, r in self._experiment_results)))
            self.tables.setCurrentWidget(self.summary_table)
        elif results:
            reason = results[-1].stop_reason
            self.headline.setText(_REASON_TITLES.get(reason, "Done"))
        else:  # nothing came back: the error (shown below the plots) says why
            self.headline.setText("Training failed" if self.message_label.text() else "Ready")
        self._update_buttons()
        self.training_changed.emit(False)

    @Slot(bool)
    def _on_paused_changed(self, paused: bool) -> None:
        self._update_buttons()
        self._update_progress()
        self.status_message.emit("Paused" if paused else "Resumed")
        self.paused_changed.emit(paused)

    def _show_message(self, text: str, error: bool = False) -> None:
        self._result_text, self._result_error = text, error
        self._render_result()

    def _render_result(self) -> None:
        """The result box: the last message, then where the last run was saved if it was.

        The file is looked at every time (and whenever the view is shown), so a model renamed or
        deleted elsewhere (the Models view, a file manager) is not claimed to be there.
        """
        lines = [self._result_text] if self._result_text else []
        if self._saved is not None:
            _result, name, path = self._saved
            if path.exists():
                lines.append(f"Saved as “{name}” ({path}).")
            else:
                lines.append(f"“{name}” was saved as {path.name}, since deleted or renamed: "
                             "save it again to keep it.")
        self.message_label.setText("\n".join(lines))
        self.message_label.setStyleSheet(theme.css("color: #b00020;") if self._result_error else "")

    @guarded
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if not self.controller.is_running():
            self.refresh_start_models()
        if self._saved is not None:
            self._render_result()

    # ----------------------------------------------------------------- tables
    def _fill_tables(self) -> None:
        """The experiments run so far in the report's summary and weights tables (reports.tables)."""
        results = self._experiment_results
        _fill_table(self.summary_table, tables.run_summary_rows(results))
        # mean |w| per weight matrix, one column per experiment (with / without L2 side by side)
        columns = [(_short_label(i, result.config), result.network)
                   for i, (_label, result) in enumerate(results)]
        self.weights_table.setColumnCount(1 + len(columns))
        self.weights_table.setHorizontalHeaderLabels(["Layer"] + [name for name, _network in columns])
        for j, (label, _result) in enumerate(results):
            self.weights_table.horizontalHeaderItem(j + 1).setToolTip(label)
        _fill_table(self.weights_table, tables.layer_weights_rows(columns))
        header = self.weights_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tables_hint.setText(f"{len(results)} of 4 experiments")

    # ----------------------------------------------------------------- persistence
    def save_state(self, settings: QSettings) -> None:
        settings.setValue("train/settings", json.dumps(self.form.values()))
        settings.setValue("train/splitter", self.splitter.saveState())
        settings.setValue("train/right_splitter", self.right_splitter.saveState())

    def restore_state(self, settings: QSettings) -> None:
        raw = settings.value("train/settings")
        if raw:
            try:
                values = json.loads(str(raw))
                if isinstance(values, dict):
                    self.form.set_values(values)
            except (ValueError, TypeError):
                pass  # a damaged entry: keep the defaults
        for key, splitter in (("train/splitter", self.splitter),
                              ("train/right_splitter", self.right_splitter)):
            state = settings.value(key)
            if state is not None:
                splitter.restoreState(state)

    # ================================================================== for the main window
    # What the window may ask of this view, besides its signals. Kept apart from the view's own
    # workings above (the controller, the form, the result box), which change on their own: the
    # window reads nothing else.
    @property
    def validity_changed(self):
        """Signal(bool): the settings became valid or invalid (so F5 can be enabled or not)."""
        return self.form.validity_changed

    def can_start(self) -> bool:
        """Whether Start would start a run now: nothing running and every setting valid."""
        return not self.is_training() and self.form.is_valid()

    def is_paused(self) -> bool:
        return self.controller.is_paused()

    def last_run(self) -> TrainResult | None:
        """The last finished run with a network (None before the first)."""
        result = self.last_result
        return result if isinstance(result, TrainResult) else None

    def finished_runs(self) -> list[TrainResult]:
        """Every run of this session that finished with a usable network (not diverged)."""
        return [r for r in self.results if isinstance(r, TrainResult)
                and r.stop_reason not in _FAILED_REASONS]


def _extra_accuracy_text(result: TrainResult) -> str:
    """ " Accuracy on my-digits.npz: 46.67 % before, 93.33 % after." for a run with extra digits."""
    acc = result.extra_accuracy
    if "after" not in acc:
        return ""
    name = Path(result.origin.get("extra_data", "the extra digits")).name
    before = f"{acc['before'] * 100:.2f} % before, " if "before" in acc else ""
    return f" Accuracy on {name}: {before}{acc['after'] * 100:.2f} % after."


def _short_label(index: int, config: TrainConfig) -> str:
    """ "2: L2, no BN" — an experiment in a legend or a column header."""
    return f"{index + 1}: {'L2' if config.l2 else 'no L2'}, {'BN' if config.batch_norm else 'no BN'}"


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _fill_table(table: QTableWidget, rows: list[dict]) -> None:
    """Rows of reports.tables into ``table``, each cell as the Train view shows it (tables.screen_text):
    the first column as text, the numbers right-aligned."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, (column, value) in enumerate(row.items()):
            item = QTableWidgetItem(tables.screen_text(column, value))
            if c > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
