"""The main window: four views (Train, Draw, Models, Evaluate), menus, shortcuts, status bar.

The window composes the views around one shared :class:`ModelLibrary`, remembers its geometry,
splitters, current view and the last training settings in QSettings, and on close stops and joins
the training thread (asking first when a run is in progress).

Dialogs go through small replaceable callables (``confirm_close``, ``ask_open_path``,
``ask_save_path``, ``show_error``, ...) so tests can answer them without a modal loop.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings, QSize, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
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
from digitlab.gui import messages
from digitlab.gui.draw_view import DrawView
from digitlab.gui.evaluate_view import EvaluateView
from digitlab.gui.guard import guarded, set_error_hook
from digitlab.gui.model_library import ModelLibrary
from digitlab.gui.models_view import ModelsView
from digitlab.gui.train_view import TrainView

log = logging.getLogger("digitlab.gui")

__all__ = ["MainWindow", "app_settings", "about_text", "ORGANIZATION", "APPLICATION", "VIEW_NAMES"]

ORGANIZATION = "digitlab"
APPLICATION = "digitlab"
VIEW_NAMES = ("Train", "Draw", "Models", "Evaluate")
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
    def __init__(self, settings: QSettings | None = None, library: Any = None, *,
                 splits_for: Callable[[Any], Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("digitlab")
        self.settings = settings if settings is not None else app_settings()
        self.library = library if library is not None else ModelLibrary()

        # replaceable dialogs (tests answer them directly)
        self.confirm_close: Callable[[], bool] = self._confirm_close
        self.ask_open_path: Callable[[], str] = self._dialog_open_model
        self.ask_save_path: Callable[[str], str] = self._dialog_save_model
        self.ask_export_path: Callable[[], tuple[str, str]] = self._dialog_export_weights
        self.show_error: Callable[[str, str], Any] = lambda title, text: messages.warn(self, title, text)
        self.show_about: Callable[[], Any] = lambda: QMessageBox.about(self, "About digitlab", about_text())

        # ---------------- views
        self.train_view = TrainView(self.library, splits_for=splits_for)
        self.draw_view = DrawView(self.library)
        self.models_view = ModelsView(self.library)
        self.evaluate_view = EvaluateView(self.library)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.setStyleSheet("QTabBar::tab { padding: 6px 22px; min-width: 70px; }")
        for view, name in zip(self.views_list(), VIEW_NAMES):
            self.views.addTab(view, name)
        self.setCentralWidget(self.views)
        self._connect_views()

        # ---------------- status bar
        self.state_label = QLabel("Idle")
        self.state_label.setMinimumWidth(90)
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.statusBar().addPermanentWidget(self.state_label)
        self.statusBar().showMessage("Ready", 3000)
        self._previous_hook = set_error_hook(lambda text: self.statusBar().showMessage(text, 10000))

        self._build_actions()
        self._build_menus()

        tv = self.train_view
        tv.training_changed.connect(self._on_training_changed)
        tv.paused_changed.connect(self._on_paused_changed)
        tv.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        tv.form.validity_changed.connect(lambda _ok: self._update_actions())
        self.views.currentChanged.connect(self._on_view_changed)
        self._update_actions()
        self.restore_settings()

    def _connect_views(self) -> None:
        """Wire the views to each other and route their dialogs through the window's."""
        self.models_view.connect_draw_view(self.draw_view, show=lambda: self.show_view(1))
        self.evaluate_view.send_to_draw.connect(self._send_to_draw)
        self.evaluate_view.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        for view in (self.models_view, self.evaluate_view, self.draw_view):
            view.show_error = lambda title, text: self.show_error(title, text)
        self.library.add_damage_listener(self._on_model_found_damaged)

    def _on_model_found_damaged(self, entry: Any) -> None:
        """A listed model whose arrays turned out unreadable on first use: say so in the status bar
        (the view that asked keeps its model; the Models view marks the file damaged)."""
        self.statusBar().showMessage(f"{entry.path.name} is damaged and cannot be used: {entry.damage}", 15000)

    def _send_to_draw(self, image: Any, label: int) -> None:
        self.draw_view.load_digit(image, label)
        self.show_view(1)

    def views_list(self) -> list[QWidget]:
        return [self.train_view, self.draw_view, self.models_view, self.evaluate_view]

    # ----------------------------------------------------------------- actions and menus
    def _action(self, text: str, slot: Callable, shortcut: Any = None, tip: str = "") -> QAction:
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
                                                 "Export the evaluation report")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "Quit digitlab")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.start_action = self._action("&Start", self.train_view.start, "F5", "Train with the current settings")
        self.pause_action = self._action("&Pause", self.train_view.toggle_pause, "F6", "Pause or resume the run")
        self.stop_action = self._action("S&top", self.train_view.stop, "Shift+F5", "Stop the run")
        self.experiments_action = self._action("Run the report's four &experiments", self.run_experiments,
                                               "Ctrl+F5", "Train the report's 2x2 grid one after another")

        self.view_actions: list[QAction] = []
        for i, name in enumerate(VIEW_NAMES):
            action = self._action(f"&{name}", lambda i=i: self.show_view(i), f"Ctrl+{i + 1}", f"Show the {name} view")
            action.setCheckable(True)
            self.view_actions.append(action)
        self.view_actions[0].setChecked(True)

        self.about_action = self._action("&About digitlab", lambda: self.show_about(), "F1")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_qt_action = self._action("About &Qt", QApplication.aboutQt)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_action, self.save_action])
        file_menu.addSeparator()
        file_menu.addActions([self.export_weights_action, self.export_report_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        train_menu = bar.addMenu("&Train")
        train_menu.addActions([self.start_action, self.pause_action, self.stop_action])
        train_menu.addSeparator()
        train_menu.addAction(self.experiments_action)
        view_menu = bar.addMenu("&View")
        view_menu.addActions(self.view_actions)
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.about_action, self.about_qt_action])
        self.menus = {"File": file_menu, "Train": train_menu, "View": view_menu, "Help": help_menu}

    def _update_actions(self) -> None:
        tv = self.train_view
        running = tv.is_training()
        self.start_action.setEnabled(not running and tv.form.is_valid())
        self.pause_action.setEnabled(running)
        self.pause_action.setText("&Resume" if tv.controller.is_paused() else "&Pause")
        self.stop_action.setEnabled(running)
        self.experiments_action.setEnabled(not running)
        has_result = tv.last_result is not None and not running
        self.save_action.setEnabled(has_result)
        self.export_weights_action.setEnabled(has_result)
        self.state_label.setText("Paused" if tv.controller.is_paused() else ("Training" if running else "Idle"))

    # ----------------------------------------------------------------- views
    def show_view(self, index: int) -> None:
        self.views.setCurrentIndex(index)

    @Slot(int)
    def _on_view_changed(self, index: int) -> None:
        for i, action in enumerate(self.view_actions):
            action.setChecked(i == index)

    # ----------------------------------------------------------------- commands
    def run_experiments(self) -> None:
        self.show_view(0)
        self.train_view.run_experiments()

    def open_model(self, path: str | None = None) -> Any:
        """Add a model file to the library (the Models view shows it); errors shown in words."""
        path = path or self.ask_open_path()
        if not path:
            return None
        entry = self.models_view.open_model_file(path)  # adds it to the library and selects it
        if entry is None:  # the core's message has been shown; the library is unchanged
            self.statusBar().showMessage(f"Could not open {path}", 8000)
            return None
        self.show_view(2)
        self.statusBar().showMessage(f"Opened {Path(path).name}", 8000)
        return entry

    def save_model(self, path: str | None = None) -> Path | None:
        tv = self.train_view
        if tv.last_result is None:
            self.statusBar().showMessage("Nothing to save yet: train a model first.", 8000)
            return None
        path = path or self.ask_save_path(str(tv.default_model_path()))
        if not path:
            return None
        return tv.save_model(path)

    def export_weights(self, path: str | None = None, fmt: str | None = None) -> Path | None:
        tv = self.train_view
        if tv.last_result is None:
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
            export_weights(tv.last_result.network, path, fmt)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Cannot export the weights", str(exc))
            return None
        self.statusBar().showMessage(f"Weights exported to {path}", 8000)
        return Path(path)

    def export_report(self, out_dir: str | None = None) -> Path | None:
        """Write the evaluation report (the Evaluate view asks where unless ``out_dir``)."""
        self.show_view(3)
        return self.evaluate_view.export_report(out_dir)

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
        filters = {"NumPy archive (*.npz)": "npz", "JSON (*.json)": "json", "CSV, one file per layer (folder)": "csv"}
        path, chosen = QFileDialog.getSaveFileName(self, "Export weights", self._models_dir(), ";;".join(filters))
        fmt = filters.get(chosen, "npz")
        picked = path
        if path and fmt != "csv" and not path.lower().endswith("." + fmt):
            path += "." + fmt
        return (path, fmt) if self._confirm_replace(picked, path) else ("", fmt)

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
        try:
            index = int(s.value("window/view", 0))
        except (TypeError, ValueError):
            index = 0
        self.show_view(min(max(index, 0), len(VIEW_NAMES) - 1))
        self.train_view.restore_state(s)
        for view in self.views_list()[1:]:
            restore = getattr(view, "restore_state", None)
            if callable(restore):
                try:
                    restore(s)
                except Exception:  # noqa: BLE001 - bad saved state never blocks the window
                    log.exception("Could not restore the state of %s", type(view).__name__)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/view", self.views.currentIndex())
        self.train_view.save_state(s)
        for view in self.views_list()[1:]:
            save = getattr(view, "save_state", None)
            if callable(save):
                try:
                    save(s)
                except Exception:  # noqa: BLE001
                    log.exception("Could not save the state of %s", type(view).__name__)
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
        for view in self.views_list()[1:]:
            stop = getattr(view, "shutdown", None)
            if callable(stop):
                try:
                    ok = (stop() is not False) and ok
                except Exception:  # noqa: BLE001
                    log.exception("Could not shut down %s", type(view).__name__)
        return ok

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
