"""Message boxes that show their text as plain text.

A QMessageBox (like a QLabel) guesses whether its text is HTML. Error texts here carry file names
and model names from files that may come from strangers, so a name such as ``<img src=...>`` must be
shown as the characters it is, never rendered (and never make Qt read another file).

Every message starts with a capital letter (the core's errors start with "cannot open model ...",
fine in a terminal), and technical text (the HDF5 library's own words) goes behind a "Details"
button instead of into the sentence.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised (the rest untouched: file names keep their case)."""
    text = text.strip()
    return text[:1].upper() + text[1:]


def _box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str,
         details: str | None = None) -> QMessageBox:
    box = QMessageBox(icon, sentence(title), sentence(text), parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if details:
        box.setDetailedText(details)        # plain text always; Qt adds the "Show Details..." button
    return box


def warning_box(parent: QWidget | None, title: str, text: str, details: str | None = None) -> QMessageBox:
    """The warning :func:`warn` shows, not yet shown (tests read it)."""
    box = _box(parent, QMessageBox.Icon.Warning, title, text, details)
    box.setStandardButtons(Button.Ok)
    return box


def warn(parent: QWidget | None, title: str, text: str, details: str | None = None) -> None:
    """A modal warning with one OK button; ``details`` behind a "Details" button."""
    warning_box(parent, title, text, details).exec()


def error_details(exc: BaseException) -> str | None:
    """The technical text behind an error, for :func:`warn`'s ``details`` (None if it has none)."""
    from digitlab.io import ModelFileError

    return exc.detail if isinstance(exc, ModelFileError) else None


def ask_yes_no(parent: QWidget | None, title: str, text: str, *, default_yes: bool = False) -> bool:
    """A modal yes/no question; True for Yes. No is the default unless ``default_yes``."""
    box = _box(parent, QMessageBox.Icon.Question, title, text)
    box.setStandardButtons(Button.Yes | Button.No)
    box.setDefaultButton(Button.Yes if default_yes else Button.No)
    return box.exec() == Button.Yes
