"""Fixtures for the GUI tests: an isolated home and settings file, small quick runs, clean teardown.

Every test gets its own ``DIGITLAB_HOME`` and QSettings INI file under ``tmp_path`` so nothing
touches the real user folders, and every window or view made through these fixtures has its
training thread stopped and joined at teardown (a QThread alive at exit aborts the process).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """DIGITLAB_HOME and every QSettings location under tmp_path for the duration of a test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DIGITLAB_HOME", str(home))
    monkeypatch.setenv("DIGITLAB_SETTINGS", str(tmp_path / "settings.ini"))
    qsettings_dir = tmp_path / "qsettings"
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(qsettings_dir))
    return home


@pytest.fixture
def settings_path(tmp_path):
    return tmp_path / "settings.ini"


@pytest.fixture
def make_settings(settings_path):
    """A QSettings on the test's INI file (call it again for a 'second launch')."""
    return lambda: QSettings(str(settings_path), QSettings.Format.IniFormat)


@pytest.fixture
def quick_settings():
    """Form values for a run of about a second: a 2,000-image subset, many small checks."""
    return {
        "train_subset": "2000",
        "batch_size": "64",
        "eval_every": "5",
        "patience": "100000",
        "max_epochs": "3",
        "learning_rate": "0.05",
    }


@pytest.fixture
def fill_form(qtbot):
    """Type values into the settings form the way a person does (clear, then type)."""

    def fill(form, values: dict[str, str]) -> None:
        for key, text in values.items():
            edit = form.field(key)
            edit.clear()
            qtbot.keyClicks(edit, text)
            assert edit.text() == text

    return fill


@pytest.fixture
def train_view(qtbot):
    from digitlab.gui.train_view import TrainView

    view = TrainView()
    qtbot.addWidget(view)
    view.resize(1200, 760)
    view.show()
    yield view
    assert view.shutdown(30000), "the training thread did not stop"


@pytest.fixture
def main_window(qtbot, make_settings):
    from digitlab.gui.main_window import MainWindow

    window = MainWindow(settings=make_settings())
    window.confirm_close = lambda: True
    qtbot.addWidget(window)
    window.show()
    yield window
    assert window.shutdown(30000), "the training thread did not stop"
