"""The one choice of "network A / network B" that the Draw view, Evaluate (with Inside) and
File > Export report follow, and the combo box that chooses one side of it.

:class:`ModelPair` holds two library entries (B may be none), loads a model before accepting it
(a file found damaged is refused with the reason, and the pair keeps what it had), follows the
library (a deleted model falls back to the default pair, a renamed or saved one is the same entry)
and is remembered between launches in QSettings by file path. The default is the library's
``default_pair()``: the pad networks trained for drawn digits, without and with L2 (pad / pad-l2),
or the report's report-no-l2 / report-l2 where those are missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from digitlab.gui.library_events import LibraryEvents
from digitlab.io import ModelFileError
from digitlab.library import ModelEntry, ModelLibrary

log = logging.getLogger("digitlab.gui")

__all__ = ["ModelPair", "PairChooser", "SIDES"]

SIDES = ("A", "B")
_KEYS = {"A": "pair/a", "B": "pair/b"}


class ModelPair(QObject):
    """Networks A and B, chosen once for the whole window.

    Signals
    -------
    changed()
        A or B changed, or the library did (names, entries): everyone showing them refreshes.
    refused(str, str)
        A model could not be chosen: the reason in words and the technical detail ("" if none).
    """

    changed = Signal()
    refused = Signal(str, str)

    def __init__(self, library: ModelLibrary, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.events = LibraryEvents(library, self)
        self._entries: dict[str, ModelEntry | None] = {"A": None, "B": None}
        a, b = library.default_pair()
        self._entries["A"] = a if a is not None and self._load(a, quiet=True) else None
        self._entries["B"] = b if b is not None and b is not a and self._load(b, quiet=True) else None
        self.events.changed.connect(self._on_library_changed)

    # ------------------------------------------------------------------ reading
    @property
    def a(self) -> ModelEntry | None:
        return self._entries["A"]

    @property
    def b(self) -> ModelEntry | None:
        return self._entries["B"]

    def entry(self, side: str) -> ModelEntry | None:
        return self._entries[_side(side)]

    def entries(self) -> list[ModelEntry]:
        """A and B (those chosen), in that order."""
        return [e for e in (self.a, self.b) if e is not None]

    def names_text(self) -> str:
        """``"A: report-no-l2 · B: report-l2"`` for a label."""
        return " · ".join(f"{s}: {e.display_name if e is not None else '(none)'}"
                          for s, e in zip(SIDES, (self.a, self.b)))

    # ------------------------------------------------------------------ choosing
    def set(self, side: str, entry: ModelEntry | None) -> bool:
        """Choose ``entry`` for ``side`` ("A" or "B"); False (and ``refused``) when it cannot be
        loaded, in which case the pair keeps its model."""
        side = _side(side)
        if entry is self._entries[side]:
            return True
        if entry is not None and not self._load(entry):
            self.changed.emit()          # choosers go back to what the pair still holds
            return False
        self._entries[side] = entry
        self.changed.emit()
        return True

    def set_a(self, entry: ModelEntry | None) -> bool:
        return self.set("A", entry)

    def set_b(self, entry: ModelEntry | None) -> bool:
        return self.set("B", entry)

    def set_pair(self, a: ModelEntry | None, b: ModelEntry | None) -> bool:
        """Choose both at once (one ``changed``); False if either was refused (that side is kept)."""
        ok = True
        for side, entry in (("A", a), ("B", b)):
            if entry is not None and not self._load(entry):
                ok = False
                continue
            self._entries[side] = entry
        self.changed.emit()
        return ok

    def _load(self, entry: ModelEntry, quiet: bool = False) -> bool:
        if not isinstance(entry, ModelEntry):
            raise TypeError(f"a pair holds library entries (ModelEntry), got {type(entry).__name__}")
        try:
            self.library.load(entry)
        except (ModelFileError, ValueError, OSError, MemoryError) as exc:
            log.info("Model %s cannot be used: %s", entry.file_name, exc)
            if not quiet:
                detail = exc.detail if isinstance(exc, ModelFileError) else None
                self.refused.emit(str(exc), detail or "")     # the core's sentence names the file
            return False
        return True

    def _on_library_changed(self) -> None:
        # Entries keep their identity through renames, rescans and saves; a model that left the
        # library (deleted, found damaged) gives way to the default.
        present = self.library.entries()
        defaults = self.library.default_pair()
        for side, fallback in zip(SIDES, defaults):
            e = self._entries[side]
            if e is not None and e not in present:
                other = self._entries["B" if side == "A" else "A"]
                self._entries[side] = fallback if fallback is not other else None
        self.changed.emit()

    # ------------------------------------------------------------------ remembering
    def save_state(self, settings: QSettings) -> None:
        """The two files; "" for a side left empty. A run not saved yet is not remembered (it has no
        file): its side's key is removed, so the next launch starts that side from the default
        rather than from "" (which means "none" and would leave A empty, a state no chooser offers)."""
        for side in SIDES:
            e = self._entries[side]
            if e is None:
                settings.setValue(_KEYS[side], "")
            elif e.path is None:
                settings.remove(_KEYS[side])
            else:
                settings.setValue(_KEYS[side], str(e.path))

    def restore_state(self, settings: QSettings) -> None:
        """Choose the remembered files again; a file that is gone leaves the default."""
        chosen = {}
        for side in SIDES:
            value = settings.value(_KEYS[side])
            if value is None:
                continue                                 # never saved: the default
            text = str(value)
            chosen[side] = self.library.get(Path(text)) if text else None
            if text and chosen[side] is None:
                del chosen[side]                         # that file is gone: the default
        if chosen:
            a = chosen.get("A", self.a)
            b = chosen.get("B", self.b)
            self.set_pair(a, b)


def _side(side: str) -> str:
    s = str(side).strip().upper()
    if s not in SIDES:
        raise ValueError(f"side must be 'A' or 'B', got {side!r}")
    return s


class PairChooser(QComboBox):
    """A combo box of the library's models that shows and chooses one side of a :class:`ModelPair`.

    Every chooser of a side shows the same model: choosing here sets the pair, and a change of the
    pair (from any view, Models, or a restored launch) is shown here.
    """

    def __init__(self, pair: ModelPair, side: str, *, allow_none: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.pair = pair
        self.side = _side(side)
        self.allow_none = allow_none
        self._syncing = False
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(f"Network {self.side}: any model of the library (the same in every view)")
        self.setPlaceholderText("Choose a model")
        self.currentIndexChanged.connect(self._on_index_changed)
        pair.changed.connect(self.sync)
        self.sync()

    def current_entry(self) -> ModelEntry | None:
        return self.pair.entry(self.side)

    def sync(self) -> None:
        """List the library's models and show the pair's choice."""
        self._syncing = True
        self.blockSignals(True)
        try:
            self.clear()
            entries = self.pair.library.entries()
            if self.allow_none:
                self.addItem("(none)", None)
            if not entries:
                self.addItem("No models yet: train one or open a .h5 in Models", None)
            for e in entries:
                self.addItem(e.display_name, e.key)
                self.setItemData(self.count() - 1, e.summary, Qt.ItemDataRole.ToolTipRole)
            self.setEnabled(bool(entries))
            current = self.current_entry()
            index = self.findData(current.key) if current is not None else (0 if self.allow_none else -1)
            self.setCurrentIndex(index)
        finally:
            self.blockSignals(False)
            self._syncing = False

    def _on_index_changed(self, _index: int) -> None:
        if self._syncing:
            return
        key = self.currentData()
        entry = None if key is None else self.pair.library.get(key)
        if entry is None and not self.allow_none:
            return
        self.pair.set(self.side, entry)
