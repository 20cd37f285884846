"""The drawing canvas, used the way a person uses it: mouse strokes, eraser, undo, clear."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QVBoxLayout, QWidget

from digitlab.gui.canvas import DEFAULT_BRUSH_PERCENT, DrawingCanvas


@pytest.fixture
def canvas(qtbot):
    c = DrawingCanvas()
    qtbot.addWidget(c)
    c.resize(400, 400)
    c.show()
    qtbot.waitExposed(c)
    return c


def stroke(qtbot, w, points, button=Qt.MouseButton.LeftButton):
    pts = [QPoint(int(x), int(y)) for x, y in points]
    qtbot.mousePress(w, button, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(w, p)
    qtbot.mouseRelease(w, button, pos=pts[-1])


def line(x0, y0, x1, y1, n=15):
    return [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in np.linspace(0, 1, n)]


def ink(c, thresh=0.5):
    return int((c.image_array() > thresh).sum())


def test_starts_empty_and_square(canvas):
    assert canvas.is_empty()
    a = canvas.image_array()
    assert a.shape == (canvas.resolution, canvas.resolution)
    assert a.dtype == np.float32 and a.max() == 0.0
    assert canvas.minimumSizeHint().width() >= 280 and canvas.minimumSizeHint().height() >= 280
    assert canvas.hasHeightForWidth() and canvas.heightForWidth(500) == 500
    assert canvas.brush_size() == pytest.approx(DEFAULT_BRUSH_PERCENT)


def test_a_stroke_puts_ink_where_the_mouse_went(qtbot, canvas):
    changes = []
    canvas.changed.connect(lambda: changes.append(1))
    with qtbot.waitSignal(canvas.stroke_finished, timeout=1000):
        stroke(qtbot, canvas, line(100, 200, 300, 200))
    assert not canvas.is_empty()
    a = canvas.image_array()
    assert 0.0 <= a.min() and a.max() <= 1.0
    # horizontal stroke across the middle: ink on row 200 (widget) -> row 224 (image), not at the top
    row = int(200 * canvas.resolution / 400)
    assert a[row, int(200 * canvas.resolution / 400)] > 0.9
    assert a[:40].max() == 0.0
    # brush about 7 % of the side thick
    thickness = int((a[:, canvas.resolution // 2] > 0.5).sum())
    assert abs(thickness - 0.07 * canvas.resolution) <= 3
    # one changed per segment (at least one per mouse move)
    assert len(changes) >= 10
    # round caps, anti-aliased: there are intermediate grey levels along the edge
    assert ((a > 0.05) & (a < 0.95)).any()


def test_a_single_click_leaves_a_round_dot(qtbot, canvas):
    stroke(qtbot, canvas, [(200, 200)])
    a = canvas.image_array()
    assert not canvas.is_empty()
    ys, xs = np.nonzero(a > 0.5)
    assert abs((ys.max() - ys.min()) - (xs.max() - xs.min())) <= 2


def test_undo_removes_last_stroke_only(qtbot, canvas):
    stroke(qtbot, canvas, line(100, 100, 300, 100))
    first = ink(canvas)
    stroke(qtbot, canvas, line(100, 300, 300, 300))
    assert ink(canvas) > first * 1.5
    assert canvas.undo()
    assert ink(canvas) == first
    assert canvas.undo()
    assert canvas.is_empty()
    assert not canvas.undo()


def test_clear_and_undo_clear(qtbot, canvas):
    stroke(qtbot, canvas, line(100, 100, 300, 300))
    before = canvas.image_array().copy()
    with qtbot.waitSignal(canvas.changed, timeout=1000):
        canvas.clear()
    assert canvas.is_empty()
    canvas.undo()
    np.testing.assert_array_equal(canvas.image_array(), before)


def test_eraser_erases(qtbot, canvas):
    stroke(qtbot, canvas, line(80, 200, 320, 200))
    full = ink(canvas)
    canvas.set_eraser(True)
    stroke(qtbot, canvas, line(80, 200, 200, 200))
    assert canvas.is_eraser()
    left = canvas.image_array()[:, : canvas.resolution // 2 - 20]
    assert left.max() < 0.05          # no ghost edges left by the eraser
    assert 0 < ink(canvas) < full * 0.6
    canvas.set_eraser(False)
    canvas.undo()
    assert ink(canvas) == full


def test_right_button_erases(qtbot, canvas):
    stroke(qtbot, canvas, line(80, 200, 320, 200))
    stroke(qtbot, canvas, line(80, 200, 320, 200), button=Qt.MouseButton.RightButton)
    assert canvas.is_empty()


def test_brush_size_is_adjustable(qtbot, canvas):
    canvas.set_brush_size(14)
    stroke(qtbot, canvas, line(100, 200, 300, 200))
    thickness = int((canvas.image_array()[:, canvas.resolution // 2] > 0.5).sum())
    assert abs(thickness - 0.14 * canvas.resolution) <= 3
    canvas.set_brush_size(1000)
    assert canvas.brush_size() == 25


def test_set_image_array_shows_an_mnist_digit(canvas, qtbot):
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 13:15] = 1.0
    with qtbot.waitSignal(canvas.stroke_finished, timeout=1000):
        canvas.set_image_array(digit)
    a = canvas.image_array()
    assert not canvas.is_empty()
    assert a[canvas.resolution // 2, canvas.resolution // 2] > 0.9
    assert a[:, :100].max() < 0.05
    # uint8 input and flat 784 vectors work too; loading is undoable
    canvas.set_image_array((digit * 255).astype(np.uint8).ravel())
    canvas.undo()
    canvas.undo()
    assert canvas.is_empty()
    with pytest.raises(ValueError):
        canvas.set_image_array(np.zeros((2, 3, 4)))


def test_drawing_is_resolution_independent_of_widget_size(qtbot):
    """The same stroke in a bigger window lands in the same place on the backing image."""
    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    c = DrawingCanvas()
    lay.addWidget(c)
    host.resize(700, 700)
    host.show()
    qtbot.waitExposed(host)
    r = c.target_rect()
    assert r.width() == r.height() >= 280
    mid_y = r.y() + r.height() / 2
    stroke(qtbot, c, line(r.x() + r.width() * 0.25, mid_y, r.x() + r.width() * 0.75, mid_y))
    a = c.image_array()
    res = c.resolution
    assert a[res // 2, res // 2] > 0.9
    thickness = int((a[:, res // 2] > 0.5).sum())
    assert abs(thickness - 0.07 * res) <= 3


def test_every_event_handler_is_guarded():
    for name, value in vars(DrawingCanvas).items():
        if name.endswith("Event") and callable(value):
            assert getattr(value, "__guarded__", False), name


def test_pen_tablet_strokes_follow_pressure(qtbot, canvas):
    """A pen (QTabletEvent) draws too, thin when pressed lightly and full width when pressed hard."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    pen = QPointingDevice("test pen", 4242, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                          QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3)

    def send(kind, x, y, pressure, buttons):
        ev = QTabletEvent(kind, pen, QPointF(x, y), canvas.mapToGlobal(QPointF(x, y)), pressure,
                          0.0, 0.0, 0.0, 0.0, 0.0, Qt.KeyboardModifier.NoModifier,
                          Qt.MouseButton.LeftButton, buttons)
        QApplication.sendEvent(canvas, ev)
        return ev.isAccepted()

    with qtbot.waitSignal(canvas.stroke_finished, timeout=1000):
        assert send(QEvent.Type.TabletPress, 100, 200, 0.2, Qt.MouseButton.LeftButton)
        for i in range(1, 21):
            send(QEvent.Type.TabletMove, 100 + 10 * i, 200, 0.2 + 0.04 * i, Qt.MouseButton.LeftButton)
        send(QEvent.Type.TabletRelease, 300, 200, 0.0, Qt.MouseButton.NoButton)
    a = canvas.image_array()
    scale = canvas.resolution / 400

    def thickness(x):
        return int((a[:, int(x * scale)] > 0.5).sum())

    assert not canvas.is_empty()
    assert thickness(290) > 1.5 * thickness(110)
    assert abs(thickness(290) - canvas.brush_pixels()) <= 3
    assert canvas.undo() and canvas.is_empty()


