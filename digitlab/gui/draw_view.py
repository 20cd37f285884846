"""The Draw view: draw a digit and watch two networks classify it live, side by side.

Data flow: the canvas emits ``changed`` on every drawn segment -> a throttle (leading edge, at most
one prediction every ``PREDICT_INTERVAL_MS`` while drawing, plus a trailing one so the last
segment is never missed, plus one on stroke end) -> ``drawing_to_mnist_steps`` on the canvas's
strokes (``DrawingCanvas.drawing()``: redrawn with MNIST's pen, scaled to MNIST's 20-px box,
centred by mass; a loaded image goes through ``to_mnist_steps`` instead) ->
``Network.predict_one`` for both models -> ``ProbabilityBars.set_probabilities``, and the same
input to the network view (the "Network" tab beside the preview: every unit at work, issue 12).
The first segment of a drawing is predicted at once (leading edge), so the first bars appear
within the same frame as the ink.

Switched-off units (:class:`~digitlab.gui.silencing.SilencedUnits`, clicked in the network view)
are left out of each network's prediction; a change recomputes both networks' bars at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeySequence, QPainter, QPaintEvent, QPen, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from digitlab.data.input_check import InputCheck, check_input
from digitlab.data.strokes import Drawing, Stroke, drawing_to_mnist_steps
from digitlab.gui import messages, theme
from digitlab.gui.canvas import DEFAULT_BRUSH_PERCENT, DrawingCanvas
from digitlab.gui.guard import call_guarded, guarded
from digitlab.gui.model_pair import ModelPair, PairChooser
from digitlab.gui.network_view import NetworkView
from digitlab.gui.personal_panel import PersonalPanel
from digitlab.gui.probability_bars import ProbabilityBars, set_text_colour
from digitlab.gui.silencing import SilencedUnits
from digitlab.library import ModelEntry, ModelLibrary
from digitlab.nn import Network

log = logging.getLogger("digitlab.gui")

__all__ = ["DrawView", "DigitPreview", "PREDICT_INTERVAL_MS"]

PREDICT_INTERVAL_MS = 30

# The verdict's look: (text colour, bold). Set through the palette and the font, not a style sheet,
# which would re-polish the label on every prediction (probability_bars.set_text_colour).
# The colours are the theme's (gui/theme.py), looked up when the verdict is set.
_AGREE_STYLE = (theme.good_text, True)
_DISAGREE_STYLE = (theme.warning_text, True)
_WRONG_STYLE = (theme.error_text, True)
_NEUTRAL_STYLE = (theme.secondary_text, False)
# What a dimmed pair of bars says instead of "83 % sure", by input_check state.
_DIMMED_NOTES = {"too small": "Draw bigger", "not a digit": "Not a digit yet"}


# "Show the steps": what each of the three previews shows, per conversion (the tooltip, and the
# short label under it). "strokes": the canvas's strokes redrawn (drawing_to_mnist_steps);
# "raster": a loaded image, cropped then framed (to_mnist_steps); "normalised": a loaded image
# whose strokes were thinned or thickened to MNIST's pen before framing.
_STEP_CAPTIONS = {
    "strokes": ("1. strokes re-drawn with MNIST's pen", "2. scaled to 20 px", "3. centred by mass in 28x28"),
    "raster": ("1. cropped to the ink", "2. longer side scaled to 20 px", "3. centred by mass in 28x28"),
    "normalised": ("1. cropped to the ink", "2. strokes brought to MNIST's pen width, scaled to 20 px",
                   "3. centred by mass in 28x28"),
}
_STEP_LABELS = {
    "strokes": ("MNIST's pen", "scaled to 20", "centred"),
    "raster": ("cropped", "scaled to 20", "centred"),
    "normalised": ("cropped", "MNIST's width, 20 px", "centred"),
}


def _step_kind(steps: dict) -> str:
    if steps.get("source", "strokes") == "strokes":
        return "strokes"
    return "normalised" if steps.get("redrawn") is not None else "raster"


class DigitPreview(QWidget):
    """Shows a small grayscale array (ink high) as MNIST shows it: white ink on black, pixelated."""

    def __init__(self, caption: str = "", side: int = 112, parent: QWidget | None = None):
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self._side = side
        self.setFixedSize(side, side)
        self.setToolTip(caption)
        self.setAccessibleName(caption or "Digit preview")

    def set_array(self, array: np.ndarray | None) -> None:
        if array is None:
            self._array = None
            self._image = None
        else:
            a = np.asarray(array, dtype=np.float32)
            g = np.ascontiguousarray((np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
            self._array = a
            h, w = g.shape
            self._image = QImage(g.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self.update()

    def array(self) -> np.ndarray | None:
        return None if self._array is None else self._array.copy()

    @guarded(default=QSize(112, 112))
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._side, self._side)

    @guarded
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        r = QRectF(self.rect())
        p.fillRect(r, QColor(0, 0, 0))
        if self._image is not None:
            iw, ih = self._image.width(), self._image.height()
            scale = min(r.width() / iw, r.height() / ih)
            tw, th = iw * scale, ih * scale
            target = QRectF((r.width() - tw) / 2, (r.height() - th) / 2, tw, th)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            p.drawImage(target, self._image)
        else:
            p.setPen(QColor(140, 140, 140))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "empty")
        p.setPen(QPen(QColor(120, 120, 120), 1))
        p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))
        p.end()


class _Side:
    """One of the two compared networks: its chooser and its bars (the model is the pair's)."""

    def __init__(self, letter: str, bars: ProbabilityBars, combo: PairChooser):
        self.letter = letter
        self.bars = bars
        self.combo = combo

    @property
    def entry(self) -> ModelEntry | None:
        return self.combo.current_entry()

    @property
    def network(self) -> Network | None:
        # the pair only holds entries whose model loaded, so this does not read a file
        e = self.entry
        return None if e is None else e.network


class DrawView(QWidget):
    """Draw a digit; two networks classify it live.

    Parameters
    ----------
    library : ModelLibrary
        The window's shared library; the two choosers list its models and follow its changes.
    pair : ModelPair, optional
        The window's A/B choice, which the two choosers show and set (a new one if not given).
    silencing : SilencedUnits, optional
        The window's switched-off units of A and B (a new one if not given): the network view
        toggles them, the bars leave them out.

    Signals
    -------
    input_changed(object)
        The 28x28 network input (float32, ink high) after each recomputation, or ``None`` when
        the canvas is empty.
    """

    input_changed = Signal(object)

    def __init__(self, library: ModelLibrary, pair: ModelPair | None = None,
                 parent: QWidget | None = None, *, silencing: SilencedUnits | None = None):
        super().__init__(parent)
        self.library = library
        own_pair = pair is None
        self.pair = pair if pair is not None else ModelPair(library, self)
        self.silencing = silencing if silencing is not None else SilencedUnits(self.pair, self)
        self._input: np.ndarray | None = None
        self._steps: dict | None = None
        self._check: InputCheck | None = None
        self._version = 0            # bumped on every canvas change
        self._predicted_version = -1
        self._last_predict = -1e9    # perf_counter() of the last prediction
        self._true_label: int | None = None
        self._loaded_from: str | None = None
        self._edited_after_load = False
        self._load_version = 0
        self._loading = False
        self._dataset = None
        self._rng = np.random.default_rng()
        # replaceable (tests): how a model the pair refused is shown when this view owns the
        # pair (in the window, the window shows it)
        self.show_error: Callable[..., object] = lambda title, text, details=None: messages.warn(
            self, title, text, details)
        if own_pair:
            self.pair.refused.connect(
                lambda text, details: self.show_error("Cannot use this model", text, details or None))
        self.last_predict_ms = 0.0   # how long the last prediction took (for the curious / tests)

        self._build_ui()
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.timeout.connect(self._on_throttle_timeout)

        self.canvas.changed.connect(self._on_canvas_changed)
        self.canvas.stroke_finished.connect(self._on_stroke_finished)
        self.pair.changed.connect(self._on_pair_changed)
        self.silencing.changed.connect(self._on_silencing_changed)
        self._on_pair_changed()

    # ================================================================== UI
    def _build_ui(self) -> None:
        self.canvas = DrawingCanvas()

        # ---- tool row
        self.pen_button = QToolButton()
        self.pen_button.setText("Pen")
        self.pen_button.setCheckable(True)
        self.pen_button.setChecked(True)
        self.pen_button.setToolTip("Draw (P)")
        self.eraser_button = QToolButton()
        self.eraser_button.setText("Eraser")
        self.eraser_button.setCheckable(True)
        self.eraser_button.setToolTip("Erase (E); the right mouse button always erases")
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.pen_button)
        group.addButton(self.eraser_button)
        self.eraser_button.toggled.connect(self.canvas.set_eraser)


        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(2, 16)
        self.brush_slider.setValue(int(round(DEFAULT_BRUSH_PERCENT)))
        self.brush_slider.setMinimumWidth(100)
        self.brush_slider.setMaximumWidth(200)
        self.brush_slider.setToolTip("Brush diameter as a percentage of the canvas side")
        self.brush_value = QLabel()
        self.brush_value.setMinimumWidth(self.brush_value.fontMetrics().horizontalAdvance("16 %") + 4)
        self.brush_slider.valueChanged.connect(self._on_brush_changed)
        self._on_brush_changed(self.brush_slider.value())

        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.setToolTip("Undo the last stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear the canvas (Delete); undo brings it back")
        self.clear_button.clicked.connect(self.clear)
        self.random_button = QToolButton()
        self.random_button.setText("Random test digit")
        self.random_button.setToolTip("Put a random digit from the MNIST test set on the canvas (R)")
        self.random_button.clicked.connect(self.load_random_test_digit)
        for b in (self.pen_button, self.eraser_button, self.undo_button, self.clear_button,
                  self.random_button):
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
            b.setMinimumWidth(max(72, b.fontMetrics().horizontalAdvance(b.text()) + 24))
            b.setMinimumHeight(28)

        tools = QHBoxLayout()
        tools.setSpacing(6)
        tools.addWidget(self.pen_button)
        tools.addWidget(self.eraser_button)
        tools.addSpacing(12)
        brush_label = QLabel("Brush size")
        brush_label.setBuddy(self.brush_slider)
        tools.addWidget(brush_label)
        tools.addWidget(self.brush_slider, 1)
        tools.addWidget(self.brush_value)
        tools.addStretch(1)

        actions = QHBoxLayout()
        actions.setSpacing(6)
        actions.addWidget(self.undo_button)
        actions.addWidget(self.clear_button)
        actions.addStretch(1)
        actions.addWidget(self.random_button)

        self.source_label = QLabel("")
        set_text_colour(self.source_label, _NEUTRAL_STYLE[0]())
        self._verdict_style = _NEUTRAL_STYLE
        theme.on_palette_change(self, self._restyle)
        self.source_label.setWordWrap(True)
        self.source_label.setMinimumHeight(self.source_label.fontMetrics().height() + 4)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 6, 0)
        left_lay.addLayout(tools)
        left_lay.addWidget(self.canvas, 1)
        left_lay.addLayout(actions)
        left_lay.addWidget(self.source_label)

        # ---- what the networks see
        self.preview = DigitPreview("The 28x28 input both networks receive", side=112)
        # the first step is the strokes redrawn with MNIST's pen, or for a loaded image its crop;
        # captions follow the conversion that ran (_show_preview)
        self.step_first = DigitPreview(_STEP_CAPTIONS["strokes"][0], side=72)
        self.step_scale = DigitPreview(_STEP_CAPTIONS["strokes"][1], side=72)
        self.step_centre = DigitPreview(_STEP_CAPTIONS["strokes"][2], side=72)
        self.show_steps = QCheckBox("Show the steps")
        self.show_steps.setToolTip("Your strokes redrawn with the pen width of MNIST's digits, scaled so the "
                                   "digit fills MNIST's 20-pixel box, centred by mass in 28x28 (how MNIST "
                                   "itself was made)")
        self.show_steps.toggled.connect(self._on_show_steps)

        see_box = QGroupBox("What the networks see")
        see_lay = QHBoxLayout(see_box)
        main_col = QVBoxLayout()
        main_col.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignHCenter)
        cap = QLabel("28 × 28 input")
        cap.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        main_col.addWidget(cap)
        see_lay.addLayout(main_col)
        self._steps_widget = QWidget()
        steps_lay = QHBoxLayout(self._steps_widget)
        steps_lay.setContentsMargins(12, 0, 0, 0)
        self.step_labels: list[QLabel] = []
        for w, text in zip((self.step_first, self.step_scale, self.step_centre), _STEP_LABELS["strokes"]):
            col = QVBoxLayout()
            col.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
            lab = QLabel(text)
            lab.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.step_labels.append(lab)
            col.addWidget(lab)
            col.addStretch(1)
            steps_lay.addLayout(col)
        see_lay.addWidget(self._steps_widget)
        self._steps_widget.setVisible(False)
        see_lay.addStretch(1)
        side_col = QVBoxLayout()
        side_col.addWidget(self.show_steps)
        side_col.addStretch(1)
        see_lay.addLayout(side_col)

        # ---- verdict
        self.verdict = QLabel("")
        vf = QFont(self.font())
        vf.setPointSizeF(self.font().pointSizeF() * 1.35)
        self.verdict.setFont(vf)
        self.verdict.setWordWrap(True)
        self.verdict.setAccessibleName("Comparison of the two networks")
        self.verdict.setFrameShape(QFrame.Shape.StyledPanel)
        self.verdict.setContentsMargins(8, 6, 8, 6)
        self.verdict.setMinimumHeight(self.verdict.fontMetrics().height() * 2 + 12)

        # ---- the two networks
        self._sides: list[_Side] = []
        nets = QHBoxLayout()
        for letter in ("A", "B"):
            combo = PairChooser(self.pair, letter, allow_none=(letter == "B"))
            bars = ProbabilityBars(f"Network {letter}")
            bars.set_header_widget(combo)
            box = QGroupBox()
            box_lay = QVBoxLayout(box)
            box_lay.setContentsMargins(6, 6, 6, 6)
            box_lay.addWidget(bars)
            nets.addWidget(box, 1)
            self._sides.append(_Side(letter, bars, combo))
        self.bars_a = self._sides[0].bars
        self.bars_b = self._sides[1].bars
        self.combo_a = self._sides[0].combo
        self.combo_b = self._sides[1].combo

        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.setContentsMargins(6, 0, 0, 0)
        # "My digits" shares the preview's place: labelling a drawing never squeezes the bars
        self.personal_panel = PersonalPanel(self.pair, self.current_input, self.canvas.drawing)
        self.see_tabs = QTabWidget()
        see_box.setTitle("")            # the tab says it
        self.network_view = NetworkView(self.pair, self.silencing)
        self.see_tabs.addTab(see_box, "What the networks see")
        self.see_tabs.addTab(self.network_view, "Network")
        self.see_tabs.addTab(self.personal_panel, "My digits")
        self.see_tabs.setTabToolTip(1, "Every unit of network A or B at work on your digit; click a "
                                       "unit to switch it off")
        right_lay.addWidget(self.see_tabs)
        right_lay.addWidget(self.verdict)
        right_lay.addLayout(nets, 1)
        self._right_lay = right_lay
        # the network needs room: its tab takes the larger share of the height, the bars the rest
        self.see_tabs.currentChanged.connect(self._on_see_tab_changed)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("drawSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        left.setMinimumWidth(320)
        right.setMinimumWidth(520)
        self.splitter.setSizes([600, 660])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.splitter)

        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for seq, slot in ((QKeySequence.StandardKey.Undo, self.undo),
                          (QKeySequence(Qt.Key.Key_Delete), self.clear),
                          (QKeySequence(Qt.Key.Key_Backspace), self.clear),
                          (QKeySequence(Qt.Key.Key_E), lambda: self.eraser_button.setChecked(True)),
                          (QKeySequence(Qt.Key.Key_P), lambda: self.pen_button.setChecked(True)),
                          (QKeySequence(Qt.Key.Key_R), self.load_random_test_digit)):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(ctx)
            sc.activated.connect(slot)

    # ================================================================== public API
    def set_models(self, model_a: ModelEntry | None, model_b: ModelEntry | None) -> None:
        """Choose the two compared networks (the window's pair: every view follows)."""
        self.pair.set_pair(model_a, model_b)

    def set_model(self, side: str, model: ModelEntry | None) -> None:
        """Choose the network of one side only: ``side`` is "A" or "B"."""
        self.pair.set(side, model)

    def models(self) -> tuple[ModelEntry | None, ModelEntry | None]:
        """The current choices: the pair's A and B."""
        return self.pair.a, self.pair.b

    def show_network_tab(self) -> None:
        """Bring the network view (the "Network" tab beside the preview) to the front."""
        self.see_tabs.setCurrentWidget(self.network_view)

    def show_training_network(self, network: Network | None, name: str = "training run") -> None:
        """Offer the network view ``network``, a run's network after a training step (None: no
        run): its Run button draws it, and follows the run's steps while chosen."""
        self.network_view.offer_training_network(network, name)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Join the network view's worker thread (top test digits)."""
        return self.network_view.shutdown(timeout_ms)

    def load_digit(self, image28: np.ndarray, label: int | None = None, *, source: str | None = None) -> None:
        """Put a digit on the canvas (e.g. a misclassified test digit) with its true label."""
        self._true_label = None if label is None else int(label)
        self._loaded_from = source or ("a digit" if label is None else "a test digit")
        self._edited_after_load = False
        self._loading = True
        try:
            self.canvas.set_image_array(np.asarray(image28))
        finally:
            self._loading = False
        self._load_version = self._version
        for s in self._sides:
            s.bars.set_true_label(self._true_label)
        self._update_source_label()
        self._predict_now()

    def current_input(self) -> np.ndarray | None:
        """The 28x28 float32 input the networks receive now (ink high), or ``None`` if empty."""
        return None if self._input is None else self._input.copy()

    def input_check(self) -> InputCheck | None:
        """Whether the current input reads as a digit (``None`` when the canvas is empty)."""
        return self._check

    def current_steps(self) -> dict | None:
        """The intermediate images of the last conversion (``drawing_to_mnist_steps``) or ``None``
        when the canvas is empty."""
        return None if self._steps is None else dict(self._steps)

    def true_label(self) -> int | None:
        return self._true_label

    def verdict_text(self) -> str:
        return self.verdict.text()

    def undo(self) -> None:
        self.canvas.undo()

    def clear(self) -> None:
        self.canvas.clear()
        self._forget_loaded_digit()

    def load_random_test_digit(self) -> None:
        """Load a random MNIST test digit with its true label."""
        try:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                if self._dataset is None:
                    from digitlab.data import load_dataset

                    self._dataset = load_dataset()
                raw = self._dataset
            finally:
                QApplication.restoreOverrideCursor()
        except Exception as exc:  # noqa: BLE001 - shown to the person, not raised into Qt
            log.exception("Could not load the MNIST test set")
            self.source_label.setText(f"Could not load the MNIST test set: {exc}")
            return
        i = int(self._rng.integers(len(raw.test_labels)))
        self.load_digit(raw.test_images[i], int(raw.test_labels[i]), source=f"MNIST test digit #{i}")

    # ================================================================== models
    def _on_pair_changed(self) -> None:
        self._show_model_names()
        for side in self._sides:
            side.bars.set_true_label(self._true_label)
        self._warm_up()
        self._predict_now()

    def _show_model_names(self) -> None:
        for side in self._sides:
            e = side.entry
            if e is None:
                side.bars.set_model_name(None)
                continue
            off = len(self.silencing.units(side.letter))
            name = e.display_name + (f" ({off} unit{'s' if off != 1 else ''} off)" if off else "")
            side.bars.set_model_name(name, e.short_summary)

    def _on_silencing_changed(self, _side: str) -> None:
        # both networks' bars at once: the silenced one changes, the other is the control
        self._show_model_names()
        self._predict_now()

    def _on_see_tab_changed(self, _index: int) -> None:
        network = self.see_tabs.currentWidget() is self.network_view
        policy = self.see_tabs.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Expanding if network else QSizePolicy.Policy.Preferred)
        self.see_tabs.setSizePolicy(policy)
        self._right_lay.setStretchFactor(self.see_tabs, 4 if network else 0)

    # ================================================================== drawing -> prediction
    def _on_brush_changed(self, value: int) -> None:
        self.canvas.set_brush_size(float(value))
        self.brush_value.setText(f"{value} %")

    def _on_show_steps(self, on: bool) -> None:
        self._steps_widget.setVisible(on)
        if on:
            self._show_preview()

    def _on_canvas_changed(self) -> None:
        self._version += 1
        since = (time.perf_counter() - self._last_predict) * 1000.0
        if self._input is None or (since >= PREDICT_INTERVAL_MS and not self._throttle.isActive()):
            # leading edge: the first ink on an empty canvas, or the first change after a quiet
            # interval, is classified at once so the bars appear in the same frame
            self._throttle.stop()
            self._predict_now()
        elif not self._throttle.isActive():
            self._throttle.start(max(1, int(PREDICT_INTERVAL_MS - since)))

    def _on_throttle_timeout(self) -> None:
        if self._predicted_version != self._version:
            self._predict_now()

    def _on_stroke_finished(self) -> None:
        self._throttle.stop()
        if not self._loading and self._loaded_from is not None and not self._edited_after_load \
                and self._version > self._load_version:
            self._edited_after_load = True
            self._update_source_label()
        if self.canvas.is_empty():
            self._forget_loaded_digit()
        if self._predicted_version != self._version:
            self._predict_now()

    def _forget_loaded_digit(self) -> None:
        if self._true_label is None and self._loaded_from is None:
            return
        self._true_label = None
        self._loaded_from = None
        self._edited_after_load = False
        for s in self._sides:
            s.bars.set_true_label(None)
        self._update_source_label()

    def _update_source_label(self) -> None:
        if self._loaded_from is None:
            self.source_label.setText("")
            return
        text = self._loaded_from
        if self._true_label is not None:
            text += f", true label {self._true_label} (its bar is outlined in green)"
        if self._edited_after_load:
            text += " (edited)"
        self.source_label.setText(text)

    def _warm_up(self) -> None:
        """Run the conversion once on a dummy stroke so the first real one is not slowed by
        first-call costs (allocations, BLAS start-up); keeps the first bars within a frame."""
        res = self.canvas.resolution
        line = np.linspace([res * 0.5, res * 0.25], [res * 0.5, res * 0.75], 40)
        dummy = Drawing(res, (Stroke(line, np.ones(len(line)), self.canvas.brush_pixels()),))
        x = call_guarded("DrawView.warm_up", drawing_to_mnist_steps, dummy) or {}
        if x.get("centred") is not None:   # also reads the check's reference file, once
            call_guarded("DrawView.warm_up", check_input, x["centred"], x.get("ink_extent"))
        for side in self._sides:
            if side.network is not None and x.get("centred") is not None:
                call_guarded("DrawView.warm_up", side.network.predict_one, x["centred"])

    def _predict_now(self) -> None:
        call_guarded("DrawView.predict", self._predict)

    def _predict(self) -> None:
        t0 = time.perf_counter()
        self._last_predict = t0
        self._predicted_version = self._version
        steps = drawing_to_mnist_steps(self.canvas.drawing())
        if steps["centred"] is None:
            self._input = None
            self._steps = None
            self._check = None
        else:
            self._steps = steps
            self._input = steps["centred"]
            # an image loaded on the canvas was enlarged smoothly: soft edges are not faint ink
            soft = ("faint",) if steps.get("source") == "raster" else ()
            self._check = check_input(self._input, steps.get("ink_extent"), ignore=soft)
        x = self._input
        # A drawing that is not a digit yet still gets the networks' answers (a person learns from
        # seeing what they would guess), but greyed out, with the reason above the bars.
        note = None if self._check is None or self._check.ok else _DIMMED_NOTES[self._check.state]
        for side in self._sides:
            if x is None or side.network is None:
                side.bars.set_probabilities(None)
            else:
                side.bars.set_probabilities(side.network.predict_one(x, self.silencing.units(side.letter)))
            side.bars.set_dimmed(note is not None, note)
        self.network_view.show_input(x)
        self._show_preview()
        self._update_verdict()
        self.last_predict_ms = (time.perf_counter() - t0) * 1000.0
        self.input_changed.emit(self.current_input())

    def _show_preview(self) -> None:
        x = self._input
        self.preview.set_array(x)
        if self.show_steps.isChecked():
            s = self._steps or {}
            kind = _step_kind(s)
            first = s.get("redrawn") if kind == "strokes" else s.get("cropped")
            for widget, label, image, caption, text in zip(
                    (self.step_first, self.step_scale, self.step_centre), self.step_labels,
                    (first, s.get("scaled"), s.get("centred")), _STEP_CAPTIONS[kind], _STEP_LABELS[kind]):
                widget.set_array(image)
                widget.setToolTip(caption)
                widget.setAccessibleName(caption)
                label.setText(text)

    def _update_verdict(self) -> None:
        a, b = self._sides
        if a.network is None and b.network is None:
            if len(self.library) == 0:
                text = ("No models yet: train one in the Train view, or open a .h5 file in the "
                        "Models view.")
            else:
                text = "Choose two models above the bars."
            self._set_verdict(text, _NEUTRAL_STYLE)
            return
        pa, pb = a.bars.predicted(), b.bars.predicted()
        if self._input is None:
            self._set_verdict("Draw a digit to see what the two networks think.", _NEUTRAL_STYLE)
            return
        if self._check is not None and not self._check.ok:
            self._set_verdict(f"{self._check.message} The greyed bars show what the networks would "
                              f"guess anyway.", _NEUTRAL_STYLE)
            return
        t = self._true_label
        truth = "" if t is None else f" — true label {t}"
        if pa is None or pb is None:
            only = a if pa is not None else b
            d, c = only.bars.predicted(), only.bars.confidence()
            self._set_verdict(f"Network {only.letter} says {d} ({100 * c:.0f} %){truth}", _NEUTRAL_STYLE)
            return
        ca, cb = a.bars.confidence(), b.bars.confidence()
        sure = f"(A {100 * ca:.0f} %, B {100 * cb:.0f} % sure)"
        if pa == pb:
            if t is None:
                self._set_verdict(f"Both say {pa}  {sure}", _AGREE_STYLE)
            elif pa == t:
                self._set_verdict(f"Both say {pa}, and both are right  {sure}", _AGREE_STYLE)
            else:
                self._set_verdict(f"Both say {pa}, but it is a {t}  {sure}", _WRONG_STYLE)
        else:
            text = f"They disagree: A says {pa} ({100 * ca:.0f} %), B says {pb} ({100 * cb:.0f} %)"
            if t is not None:
                right = [s.letter for s, p in ((a, pa), (b, pb)) if p == t]
                text += f" — it is a {t}: " + (f"{right[0]} is right" if right else "neither is right")
            self._set_verdict(text, _DISAGREE_STYLE)

    def _restyle(self) -> None:
        """The theme changed: the verdict and the source line in its colours (the pad and the 28x28
        preview stay as they are: they are the network's input picture)."""
        set_text_colour(self.source_label, _NEUTRAL_STYLE[0]())
        set_text_colour(self.verdict, self._verdict_style[0]())

    def _set_verdict(self, text: str, style: tuple) -> None:
        colour, bold = style
        self._verdict_style = style
        self.verdict.setText(text)
        set_text_colour(self.verdict, colour())
        if self.verdict.font().bold() != bold:
            font = self.verdict.font()
            font.setBold(bold)
            self.verdict.setFont(font)
