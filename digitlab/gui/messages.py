"""Message boxes that show their text as plain text.

A QMessageBox (like a QLabel) guesses whether its text is HTML. Error texts here carry file names
and model names from files that may come from strangers, so a name such as ``<img src=...>`` must be
shown as the characters it is, never rendered (and never make Qt read another file).

Every message starts with a capital letter (the core's errors start with "cannot open model ...",
fine in a terminal), and technical text (the HDF5 library's own words) goes behind a "Details"
button instead of into the sentence.

Every warning shown is written to the log file too (:mod:`digitlab.logs`), with the traceback of
the exception being handled when there is one, and the box says where that file is, so a person
has something to send.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from digitlab.logs import log_file, log_shown

Button = QMessageBox.StandardButton

log = logging.getLogger(__name__)


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


def log_note() -> str:
    """The sentence that says where the log file is; empty when this process writes none."""
    path = log_file()
    return f"Details were written to {path}" if path is not None else ""


def warning_box(parent: QWidget | None, title: str, text: str, details: str | None = None) -> QMessageBox:
    """The warning :func:`warn` shows, not yet shown (tests read it), with the log file's path
    below the message (plain text too: the box's text format applies to it)."""
    box = _box(parent, QMessageBox.Icon.Warning, title, text, details)
    box.setStandardButtons(Button.Ok)
    box.setInformativeText(log_note())
    return box


def warn(parent: QWidget | None, title: str, text: str, details: str | None = None) -> None:
    """A modal warning with one OK button; ``details`` behind a "Details" button.

    Logged first, with the traceback of the exception being handled if this is called from an
    ``except`` block (the usual case), so the file holds what the box cannot show.
    """
    log_shown(log, logging.ERROR, "Shown to the person: %s: %s%s", sentence(title), text,
              f"\n{details}" if details else "", exc_info=sys.exc_info()[1])
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
