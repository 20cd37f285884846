"""A finished run that is not saved: closing asks, and the result box says where it was saved."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

RUN_TIMEOUT = 60_000

io = pytest.importorskip("digitlab.io")
Button = QMessageBox.StandardButton


def answer_next_message_box(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click ``button`` in the next modal message box, the way a person would; records its text.

    Gives up after about a second, so a box that never comes fails the test instead of hanging it.
    """
    tries = [0]

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            tries[0] += 1
            if tries[0] < 50:
                QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, click)


@pytest.fixture
def window_after_a_run(qtbot, make_settings, fill_form, quick_settings):
    """A main window (with its real close confirmation) whose Train view has finished one run."""
    from digitlab.gui.main_window import MainWindow

    window = MainWindow(settings=make_settings())
    # pytest-qt closes its widgets before fixtures end: by then no question may be asked
    qtbot.addWidget(window, before_close_func=lambda w: setattr(w, "confirm_close", lambda: True))
    window.show()
    view = window.train_view
    fill_form(view.form, {**quick_settings, "max_epochs": "1"})
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        view.start()
    assert view.last_result is not None and view.last_result.network is not None
    yield window
    assert window.shutdown(30000)


def test_closing_after_an_unsaved_run_asks_and_cancel_keeps_the_window(window_after_a_run):
    window = window_after_a_run
    seen: list[str] = []
    answer_next_message_box(Button.Cancel, seen)
    window.close()
    assert seen == ["Save the last run before quitting?"]
    assert window.isVisible()


def test_save_opens_the_save_dialog_then_quits(window_after_a_run, tmp_path):
    window = window_after_a_run
    target = tmp_path / "kept.h5"
    suggested: list[str] = []
    window.ask_save_path = lambda s: suggested.append(s) or str(target)
    seen: list[str] = []
    answer_next_message_box(Button.Save, seen)
    window.close()
    assert seen == ["Save the last run before quitting?"]
    assert len(suggested) == 1 and suggested[0].endswith(".h5")     # the save dialog was asked
    assert target.exists() and io.load_model(target).config.layer_sizes == (784, 20, 7, 5, 10)
    assert not window.isVisible()


def test_cancelling_the_save_dialog_keeps_the_window(window_after_a_run):
    window = window_after_a_run
    window.ask_save_path = lambda s: ""                              # the person cancels the dialog
    seen: list[str] = []
    answer_next_message_box(Button.Save, seen)
    window.close()
    assert seen and window.isVisible()


def test_discard_quits_and_a_saved_run_does_not_ask(window_after_a_run, tmp_path):
    window = window_after_a_run
    window.train_view.save_model(tmp_path / "saved.h5")
    seen: list[str] = []
    answer_next_message_box(Button.Discard, seen)
    window.close()
    assert seen == [] and not window.isVisible()                    # saved: nothing to ask


def test_discard_quits_without_saving(window_after_a_run, tmp_path, isolated_home):
    window = window_after_a_run
    seen: list[str] = []
    answer_next_message_box(Button.Discard, seen)
    window.close()
    assert seen == ["Save the last run before quitting?"] and not window.isVisible()
    assert not list(isolated_home.rglob("*.h5"))


def test_one_saved_as_line_and_it_follows_the_file(qtbot, train_view, fill_form, quick_settings, tmp_path):
    view = train_view
    fill_form(view.form, {**quick_settings, "max_epochs": "1"})
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        view.start()
    run_message = view.message_label.text()
    assert run_message.startswith("Run 1")
    first, second = tmp_path / "first.h5", tmp_path / "second.h5"
    view.save_model(first)
    view.save_model(second)
    lines = view.message_label.text().split("\n")
    assert lines[0] == run_message
    assert len(lines) == 2 and lines[1].startswith("Saved as “") and str(second) in lines[1]
    assert str(first) not in view.message_label.text()
    # nothing clipped: the label has the height its text needs at its width, also when narrow
    label = view.message_label
    for width, height in ((1200, 760), (1000, 640)):
        view.resize(width, height)
        qtbot.wait(50)                                               # let the layout settle
        assert label.height() >= label.heightForWidth(label.width()), (width, label.width())
    # renamed behind the app's back: the line says so the next time the view is shown
    second.rename(tmp_path / "renamed.h5")
    view.hide()
    view.show()
    lines = view.message_label.text().split("\n")
    assert lines[0] == run_message and len(lines) == 2
    assert str(second) not in lines[1] and "since deleted or renamed" in lines[1]
