"""Ten probability bars for one network, with its predicted digit and confidence.

The bar item is built once; every update only calls ``BarGraphItem.setOpts(height=..., brushes=...)``
(never re-plots), which keeps an update well under a millisecond.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

# Importing the guard protects None/True/False from PySide6 6.12's refcount drift on Python 3.11.
from digitlab.gui.guard import protect_singletons

protect_singletons()

__all__ = ["ProbabilityBars", "BAR_COLOR", "HIGHLIGHT_COLOR"]

BAR_COLOR = QColor(168, 184, 204)
HIGHLIGHT_COLOR = QColor(33, 102, 172)
TRUE_LABEL_PEN = QColor(27, 140, 60)
EMPTY_TEXT = "Draw a digit"


class ProbabilityBars(QWidget):
    """Probability bars for the ten digits of one network.

    ``set_probabilities(p)`` with a length-10 vector shows it (the predicted digit highlighted,
    big, with its confidence); ``set_probabilities(None)`` shows the empty state.
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
        self._detail.setStyleSheet("color: #5f6368;")
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

        self._plot = pg.PlotWidget(background=None)
        self._plot.setMinimumHeight(150)
        self._plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        pi = self._plot.getPlotItem()
        pi.setXRange(-0.6, 9.6, padding=0)
        pi.setYRange(0.0, 1.06, padding=0)
        pi.getViewBox().setLimits(xMin=-0.6, xMax=9.6, yMin=0, yMax=1.06)
        pi.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        pi.getAxis("left").setTicks([[(v, f"{100 * v:.0f} %") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]])
        pi.getAxis("left").setWidth(46)
        pi.showGrid(x=False, y=True, alpha=0.25)
        # The axes (with the grid) never change: cache them as pixmaps so a bar update repaints
        # only the bars, not the axis pictures.
        for ax in ("left", "bottom"):
            pi.getAxis(ax).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        fg = self.palette().windowText().color()
        for ax in ("left", "bottom"):
            axis = pi.getAxis(ax)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
        self._normal_brushes = [pg.mkBrush(BAR_COLOR)] * 10
        self._bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.72,
                                     brushes=self._normal_brushes, pens=[pg.mkPen(None)] * 10)
        pi.addItem(self._bars)
        self._empty_item = pg.TextItem(EMPTY_TEXT, color=(130, 130, 130), anchor=(0.5, 0.5))
        ef = QFont(self.font())
        ef.setPointSizeF(self.font().pointSizeF() * 1.2)
        self._empty_item.setFont(ef)
        self._empty_item.setPos(4.5, 0.5)
        pi.addItem(self._empty_item)

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
        brushes = list(self._normal_brushes)
        brushes[k] = pg.mkBrush(HIGHLIGHT_COLOR)
        self._bars.setOpts(height=p, brushes=brushes)
        self._refresh_pens()
        self._empty_item.setVisible(False)
        self._digit.setText(str(k))
        self._digit.setStyleSheet("")
        self._confidence.setText(f"{100.0 * p[k]:.1f} % sure")
        self._digit.setToolTip(f"The network's answer: {k} with probability {p[k]:.4f}")

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
    def _show_empty(self) -> None:
        # no outline either: a true label's outline on an empty chart is a stray green stub
        self._bars.setOpts(height=np.zeros(10), brushes=self._normal_brushes, pens=[pg.mkPen(None)] * 10)
        text = self._empty_text if self._model_name is not None or self._empty_text != EMPTY_TEXT \
            else "No model chosen"
        self._empty_item.setText(text)
        self._empty_item.setVisible(True)
        self._digit.setText("")            # nothing predicted: no digit (a dash read as a bar)
        self._confidence.setText(text)
        self._digit.setToolTip("")

    def _refresh_pens(self) -> None:
        pens = [pg.mkPen(None)] * 10
        if self._p is not None and self._true_label is not None and 0 <= self._true_label <= 9:
            pens[self._true_label] = pg.mkPen(TRUE_LABEL_PEN, width=3)
        self._bars.setOpts(pens=pens)
