"""The model library's changes as Qt signals, for the views.

:class:`digitlab.library.ModelLibrary` is plain Python and calls listeners; this adapter turns
them into signals so a view connects to them like to any other widget's.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from digitlab.library import ModelEntry, ModelLibrary

__all__ = ["LibraryEvents"]


class LibraryEvents(QObject):
    """``changed()`` after every change of ``library``; ``damaged(entry)`` when a listed model
    turns out unreadable on first use (the library has marked it and says why in ``entry.damage``)."""

    changed = Signal()
    damaged = Signal(object)

    def __init__(self, library: ModelLibrary, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        library.add_listener(self._on_changed)          # held weakly by the library
        library.add_damage_listener(self._on_damaged)

    def _on_changed(self) -> None:
        self.changed.emit()

    def _on_damaged(self, entry: ModelEntry) -> None:
        self.damaged.emit(entry)
