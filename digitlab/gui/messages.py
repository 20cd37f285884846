"""Message boxes that show their text as plain text.

A QMessageBox (like a QLabel) guesses whether its text is HTML. Error texts here carry file names
and model names from files that may come from strangers, so a name such as ``<img src=...>`` must be
shown as the characters it is, never rendered (and never make Qt read another file).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton


def _box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
    box = QMessageBox(icon, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


def warn(parent: QWidget | None, title: str, text: str) -> None:
    """A modal warning with one OK button."""
    box = _box(parent, QMessageBox.Icon.Warning, title, text)
    box.setStandardButtons(Button.Ok)
    box.exec()


def ask_yes_no(parent: QWidget | None, title: str, text: str, *, default_yes: bool = False) -> bool:
    """A modal yes/no question; True for Yes. No is the default unless ``default_yes``."""
    box = _box(parent, QMessageBox.Icon.Question, title, text)
    box.setStandardButtons(Button.Yes | Button.No)
    box.setDefaultButton(Button.Yes if default_yes else Button.No)
    return box.exec() == Button.Yes
