"""The training settings form of the Train view: every field of ``TrainConfig``, validated as typed.

Each field's text is checked as it is typed by the core (``TrainConfig.setting_from_text`` and
``parse_layer_sizes``: the ranges and the sentences live in ``training/config.py`` alone), and a
bad value is explained in words (the field turns red, the reason is shown in its tooltip and in the
line under the form); the whole configuration is then checked by ``TrainConfig.validate()``, so
rules across fields and the limits that only catch typos come from the core too, not from a second
copy here. ``validity_changed(bool)`` drives the Start button.

The form never trains and never touches files; :meth:`SettingsForm.config` hands a ``TrainConfig``
to whoever starts a run, and :meth:`values` / :meth:`set_values` give a plain dict for QSettings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from digitlab.data.personal import default_personal_set_path
from digitlab.gui import theme
from digitlab.gui.train_worker import FineTuning
from digitlab.nn.activations import ACTIVATION_WORDS
from digitlab.training import PRESETS, TrainConfig, format_layer_sizes
from digitlab.training.config import parse_dropout, parse_layer_sizes
from digitlab.training.fine_tune import fine_tune_config
from digitlab.training.mixing import DEFAULT_EXTRA_SHARE, MAX_EXTRA_SHARE

__all__ = ["SettingsForm", "parse_layer_sizes", "PRESET_LABELS"]

# Preset key -> words on the button / menu entry.
PRESET_LABELS = {
    "report": "Report",
    "best": "Best",
    "report-bn": "Report + batch norm",
    "report-l2": "Report + L2",
    "report-l2-bn": "Report + L2 + batch norm",
    "pad": "Pad (augmented, no L2)",
    "pad-l2": "Pad + L2 (augmented)",
}
# Presets that are the same settings as another one under a second name (not offered twice).
_ALIASES = {"report-no-l2"}

_ACTIVATION_HELP = ("The hidden layers' activation. ReLU: max(z, 0) (the report's). Leaky ReLU: z, or\n"
                    "0.01·z below 0, so a unit never stops learning. tanh: from -1 to 1. Sigmoid: from 0\n"
                    "to 1. The output layer is always softmax.")

_INVALID_STYLE = "background-color: #ffe4e4; border: 1px solid #d03030;"

DATASETS = [("MNIST (bundled)", "mnist"), ("Fashion-MNIST", "fashion-mnist")]
_FOLDER_ITEM = "Folder…"
FRESH_START = "Fresh initialisation"
_FILE_ITEM = "File…"


def _setting(key: str) -> Callable[[str], Any]:
    """The parser of one field: TrainConfig's own check of the typed text, in its words."""
    return lambda text: TrainConfig.setting_from_text(key, text)


def _fmt_float(value: float) -> str:
    return f"{value:g}"


