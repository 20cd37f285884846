"""The Models view: the model library as a table, with details and file operations.

Every dialog goes through a replaceable attribute (``ask_open_path``, ``ask_text``,
``ask_confirm``, ``ask_export_path``, ``ask_save_path``, ``show_error``, ``show_info``) and every
action is a method taking its answer as an optional argument (``open_model_file(path=None)``
shows the file dialog only when ``path`` is None), so tests and the main window can drive the
view without modal dialogs.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from digitlab.gui import messages, theme
from digitlab.gui.guard import call_guarded, guarded
from digitlab.gui.library_events import LibraryEvents
from digitlab.library import ModelEntry, ModelLibrary, safe_file_stem
from digitlab.training import format_layer_sizes

log = logging.getLogger("digitlab.gui")

__all__ = ["ModelsView", "LibraryTableModel", "COLUMNS"]

#: (header, attribute for display, tooltip)
COLUMNS: list[tuple[str, str, str]] = [
    ("Name", "display_name", "The model's name (stored in the file; “(bundled)” or “(2)” when "
                             "another model has the same name)"),
    ("Source", "source_label", "Bundled with digitlab (read-only), yours, or a run not saved yet"),
    ("Layers", "layers_text", "Layer sizes from input to output"),
    ("L2", "l2_text", "L2 regularisation strength lambda"),
    ("BN", "bn_text", "Batch normalisation"),
    ("Optimiser", "optimizer", "The optimiser it was trained with"),
    ("Test accuracy", "accuracy_text", "Accuracy on the 10,000 MNIST test digits"),
    ("Date", "date_text", "When it was trained"),
]
_NUMERIC = {"l2_text", "accuracy_text"}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole


class LibraryTableModel(QAbstractTableModel):
    """A read-only table over ``ModelLibrary.listing()``: every file, damaged ones marked."""

    def __init__(self, library: ModelLibrary, parent=None):
        super().__init__(parent)
        self._library = library
        self._entries: list[ModelEntry] = library.listing()

    def reload(self) -> None:
        self.beginResetModel()
        self._entries = self._library.listing()
        self.endResetModel()

    def entry(self, row: int) -> ModelEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def row_of(self, key: str) -> int:
        for i, e in enumerate(self._entries):
            if e.key == key:
                return i
        return -1

    @guarded(default=0)
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._entries)

    @guarded(default=0)
    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    @guarded
    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][2]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (Qt.AlignmentFlag.AlignRight if COLUMNS[section][1] in _NUMERIC
                          else Qt.AlignmentFlag.AlignLeft)
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        return None

    @guarded
    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        e = self.entry(index.row())
        if e is None:
            return None
        attr = COLUMNS[index.column()][1]
        if e.damaged:
            return self._damaged_data(e, attr, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return str(getattr(e, attr))
        if role == KEY_ROLE:
            return e.key
        if role == SORT_ROLE:
            if attr == "accuracy_text":
                return -1.0 if e.test_accuracy is None else e.test_accuracy
            if attr == "l2_text":
                return -1.0 if e.l2 is None else e.l2
            if attr == "date_text":
                return e.created or e.date_text
            return str(getattr(e, attr)).lower()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if attr in _NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{e.display_name}\n{e.summary}\n{e.path or 'Not saved yet: Rename… saves it'}"
        if role == Qt.ItemDataRole.ForegroundRole and attr == "source_label" and e.read_only:
            return QColor(theme.secondary_text())
        return None

    @staticmethod
    def _damaged_data(e: ModelEntry, attr: str, role):
        """A damaged file's row: its file name, "damaged" in words, the reason as the tooltip."""
        if role == Qt.ItemDataRole.DisplayRole:
            if attr == "display_name":
                return e.name
            if attr == "source_label":
                return f"{e.source_label} · damaged"
            return "–"
        if role == KEY_ROLE:
            return e.key
        if role == SORT_ROLE:
            return e.name.lower() if attr == "display_name" else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{e.path.name} is damaged and cannot be used:\n{e.damage}\n\nYou can delete it."
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(theme.warning_text())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return format_layer_sizes(v) if all(isinstance(x, int) for x in v) else ", ".join(map(str, v))
    if v is None:
        return "–"
    return str(v)


