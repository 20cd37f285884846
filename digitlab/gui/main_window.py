"""The main window: five views (Train, Draw, Models, Evaluate, Runs), menus, shortcuts, status bar.

The window is the composition root: it makes the one :class:`~digitlab.library.ModelLibrary`
and the one :class:`~digitlab.gui.model_pair.ModelPair` (networks A and B), gives them to the views,
and connects the views to each other in one place, :meth:`MainWindow._connect_views`. Views are
named ("train", "draw", "models", "evaluate", "runs"); no view reads another's internals, and the window
reads a view only through its signals and public methods. It remembers its geometry, splitters,
current view, the last training settings and the pair in QSettings, and on close stops and joins
the training thread (asking first when a run is in progress).

Dialogs go through small replaceable callables (``confirm_close``, ``ask_open_path``,
``ask_save_path``, ``show_error``, ...) so tests can answer them without a modal loop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from digitlab import __version__
from digitlab.data import Splits
from digitlab.gui import messages, theme
from digitlab.gui.draw_view import DrawView
from digitlab.gui.evaluate_view import EvaluateView
from digitlab.gui.guard import guarded, set_error_hook
from digitlab.gui.library_events import LibraryEvents
from digitlab.gui.model_pair import ModelPair
from digitlab.gui.models_view import ModelsView, ask_export_weights_path
from digitlab.gui.runs_view import RunsView
from digitlab.gui.silencing import SilencedUnits, describe_units
from digitlab.gui.train_view import TrainView
from digitlab.io import SavedModel
from digitlab.library import ModelEntry, ModelLibrary
from digitlab.training import TrainConfig, TrainResult

log = logging.getLogger("digitlab.gui")

__all__ = ["MainWindow", "app_settings", "about_text", "ORGANIZATION", "APPLICATION", "VIEWS"]

ORGANIZATION = "digitlab"
APPLICATION = "digitlab"
#: The views, by name, with their tab titles, in tab order (Ctrl+1 ... Ctrl+5). Runs is a view of
#: its own rather than a tab of Models: it is where curves are read, two large plots beside a list,
#: while Models is a table of files with their details and operations.
VIEWS = (("train", "Train"), ("draw", "Draw"), ("models", "Models"), ("evaluate", "Evaluate"),
         ("runs", "Runs"))
SETTINGS_ENV = "DIGITLAB_SETTINGS"


def app_settings() -> QSettings:
    """The app's QSettings: an INI file, ``$DIGITLAB_SETTINGS`` if set (tests, screenshots).

    Otherwise the per-user location Qt chooses for the INI format (redirect it in tests with
    ``QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)``).
    """
    override = os.environ.get(SETTINGS_ENV)
    if override:
        return QSettings(override, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def about_text() -> str:
    return (
        f"<h3>digitlab {__version__}</h3>"
        "<p>A small neural network (784-20-7-5-10) written from scratch in NumPy: watch it learn "
        "MNIST, then draw digits for it.</p>"
        "<p><b>MNIST</b> database of handwritten digits by Yann LeCun, Corinna Cortes and "
        "Christopher J. C. Burges, used under the "
        "<a href='https://creativecommons.org/licenses/by-sa/3.0/'>CC BY-SA 3.0</a> licence.</p>"
        "<p>Built with Qt for Python (PySide6), pyqtgraph, NumPy and h5py.</p>"
    )


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, library: ModelLibrary | None = None, *,
                 splits_for: Callable[[TrainConfig], Splits] | None = None,
                 evaluate_splits_for: Callable[[TrainConfig], Splits] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("digitlab")
        self.settings = settings if settings is not None else app_settings()
        self.library = library if library is not None else ModelLibrary()
        self.library_events = LibraryEvents(self.library, self)
        self.pair = ModelPair(self.library, self)     # networks A and B, for every view
        # their switched-off units: toggled in Draw's network view, left out by Draw and Evaluate
        self.silencing = SilencedUnits(self.pair, self)
        self._runs_offered: list[TrainResult] = []     # finished runs already put in the library

        # replaceable dialogs (tests answer them directly)
        self.confirm_close: Callable[[], bool] = self._confirm_close
        self.ask_open_path: Callable[[], str] = self._dialog_open_model
        self.ask_save_path: Callable[[str], str] = self._dialog_save_model
        self.ask_export_path: Callable[[], tuple[str, str]] = self._dialog_export_weights
        self.show_error: Callable[..., object] = lambda title, text, details=None: messages.warn(
            self, title, text, details)
        self.show_about: Callable[[], object] = (
            lambda: QMessageBox.about(self, "About digitlab", about_text()))
        # the saved theme first: the views below are built in its colours
        theme.apply_theme(theme.saved_theme(self.settings))

        # ---------------- views
        self.train_view = TrainView(self.library, splits_for=splits_for)
        self.draw_view = DrawView(self.library, self.pair, silencing=self.silencing)
        self.models_view = ModelsView(self.library)
        self.evaluate_view = EvaluateView(self.library, self.pair, splits_for=evaluate_splits_for,
                                          silencing=self.silencing)
        self.runs_view = RunsView(self.library)
        self._views: dict[str, QWidget] = {"train": self.train_view, "draw": self.draw_view,
                                           "models": self.models_view, "evaluate": self.evaluate_view,
                                           "runs": self.runs_view}
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.setStyleSheet("QTabBar::tab { padding: 6px 22px; min-width: 70px; }")
        for name, title in VIEWS:
            self.views.addTab(self._views[name], title)
        self.setCentralWidget(self.views)

        # ---------------- status bar
        self.state_label = QLabel("Idle")
        self.state_label.setMinimumWidth(90)
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pair_label = QLabel(self.pair.names_text())
        self.pair_label.setTextFormat(Qt.TextFormat.PlainText)      # names come from files
        self.pair_label.setToolTip("Networks A and B: Draw, Evaluate and Export report use them")
        self.statusBar().addPermanentWidget(self.pair_label)
        self.statusBar().addPermanentWidget(self.state_label)
        self.statusBar().showMessage("Ready", 3000)
        self._previous_hook = set_error_hook(lambda text: self.statusBar().showMessage(text, 10000))

        theme.track(self)              # its style sheets follow View > Theme
        self._build_actions()
        self._build_menus()
        self._connect_views()
        self._update_actions()
        self.restore_settings()

    def _connect_views(self) -> None:
        """Every connection between the views, the library, the pair and the window: here only.

        A view offers signals and a few methods; what follows what is decided here, so a new view
        is wired in one place and a connection a person relies on cannot be forgotten elsewhere.
        """
        status = self.statusBar()
        tv, draw, models, ev = self.train_view, self.draw_view, self.models_view, self.evaluate_view
        # Train: the window's actions and status follow a run; a finished run joins the library
        tv.training_changed.connect(self._on_training_changed)
        tv.paused_changed.connect(self._on_paused_changed)
        tv.status_message.connect(lambda text: status.showMessage(text, 8000))
        tv.validity_changed.connect(lambda _ok: self._update_actions())
        tv.model_saved.connect(self._on_model_saved)
        # Draw: the digit on the canvas is what Evaluate > Inside > Activations shows
        draw.input_changed.connect(ev.show_activations)
        # Draw > My digits: Evaluate's "My digits" is the set open there
        ev.personal_set_path = lambda: draw.personal_panel.path
        # Models: choosing networks A and B; Draw is where a comparison is seen
        models.compare_requested.connect(self._compare_in_draw)
        models.draw_side_requested.connect(self._use_as)
        models.continue_requested.connect(self._continue_training)
        # Train -> Evaluate > Inside: the network being trained, step by step when it is followed
        tv.network_stepped.connect(ev.show_training)
        tv.network_stepped.connect(lambda network, step: draw.show_training_network(
            network, f"training run, step {step}"))
        # Evaluate: a test digit goes to the canvas; its messages to the status bar
        ev.send_to_draw.connect(self._send_to_draw)
        ev.status_message.connect(lambda text: status.showMessage(text, 8000))
        ev.sweep_running_changed.connect(lambda _running: self._update_actions())   # the state label
        # Runs: the library's models and this session's runs (it follows the library itself)
        self.runs_view.status_message.connect(lambda text: status.showMessage(text, 8000))
        # one way to show errors, with the technical details behind a button
        for view in (models, ev, draw, self.runs_view):
            view.show_error = lambda title, text, details=None: self.show_error(title, text, details)
        self.pair.refused.connect(
            lambda text, details: self.show_error("Cannot use this model", text, details or None))
        self.pair.changed.connect(self._show_pair)
        self.silencing.changed.connect(self._on_silencing_changed)
        self.library_events.damaged.connect(self._on_model_found_damaged)
        self.views.currentChanged.connect(self._on_view_changed)

    def _on_model_found_damaged(self, entry: ModelEntry) -> None:
        """A listed model whose arrays turned out unreadable on first use: say so in the status bar
        (the pair keeps its model; the Models view marks the file damaged)."""
        self.statusBar().showMessage(f"{entry.file_name} is damaged and cannot be used: {entry.damage}",
                                     15000)

    def _send_to_draw(self, image: object, label: int) -> None:
        self.draw_view.load_digit(image, label)
        self.show_view("draw")

    def _compare_in_draw(self, a: ModelEntry, b: ModelEntry) -> None:
        if self.pair.set_pair(a, b):
            self.show_view("draw")

    def _continue_training(self, entry: ModelEntry, more_epochs: int) -> None:
        """Models > Continue training: the run goes on in the Train view, where it is watched."""
        self.show_view("train")
        self.train_view.continue_run(entry.path, entry.display_name, more_epochs)

    def _use_as(self, entry: ModelEntry, side: str) -> None:
        if self.pair.set(side, entry):
            self.show_view("draw")

    def _show_pair(self) -> None:
        self.pair_label.setText(self.pair.names_text())

    def _on_silencing_changed(self, side: str) -> None:
        units = self.silencing.units(side)
        self.statusBar().showMessage(
            f"Network {side}: {describe_units(units)} switched off (Evaluate scores it without them)"
            if units else f"Network {side}: every unit on", 8000)

    def _on_runs_finished(self) -> None:
        """Every finished run appears in Models (marked unsaved until saved) and can be chosen.

        Each run is offered once: one the person deleted from Models does not come back."""
        tv = self.train_view
        for result in tv.finished_runs():
            if any(result is seen for seen in self._runs_offered):
                continue
            self._runs_offered.append(result)
            if self.library.saved_entry_of(result) is None:
                self.library.add_run(SavedModel.from_result(result, name=tv.model_name(result)))

    def _on_model_saved(self, path: str) -> None:
        """The last run saved to a file of the library (Ctrl+S): that file's entry takes the place
        of the run's unsaved one, in the pair too."""
        last = self.train_view.last_run()
        run = self.library.saved_entry_of(last) if last is not None else None
        saved = self.library.get(Path(path))
        if run is None or not run.unsaved or saved is None or saved is run:
            return
        for side in ("A", "B"):
            if self.pair.entry(side) is run:
                self.pair.set(side, saved)
        self.library.delete(run)

    def view(self, name: str) -> QWidget:
        """The view called ``name`` ("train", "draw", "models", "evaluate", "runs")."""
        return self._views[name]

    # ----------------------------------------------------------------- actions and menus
    def _action(self, text: str, slot: Callable, shortcut: str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open model…", self.open_model, "Ctrl+O",
                                        "Add an HDF5 model file to the library")
        self.save_action = self._action("&Save model…", self.save_model, "Ctrl+S",
                                        "Save the last trained model to a file")
        self.export_weights_action = self._action("&Export weights…", self.export_weights, "Ctrl+E",
                                                  "Export the last trained model's weights (.npz, CSV, JSON)")
        self.export_report_action = self._action("Export &report…", self.export_report, "Ctrl+R",
                                                 "Write a report on networks A and B (or, as chosen "
                                                 "in Evaluate, on the four experiments)")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "Quit digitlab")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.start_action = self._action("&Start", lambda: self.train_view.start(), "F5",
                                         "Train with the current settings")
        self.pause_action = self._action("&Pause", self.train_view.toggle_pause, "F6",
                                         "Pause or resume the run")
        self.stop_action = self._action("S&top", self.train_view.stop, "Shift+F5", "Stop the run")
        self.step_action = self._action("St&ep", lambda: self.train_view.step(1), "F7",
                                        "Take one mini-batch step, then pause (starts a run if none)")
        self.experiments_action = self._action("Run the report's four &experiments", self.run_experiments,
                                               "Ctrl+F5", "Train the report's 2x2 grid one after another")

        self.view_actions: dict[str, QAction] = {}
        for i, (name, title) in enumerate(VIEWS):
            action = self._action(f"&{title}", lambda name=name: self.show_view(name), f"Ctrl+{i + 1}",
                                  f"Show the {title} view")
            action.setCheckable(True)
            self.view_actions[name] = action
        self.view_actions["train"].setChecked(True)

        # View > Theme: one of system, light, dark; applied at once and remembered
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in theme.THEMES:
            action = QAction(theme.THEME_TITLES[name], self)
            action.setCheckable(True)
            action.setStatusTip(f"Use the {name} colour theme" if name != "system" else
                                "Follow the system's light or dark setting")
            action.triggered.connect(lambda _checked=False, name=name: self.set_theme(name))
            self.theme_group.addAction(action)
            self.theme_actions[name] = action
        self.theme_actions[theme.current_theme()].setChecked(True)

        self.about_action = self._action("&About digitlab", lambda: self.show_about(), "F1")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_qt_action = self._action("About &Qt", QApplication.aboutQt)
        self.log_folder_action = self._action("Show &log folder", self.show_log_folder, None,
                                              "Open the folder of digitlab's log files (to send with "
                                              "a report of a problem)")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_action, self.save_action])
        file_menu.addSeparator()
        file_menu.addActions([self.export_weights_action, self.export_report_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        train_menu = bar.addMenu("&Train")
        train_menu.addActions([self.start_action, self.pause_action, self.stop_action, self.step_action])
        train_menu.addSeparator()
        train_menu.addAction(self.experiments_action)
        view_menu = bar.addMenu("&View")
        view_menu.addActions(list(self.view_actions.values()))
        view_menu.addSeparator()
        self.theme_menu = view_menu.addMenu("T&heme")
        self.theme_menu.addActions(list(self.theme_actions.values()))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.log_folder_action)
        help_menu.addSeparator()
        help_menu.addActions([self.about_action, self.about_qt_action])
        self.menus = {"File": file_menu, "Train": train_menu, "View": view_menu, "Help": help_menu}

    def _update_actions(self) -> None:
        tv = self.train_view
        running = tv.is_training()
        paused = tv.is_paused()
        # enabled whenever nothing runs: F5 on an invalid setting must say why, not do nothing
        self.start_action.setEnabled(not running)
        self.pause_action.setEnabled(running)
        self.pause_action.setText("&Resume" if paused else "&Pause")
        self.stop_action.setEnabled(running)
        self.experiments_action.setEnabled(not running)
        has_result = tv.last_run() is not None and not running
        self.save_action.setEnabled(has_result)
        self.export_weights_action.setEnabled(has_result)
        self.state_label.setText("Paused" if paused else "Training" if running else
                                 "Lambda sweep" if self.evaluate_view.sweep_running() else "Idle")

    # ----------------------------------------------------------------- views
    def show_view(self, name: str) -> None:
        """Show the view called ``name`` ("train", "draw", "models", "evaluate", "runs")."""
        self.views.setCurrentWidget(self._views[name])

    def current_view_name(self) -> str:
        return next(n for n, v in self._views.items() if v is self.views.currentWidget())

    @Slot(int)
    def _on_view_changed(self, _index: int) -> None:
        current = self.current_view_name()
        for name, action in self.view_actions.items():
            action.setChecked(name == current)

    def set_theme(self, name: str) -> None:
        """Switch to the theme ``name`` ("system", "light", "dark") now and remember it."""
        theme.apply_theme(name)
        self.theme_actions[name].setChecked(True)
        self.settings.setValue(theme.SETTINGS_KEY, name)
        self.settings.sync()

    # ----------------------------------------------------------------- commands
    def run_experiments(self) -> None:
        self.show_view("train")
        self.train_view.run_experiments()

    def open_model(self, path: str | None = None) -> ModelEntry | None:
        """Add a model file to the library (the Models view shows it); errors shown in words."""
        path = path or self.ask_open_path()
        if not path:
            return None
        entry = self.models_view.open_model_file(path)  # adds it to the library and selects it
        if entry is None:  # the core's message has been shown; the library is unchanged
            self.statusBar().showMessage(f"Could not open {path}", 8000)
            return None
        self.show_view("models")
        self.statusBar().showMessage(f"Opened {Path(path).name}", 8000)
        return entry

    def save_model(self, path: str | None = None) -> Path | None:
        tv = self.train_view
        if tv.last_run() is None:
            self.statusBar().showMessage("Nothing to save yet: train a model first.", 8000)
            return None
        path = path or self.ask_save_path(str(tv.default_model_path()))
        if not path:
            return None
        return tv.save_model(path)

    def export_weights(self, path: str | None = None, fmt: str | None = None) -> Path | None:
        last = self.train_view.last_run()
        if last is None:
            self.statusBar().showMessage("Nothing to export yet: train a model first "
                                         "(the Models view exports any saved model).", 8000)
            return None
        if not path:
            path, fmt = self.ask_export_path()
            if not path:
                return None
        fmt = fmt or (Path(path).suffix.lstrip(".").lower() or "csv")
        from digitlab.io import export_weights

        try:
            export_weights(last, path, fmt)    # the run: its settings and metrics go along
        except Exception as exc:  # noqa: BLE001
            self.show_error("Cannot export the weights", str(exc), messages.error_details(exc))
            return None
        self.statusBar().showMessage(f"Weights exported to {path}", 8000)
        return Path(path)

    def export_report(self, out_dir: str | None = None, which: str | None = None) -> Path | None:
        """Write a report on networks A and B, or on the four experiments (``which``: "pair" or
        "experiments"; by default Evaluate's choice beside its Export button). The Evaluate view
        asks where unless ``out_dir``."""
        self.show_view("evaluate")
        return self.evaluate_view.export_report(out_dir, which)

    def show_log_folder(self) -> Path:
        """Open the folder of the log files in the system's file manager; returns the folder."""
        from digitlab.logs import log_dir, log_file

        current = log_file()
        folder = current.parent if current is not None else log_dir()
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.show_error("Cannot open the log folder",
                            f"The system could not open {folder}; open it in a file manager instead.")
        return folder

    # ----------------------------------------------------------------- dialogs
    def _models_dir(self) -> str:
        from digitlab.paths import user_models_dir

        return str(user_models_dir())

    def _dialog_open_model(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._models_dir(),
                                              "digitlab models (*.h5 *.hdf5);;All files (*)")
        return path

    def _dialog_save_model(self, suggested: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Save model", suggested, "digitlab models (*.h5)")
        chosen = path
        if path and not path.lower().endswith((".h5", ".hdf5")):
            path += ".h5"
        return path if self._confirm_replace(chosen, path) else ""

    def _dialog_export_weights(self) -> tuple[str, str]:
        return ask_export_weights_path(self, self._models_dir(), self._confirm_replace)

    def _confirm_replace(self, chosen: str, final: str) -> bool:
        """The save dialog asked about replacing ``chosen``; when a suffix was added afterwards,
        ask about ``final`` here, since the dialog never saw that name."""
        if not final or final == chosen or not Path(final).exists():
            return True
        return messages.ask_yes_no(
            self, "Replace?", f"{Path(final).name} already exists in {Path(final).parent}.\n\nReplace it?")

    def _confirm_close(self) -> bool:
        """May the window close? Asks about a running run, or about a finished one not saved."""
        if self.train_view.is_training():
            return self._ask_stop_training()
        if self.train_view.has_unsaved_result():
            return self._ask_save_last_run()
        return True

    def _ask_save_last_run(self) -> bool:
        """Save / Discard / Cancel for a finished run in no file; True when the window may close."""
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved model", "Save the last run before quitting?",
                          parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText("Its trained model is in no file yet; Discard loses it.")
        box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_model() is not None  # the save dialog cancelled: stay open
        return answer == QMessageBox.StandardButton.Discard

    def _ask_stop_training(self) -> bool:
        return messages.ask_yes_no(
            self, "Training in progress",
            "A training run is still in progress.\n\nStop it and quit? What it learned so far is not saved.")

    # ----------------------------------------------------------------- state
    @Slot(bool)
    def _on_training_changed(self, running: bool) -> None:
        self._update_actions()
        if running:
            self.save_settings()  # the settings of the last run survive a crash
        else:
            self._on_runs_finished()

    @Slot(bool)
    def _on_paused_changed(self, _paused: bool) -> None:
        self._update_actions()

    def restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self._default_geometry()
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        name = str(s.value("window/view", "train"))
        self.show_view(name if name in self._views else "train")
        self.train_view.restore_state(s)
        self.runs_view.restore_state(s)
        try:
            self.pair.restore_state(s)
        except Exception:  # noqa: BLE001 - bad saved state never blocks the window
            log.exception("Could not restore the chosen models")

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/view", self.current_view_name())
        self.train_view.save_state(s)
        self.runs_view.save_state(s)
        self.pair.save_state(s)
        s.sync()

    def _default_geometry(self) -> None:
        screen = self.screen() or QApplication.primaryScreen()
        size = QSize(1280, 800)
        if screen is not None:
            avail = screen.availableGeometry()
            size = size.boundedTo(avail.size() * 0.95)
            self.resize(size)
            self.move(avail.center() - self.rect().center())
        else:
            self.resize(size)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop every background activity and join threads. True when nothing runs any more."""
        ok = self.train_view.shutdown(timeout_ms)
        ok = self.draw_view.shutdown(timeout_ms) and ok
        return self.evaluate_view.shutdown(timeout_ms) and ok

    @guarded
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        if self.train_view.is_training():
            if not self.confirm_close():
                event.ignore()
                return
            self.statusBar().showMessage("Stopping the training run…")
            self.shutdown()
        else:
            if self.train_view.has_unsaved_result() and not self.confirm_close():
                event.ignore()
                return
            self.shutdown()
        self.save_settings()
        set_error_hook(self._previous_hook)
        event.accept()
