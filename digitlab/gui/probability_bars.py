"""Ten probability bars for one network, with its predicted digit and confidence.

Every bar's value is in its tooltip ("7: 83.2 %", anywhere over its column, so a bar too short to
see still says its value); the top bar, and the second when it is above :data:`SECOND_LABEL_MIN`,
carry their value as a label above the bar. ``set_dimmed(True)`` greys everything out, values included, for an
answer that is not to be trusted (the Draw view's "not a digit yet").

The bar item, the two labels and the ten tooltip areas are built once; every update only calls
``BarGraphItem.setOpts(height=..., brushes=...)``, moves the labels and sets ten tooltip strings
(never re-plots), which keeps an update well under a millisecond.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPalette, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from digitlab.gui import theme

__all__ = [
    "BAR_COLOR",
    "DIMMED_BAR_COLOR",
    "DIMMED_HIGHLIGHT_COLOR",
    "HIGHLIGHT_COLOR",
    "SECOND_LABEL_MIN",
    "ProbabilityBars",
    "value_text",
]

BAR_COLOR = QColor(168, 184, 204)
HIGHLIGHT_COLOR = QColor(33, 102, 172)
TRUE_LABEL_PEN = QColor(27, 140, 60)
# Dimmed: the same two roles in greys, so the answer is still readable but plainly not endorsed.
DIMMED_BAR_COLOR = QColor(214, 214, 214)
DIMMED_HIGHLIGHT_COLOR = QColor(158, 158, 158)
DIMMED_TEXT = "#8a8a8a"
LABEL_COLOR = QColor(40, 40, 40)
# The same roles on a dark ground (the dark theme): the top bar the brightest, as on light it is
# the deepest; greys for dimmed; labels in the palette's text colour.
DARK_BAR_COLOR = QColor(92, 108, 130)
DARK_HIGHLIGHT_COLOR = QColor(96, 170, 240)
DARK_TRUE_LABEL_PEN = QColor(80, 200, 110)
DARK_DIMMED_BAR_COLOR = QColor(80, 80, 80)
DARK_DIMMED_HIGHLIGHT_COLOR = QColor(140, 140, 140)
EMPTY_TEXT = "Draw a digit"
#: The second-largest bar gets a value label only above this probability: below it the bar is
#: short, and a label there would only say "no" louder than the bar does.
SECOND_LABEL_MIN = 0.05
#: The chart's top: room above a 100 % bar for its value label.
Y_TOP = 1.14
X_RANGE = (-0.6, 9.6)
BAR_WIDTH = 0.72


def set_text_colour(widget: QWidget, colour: str | None) -> None:
    """Colour a label's text (``None``: the palette's own again) through its palette.

    Not a style sheet: setting one re-polishes the widget (profiled in the Draw view: 0.2 ms a
    call, plus the polish in the event loop), and there the bars and the verdict change colour at
    drawing speed (a dot greys them, the next segment brings the colour back) within a 16 ms frame.
    """
    current = widget.palette().color(QPalette.ColorRole.WindowText)
    if colour is None:
        if widget.testAttribute(Qt.WidgetAttribute.WA_SetPalette):
            widget.setPalette(QPalette())      # an empty palette inherits the parent's again
    elif current != QColor(colour):
        palette = widget.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        widget.setPalette(palette)


def value_text(p: float) -> str:
    """A probability as the bars say it: "83.2 %"."""
    return f"{100.0 * p:.1f} %"


class ProbabilityBars(QWidget):
    """Probability bars for the ten digits of one network.

    ``set_probabilities(p)`` with a length-10 vector shows it (the predicted digit highlighted,
    big, with its confidence; every bar's value in its tooltip, the top one or two as labels);
    ``set_probabilities(None)`` shows the empty state. ``set_dimmed(True, note)`` greys the answer
    out until ``set_dimmed(False)``.
    """

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._p: np.ndarray | None = None
        self._true_label: int | None = None
        self._model_name: str | None = None
        self._empty_text = EMPTY_TEXT

        self._title = QLabel(title)
        tf = QFont(self.font())
        tf.setBold(True)
        self._title.setFont(tf)
        self._title.setVisible(bool(title))

        self._name = QLabel("No model chosen")
        self._name.setTextFormat(Qt.TextFormat.PlainText)     # a model's name comes from its file
        self._name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._detail = QLabel("")
        self._detail.setTextFormat(Qt.TextFormat.PlainText)
        self._detail.setForegroundRole(QPalette.ColorRole.PlaceholderText)    # quieter than the answer
        self._detail.setWordWrap(False)
        # one line that may be clipped rather than wrap, so both sides' plots stay aligned
        self._detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._digit = QLabel("")
        df = QFont(self.font())
        df.setPointSizeF(max(28.0, self.font().pointSizeF() * 3.2))
        df.setBold(True)
        self._digit.setFont(df)
        self._digit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._digit.setMinimumWidth(self._digit.fontMetrics().horizontalAdvance("88"))
        self._digit.setMinimumHeight(self._digit.fontMetrics().height())
        self._digit.setAccessibleName("Predicted digit")

        self._confidence = QLabel(EMPTY_TEXT)
        cf = QFont(self.font())
        cf.setPointSizeF(self.font().pointSizeF() * 1.15)
        self._confidence.setFont(cf)
        self._confidence.setWordWrap(True)

        self._plot = pg.PlotWidget()
        self._plot.setMinimumHeight(150)
        self._plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        pi = self._plot.getPlotItem()
        pi.setXRange(*X_RANGE, padding=0)
        pi.setYRange(0.0, Y_TOP, padding=0)
        pi.getViewBox().setLimits(xMin=X_RANGE[0], xMax=X_RANGE[1], yMin=0, yMax=Y_TOP)
        pi.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        pi.getAxis("left").setTicks([[(v, f"{100 * v:.0f} %") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]])
        pi.getAxis("left").setWidth(46)
        pi.showGrid(x=False, y=True, alpha=0.25)
        # The axes (with the grid) never change: cache them as pixmaps so a bar update repaints
        # only the bars, not the axis pictures.
        for ax in ("left", "bottom"):
            pi.getAxis(ax).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._normal_brushes = [pg.mkBrush(BAR_COLOR)] * 10
        self._bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=BAR_WIDTH,
                                     brushes=self._normal_brushes, pens=[pg.mkPen(None)] * 10)
        pi.addItem(self._bars)
        # One transparent area per column carries that bar's tooltip: hovering anywhere over the
        # column works, also where the bar is a hairline.
        self._tip_areas: list[QGraphicsRectItem] = []
        for i in range(10):
            area = QGraphicsRectItem(i - 0.5, 0.0, 1.0, Y_TOP)
            area.setPen(QPen(Qt.PenStyle.NoPen))
            area.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            area.setZValue(10)
            pi.addItem(area)
            self._tip_areas.append(area)
        lf = QFont(self.font())
        lf.setPointSizeF(self.font().pointSizeF() * 0.9)
        lf.setBold(True)
        self._value_labels: list[pg.TextItem] = []
        for _ in range(2):   # the top bar's and the runner-up's
            label = pg.TextItem("", color=self._label_color(), anchor=(0.5, 1.0))
            label.setFont(lf)
            label.setZValue(5)
            label.setVisible(False)
            pi.addItem(label)
            self._value_labels.append(label)
        self._label_bars: list[int | None] = [None, None]
        pi.getViewBox().sigResized.connect(self._place_value_labels)
        self._dimmed = False
        self._dimmed_note: str | None = None
        self._empty_item = pg.TextItem(EMPTY_TEXT, color=(130, 130, 130), anchor=(0.5, 0.5))
        ef = QFont(self.font())
        ef.setPointSizeF(self.font().pointSizeF() * 1.2)
        self._empty_item.setFont(ef)
        self._empty_item.setPos(4.5, 0.5)
        pi.addItem(self._empty_item)
        self._restyle()
        theme.on_palette_change(self, self._restyle)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self._title)
        header.addWidget(self._name, 1)
        self._header = header

        verdict = QHBoxLayout()
        verdict.addWidget(self._digit)
        verdict.addWidget(self._confidence, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(header)
        lay.addWidget(self._detail)
        lay.addLayout(verdict)
        lay.addWidget(self._plot, 1)
        self._show_empty()

    # ------------------------------------------------------------------ public API
    def set_header_widget(self, widget: QWidget) -> None:
        """Put ``widget`` (e.g. a model chooser) in the header in place of the name label."""
        self._name.hide()
        self._header.addWidget(widget, 1)

    def set_model_name(self, name: str | None, detail: str = "") -> None:
        """Show which network these bars belong to; ``None`` means no model is chosen."""
        self._model_name = name
        self._name.setText(name if name else "No model chosen")
        self._detail.setText(detail)
        self._detail.setToolTip(detail)
        self._detail.setVisible(bool(detail))
        if name is None:
            self._p = None
        if self._p is None:
            self._show_empty()

    def model_name(self) -> str | None:
        return self._model_name

    def set_empty_text(self, text: str) -> None:
        """What the empty state says (default "Draw a digit")."""
        self._empty_text = text
        if self._p is None:
            self._show_empty()

    def set_true_label(self, label: int | None) -> None:
        """Outline the bar of the true label (for a loaded test digit); ``None`` removes it."""
        self._true_label = None if label is None else int(label)
        self._refresh_pens()

    def set_probabilities(self, p: np.ndarray | None) -> None:
        """Show a probability vector of length 10, or the empty state for ``None``."""
        if p is None:
            self._p = None
            self._show_empty()
            return
        p = np.asarray(p, dtype=np.float64).reshape(-1)
        if p.shape != (10,):
            raise ValueError(f"expected 10 probabilities, got shape {p.shape}")
        if not np.all(np.isfinite(p)):
            raise ValueError("probabilities contain NaN or infinity")
        self._p = p
        k = int(np.argmax(p))
        self._refresh_brushes()
        self._bars.setOpts(height=p)
        self._refresh_pens()
        self._empty_item.setVisible(False)
        self._digit.setText(str(k))
        self._refresh_confidence()
        self._digit.setToolTip(f"The network's answer: {k} with probability {p[k]:.4f}")
        for i, area in enumerate(self._tip_areas):
            area.setToolTip(f"{i}: {value_text(p[i])}")
        self._refresh_value_labels()

    def set_dimmed(self, on: bool, note: str | None = None) -> None:
        """Grey out the answer (bars, labels, digit) when it is not to be trusted, e.g. for a
        drawing that is not a digit yet; the values stay readable. ``note`` (e.g. "Not a digit
        yet") replaces "83.2 % sure" while dimmed. Stays until ``set_dimmed(False)``."""
        self._dimmed = bool(on)
        self._dimmed_note = note if on else None
        if self._p is None:
            self._show_empty()
            return
        self._refresh_brushes()
        self._refresh_confidence()
        self._refresh_value_labels()

    def is_dimmed(self) -> bool:
        return self._dimmed

    def bar_tooltips(self) -> list[str]:
        """The ten bars' tooltips ("7: 83.2 %"); empty strings in the empty state."""
        return [area.toolTip() for area in self._tip_areas]

    def value_labels(self) -> dict[int, str]:
        """The value labels shown on the bars, by digit (the top bar and a runner-up above 5 %)."""
        return {i: label.toPlainText() for i, label in zip(self._label_bars, self._value_labels)
                if i is not None and label.isVisible()}

    def probabilities(self) -> np.ndarray | None:
        """The shown probabilities (a copy), or ``None`` in the empty state."""
        return None if self._p is None else self._p.copy()

    def bar_heights(self) -> np.ndarray:
        """The heights of the drawn bars (what the person sees)."""
        return np.asarray(self._bars.opts["height"], dtype=np.float64).copy()

    def predicted(self) -> int | None:
        return None if self._p is None else int(np.argmax(self._p))

    def confidence(self) -> float | None:
        return None if self._p is None else float(np.max(self._p))

    def predicted_text(self) -> str:
        """The big digit as shown ("" when empty)."""
        return self._digit.text()

    def confidence_text(self) -> str:
        return self._confidence.text()

    # ------------------------------------------------------------------ internals
    def _colors(self) -> tuple[QColor, QColor, QColor, QColor, QColor]:
        """(bar, top bar, dimmed bar, dimmed top bar, true label's outline) for the palette."""
        if theme.is_dark(self.palette()):
            return (DARK_BAR_COLOR, DARK_HIGHLIGHT_COLOR, DARK_DIMMED_BAR_COLOR, DARK_DIMMED_HIGHLIGHT_COLOR,
                    DARK_TRUE_LABEL_PEN)
        return BAR_COLOR, HIGHLIGHT_COLOR, DIMMED_BAR_COLOR, DIMMED_HIGHLIGHT_COLOR, TRUE_LABEL_PEN

    def _label_color(self) -> QColor:
        return LABEL_COLOR if not theme.is_dark(self.palette()) else self.palette().windowText().color()

    def _restyle(self) -> None:
        """Axes, bars and labels in the palette's colours (at start and when the theme changes)."""
        fg = self.palette().windowText().color()
        # the window's own colour, set rather than left transparent: a transparent view kept the
        # palette it was first painted with when the theme changed
        self._plot.setBackground(self.palette().color(QPalette.ColorRole.Window))
        for ax in ("left", "bottom"):
            axis = self._plot.getPlotItem().getAxis(ax)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
        self._normal_brushes = [pg.mkBrush(self._colors()[0])] * 10
        if self._p is None:
            self._bars.setOpts(brushes=self._normal_brushes)
        else:
            self._refresh_brushes()
            self._refresh_value_labels()
            self._refresh_pens()

    def _show_empty(self) -> None:
        # no outline either: a true label's outline on an empty chart is a stray green stub
        self._bars.setOpts(height=np.zeros(10), brushes=self._normal_brushes, pens=[pg.mkPen(None)] * 10)
        text = self._empty_text if self._model_name is not None or self._empty_text != EMPTY_TEXT \
            else "No model chosen"
        self._empty_item.setText(text)
        self._empty_item.setVisible(True)
        self._digit.setText("")            # nothing predicted: no digit (a dash read as a bar)
        self._confidence.setText(text)
        set_text_colour(self._confidence, None)
        self._digit.setToolTip("")
        for area in self._tip_areas:
            area.setToolTip("")
        for label in self._value_labels:
            label.setVisible(False)
        self._label_bars = [None, None]

    def _refresh_brushes(self) -> None:
        if self._p is None:
            return
        bar, highlight, dim_bar, dim_highlight, _ = self._colors()
        normal, top = (dim_bar, dim_highlight) if self._dimmed else (bar, highlight)
        brushes = [pg.mkBrush(normal)] * 10
        brushes[int(np.argmax(self._p))] = pg.mkBrush(top)
        self._bars.setOpts(brushes=brushes)
        set_text_colour(self._digit, DIMMED_TEXT if self._dimmed else None)

    def _refresh_confidence(self) -> None:
        p = self._p
        if p is None:
            return
        sure = f"{value_text(p.max())} sure"
        if self._dimmed:
            self._confidence.setText(self._dimmed_note or sure)
            set_text_colour(self._confidence, DIMMED_TEXT)
        else:
            self._confidence.setText(sure)
            set_text_colour(self._confidence, None)

    def _refresh_value_labels(self) -> None:
        p = self._p
        order = np.argsort(-p, kind="stable")
        shown = [int(order[0])] + ([int(order[1])] if p[order[1]] > SECOND_LABEL_MIN else [])
        self._label_bars = [None, None]
        color = QColor(DIMMED_TEXT) if self._dimmed else self._label_color()
        for slot, label in enumerate(self._value_labels):
            if slot >= len(shown):
                label.setVisible(False)
                continue
            i = shown[slot]
            self._label_bars[slot] = i
            label.setText(value_text(p[i]))
            label.setColor(color)
            label.setVisible(True)
        self._place_value_labels()

    def _place_value_labels(self) -> None:
        """Put each label over its bar, inside the chart, clear of the other bars and label.

        A label is wider than a column. Centred over its bar it would cover a taller neighbour
        (9.1 % beside 90.6 %) or be cut off at the chart's edge, so it may instead start at its
        bar's left edge or end at its right edge, whichever lets it sit lowest; two labels that
        still overlap are moved apart. Sizes are measured in pixels and converted with the view's
        current scale, so this runs again on every resize.
        """
        if self._p is None:
            return
        p = self._p
        items = [(i, lab) for i, lab in zip(self._label_bars, self._value_labels) if i is not None]
        vb = self._plot.getPlotItem().getViewBox()
        try:
            px, py = vb.viewPixelSize()            # data units per pixel
        except (ZeroDivisionError, np.linalg.LinAlgError):  # not laid out yet: a resize follows
            px = py = 0.0
        if not (np.isfinite(px) and np.isfinite(py)):
            px = py = 0.0
        half_bar = BAR_WIDTH / 2.0
        placed = []                                # (x centre, half width, y bottom) per label
        for i, lab in items:
            half = lab.boundingRect().width() * px / 2.0   # the item ignores the view's scale
            best = None
            for x in (float(i), i - half_bar + half, i + half_bar - half):
                x = min(max(x, X_RANGE[0] + half), X_RANGE[1] - half)
                covered = [c for c in range(10)
                           if c != i and c - half_bar < x + half and x - half < c + half_bar]
                y = max([float(p[i])] + [float(p[c]) for c in covered]) + 0.01
                if best is None or y < best[2] - 1e-9:
                    best = (x, half, y)
            placed.append(best)
        if len(placed) == 2 and px > 0:
            height = items[0][1].boundingRect().height() * py
            (a, b) = (0, 1) if placed[0][0] <= placed[1][0] else (1, 0)   # a: the left label
            (xa, ha, ya), (xb, hb, yb) = placed[a], placed[b]
            if abs(ya - yb) < height and xb - xa < ha + hb:
                border = (items[a][0] + items[b][0]) / 2.0     # between the two bars
                xa, xb = border - ha, border + hb
                shift = max(0.0, X_RANGE[0] - (xa - ha)) - max(0.0, xb + hb - X_RANGE[1])
                placed[a], placed[b] = (xa + shift, ha, ya), (xb + shift, hb, yb)
        for (_, lab), (x, _, y) in zip(items, placed):
            lab.setAnchor((0.5, 1.0))
            lab.setPos(x, y)

    def _refresh_pens(self) -> None:
        pens = [pg.mkPen(None)] * 10
        if self._p is not None and self._true_label is not None and 0 <= self._true_label <= 9:
            pens[self._true_label] = pg.mkPen(self._colors()[4], width=3)
        self._bars.setOpts(pens=pens)
