"""The "My digits" panel of the Draw view: a person's own handwriting as a labelled set.

Label the drawing on the canvas (a button per digit, or its digit key while the panel has the
focus) and it joins the personal set, saved at once, atomically, in the data folder
(``my-digits.npz``, :mod:`digitlab.data.personal`). The entries are shown as 28x28 thumbnails with
their labels and the count per digit; one can be given another label, any can be deleted (and the
deletion undone), another set file can be opened, and the accuracy of networks A and B on the set
is shown, recomputed whenever the set or the pair changes.

The panel knows the Draw view only through two callables given to it: the current network input
(``DrawView.current_input``) and the current strokes (the canvas's drawing, or None).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeyEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from digitlab.atomic import OutputError
from digitlab.data.personal import (
    PersonalSet,
    PersonalSetError,
    default_personal_set_path,
    load_personal_set,
    save_personal_set,
)
from digitlab.data.strokes import Drawing
from digitlab.gui import messages, theme
from digitlab.gui.guard import guarded
from digitlab.gui.model_pair import ModelPair

log = logging.getLogger("digitlab.gui")

__all__ = ["PersonalPanel", "THUMBNAIL_SIDE", "SHOWN_LIMIT"]

THUMBNAIL_SIDE = 40
#: Thumbnails shown at most (the newest); a set is rarely this large, and a list of many more
#: icons would take seconds to build on every change.
SHOWN_LIMIT = 1000
_STATUS_STYLE = "color: palette(placeholder-text);"
_ERROR_STYLE = "color: #b3261e;"


def _thumbnail(x28: np.ndarray) -> QIcon:
    """Dark ink on light paper, as Evaluate's mistakes are shown, scaled up without smoothing."""
    img = np.ascontiguousarray(255 - np.asarray(x28, np.uint8).reshape(28, 28))
    q = QImage(img.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QIcon(QPixmap.fromImage(q).scaled(THUMBNAIL_SIDE, THUMBNAIL_SIDE,
                                             Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation))


class PersonalPanel(QWidget):
    """Label drawings into a personal set; see, fix and delete its entries; A's and B's accuracy.

    Parameters
    ----------
    pair : ModelPair
        The window's networks A and B, whose accuracy on the set is shown.
    current_input : callable() -> (28, 28) float array or None
        The network input of the drawing on the canvas (None when the canvas is empty).
    current_drawing : callable() -> Drawing or None
        The strokes of that drawing (``DrawingCanvas.drawing``), stored with it.
    path : path, optional
        The set file; default :func:`~digitlab.data.personal.default_personal_set_path`. It is
        read when the panel is first shown or used.

    Signals
    -------
    set_changed()
        Entries were added, relabelled, deleted or restored, or another file was opened.
    """

    set_changed = Signal()

    def __init__(self, pair: ModelPair, current_input: Callable[[], np.ndarray | None],
                 current_drawing: Callable[[], Drawing | None] = lambda: None,
                 path: str | Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.pair = pair
        self._current_input = current_input
        self._current_drawing = current_drawing
        self._path: Path | None = None if path is None else Path(path)
        self._set = PersonalSet()
        self._loaded = False
        self._load_error: str | None = None      # the file could not be read: never overwrite it
        self._stamp: tuple | None = None         # the file's size and time when last read or written
        self._undo: list[list[tuple[int, tuple]]] = []    # deletions, each a list of (index, item)
        self._predictions: dict[str, np.ndarray] = {}
        # replaceable (tests): how a failed save is shown, and where another set is opened
        self.show_error: Callable[..., object] = lambda title, text, details=None: messages.warn(
            self, title, text, details)
        self.ask_set_path: Callable[[], str] = self._dialog_set_path
        self._build_ui()
        self.pair.changed.connect(self._update_accuracy)

    # ================================================================== UI
    def _build_ui(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("My digits")
        # never taller than its size hint: the tab it sits in keeps the preview's height
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        grid = QGridLayout()
        grid.setHorizontalSpacing(3)
        grid.setVerticalSpacing(0)
        add_caption = QLabel("Add this drawing as")
        grid.addWidget(add_caption, 0, 0)
        have_caption = QLabel("you have")
        have_caption.setStyleSheet(_STATUS_STYLE)
        grid.addWidget(have_caption, 1, 0)
        self.add_buttons: list[QToolButton] = []
        self.count_labels: list[QLabel] = []
        for d in range(10):
            b = QToolButton()
            b.setText(str(d))
            b.setMinimumSize(28, 26)
            b.setToolTip(f"Add the drawing on the canvas to your digits as a {d} (or type {d} here)")
            b.setAccessibleName(f"Add as {d}")
            b.clicked.connect(lambda _checked=False, digit=d: self.add_current(digit))
            grid.addWidget(b, 0, d + 1)
            self.add_buttons.append(b)
            c = QLabel("0")
            c.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            c.setStyleSheet(_STATUS_STYLE)
            grid.addWidget(c, 1, d + 1)
            self.count_labels.append(c)
        grid.setColumnStretch(11, 1)

        self.entries = QListWidget()
        self.entries.setViewMode(QListWidget.ViewMode.IconMode)
        self.entries.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.entries.setGridSize(QSize(THUMBNAIL_SIDE + 10, THUMBNAIL_SIDE + 20))
        self.entries.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.entries.setMovement(QListWidget.Movement.Static)
        self.entries.setUniformItemSizes(True)
        self.entries.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.entries.setMinimumHeight(THUMBNAIL_SIDE + 26)
        # vertically Ignored: its size hint (six rows) would make the tab taller than the
        # preview's; it takes the height there is and scrolls
        self.entries.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.entries.setAccessibleName("Your digits")
        self.entries.itemSelectionChanged.connect(self._on_selection)

        self.label_combo = QComboBox()
        for d in range(10):
            self.label_combo.addItem(str(d), d)
        self.label_combo.setToolTip("The label of the chosen digit: choose another to fix it")
        self.label_combo.setEnabled(False)
        self.label_combo.activated.connect(
            lambda index: self.relabel_selected(int(self.label_combo.itemData(index))))
        self.delete_button = self._tool("Delete", "Delete the chosen digits (Delete); Undo brings them back")
        self.delete_button.clicked.connect(self.delete_selected)
        self.delete_button.setEnabled(False)
        self.undo_button = self._tool("Undo delete", "Put the last deleted digits back")
        self.undo_button.clicked.connect(self.undo_delete)
        self.undo_button.setEnabled(False)
        self.open_button = self._tool("Open set…", "Open another personal set file, or name a new one")
        self.open_button.clicked.connect(lambda _checked=False: self.open_set())
        label_row = QHBoxLayout()
        label_row.addWidget(QLabel("Label"))
        label_row.addWidget(self.label_combo, 1)
        side = QVBoxLayout()
        side.setSpacing(3)
        side.addLayout(label_row)
        side.addWidget(self.delete_button)
        side.addWidget(self.undo_button)
        side.addWidget(self.open_button)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.entries, 1)
        middle.addLayout(side)

        self.accuracy_label = QLabel("")
        self.accuracy_label.setTextFormat(Qt.TextFormat.PlainText)     # model names come from files
        self.accuracy_label.setWordWrap(True)
        self.accuracy_label.setAccessibleName("Accuracy of networks A and B on your digits")
        self.status_label = QLabel("")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)       # file names and errors
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet(_STATUS_STYLE)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        lay.addLayout(grid)
        lay.addLayout(middle, 1)
        lay.addWidget(self.accuracy_label)
        lay.addWidget(self.status_label)

        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for d in range(10):
            sc = QShortcut(QKeySequence(str(d)), self)
            sc.setContext(ctx)
            sc.activated.connect(lambda digit=d: self.add_current(digit))
        # Delete and Ctrl+Z in the list act on the list: the Draw view's own shortcuts for them
        # (clear and undo the canvas) would make shortcuts here ambiguous, so the keys are taken
        # before any shortcut sees them
        self.entries.installEventFilter(self)

    def _tool(self, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return b

    # ================================================================== reading
    @property
    def path(self) -> Path:
        """The set file shown (it need not exist yet: the first digit creates it)."""
        if self._path is None:
            self._path = default_personal_set_path()
        return self._path

    def personal_set(self) -> PersonalSet:
        """The set as shown (read from its file on first use)."""
        self._ensure_loaded()
        return self._set

    def accuracies(self) -> dict[str, float | None]:
        """``{"A": fraction right, "B": ...}`` on the set; None for a side without a network or
        an empty set."""
        self._ensure_loaded()
        out: dict[str, float | None] = {}
        for side in ("A", "B"):
            pred = self._predictions.get(side)
            out[side] = None if pred is None or len(pred) == 0 else float(np.mean(pred == self._set.y))
        return out

    def accuracy_text(self) -> str:
        return self.accuracy_label.text()

    def status_text(self) -> str:
        return self.status_label.text()

    def selected_indices(self) -> list[int]:
        """Indices into the set of the chosen thumbnails, in order."""
        return sorted(int(item.data(Qt.ItemDataRole.UserRole)) for item in self.entries.selectedItems())

    def select(self, indices) -> None:
        """Choose the thumbnails of these set indices (as a click or Ctrl+click does)."""
        wanted = {int(i) for i in indices}
        self.entries.clearSelection()
        for row in range(self.entries.count()):
            item = self.entries.item(row)
            if int(item.data(Qt.ItemDataRole.UserRole)) in wanted:
                item.setSelected(True)
                self.entries.setCurrentItem(item, QItemSelectionModel.SelectionFlag.NoUpdate)

    # ================================================================== changing
    def add_current(self, label: int) -> bool:
        """Add the drawing on the canvas as ``label`` and save the set; False (with the reason
        shown) when there is no drawing or the set cannot be written."""
        self._ensure_loaded()
        self._reread_if_changed()
        if self._load_error is not None:
            self._say(f"Nothing added: {self._load_error}", error=True)
            return False
        x = self._current_input()
        if x is None:
            self._say(f"Draw a digit first, then press {label} to add it as a {label}.", error=True)
            return False
        try:
            index = self._set.add(x, label, self._current_drawing())
        except PersonalSetError as exc:
            self._say(f"Nothing added: {exc}.", error=True)
            return False
        if not self._save(f"add this {label}"):
            self._set.remove(index)
            return False
        self._changed(select=[index], appended=True)
        self._say(f"Added a {label} to {self.path.name} ({len(self._set)} digits).")
        return True

    def relabel_selected(self, label: int) -> bool:
        """Give the one chosen digit the label ``label`` and save."""
        chosen = self.selected_indices()
        if len(chosen) != 1 or self._load_error is not None or self._reread_if_changed():
            return False
        i = chosen[0]
        old = int(self._set.y[i])
        if old == label:
            return True
        self._set.relabel(i, label)
        if not self._save(f"relabel this {old} as {label}"):
            self._set.relabel(i, old)
            self._show_selection_label()
            return False
        self._changed(select=[i], relabelled=i)
        self._say(f"Digit {i + 1} is now a {label} (was a {old}).")
        return True

    def delete_selected(self) -> int:
        """Delete the chosen digits and save; Undo delete puts them back. Returns how many."""
        chosen = self.selected_indices()
        if not chosen or self._load_error is not None or self._reread_if_changed():
            return 0
        removed = [(i, self._set.remove(i)) for i in reversed(chosen)]
        if not self._save("delete these digits"):
            for i, item in reversed(removed):
                self._set.insert(i, *item)
            return 0
        self._undo.append(removed)
        self._changed(select=[])
        n = len(removed)
        self._say(f"Deleted {n} digit{'s' if n != 1 else ''} from {self.path.name}; "
                  f"Undo delete puts {'them' if n != 1 else 'it'} back.")
        return n

    def undo_delete(self) -> bool:
        """Put the last deleted digits back where they were, and save."""
        if not self._undo or self._load_error is not None or self._reread_if_changed():
            return False
        removed = self._undo.pop()
        for i, item in reversed(removed):
            self._set.insert(i, *item)
        if not self._save("put the deleted digits back"):
            for i, _item in removed:
                self._set.remove(i)
            self._undo.append(removed)
            return False
        self._changed(select=[i for i, _ in removed])
        self._say(f"Put back {len(removed)} digit{'s' if len(removed) != 1 else ''}.")
        return True

    def open_set(self, path: str | Path | None = None) -> bool:
        """Show the set in ``path`` (asked for when not given); a file that does not exist yet
        starts an empty set there. False when the file cannot be read (the old set stays)."""
        if path is None:
            path = self.ask_set_path()
            if not path:
                return False
        path = Path(path)
        try:
            s = load_personal_set(path, missing_ok=True)
        except PersonalSetError as exc:
            self.show_error("Cannot open this set of digits", str(exc))
            return False
        self._path, self._set, self._loaded, self._load_error = path, s, True, None
        self._stamp = self._file_stamp()
        self._undo.clear()
        self._changed(select=[])
        self._say(f"{path.name}: {len(s)} digits" if path.exists() else
                  f"{path.name} is new: the first digit you add creates it.")
        return True

    # ================================================================== internals
    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            self._stamp = self._file_stamp()
            self._set = load_personal_set(self.path, missing_ok=True)
        except PersonalSetError as exc:
            self._load_error = (f"{exc}. Open another set (Open set…), or move that file away "
                                f"to start a new one.")
            self._set = PersonalSet()
            self._changed(select=[])
            self._say(self._load_error, error=True)
            return
        self._changed(select=[])
        self._say(f"{self.path.name}: {len(self._set)} digits in {self.path.parent}" if self.path.exists()
                  else f"Your digits will be saved in {self.path}.")

    def _file_stamp(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def _reread_if_changed(self) -> bool:
        """Read the file again if something else wrote it since this panel did (another window,
        or a program): a change here must not undo theirs. True when it was read again, and what
        was chosen is gone (the indices may mean other digits now)."""
        if self._load_error is not None or self._file_stamp() == self._stamp:
            return False
        self._loaded = False
        self._undo.clear()
        self._ensure_loaded()
        if self._load_error is None:
            self._say(f"{self.path.name} was changed by another window or program: read again, "
                      f"{len(self._set)} digits. Choose again.", error=True)
        return True

    def _save(self, doing: str) -> bool:
        try:
            save_personal_set(self.path, self._set)
            self._stamp = self._file_stamp()
        except OutputError as exc:
            log.warning("Could not save the personal set: %s", exc)
            self.show_error("Cannot save your digits", f"Could not {doing}: {exc}")
            self._say(f"Not saved: {exc}", error=True)
            return False
        return True

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(theme.css(_ERROR_STYLE) if error else _STATUS_STYLE)

    def _changed(self, *, select: list[int], appended: bool = False, relabelled: int | None = None) -> None:
        """Show the set after a change. Adding one digit appends one thumbnail and relabelling one
        renames it (a set of a thousand digits is not redrawn on every click); anything else
        redraws the list."""
        if appended:
            self._append_entry(len(self._set) - 1, select)
        elif relabelled is not None:
            self._relabel_entry(relabelled)
        else:
            self._fill_entries(select)
        counts = self._set.counts()
        for d, c in enumerate(self.count_labels):
            c.setText(str(int(counts[d])))
            c.setToolTip(f"{int(counts[d])} of your digits are labelled {d}")
        self._update_accuracy()
        self.set_changed.emit()

    def _item(self, i: int) -> QListWidgetItem:
        label = int(self._set.y[i])
        item = QListWidgetItem(_thumbnail(self._set.x[i]), str(label))
        item.setData(Qt.ItemDataRole.UserRole, i)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
        item.setToolTip(f"digit {i + 1}, labelled {label}")
        return item

    def _fill_entries(self, select: list[int]) -> None:
        first = max(0, len(self._set) - SHOWN_LIMIT)
        self.entries.blockSignals(True)
        self.entries.clear()
        for i in range(first, len(self._set)):
            item = self._item(i)
            self.entries.addItem(item)
            item.setSelected(i in select)
        self.entries.blockSignals(False)
        self._show_chosen()

    def _append_entry(self, i: int, select: list[int]) -> None:
        self.entries.blockSignals(True)
        self.entries.clearSelection()
        if self.entries.count() >= SHOWN_LIMIT:
            self.entries.takeItem(0)       # the oldest goes: at most SHOWN_LIMIT are shown
        item = self._item(i)
        self.entries.addItem(item)
        item.setSelected(i in select)
        self.entries.blockSignals(False)
        self._show_chosen()

    def _relabel_entry(self, i: int) -> None:
        for row in range(self.entries.count()):
            item = self.entries.item(row)
            if int(item.data(Qt.ItemDataRole.UserRole)) == i:
                label = int(self._set.y[i])
                item.setText(str(label))
                item.setToolTip(f"digit {i + 1}, labelled {label}")
        self._on_selection()

    def _show_chosen(self) -> None:
        chosen = self.entries.selectedItems()
        if chosen:
            self.entries.setCurrentItem(chosen[-1], QItemSelectionModel.SelectionFlag.NoUpdate)
            self.entries.scrollToItem(chosen[-1])
        self._on_selection()

    def _update_accuracy(self) -> None:
        s = self._set
        self._predictions = {}
        self.accuracy_label.setToolTip("")
        if len(s):
            x = s.inputs()
            for side, entry in (("A", self.pair.a), ("B", self.pair.b)):
                # a network for other inputs than 28x28 images cannot read these digits
                if entry is not None and entry.network is not None \
                        and entry.network.layer_sizes[0] == x.shape[1]:
                    self._predictions[side] = entry.network.predict(x)
        if not len(s):
            self.accuracy_label.setText("No digits yet: draw one, then click its button above "
                                        "(or type it here).")
            return
        if not self._predictions:
            self.accuracy_label.setText("Choose networks A and B to see how well they read your digits.")
            return
        parts, names = [], []
        for side, entry in (("A", self.pair.a), ("B", self.pair.b)):
            pred = self._predictions.get(side)
            if pred is None:
                continue
            right = int(np.sum(pred == s.y))
            parts.append(f"{side} {100 * right / len(s):.1f} % ({right}/{len(s)})")
            names.append(f"{side} is {entry.display_name}")
        # one line at 1024 pixels: the names are above the bars, and in the tooltip
        self.accuracy_label.setText("Right on your digits: " + ",  ".join(parts))
        self.accuracy_label.setToolTip("Networks " + ", ".join(names))

    def _on_selection(self) -> None:
        chosen = self.selected_indices()
        self.delete_button.setEnabled(bool(chosen))
        self.label_combo.setEnabled(len(chosen) == 1)
        self.undo_button.setEnabled(bool(self._undo))
        self._show_selection_label()

    def _show_selection_label(self) -> None:
        chosen = self.selected_indices()
        self.label_combo.blockSignals(True)
        if len(chosen) == 1:
            self.label_combo.setCurrentIndex(int(self._set.y[chosen[0]]))
        self.label_combo.blockSignals(False)

    def _dialog_set_path(self) -> str:
        path, _ = QFileDialog.getSaveFileName(
            self, "Open a set of your digits, or name a new one", str(self.path),
            "Digit sets (*.npz)", options=QFileDialog.Option.DontConfirmOverwrite)
        return path

    def _list_action(self, event: QKeyEvent) -> Callable[[], object] | None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            return self.delete_selected
        if event.matches(QKeySequence.StandardKey.Undo):
            return self.undo_delete
        return None

    @guarded(default=False)
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt name
        if watched is self.entries and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            action = self._list_action(event)
            if action is not None:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    action()
                return True
        return super().eventFilter(watched, event)

    @guarded(default=QSize(480, 180))
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        # no taller than it must be: it shares a tab widget with the 28x28 preview, and the
        # probability bars below get the height it does not ask for; the thumbnails scroll
        return QSize(super().sizeHint().width(), self.minimumSizeHint().height())

    @guarded
    def showEvent(self, event) -> None:  # noqa: N802
        self._ensure_loaded()
        super().showEvent(event)
