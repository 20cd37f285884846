"""The probability bars say their values: a tooltip on every bar, a label on the top one or two,
and a dimmed state that greys the answer out but keeps the values readable."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF
from PySide6.QtGui import QColor, QHelpEvent, QPalette
from PySide6.QtWidgets import QApplication, QToolTip

from digitlab.gui.probability_bars import (
    BAR_COLOR,
    DIMMED_BAR_COLOR,
    DIMMED_HIGHLIGHT_COLOR,
    DIMMED_TEXT,
    HIGHLIGHT_COLOR,
    ProbabilityBars,
)

P = np.array([0.010, 0.002, 0.030, 0.013, 0.004, 0.070, 0.010, 0.832, 0.020, 0.009])


@pytest.fixture
def bars(qtbot):
    w = ProbabilityBars("Network A")
    w.set_model_name("report-no-l2")
    qtbot.addWidget(w)
    w.resize(420, 320)
    w.show()
    qtbot.waitExposed(w)
    return w


def _brush_colors(bars) -> list[QColor]:
    return [b.color() for b in bars._bars.opts["brushes"]]


def _colors_in(widget) -> set[tuple[int, int, int]]:
    img = widget.grab().toImage()
    return {img.pixelColor(x, y).getRgb()[:3]
            for x in range(0, img.width(), 2) for y in range(0, img.height(), 2)}


def test_every_bar_has_its_value_as_a_tooltip(bars):
    assert bars.bar_tooltips() == [""] * 10
    bars.set_probabilities(P)
    assert bars.bar_tooltips() == ["0: 1.0 %", "1: 0.2 %", "2: 3.0 %", "3: 1.3 %", "4: 0.4 %",
                                   "5: 7.0 %", "6: 1.0 %", "7: 83.2 %", "8: 2.0 %", "9: 0.9 %"]
    bars.set_probabilities(np.roll(P, 1))
    assert bars.bar_tooltips()[8] == "8: 83.2 %"
    bars.set_probabilities(None)
    assert bars.bar_tooltips() == [""] * 10


def test_hovering_a_column_shows_its_tooltip(bars, qtbot):
    bars.set_probabilities(P)
    plot = bars._plot
    vb = plot.getPlotItem().getViewBox()
    for digit, expected in ((7, "7: 83.2 %"), (1, "1: 0.2 %")):   # a tall bar and a hairline
        scene_pos = vb.mapViewToScene(QPointF(digit, 0.5))
        pos = plot.mapFromScene(scene_pos)
        event = QHelpEvent(QEvent.Type.ToolTip, pos, plot.viewport().mapToGlobal(pos))
        QApplication.sendEvent(plot.viewport(), event)
        qtbot.waitUntil(lambda want=expected: QToolTip.isVisible() and QToolTip.text() == want, timeout=2000)
        QToolTip.hideText()


def test_the_top_bar_and_a_runner_up_above_five_percent_are_labelled(bars):
    bars.set_probabilities(P)
    assert bars.value_labels() == {7: "83.2 %", 5: "7.0 %"}
    # A runner-up at 5 % or less gets no label: only the answer is labelled.
    q = np.array([0.0, 0.0, 0.04, 0.0, 0.0, 0.0, 0.0, 0.96, 0.0, 0.0])
    bars.set_probabilities(q)
    assert bars.value_labels() == {7: "96.0 %"}
    bars.set_probabilities(None)
    assert bars.value_labels() == {}


def test_labels_sit_over_their_bars_inside_the_chart_and_apart(bars, qtbot):
    vb = bars._plot.getPlotItem().getViewBox()

    def label_rects():
        return {i: lab.mapRectToScene(lab.boundingRect())
                for i, lab in zip(bars._label_bars, bars._value_labels) if i is not None and lab.isVisible()}

    chart = vb.sceneBoundingRect()
    # Two neighbouring bars of equal height at the right edge: the worst case.
    bars.set_probabilities(np.array([0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5]))
    qtbot.wait(10)
    rects = label_rects()
    assert set(rects) == {8, 9}
    assert not rects[8].intersects(rects[9])
    for r in rects.values():
        assert chart.left() - 1 <= r.left() and r.right() <= chart.right() + 1
        assert r.bottom() <= vb.mapViewToScene(QPointF(0, 0.5)).y() + 1    # above the bars' tops
    # A short runner-up beside a tall answer: its label must not cover the tall bar.
    q = np.zeros(10)
    q[5], q[6], q[0] = 0.906, 0.091, 0.003
    bars.set_probabilities(q)
    qtbot.wait(10)
    rects = label_rects()
    tall_bar = QRectF(vb.mapViewToScene(QPointF(5 - 0.36, 0.906)), vb.mapViewToScene(QPointF(5 + 0.36, 0.0)))
    assert not rects[6].intersects(tall_bar)
    assert rects[6].bottom() >= vb.mapViewToScene(QPointF(0, 0.3)).y()   # it stays low, by its bar
    assert rects[6].left() <= vb.mapViewToScene(QPointF(6.36, 0)).x()    # and starts over it
    # A lone answer is centred over its bar.
    bars.set_probabilities(np.eye(10)[4])
    qtbot.wait(10)
    rect = label_rects()[4]
    assert rect.center().x() == pytest.approx(vb.mapViewToScene(QPointF(4, 0)).x(), abs=1.5)


def test_dimmed_is_set_and_cleared_and_keeps_the_values(bars):
    bars.set_probabilities(P)
    assert not bars.is_dimmed()
    assert _brush_colors(bars)[7] == HIGHLIGHT_COLOR and _brush_colors(bars)[0] == BAR_COLOR
    shown = _colors_in(bars)
    assert HIGHLIGHT_COLOR.getRgb()[:3] in shown

    bars.set_dimmed(True, "Not a digit yet")
    assert bars.is_dimmed()
    assert _brush_colors(bars)[7] == DIMMED_HIGHLIGHT_COLOR and _brush_colors(bars)[0] == DIMMED_BAR_COLOR
    assert bars.confidence_text() == "Not a digit yet"
    assert bars.predicted_text() == "7"
    assert bars.value_labels() == {7: "83.2 %", 5: "7.0 %"}
    assert bars.bar_tooltips()[7] == "7: 83.2 %"
    shown = _colors_in(bars)
    assert HIGHLIGHT_COLOR.getRgb()[:3] not in shown and DIMMED_HIGHLIGHT_COLOR.getRgb()[:3] in shown

    # New probabilities while dimmed stay dimmed (the Draw view updates as the person draws).
    bars.set_probabilities(np.roll(P, 1))
    assert bars.is_dimmed() and _brush_colors(bars)[8] == DIMMED_HIGHLIGHT_COLOR
    assert bars.confidence_text() == "Not a digit yet"

    bars.set_dimmed(False)
    assert not bars.is_dimmed()
    assert _brush_colors(bars)[8] == HIGHLIGHT_COLOR and _brush_colors(bars)[0] == BAR_COLOR
    assert bars.confidence_text() == "83.2 % sure"
    assert HIGHLIGHT_COLOR.getRgb()[:3] in _colors_in(bars)


def test_dimmed_without_a_note_keeps_the_confidence_in_grey(bars):
    bars.set_probabilities(P)
    bars.set_dimmed(True)
    assert bars.confidence_text() == "83.2 % sure"
    role = QPalette.ColorRole.WindowText
    normal = bars.palette().color(role)
    assert bars._confidence.palette().color(role) == QColor(DIMMED_TEXT)
    assert bars._digit.palette().color(role) == QColor(DIMMED_TEXT)
    bars.set_dimmed(False)
    # back to the colour it inherits, not merely some other colour
    assert bars._confidence.palette().color(role) == normal
    assert bars._digit.palette().color(role) == normal


def test_dimming_an_empty_chart_shows_the_empty_state_and_applies_to_the_next_answer(bars):
    bars.set_dimmed(True, "Draw bigger")
    assert bars.predicted_text() == "" and bars.value_labels() == {}
    bars.set_probabilities(P)
    assert bars.confidence_text() == "Draw bigger"
    assert _brush_colors(bars)[7] == DIMMED_HIGHLIGHT_COLOR