def _fmt_setting(key: str, v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if key == "train_subset" and v is None:
        return "all"
    return _fmt_value(v)


_METRIC_NAMES = [
    ("test_accuracy", "Test accuracy", True), ("val_accuracy", "Validation accuracy", True),
    ("train_accuracy", "Training accuracy", True), ("test_cost", "Test cost", False),
    ("val_cost", "Validation cost", False), ("train_cost", "Training cost", False),
]


def details_html(e: ModelEntry) -> str:
    """The details pane's content for one model."""
    esc = html.escape
    quiet, warn = theme.secondary_text(), theme.warning_text()     # the theme's, when rendered
    if e.damaged:
        src = "Bundled with digitlab (read-only)" if e.read_only else "In your models folder"
        what = "" if e.read_only else " You can delete it (Delete)."
        return (f"<h2 style='margin-bottom:2px'>{esc(e.path.name)}</h2>"
                f"<div style='color:{warn}'><b>Damaged</b> · {esc(src)}</div>"
                f"<p>This file cannot be used as a model: {esc(e.damage)}</p>"
                f"<p style='color:{quiet}'>It is not offered in the Draw and Evaluate views.{what}</p>"
                f"<h3 style='margin-bottom:2px'>File</h3><p>{esc(str(e.path))}</p>")
    rows = []
    src = ("Bundled with digitlab (read-only)" if e.read_only else
           "A finished run, not saved yet (Rename… saves it)" if e.unsaved else "Your model")
    head = (f"<h2 style='margin-bottom:2px'>{esc(e.display_name)}</h2>"
            f"<div style='color:{quiet}'>{esc(src)} · {esc(e.file_name)}</div>")
    info = e.info
    msg = info.message
    if msg:
        head += f"<p>{esc(msg)}</p>"
    # final metrics
    metrics = e.metrics
    for key, label, pct in _METRIC_NAMES:
        if key in metrics and metrics[key] is not None:
            v = float(metrics[key])
            rows.append((label, f"{100 * v:.2f} %" if pct else f"{v:.4f}"))
    for key, v in metrics.items():
        if key not in {k for k, _, _ in _METRIC_NAMES}:
            rows.append((key.replace("_", " "), _fmt_value(v)))
    for attr, label in (("epochs", "Epochs"), ("steps", "Steps"), ("best_step", "Best step"),
                        ("stop_reason", "Stopped by"), ("elapsed", "Training time")):
        v = getattr(info, attr)
        if v in (None, "", 0) and attr != "stop_reason":
            continue
        if v in (None, ""):
            continue
        if attr == "elapsed":
            v = f"{float(v):.1f} s"
        elif attr == "stop_reason":
            v = str(v).replace("_", " ")
        rows.append((label, _fmt_value(v)))

    def table(title: str, items) -> str:
        if not items:
            return ""
        body = "".join(f"<tr><td width='150' style='padding:1px 14px 1px 0; color:{quiet}'>{esc(str(k))}</td>"
                       f"<td style='padding:1px 0'>{esc(str(v))}</td></tr>" for k, v in items)
        return f"<h3 style='margin-bottom:2px'>{esc(title)}</h3><table cellspacing='0'>{body}</table>"

    settings = [(k.replace("_", " "), _fmt_setting(k, v)) for k, v in e.settings().items()
                if not (k == "name" and not v)]
    facts_of = e.facts()
    facts = [("File", facts_of.get("file", "")), ("Created", e.date_text or "–")]
    for key, label in (("dataset_checksum", "Dataset checksum"), ("digitlab_version", "digitlab version"),
                       ("format_version", "Format version")):
        if key in facts_of:
            v = str(facts_of[key])
            facts.append((label, v[:16] + "…" if key == "dataset_checksum" and len(v) > 16 else v))
    return (head + table("Final metrics", rows) + table("Training settings", settings)
            + table("File", facts))


#: The export formats a save dialog offers, by the dialog's filter text (File > Export weights and
#: the Models view's Export both use this list).
EXPORT_FILTERS = {"NumPy archive (*.npz)": "npz", "JSON (*.json)": "json",
                  "CSV, one file per array (a folder) (*)": "csv",
                  "ONNX model, for onnxruntime (*.onnx)": "onnx"}


def ask_export_weights_path(parent, suggested: str, confirm_replace) -> tuple[str, str]:
    """Where and in which format to export weights: a save dialog with :data:`EXPORT_FILTERS`.

    Returns ``(path, format)``, ``("", format)`` when cancelled. The format's suffix is added when
    the name lacks it (a CSV export is a folder, so a file suffix is dropped); ``confirm_replace``
    asks about a name the dialog never saw because a suffix was added.
    """
    path, chosen = QFileDialog.getSaveFileName(parent, "Export weights", suggested, ";;".join(EXPORT_FILTERS))
    fmt = EXPORT_FILTERS.get(chosen, "npz")
    chosen_path = path
    if path and fmt != "csv" and not path.lower().endswith("." + fmt):
        path += "." + fmt
    if path and fmt == "csv" and path.lower().endswith((".npz", ".json", ".onnx")):
        path = str(Path(path).with_suffix(""))
    if not confirm_replace(chosen_path, path):
        return "", fmt
    return path, fmt


class ModelsView(QWidget):
    """The model library: table, details, open/rename/delete/export/copy, compare in Draw.

    Signals
    -------
    compare_requested(object, object)
        Two library entries the person wants as networks A and B, shown in the Draw view
        ("Compare in Draw"); the window sets its pair, which Evaluate and the report follow too.
    draw_side_requested(object, str)
        One entry for network "A" or "B" ("Use as A" / "Use as B").
    continue_requested(object, int)
        A saved model whose run should go on exactly where it ended, for so many more epochs
        ("Continue training…"); the window hands it to the Train view.
    """

    compare_requested = Signal(object, object)
    draw_side_requested = Signal(object, str)
    continue_requested = Signal(object, int)

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library

        # replaceable dialogs: tests (and the main window) may swap these
        self.ask_open_path: Callable[[], str] = self._dialog_open_path
        self.ask_text: Callable[[str, str, str], str | None] = self._dialog_text
        self.ask_confirm: Callable[[str, str], bool] = self._dialog_confirm
        self.ask_export_path: Callable[[str], tuple[str, str]] = self._dialog_export_path
        self.ask_save_path: Callable[[str], str] = self._dialog_save_path
        self.ask_more_epochs: Callable[[str], int | None] = self._dialog_more_epochs
        self.show_error: Callable[..., object] = lambda title, text, details=None: messages.warn(
            self, title, text, details)
        self.show_info: Callable[[str], Any] = self._status

        self._selected_once = False
        self._build_ui()
        self.library_events = LibraryEvents(library, self)
        self.library_events.changed.connect(self._on_library_changed)
        self._on_library_changed()

    # ================================================================== UI
    def _build_ui(self) -> None:
        def button(text: str, tip: str, slot: Callable[[], Any]) -> QPushButton:
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False: call_guarded(f"ModelsView.{text}", slot))
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
            return b

        self.open_button = button("Open .h5…", "Add a model file to your library (Ctrl+O)",
                                  self.open_model_file)
        self.rename_button = button("Rename…", "Give the selected model a new name (F2)",
                                    self.rename_selected)
        self.delete_button = button("Delete…", "Delete the selected model's file (Delete)",
                                    self.delete_selected)
        self.export_button = button("Export weights…", "Write the weights as .npz, CSV or JSON, or the "
                                    "network as ONNX (for onnxruntime)",
                                    self.export_selected)
        self.copy_button = button("Save copy…", "Copy the model's .h5 file somewhere else",
                                  self.save_copy_selected)
        self.compare_button = button("Compare in Draw", "Compare the two selected models in the Draw view "
                                     "(select two rows with Ctrl+click)", self.compare_selected)
        self.use_a_button = button("Use as A",
                                   "Make the selected model network A (Draw, Evaluate and the report use it)",
                                   lambda: self.use_selected_in_draw("A"))
        self.use_b_button = button("Use as B",
                                   "Make the selected model network B (Draw, Evaluate and the report use it)",
                                   lambda: self.use_selected_in_draw("B"))
        self.continue_button = button("Continue training…", "Go on training the selected model's run "
                                      "exactly where it ended (its optimiser state, step and shuffle "
                                      "position too), as if it had never stopped",
                                      self.continue_selected)
        self.compare_button.setDefault(True)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        for b in (self.open_button, self.rename_button, self.delete_button, self.export_button,
                  self.copy_button, self.continue_button):
            bar.addWidget(b)
        bar.addStretch(1)
        for b in (self.use_a_button, self.use_b_button, self.compare_button):
            bar.addWidget(b)

        self.table_model = LibraryTableModel(self.library, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.table_model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        hh = self.table.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Every column as wide as its contents, the name first: a narrow window (or a scale factor
        # of 1.5) scrolls the last columns sideways rather than cutting names to "repo…"; the last
        # column takes what room is left.
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        hh.setMinimumSectionSize(48)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection_changed())
        self.table.doubleClicked.connect(
            lambda _i: call_guarded("ModelsView.compare", self.use_selected_in_draw, "A"))
        self.table.setAccessibleName("Model library")

        self.empty_label = QLabel("No models yet. Train one in the Train view, or open a .h5 file with "
                                  "“Open .h5…”.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("padding: 20px;")
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.problems_label = QLabel("")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(f"color: {theme.warning_text()};")
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems_label.hide()
        theme.on_palette_change(self, self._restyle)

        self.status_label = QLabel("")
        self.status_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status_label.setWordWrap(True)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(self.table, 1)
        left_lay.addWidget(self.empty_label, 1)
        left_lay.addWidget(self.problems_label)
        left_lay.addWidget(self.status_label)

        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.setAccessibleName("Model details")
        self.details.setMinimumWidth(300)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("modelsSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([780, 480])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addLayout(bar)
        lay.addWidget(self.splitter, 1)

        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for seq, slot in ((QKeySequence(Qt.Key.Key_F2), self.rename_selected),
                          (QKeySequence(Qt.Key.Key_Delete), self.delete_selected)):
            sc = QShortcut(seq, self.table)
            sc.setContext(ctx)
            sc.activated.connect(lambda s=slot: call_guarded("ModelsView.shortcut", s))

    # ================================================================== selection
    def selected_entries(self) -> list[ModelEntry]:
        """The selected models, in the table's order."""
        rows = sorted({self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()})
        return [e for e in (self.table_model.entry(r) for r in rows) if e is not None]

    def selected_entry(self) -> ModelEntry | None:
        sel = self.selected_entries()
        return sel[0] if sel else None

    def select(self, *entries: ModelEntry | str) -> None:
        """Select these models (entries, keys, names or paths) in the table."""
        sm = self.table.selectionModel()
        sm.clearSelection()
        first = True
        for item in entries:
            e = self.library.get(item)
            if e is None:
                continue
            row = self.table_model.row_of(e.key)
            if row < 0:
                continue
            idx = self.proxy.mapFromSource(self.table_model.index(row, 0))
            flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
            sm.select(idx, flags)
            if first:
                self.table.setCurrentIndex(idx)
                sm.select(idx, flags)
                first = False
        self._on_selection_changed()

    def _restyle(self) -> None:
        """The theme changed: the warning and the details' notes in its colours."""
        self.problems_label.setStyleSheet(f"color: {theme.warning_text()};")
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        sel = self.selected_entries()
        one = len(sel) == 1
        e = sel[0] if sel else None
        writable = one and e is not None and not e.read_only and not e.damaged
        usable = one and e is not None and not e.damaged
        self.rename_button.setEnabled(writable)
        self.delete_button.setEnabled(bool(sel) and all(not x.read_only for x in sel))
        ro_tip = "Bundled models are read-only: use “Save copy…” to make your own copy"
        self.rename_button.setToolTip("Give the selected model a new name (F2)" if writable or not one
                                      else ro_tip)
        self.delete_button.setToolTip("Delete the selected model's file (Delete)"
                                      if self.delete_button.isEnabled() or not sel else ro_tip)
        if one and e is not None and e.damaged:
            self.rename_button.setToolTip("A damaged file cannot be renamed; you can delete it")
        self.export_button.setEnabled(usable)
        self.copy_button.setEnabled(usable)
        self.continue_button.setEnabled(usable and e.path is not None)
        self.use_a_button.setEnabled(usable)
        self.use_b_button.setEnabled(usable)
        self.compare_button.setEnabled(len(sel) == 2 and not any(x.damaged for x in sel))
        if e is None:
            if not self.library.listing():
                self.details.setHtml(f"<p style='color:{theme.secondary_text()}'>No models yet.</p>")
            else:
                self.details.setHtml(f"<p style='color:{theme.secondary_text()}'>Select a model to see its "
                                     "settings and final metrics. Select two (Ctrl+click) to compare them "
                                     "in the Draw view.</p>")
        elif len(sel) == 2:
            self.details.setHtml(details_html(sel[0]) + "<hr/>" + details_html(sel[1]))
        else:
            self.details.setHtml(details_html(e))

    def _on_library_changed(self) -> None:
        keys = [e.key for e in self.selected_entries()] if hasattr(self, "table") else []
        self.table_model.reload()
        empty = not self.library.listing()
        self.table.setVisible(not empty)
        self.empty_label.setVisible(empty)
        errors = self.library.errors
        if errors:
            n = len(errors)
            self.problems_label.setText(f"{n} file{'s' if n != 1 else ''} in the model folders "
                                        f"{'are' if n != 1 else 'is'} damaged and cannot be used (marked "
                                        "“damaged” in the list; select one to see why).")
            self.problems_label.show()
        else:
            self.problems_label.hide()
        still = [k for k in keys if self.library.get(k) is not None]
        if still:
            self.select(*still)
        elif not keys and not self._selected_once and self.library.listing():
            self._selected_once = True          # show the first model's details on first sight
            self.select(self.table_model.entry(self.proxy.mapToSource(self.proxy.index(0, 0)).row()))
        else:
            self._on_selection_changed()

    # ================================================================== actions
    def open_model_file(self, path: str | Path | None = None) -> ModelEntry | None:
        """Load a model file and add it to your library (copied into your models folder).

        A corrupt or foreign file shows the core's message and changes nothing.
        """
        if path is None:
            path = self.ask_open_path()
            if not path:
                return None
        try:
            entry = self.library.import_file(path)
        except Exception as exc:  # noqa: BLE001 - shown to the person; the library is unchanged
            log.info("Could not open model %s: %s", path, exc)
            self.show_error("Cannot open the model", str(exc), messages.error_details(exc))
            return None
        self.select(entry)
        self.show_info(f"“{entry.display_name}” is in your library ({entry.file_name}).")
        return entry

    def rename_selected(self, new_name: str | None = None) -> ModelEntry | None:
        e = self.selected_entry()
        if e is None:
            return None
        if e.read_only:
            self.show_error("Cannot rename", f"“{e.name}” ships with digitlab and is read-only. Use "
                            "“Save copy…” to make your own copy, then rename that.")
            return None
        if new_name is None:
            new_name = self.ask_text("Rename model", f"New name for “{e.name}”:", e.name)
            if new_name is None:
                return None
        try:
            renamed = self.library.rename(e, new_name)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Cannot rename", str(exc))
            return None
        self.select(renamed)
        self.show_info(f"Renamed to “{renamed.name}”.")
        return renamed

    def delete_selected(self, confirmed: bool | None = None) -> bool:
        sel = self.selected_entries()
        if not sel:
            return False
        ro = [e for e in sel if e.read_only]
        if ro:
            self.show_error("Cannot delete", f"“{ro[0].name}” ships with digitlab and is read-only; it "
                            "cannot be deleted.")
            return False
        names = ", ".join(f"“{e.name}”" for e in sel)
        if confirmed is None:
            what = f"the model {names}" if len(sel) == 1 else f"{len(sel)} models: {names}"
            if all(e.unsaved for e in sel):
                consequence = "The run was never saved, so what it learned is lost"
            elif any(e.unsaved for e in sel):
                consequence = "Files are removed from your models folder and unsaved runs are lost"
            else:
                consequence = "The file is removed from your models folder"
            confirmed = self.ask_confirm("Delete model", f"Delete {what}?\n\n{consequence}; "
                                         "this cannot be undone.")
        if not confirmed:
            return False
        for e in sel:
            try:
                self.library.delete(e)
            except Exception as exc:  # noqa: BLE001
                self.show_error("Cannot delete", str(exc))
                return False
        self.show_info(f"Deleted {names}.")
        return True

    def export_selected(self, path: str | Path | None = None, fmt: str | None = None) -> Path | None:
        e = self.selected_entry()
        if e is None:
            return None
        # a CSV export may replace a folder only when the person chose it in the save dialog,
        # which asked before replacing; a path given by the caller never replaces a folder
        confirmed = path is None
        if path is None:
            path, fmt = self.ask_export_path(e.name)
            if not path:
                return None
        try:
            written = self.library.export_weights(e, path, fmt, overwrite=confirmed)
        except Exception as exc:  # noqa: BLE001
            # a message box, never a crash: a bad path, a full disk, the onnx extra not installed
            self.show_error("Cannot export the weights", str(exc))
            return None
        what = "the network" if Path(written).suffix.lower() == ".onnx" else "the weights"
        self.show_info(f"Exported {what} of “{e.name}” to {written}.")
        return written

    def save_copy_selected(self, path: str | Path | None = None) -> Path | None:
        e = self.selected_entry()
        if e is None:
            return None
        if path is None:
            path = self.ask_save_path(e.path.name if e.path is not None else f"{safe_file_stem(e.name)}.h5")
            if not path:
                return None
        try:
            written = self.library.save_copy(e, path)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Cannot save a copy", str(exc))
            return None
        self.show_info(f"Saved a copy of “{e.name}” as {written}.")
        return written

    def compare_selected(self) -> bool:
        sel = self.selected_entries()
        if len(sel) != 2:
            self.show_info("Select two models (Ctrl+click) to compare them in the Draw view.")
            return False
        damaged = [e for e in sel if e.damaged]
        if damaged:
            self.show_info(f"{damaged[0].path.name} is damaged and cannot be compared: {damaged[0].damage}")
            return False
        self.compare_requested.emit(sel[0], sel[1])
        self.show_info(f"Comparing “{sel[0].display_name}” (A) and “{sel[1].display_name}” (B) "
                       "in the Draw view.")
        return True

    def use_selected_in_draw(self, side: str) -> bool:
        e = self.selected_entry()
        if e is None:
            return False
        if e.damaged:
            self.show_info(f"{e.path.name} is damaged and cannot be used: {e.damage}")
            return False
        self.draw_side_requested.emit(e, side)
        self.show_info(f"“{e.display_name}” is network {side} (Draw, Evaluate and the report).")
        return True

    def continue_selected(self, more_epochs: int | None = None) -> bool:
        """Ask for the epochs more (unless given) and request that the selected saved model's run
        continue; False when nothing suitable is selected or the person cancels."""
        e = self.selected_entry()
        if e is None or e.damaged:
            return False
        if e.path is None:
            self.show_info("Save this run first (Train > Save model): a run continues from its file.")
            return False
        if more_epochs is None:
            more_epochs = self.ask_more_epochs(e.display_name)
            if not more_epochs:
                return False
        self.continue_requested.emit(e, int(more_epochs))
        self.show_info(f"Continuing “{e.display_name}” for {more_epochs} more epoch"
                       f"{'s' if more_epochs != 1 else ''} in the Train view.")
        return True

    # ================================================================== dialogs
    def _dialog_more_epochs(self, name: str) -> int | None:
        value, ok = QInputDialog.getInt(self, "Continue training", f"Continue “{name}” for how many more "
                                        "epochs?", 5, 1, 100_000)
        return value if ok else None

    def _status(self, text: str) -> None:
        self.status_label.setText(text)

    def _start_dir(self) -> str:
        try:
            return str(self.library.user_dir())
        except Exception:  # noqa: BLE001
            return str(Path.home())

    def _dialog_open_path(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._start_dir(),
                                              "digitlab models (*.h5 *.hdf5);;All files (*)")
        return path

    def _dialog_text(self, title: str, label: str, text: str) -> str | None:
        value, ok = QInputDialog.getText(self, title, label, text=text)
        return value if ok else None

    def _dialog_confirm(self, title: str, text: str) -> bool:
        return messages.ask_yes_no(self, title, text)

    def _dialog_export_path(self, name: str) -> tuple[str, str]:
        suggested = str(Path(self._export_dir()) / f"{safe_file_stem(name)}.npz")
        return ask_export_weights_path(self, suggested, self._confirm_replace)

    def _dialog_save_path(self, filename: str) -> str:
        suggested = str(Path(self._export_dir()) / filename)
        path, _ = QFileDialog.getSaveFileName(self, "Save a copy of the model", suggested,
                                              "digitlab models (*.h5)")
        chosen_path = path
        if path and not path.lower().endswith(".h5"):   # the library stores models as .h5
            path += ".h5"
        return path if self._confirm_replace(chosen_path, path) else ""

    def _confirm_replace(self, chosen: str, final: str) -> bool:
        """The save dialog asked about replacing ``chosen``; when a suffix was added afterwards,
        ask about ``final`` here, since the dialog never saw that name."""
        if not final or final == chosen or not Path(final).exists():
            return True
        return self.ask_confirm("Replace?", f"{Path(final).name} already exists in "
                                f"{Path(final).parent}.\n\nReplace it?")

    def _export_dir(self) -> str:
        docs = Path.home() / "Documents"
        return str(docs if docs.is_dir() else Path.home())