def test_undo_history_of_loaded_images_is_bounded(canvas):
    from digitlab.gui.canvas import MAX_IMAGE_UNDO

    for k in range(MAX_IMAGE_UNDO + 15):
        img = np.zeros((28, 28), np.float32)
        img[4 + k % 20, :] = 1.0
        canvas.set_image_array(img)
    n = 0
    while canvas.undo():
        n += 1
    assert n == MAX_IMAGE_UNDO
    assert canvas.is_empty()


# ------------------------------------------------------------------ what is on the screen
def _on_screen(qtbot, c):
    """What the window system shows of the canvas: its backing store, with the regions that
    were not repainted left as they were (``QWidget.grab`` would repaint everything)."""
    qtbot.wait(30)  # let the posted update requests be painted
    return c.screen().grabWindow(c.winId()).toImage().convertToFormat(QImage.Format.Format_RGB32)


def _fresh_paint(c):
    """What a full repaint of the canvas in its current state draws."""
    return c.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def _grey_text_pixels(image, c):
    """Pixels of the placeholder's grey (150, 150, 150) in the band where its text is centred."""
    square = c.target_rect().toAlignedRect()
    centre = square.center()
    r = QRect(square.left() + 4, centre.y() - 20, square.width() - 8, 40)
    grey = 0
    for y in range(r.top(), r.bottom(), 2):
        for x in range(r.left(), r.right(), 2):
            px = image.pixelColor(x, y)
            if abs(px.red() - 150) < 30 and px.red() == px.green() == px.blue():
                grey += 1
    return grey