def _fmt_rates(value) -> str:
    """Dropout rates as typed: "0.2" or "0.2,0.1,0"; empty for none. QSettings may hand back a
    list of texts, or one text for a one-item list: shown as they are, then checked like typing."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return ",".join(f"{r:g}" if isinstance(r, (int, float)) else str(r) for r in value or ())


@dataclass
class _TextField:
    key: str
    edit: QLineEdit
    parse: Callable[[str], Any]
    fmt: Callable[[Any], str]
    help: str
    error: str | None = None


class SettingsForm(QWidget):
    """All training settings; ``changed()`` on every edit, ``validity_changed(bool)`` when it flips."""

    changed = Signal()
    validity_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, _TextField] = {}
        self._forms: list[QFormLayout] = []
        self._valid = True
        self._loading = False
        self._folder: str | None = None
        #: Replaced in tests; returns a folder path or "" when the person cancels.
        self.ask_folder: Callable[[], str] = lambda: QFileDialog.getExistingDirectory(
            self, "Choose a folder with MNIST-format IDX files"
        )
        #: Replaced in tests; returns a .npz path or "" when the person cancels.
        self.ask_extra_file: Callable[[], str] = lambda: QFileDialog.getOpenFileName(
            self, "Choose digits to train on as well (x and y, or x_test and y_test)", "",
            "Digits (*.npz)")[0]
        # starting models offered: path -> (name, its training settings)
        self._start_models: dict[str, tuple[str, TrainConfig]] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)

        # presets: the two that matter one click away, the rest behind a menu
        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Preset:"))
        self.preset_buttons: dict[str, QPushButton] = {}
        for key in ("report", "best"):
            button = QPushButton(PRESET_LABELS[key])
            button.setToolTip(self._preset_tooltip(key))
            button.clicked.connect(lambda _=False, k=key: self.apply_preset(k))
            preset_row.addWidget(button)
            self.preset_buttons[key] = button
        more = QToolButton()
        more.setText("More")
        more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(more)
        for key in PRESETS:
            if key in ("report", "best") or key in _ALIASES:
                continue
            action = menu.addAction(PRESET_LABELS.get(key, key))
            action.setToolTip(self._preset_tooltip(key))
            action.triggered.connect(lambda _=False, k=key: self.apply_preset(k))
        more.setMenu(menu)
        self.more_presets = more
        preset_row.addWidget(more)
        preset_row.addStretch(1)
        outer.addLayout(preset_row)

        # --- network ---
        net = self._group(outer, "Network")
        self._text(net, "layer_sizes", "Layer sizes", parse_layer_sizes,
                   format_layer_sizes,
                   "Units per layer from input to output, separated by '-' (784 in, 10 out).")
        self.batch_norm = QCheckBox("Batch normalisation")
        self.batch_norm.setToolTip("Normalise every hidden layer over the batch (learnable scale and shift)")
        self.batch_norm.toggled.connect(self._on_edit)
        net.addRow("", self.batch_norm)
        self.activation = QComboBox()
        for key, words in ACTIVATION_WORDS.items():
            self.activation.addItem(words[:1].upper() + words[1:], key)
        self.activation.setToolTip(_ACTIVATION_HELP)
        self.activation.currentIndexChanged.connect(self._on_edit)
        net.addRow("Activation", self.activation)
        self._text(net, "dropout", "Dropout", parse_dropout, _fmt_rates,
                   "Inverted dropout in training: the share of each hidden layer's units switched off\n"
                   "at random for every example of every step, one rate for all hidden layers (0.2) or\n"
                   "one per hidden layer (0.2,0.1,0); each in [0, 1). Off when predicting. Empty = none.",
                   placeholder="none")
        self.init = QComboBox()
        self.init.addItem("He (std √(2/fan-in))", "he")
        self.init.addItem("Normal (fixed std)", "normal")
        self.init.currentIndexChanged.connect(self._on_edit)
        net.addRow("Initialisation", self.init)
        self._text(net, "init_std", "Init std", _setting("init_std"), _fmt_float,
                   "Standard deviation of the Gaussian initial weights (only for 'Normal').")
        self._text(net, "seed", "Seed", _setting("seed"), str,
                   "Seeds initialisation and shuffling: the same settings give the same run.")

        # --- optimisation ---
        opt = self._group(outer, "Optimisation")
        self.optimizer = QComboBox()
        for label, value in (("SGD (the report's)", "sgd"), ("SGD + momentum", "momentum"), ("Adam", "adam")):
            self.optimizer.addItem(label, value)
        self.optimizer.currentIndexChanged.connect(self._on_edit)
        opt.addRow("Optimiser", self.optimizer)
        self._text(opt, "learning_rate", "Learning rate", _setting("learning_rate"), _fmt_float,
                   "Step size of gradient descent (the report: 0.009).")
        self._text(opt, "momentum", "Momentum", _setting("momentum"),
                   _fmt_float, "Momentum coefficient in [0, 1) (only for SGD + momentum).")
        self.schedule = QComboBox()
        for label, value in (("Constant", "constant"), ("Cosine decay", "cosine"), ("Step decay", "step")):
            self.schedule.addItem(label, value)
        self.schedule.currentIndexChanged.connect(self._on_edit)
        opt.addRow("Schedule", self.schedule)
        self._text(opt, "batch_size", "Batch size", _setting("batch_size"), str,
                   "Examples per gradient step (the report: 256).")
        self._text(opt, "l2", "L2 lambda", _setting("l2"), _fmt_float,
                   "Weight decay: cost + λ/(2m)·Σw², m = batch size (0 = off; the report's L2 runs: 5).")

        # --- stopping ---
        stop = self._group(outer, "Early stopping")
        self._text(stop, "eval_every", "Validate every", _setting("eval_every"), str,
                   "Steps between two validation checks (one point on the plots).", suffix="steps")
        self._text(stop, "patience", "Patience", _setting("patience"), str,
                   "Stop when the validation cost has not improved for this many steps.", suffix="steps")
        self._text(stop, "tol", "Tolerance", _setting("tol"), _fmt_float,
                   "An improvement must exceed this to count (0 = any improvement).")
        self._text(stop, "max_epochs", "Max epochs", _setting("max_epochs"), str,
                   "Upper bound on every run, early stopping or not.")

        # --- data ---
        data = self._group(outer, "Data")
        self.dataset = QComboBox()
        for label, value in DATASETS:
            self.dataset.addItem(label, value)
        self.dataset.addItem(_FOLDER_ITEM, None)
        self.dataset.activated.connect(self._on_dataset_activated)
        self.dataset.currentIndexChanged.connect(self._on_edit)
        data.addRow("Dataset", self.dataset)
        self._text(data, "n_validation", "Validation set", _setting("n_validation"), str,
                   "Images held out of the training file for early stopping (the report: 12000).",
                   suffix="images")
        self._text(data, "train_subset", "Training subset", _setting("train_subset"),
                   lambda v: "" if v is None else str(v),
                   "Train on only this many images for a quick run; empty = all of them.",
                   suffix="images", placeholder="all")
        self.augment = QCheckBox("Augment the training images")
        self.augment.setToolTip(
            "Every epoch, move, turn, scale, slant, thicken or thin and gently warp a fresh random\n"
            "share of the training images (the share below), so that the network reads digits\n"
            "drawn off-centre, tilted or with another pen. Validation and test images stay as they are.")
        self.augment.toggled.connect(self._on_edit)
        data.addRow("", self.augment)
        self._text(data, "augment_fraction", "Augmented share",
                   _setting("augment_fraction"), _fmt_float,
                   "The fraction of the training images transformed anew each epoch, in (0, 1] "
                   "(the pad presets: 0.5).")

        # --- fine-tuning: start from a trained model, train on a person's digits as well ---
        tune = self._group(outer, "Fine-tuning")
        self.start_from = QComboBox()
        self.start_from.addItem(FRESH_START, None)
        self.start_from.setToolTip(
            "Start from a trained model's weights instead of random ones. Its layers and batch norm\n"
            "are kept, and its settings are filled in with fine-tuning values: (Adam) a tenth of its\n"
            "learning rate, a constant schedule, at most 5 epochs, patience for the whole run.")
        self.start_from.currentIndexChanged.connect(self._on_start_from_changed)
        tune.addRow("Start from", self.start_from)
        self.extra_data = QComboBox()
        self.extra_data.addItem("None", None)
        personal = default_personal_set_path()
        self.extra_data.addItem(f"My digits ({personal.name})", str(personal))
        self.extra_data.setItemData(1, str(personal), Qt.ItemDataRole.ToolTipRole)
        self.extra_data.addItem(_FILE_ITEM, "")
        self.extra_data.setToolTip(
            "Digits to train on besides the dataset (the Draw view's My digits, or any .npz with x and\n"
            "y): repeated to make up the share below of every epoch. Validation and test stay the\n"
            "dataset's; the summary gives the accuracy on these digits before and after.")
        self.extra_data.activated.connect(self._on_extra_activated)
        self.extra_data.currentIndexChanged.connect(self._on_edit)
        tune.addRow("Extra data", self.extra_data)
        self.extra_share = QSpinBox()
        self.extra_share.setRange(1, int(round(MAX_EXTRA_SHARE * 100)))
        self.extra_share.setValue(int(round(DEFAULT_EXTRA_SHARE * 100)))
        self.extra_share.setSuffix(" % of every epoch")
        self.extra_share.setToolTip("How much of every epoch is extra digits (10 %: as much as one digit "
                                    "class of MNIST)")
        self.extra_share.valueChanged.connect(self._on_edit)
        tune.addRow("Extra share", self.extra_share)

        self._align_labels()

        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(theme.css("color: #b00020;"))
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        outer.addWidget(self.problem)
        outer.addStretch(1)

        self.set_config(PRESETS["report"])

    # ----------------------------------------------------------------- construction helpers
    def _group(self, outer: QVBoxLayout, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        outer.addWidget(box)
        self._forms.append(form)
        return form

    def _align_labels(self) -> None:
        """One label column width for every group, so the fields line up across groups."""
        labels = []
        for form in self._forms:
            for row in range(form.rowCount()):
                item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if item is not None and item.widget() is not None:
                    labels.append(item.widget())
        width = max((lab.sizeHint().width() for lab in labels), default=0)
        for lab in labels:
            lab.setMinimumWidth(width)
            if isinstance(lab, QLabel):
                lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def _text(self, form: QFormLayout, key: str, label: str, parse, fmt, help: str,
              suffix: str | None = None, placeholder: str | None = None) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(key)
        edit.setToolTip(help)
        if placeholder:
            edit.setPlaceholderText(placeholder)
        edit.textChanged.connect(self._on_edit)
        self._fields[key] = _TextField(key, edit, parse, fmt, help)
        if suffix:
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(edit, 1)
            unit = QLabel(suffix)
            unit.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
            h.addWidget(unit)
            form.addRow(label, row)
        else:
            form.addRow(label, edit)
        return edit

    @staticmethod
    def _preset_tooltip(key: str) -> str:
        c = PRESETS[key]
        return (f"{format_layer_sizes(c.layer_sizes)}, {c.optimizer}, lr {c.learning_rate:g}, "
                f"batch {c.batch_size}, L2 {c.l2:g}, batch norm {'on' if c.batch_norm else 'off'}, "
                f"schedule {c.schedule}"
                + (f", {ACTIVATION_WORDS[c.activation]}" if c.activation != "relu" else "")
                + (f", dropout {_fmt_rates(c.dropout)}" if c.dropout else "")
                + (f", augmented ({c.augment_fraction:.0%} of images each epoch)" if c.augment else ""))

    def field(self, key: str) -> QLineEdit:
        """The line edit of a text field (``"learning_rate"``, ``"layer_sizes"``, ...)."""
        return self._fields[key].edit

    # ----------------------------------------------------------------- values
    def set_config(self, config: TrainConfig) -> None:
        self.set_values(config.to_dict())

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill the form from a dict (``TrainConfig.to_dict()`` or QSettings); unknown keys ignored."""
        defaults = TrainConfig().to_dict()
        merged = {**defaults, **{k: v for k, v in values.items() if k in defaults}}
        self._loading = True
        try:
            for key, f in self._fields.items():
                try:
                    f.edit.setText(f.fmt(merged[key]))
                except (TypeError, ValueError):
                    f.edit.setText(str(merged[key]))
            self.batch_norm.setChecked(bool(merged["batch_norm"]))
            self._set_combo(self.activation, merged["activation"])
            self.augment.setChecked(bool(merged["augment"]))
            self._set_combo(self.init, merged["init"])
            self._set_combo(self.optimizer, merged["optimizer"])
            self._set_combo(self.schedule, merged["schedule"])
            self._set_dataset(str(merged["dataset"]))
            self._lock_architecture()
        finally:
            self._loading = False
        self._on_edit()

    def values(self) -> dict[str, Any]:
        """The form as a dict of raw field texts parsed where possible (for QSettings)."""
        out: dict[str, Any] = {}
        for key, f in self._fields.items():
            try:
                out[key] = f.parse(f.edit.text())
            except ValueError:
                out[key] = f.edit.text()
        for key in ("layer_sizes", "dropout"):
            if isinstance(out.get(key), tuple):
                out[key] = list(out[key])
        out["batch_norm"] = self.batch_norm.isChecked()
        out["activation"] = self.activation.currentData()
        out["augment"] = self.augment.isChecked()
        out["init"] = self.init.currentData()
        out["optimizer"] = self.optimizer.currentData()
        out["schedule"] = self.schedule.currentData()
        out["dataset"] = self.dataset_source()
        return out

    def dataset_source(self) -> str:
        data = self.dataset.currentData()
        return data if data is not None else (self._folder or "mnist")

    def config(self) -> TrainConfig:
        """The settings as a validated ``TrainConfig``; ValueError with the reason if invalid."""
        kwargs: dict[str, Any] = {}
        for key, f in self._fields.items():
            kwargs[key] = f.parse(f.edit.text())
        kwargs["batch_norm"] = self.batch_norm.isChecked()
        kwargs["activation"] = self.activation.currentData()
        kwargs["augment"] = self.augment.isChecked()
        kwargs["init"] = self.init.currentData()
        kwargs["optimizer"] = self.optimizer.currentData()
        kwargs["schedule"] = self.schedule.currentData()
        kwargs["dataset"] = self.dataset_source()
        config = TrainConfig.from_dict({**TrainConfig().to_dict(), **kwargs})
        config.validate()
        return config

    def is_valid(self) -> bool:
        return self._valid

    def problems(self) -> list[str]:
        """Every reason the form is invalid, in words (empty when it is valid)."""
        reasons = [f"{self._label_of(f.key)}: {f.error}" for f in self._fields.values() if f.error]
        if not reasons:
            try:
                self.config()
            except (ValueError, TypeError) as exc:
                reasons.append(str(exc))
        return reasons

    def apply_preset(self, key: str) -> None:
        self.set_config(PRESETS[key])

    # ----------------------------------------------------------------- fine-tuning
    def set_start_models(self, models: list[tuple[str, str, TrainConfig]]) -> None:
        """Offer these models (``(name, path, settings)``) under "Start from", after "Fresh
        initialisation"; the current choice stays if it is still offered."""
        current = self.start_from.currentData()
        self._start_models = {str(path): (name, config) for name, path, config in models}
        self.start_from.blockSignals(True)
        try:
            self.start_from.clear()
            self.start_from.addItem(FRESH_START, None)
            for name, path, config in models:
                self.start_from.addItem(name, str(path))
                self.start_from.setItemData(self.start_from.count() - 1,
                                            f"{path}\n{config.describe()}", Qt.ItemDataRole.ToolTipRole)
            index = self.start_from.findData(current) if current is not None else 0
            self.start_from.setCurrentIndex(max(index, 0))
        finally:
            self.start_from.blockSignals(False)
        if current is not None and self.start_from.currentData() is None:
            self._lock_architecture()          # the model it started from is gone: fresh again
            self._on_edit()

    def choose_start(self, path: str | None) -> None:
        """Choose the starting model by its path (None: fresh initialisation)."""
        index = self.start_from.findData(str(path)) if path is not None else 0
        if index < 0:
            raise ValueError(f"{path} is not among the models offered to start from")
        self.start_from.setCurrentIndex(index)

    def choose_extra_data(self, path: str | None) -> None:
        """Train on these digits as well (None: the dataset alone)."""
        if path is None:
            self.extra_data.setCurrentIndex(0)
        elif str(path) == self.extra_data.itemData(1):
            self.extra_data.setCurrentIndex(1)
        else:
            self._set_extra_file(str(path))

    def fine_tuning(self) -> FineTuning:
        """What the run starts from and mixes in, for the worker."""
        start = self.start_from.currentData()
        extra = self.extra_data.currentData() or None
        return FineTuning(start_path=Path(start) if start else None,
                          start_name=self._start_models[start][0] if start else "",
                          extra_path=Path(extra) if extra else None,
                          extra_share=self.extra_share.value() / 100.0)

    def _on_start_from_changed(self, _index: int) -> None:
        path = self.start_from.currentData()
        if path is not None:
            # the model's own settings with the fine-tuning defaults, as the command line does
            self.set_config(fine_tune_config(self._start_models[path][1]))
        else:
            self._lock_architecture()
            self._on_edit()

    def _lock_architecture(self) -> None:
        """A fine-tuned network keeps its model's layers and batch norm: shown, not editable."""
        path = self.start_from.currentData()
        locked = path is not None
        if locked:
            config = self._start_models[path][1]
            loading, self._loading = self._loading, True
            try:
                self.field("layer_sizes").setText(format_layer_sizes(config.layer_sizes))
                self.batch_norm.setChecked(bool(config.batch_norm))
                self._set_combo(self.activation, config.activation)
            finally:
                self._loading = loading
        why = "Set by the model it starts from (Fine-tuning > Start from)." if locked else None
        for widget in (self.field("layer_sizes"), self.batch_norm, self.activation):
            widget.setEnabled(not locked)
        self.batch_norm.setToolTip(
            why or "Normalise every hidden layer over the batch (learnable scale and shift)")
        self.activation.setToolTip(why or _ACTIVATION_HELP)
        if why:
            self.field("layer_sizes").setToolTip(why)

    def _set_extra_file(self, path: str) -> None:
        index = self.extra_data.count() - 1      # the file entry is always last
        self.extra_data.setItemText(index, f"File: {Path(path).name}")
        self.extra_data.setItemData(index, path)
        self.extra_data.setItemData(index, path, Qt.ItemDataRole.ToolTipRole)
        self.extra_data.setCurrentIndex(index)

    def _on_extra_activated(self, index: int) -> None:
        if index != self.extra_data.count() - 1:
            return
        path = self.ask_extra_file()
        if path:
            self._set_extra_file(path)
            self._on_edit()
        elif not self.extra_data.itemData(index):
            self.extra_data.setCurrentIndex(0)

    # ----------------------------------------------------------------- validation
    def _label_of(self, key: str) -> str:
        return {"l2": "L2 lambda", "tol": "Tolerance", "eval_every": "Validate every",
                "augment_fraction": "Augmented share"}.get(
            key, key.replace("_", " ").capitalize())

    def _on_edit(self, *_args) -> None:
        if self._loading:
            return
        for f in self._fields.values():
            try:
                f.parse(f.edit.text())
                f.error = None
            except ValueError as exc:
                f.error = str(exc)
            f.edit.setStyleSheet(theme.css(_INVALID_STYLE) if f.error else "")
            f.edit.setToolTip(f"{f.help}\n\n⚠ {f.error}" if f.error else f.help)
        # fields that only matter for some choices
        self.field("init_std").setEnabled(self.init.currentData() == "normal")
        self.field("momentum").setEnabled(self.optimizer.currentData() == "momentum")
        self.field("augment_fraction").setEnabled(self.augment.isChecked())
        self.extra_share.setEnabled(bool(self.extra_data.currentData()))
        if self.start_from.currentData() is not None:
            self.field("layer_sizes").setToolTip(
                "Set by the model it starts from (Fine-tuning > Start from).")
        reasons = self.problems()
        if reasons:
            self.problem.setText("Cannot train yet: " + "; ".join(reasons))
            self.problem.show()
        else:
            self.problem.hide()
        valid = not reasons
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        self.changed.emit()

    # ----------------------------------------------------------------- combos
    @staticmethod
    def _set_combo(combo: QComboBox, value: Any) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    def _set_dataset(self, source: str) -> None:
        index = self.dataset.findData(source)
        if index >= 0:
            self.dataset.setCurrentIndex(index)
            return
        self._folder = source
        folder_index = self.dataset.count() - 1  # the folder entry is always last
        self.dataset.setItemText(folder_index, f"Folder: {source}")
        self.dataset.setItemData(folder_index, source, Qt.ItemDataRole.ToolTipRole)
        self.dataset.setCurrentIndex(folder_index)

    def _on_dataset_activated(self, index: int) -> None:
        if self.dataset.itemData(index) is not None:
            return
        folder = self.ask_folder()
        if folder:
            self._set_dataset(folder)
            self._on_edit()
        elif not self._folder:
            self.dataset.setCurrentIndex(0)
