"""The log seen from the window: Help > Show log folder, and every error dialog says where the log is."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QMessageBox

from digitlab import logs, paths


@pytest.fixture
def log_path(isolated_home, monkeypatch):
    """The window's log set up as digitlab.app.main sets it up, in the test's own data folder."""
    monkeypatch.delenv("DIGITLAB_LOG")
    path = logs.configure_logging("app")
    assert path == isolated_home / "logs" / "digitlab-app.log"
    yield path
    logs.stop_logging()


@pytest.fixture
def shown_boxes(monkeypatch):
    """The message boxes the window shows, answered OK at once (no modal loop in a test)."""
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or QMessageBox.StandardButton.Ok)
    return shown


def log_text(path: Path) -> str:
    for handler in logging.getLogger("digitlab").handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def help_action(window, text: str):
    [action] = [a for a in window.menus["Help"].actions() if a.text().replace("&", "") == text]
    return action


def test_help_show_log_folder_opens_the_folder_of_the_log(main_window, log_path, monkeypatch):
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    help_action(main_window, "Show log folder").trigger()
    assert [Path(url.toLocalFile()) for url in opened] == [log_path.parent]
    assert log_path.parent == paths.user_data_dir() / "logs"
    assert log_path.is_file()


def test_without_a_log_it_opens_the_data_folders_logs(main_window, isolated_home, monkeypatch):
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    help_action(main_window, "Show log folder").trigger()
    assert [Path(url.toLocalFile()) for url in opened] == [isolated_home / "logs"]
    assert (isolated_home / "logs").is_dir()        # there to open, even before anything was logged


def test_a_folder_the_system_cannot_open_is_named_in_words(main_window, log_path, monkeypatch, shown_boxes):
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    help_action(main_window, "Show log folder").trigger()
    [box] = shown_boxes
    assert box.windowTitle() == "Cannot open the log folder"
    assert str(log_path.parent) in box.text()


def test_a_damaged_model_s_dialog_names_the_log_which_holds_the_traceback(main_window, log_path, tmp_path,
                                                                        shown_boxes):
    data = (paths.bundled_models_dir() / "report-l2.h5").read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[:len(data) // 2])
    main_window.ask_open_path = lambda: str(cut)
    main_window.open_action.trigger()                        # File > Open model…, the file chosen
    [box] = shown_boxes
    assert box.text().startswith("Cannot open model") and "the file is truncated" in box.text()
    assert box.informativeText() == f"Details were written to {log_path}"
    text = log_text(log_path)
    assert f"Shown to the person: Cannot open the model: cannot open model {cut}" in text
    assert "Traceback (most recent call last):" in text and "ModelFileError" in text
    assert "import_file" in text                            # where it failed, for whoever reads it


def test_the_log_path_is_shown_as_the_characters_it_is(qtbot, tmp_path, monkeypatch, shown_boxes):
    """A data folder whose name looks like HTML is shown as written, not rendered."""
    from digitlab.gui import messages

    home = tmp_path / "<b>home</b>"
    monkeypatch.setenv("DIGITLAB_HOME", str(home))
    monkeypatch.delenv("DIGITLAB_LOG")
    try:
        path = logs.configure_logging("app")
        messages.warn(None, "cannot do it", "it failed")
    finally:
        logs.stop_logging()
    [box] = shown_boxes
    qtbot.addWidget(box)
    label = box.findChild(QLabel, "qt_msgbox_informativelabel")
    assert label.text() == f"Details were written to {path}" and "<b>home</b>" in label.text()
    assert label.textFormat() == Qt.TextFormat.PlainText


def test_without_a_log_the_dialog_says_nothing_about_one(qtbot, shown_boxes):
    from digitlab.gui import messages

    messages.warn(None, "cannot do it", "it failed")
    [box] = shown_boxes
    qtbot.addWidget(box)
    assert box.text() == "It failed" and box.informativeText() == ""


@pytest.mark.slow
def test_the_app_started_as_a_person_starts_it_writes_its_log(tmp_path):
    """main.py (what digitlab-app runs): the log says what started, with which Qt, and what loaded."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DIGITLAB_STARTUP_PROBE="1",   # quits once drawn on
               DIGITLAB_HOME=str(tmp_path / "home"), DIGITLAB_SETTINGS=str(tmp_path / "settings.ini"))
    env.pop("DIGITLAB_LOG")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "main.py"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (tmp_path / "home" / "logs" / "digitlab-app.log").read_text(encoding="utf-8")
    assert "digitlab 0.1.0 (app) started: Python 3." in text
    assert "INFO digitlab [" in text and "] Qt 6." in text and "platform plugin offscreen" in text
    assert f"Loaded the model 'pad' from {paths.bundled_models_dir() / 'pad.h5'}" in text   # network A
    assert "ERROR" not in text and "Traceback" not in text