def test_the_placeholder_goes_away_everywhere_when_drawing_starts_again_after_clear(qtbot, canvas):
    empty = _on_screen(qtbot, canvas)
    assert _grey_text_pixels(empty, canvas) > 20            # "Draw a digit here" is shown
    stroke(qtbot, canvas, line(200, 100, 300, 100))
    canvas.clear()                                          # what Clear and Delete call
    cleared = _on_screen(qtbot, canvas)
    assert cleared == _fresh_paint(canvas)
    assert _grey_text_pixels(cleared, canvas) > 20          # the placeholder is back, whole
    # a stroke in a corner, away from the text: the text must still vanish from the screen
    stroke(qtbot, canvas, line(40, 350, 120, 350))
    shown = _on_screen(qtbot, canvas)
    assert _grey_text_pixels(_fresh_paint(canvas), canvas) == 0
    assert _grey_text_pixels(shown, canvas) == 0
    assert shown == _fresh_paint(canvas)


def test_the_placeholder_comes_back_whole_when_the_eraser_leaves_nothing(qtbot, canvas):
    stroke(qtbot, canvas, line(40, 350, 120, 350), button=Qt.MouseButton.RightButton)
    assert canvas.is_empty()
    shown = _on_screen(qtbot, canvas)
    assert _grey_text_pixels(shown, canvas) > 20
    assert shown == _fresh_paint(canvas)


def test_drawing_holds_the_strokes_since_the_last_clear_in_canvas_pixels(qtbot, canvas):
    empty = canvas.drawing()
    assert empty.side == canvas.resolution and empty.strokes == () and empty.raster is None
    stroke(qtbot, canvas, [(100, 100), (100, 300)])      # dropped by the clear below
    canvas.clear()
    canvas.set_brush_size(10)
    stroke(qtbot, canvas, [(100, 200), (200, 200), (300, 200)])
    stroke(qtbot, canvas, [(150, 200), (180, 200)], button=Qt.MouseButton.RightButton)
    d = canvas.drawing()
    assert d.raster is None and len(d.strokes) == 2
    pen, eraser = d.strokes
    s = canvas.resolution / 400                            # widget 400 px -> canvas pixels
    # the release repeats the last point; drawing() keeps what the canvas painted
    expected = [[100 * s, 200 * s], [200 * s, 200 * s], [300 * s, 200 * s]]
    np.testing.assert_allclose(pen.points[:3], expected, atol=s)
    np.testing.assert_array_equal(pen.pressures, 1.0)
    assert pen.width == pytest.approx(0.10 * canvas.resolution) and not pen.erase
    assert eraser.erase and eraser.width == pytest.approx(1.5 * 0.10 * canvas.resolution)
    # finished strokes are converted once, not on every call (drawing() runs every 30 ms)
    assert canvas.drawing().strokes[0] is pen
    # undo takes the eraser stroke out of the drawing too
    canvas.undo()
    assert [st.erase for st in canvas.drawing().strokes] == [False]


def test_drawing_is_the_raster_after_a_loaded_image(qtbot, canvas):
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 13:15] = 1.0
    canvas.set_image_array(digit)
    d = canvas.drawing()
    assert d.strokes == ()
    np.testing.assert_array_equal(d.raster, canvas.image_array())
    stroke(qtbot, canvas, line(100, 300, 300, 300))
    d = canvas.drawing()
    assert len(d.strokes) == 1 and d.raster is not None
    assert d.raster[300 * canvas.resolution // 400].max() > 0.9     # the stroke is in the raster
    canvas.clear()
    stroke(qtbot, canvas, line(100, 300, 300, 300))
    assert canvas.drawing().raster is None                # cleared: strokes again
    canvas.undo()
    canvas.undo()                                         # the clear undone: the image is back
    assert canvas.drawing().raster is not None
