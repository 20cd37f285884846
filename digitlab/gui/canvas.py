"""The drawing pad: a square canvas a person draws a digit on with the mouse or a pen.

The ink lives in a fixed-resolution backing image (``resolution`` x ``resolution``, 448 by
default, i.e. 16 times MNIST's 28) whose alpha channel *is* the ink: 0 is paper, 255 is full ink.
That keeps :meth:`DrawingCanvas.image_array` a cheap view of one channel and makes the eraser a
plain ``DestinationOut`` composition. The widget shows the backing image scaled to the largest
centred square that fits, so drawing behaves the same at any window size.

Strokes are recorded as vectors (points, pressures, width, eraser flag) so undo replays the
operations since the last clear instead of keeping a bitmap per stroke, and so the network's input
is rendered from the strokes themselves (:meth:`DrawingCanvas.drawing`, for
:func:`digitlab.data.strokes.drawing_to_mnist_steps`). Loading an image and
clearing are operations too, so both can be undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPointingDevice,
    QTabletEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitlab.data.pen import pressure_width
from digitlab.data.strokes import Drawing, Stroke
from digitlab.gui.guard import guarded

__all__ = ["DrawingCanvas", "DEFAULT_RESOLUTION", "DEFAULT_BRUSH_PERCENT"]

DEFAULT_RESOLUTION = 448
DEFAULT_BRUSH_PERCENT = 7.0  # brush diameter as a percentage of the canvas side
MIN_BRUSH_PERCENT = 1.0
MAX_BRUSH_PERCENT = 25.0
ERASER_SCALE = 1.5           # the eraser is wider than the pen, so it leaves no anti-aliased ghost edges
MIN_SIDE = 280               # logical pixels
MAX_IMAGE_UNDO = 20          # loaded images kept in the undo history
PAPER = QColor(255, 255, 255)
INK = QColor(0, 0, 0)


@dataclass
class _Stroke:
    width: float                      # diameter in backing-image pixels at full pressure
    erase: bool
    points: list[QPointF] = field(default_factory=list)
    pressures: list[float] = field(default_factory=list)
    # the same points as plain floats, so drawing() builds its arrays without a Qt call per point
    xy: list[tuple[float, float]] = field(default_factory=list)
    # drawing()'s Stroke for the first `frozen_n` points (finished strokes are built once)
    frozen: Stroke | None = None
    frozen_n: int = 0

    def as_stroke(self) -> Stroke:
        if self.frozen is None or self.frozen_n != len(self.xy):
            self.frozen = Stroke(np.array(self.xy, dtype=np.float64),
                                 np.array(self.pressures, dtype=np.float64), self.width, self.erase)
            self.frozen_n = len(self.xy)
        return self.frozen


@dataclass
class _Image:
    image: QImage                     # already at the canvas resolution


class _Clear:
    pass  # a marker in the operation list: its type is all it says


class DrawingCanvas(QWidget):
    """A square drawing surface with brush, eraser, undo and clear.

    Signals
    -------
    changed()
        Emitted after every drawn segment, undo, clear or loaded image.
    stroke_finished()
        Emitted when the pen or mouse button is released (and after undo/clear/load, which are
        "finished" changes too).
    """

    changed = Signal()
    stroke_finished = Signal()

    def __init__(self, parent: QWidget | None = None, *, resolution: int = DEFAULT_RESOLUTION):
        super().__init__(parent)
        if resolution < 28:
            raise ValueError(f"resolution must be >= 28, got {resolution}")
        self._res = int(resolution)
        self._image = self._blank()
        self._ops: list[_Stroke | _Image | _Clear] = []
        self._current: _Stroke | None = None
        self._brush_percent = DEFAULT_BRUSH_PERCENT
        self._eraser = False
        self._hover: QPointF | None = None
        self._tablet_active = False
        self._placeholder = "Draw a digit here"
        # Whether the last paint drew the placeholder. Strokes repaint only the rectangle they
        # touch, so when the placeholder must appear or vanish the whole widget is repainted
        # instead; otherwise parts of the grey text stay on screen around the new ink.
        self._placeholder_painted = False

        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(MIN_SIDE, MIN_SIDE)
        self.setMouseTracking(True)          # for the brush outline under the cursor
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Drawing canvas")
        self.setToolTip("Draw with the left mouse button or a pen; the right button erases.")

    # ------------------------------------------------------------------ public API
    @property
    def resolution(self) -> int:
        """Side of the backing image in pixels (what :meth:`image_array` returns)."""
        return self._res

    def brush_size(self) -> float:
        """Brush diameter as a percentage of the canvas side."""
        return self._brush_percent

    def set_brush_size(self, percent: float) -> None:
        """Set the brush diameter as a percentage of the canvas side (clamped to 1..25)."""
        self._brush_percent = float(min(max(percent, MIN_BRUSH_PERCENT), MAX_BRUSH_PERCENT))
        self._update_hover()

    def brush_pixels(self) -> float:
        """Brush diameter in backing-image pixels."""
        return self._brush_percent / 100.0 * self._res

    def is_eraser(self) -> bool:
        return self._eraser

    def set_eraser(self, on: bool) -> None:
        """Switch between pen (False) and eraser (True) for the left button / pen tip."""
        self._eraser = bool(on)
        self._update_hover()

    def undo(self) -> bool:
        """Remove the last stroke (or clear, or loaded image). Returns False if nothing to undo."""
        self._finish_stroke(emit=False)
        if not self._ops:
            return False
        self._ops.pop()
        self._replay()
        self._emit_finished_change()
        return True

    def clear(self) -> None:
        """Wipe the canvas (undoable)."""
        self._finish_stroke(emit=False)
        if self.is_empty():
            return
        self._ops.append(_Clear())
        self._image = self._blank()
        self.update()
        self._emit_finished_change()

    def is_empty(self) -> bool:
        """True when no visible ink is left (faint anti-aliasing residue does not count)."""
        return int(self._alpha().max(initial=0)) < 8

    def image_array(self) -> np.ndarray:
        """The ink as a ``(resolution, resolution)`` float32 array in [0, 1], ink high."""
        return self._alpha().astype(np.float32) * np.float32(1.0 / 255.0)

    def drawing(self) -> Drawing:
        """What is on the canvas for the network: the strokes since the last clear or loaded image.

        Returns a :class:`~digitlab.data.strokes.Drawing` of ``resolution`` pixels whose strokes
        are in backing-image pixels (pen and eraser, in drawing order, the one being drawn
        included). When an image was loaded since the last clear, ``raster`` is
        :meth:`image_array` (the strokes cannot describe the image; drawn strokes on top are in it
        too); otherwise ``raster`` is None. With no ink on the canvas the drawing has no strokes
        and ``raster`` None. Cheap: finished strokes are converted once, the canvas is only
        copied when an image is part of the drawing.
        """
        start, loaded = 0, False
        for k in range(len(self._ops) - 1, -1, -1):
            op = self._ops[k]
            if isinstance(op, (_Clear, _Image)):
                start, loaded = k + 1, isinstance(op, _Image)
                break
        ops = [op for op in self._ops[start:] if isinstance(op, _Stroke) and op.xy]
        if not ops and not loaded:
            return Drawing(self._res, (), None)
        # pen strokes alone always leave ink; only after an eraser stroke or an image can the
        # canvas be empty, and only then is it scanned (a quarter of a millisecond)
        if (loaded or any(op.erase for op in ops)) and self.is_empty():
            return Drawing(self._res, (), None)
        strokes = tuple(op.as_stroke() for op in ops)
        return Drawing(self._res, strokes, self.image_array() if loaded else None)

    def ink_bbox(self) -> tuple[int, int, int, int] | None:
        """``(top, left, bottom, right)`` (exclusive) of every pixel with any ink, or None."""
        alpha = self._alpha()
        rows = np.flatnonzero(alpha.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(alpha[rows[0]:rows[-1] + 1].any(axis=0))
        return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1

    def ink_crop(self, margin: int = 1) -> np.ndarray | None:
        """The inked part of :meth:`image_array` with ``margin`` pixels of bare paper around it.

        Cheaper to preprocess than the whole canvas and, since MNIST preprocessing starts by
        cropping to the ink anyway, it gives the same 28x28 input. ``None`` when empty.
        """
        if self.is_empty():
            return None
        box = self.ink_bbox()
        if box is None:
            return None
        top, left, bottom, right = box
        out = np.zeros((bottom - top + 2 * margin, right - left + 2 * margin), np.float32)
        ink = self._alpha()[top:bottom, left:right]
        out[margin:margin + bottom - top, margin:margin + right - left] = ink
        out *= np.float32(1.0 / 255.0)
        return out

    def set_image_array(self, array: np.ndarray) -> None:
        """Put an image on the canvas (e.g. a 28x28 MNIST digit), scaled up smoothly.

        ``array`` is 2-D, ink high: floats in [0, 1] or integers in [0, 255]. Any size; it is
        stretched to the square canvas. The load can be undone like a stroke.
        """
        arr = np.asarray(array)
        if arr.ndim == 1 and arr.size == 784:
            arr = arr.reshape(28, 28)
        if arr.ndim != 2 or arr.size == 0:
            raise ValueError(f"image must be a 2-D array, got shape {arr.shape}")
        if np.issubdtype(arr.dtype, np.integer) or (arr.size and float(np.nanmax(arr)) > 1.0 + 1e-6):
            gray = np.clip(arr, 0, 255).astype(np.uint8)
        else:
            gray = (np.clip(np.nan_to_num(arr.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        gray = np.ascontiguousarray(gray)
        h, w = gray.shape
        small = QImage(gray.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        big = small.scaled(self._res, self._res, Qt.AspectRatioMode.IgnoreAspectRatio,
                           Qt.TransformationMode.SmoothTransformation)
        big = big.convertToFormat(QImage.Format.Format_Grayscale8)
        stride = big.bytesPerLine()
        alpha = np.frombuffer(big.constBits(), np.uint8, count=stride * self._res)
        alpha = alpha.reshape(self._res, stride)[:, : self._res]
        image = self._blank()
        view = self._pixels(image)
        view[:, :, 3] = alpha            # premultiplied black: colour bytes stay 0
        self._finish_stroke(emit=False)
        self._ops.append(_Image(image.copy()))
        # each loaded image keeps a full-size copy for undo: keep the history of the last
        # MAX_IMAGE_UNDO loads only (older states become unreachable, memory stays bounded)
        loads = [i for i, op in enumerate(self._ops) if isinstance(op, _Image)]
        if len(loads) > MAX_IMAGE_UNDO:
            del self._ops[:loads[len(loads) - MAX_IMAGE_UNDO]]
        self._image = image
        self.update()
        self._emit_finished_change()

    # ------------------------------------------------------------------ geometry
    @guarded(default=True)
    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt name
        return True

    @guarded(default=MIN_SIDE)
    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    @guarded(default=QSize(DEFAULT_RESOLUTION, DEFAULT_RESOLUTION))
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._res, self._res)

    @guarded(default=QSize(MIN_SIDE, MIN_SIDE))
    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(MIN_SIDE, MIN_SIDE)

    def target_rect(self) -> QRectF:
        """Where the backing image is shown: the largest centred square in the widget."""
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2.0, (self.height() - side) / 2.0, side, side)

    def map_to_image(self, pos: QPointF) -> QPointF:
        """Widget coordinates -> backing-image coordinates."""
        r = self.target_rect()
        scale = self._res / r.width() if r.width() > 0 else 1.0
        return QPointF((pos.x() - r.x()) * scale, (pos.y() - r.y()) * scale)

    def _image_rect_to_widget(self, rect: QRectF) -> QRect:
        r = self.target_rect()
        s = r.width() / self._res
        out = QRectF(r.x() + rect.x() * s, r.y() + rect.y() * s, rect.width() * s, rect.height() * s)
        return out.toAlignedRect().adjusted(-2, -2, 2, 2)

    # ------------------------------------------------------------------ drawing core
    def _blank(self) -> QImage:
        img = QImage(self._res, self._res, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(Qt.GlobalColor.transparent)
        return img

    def _pixels(self, image: QImage) -> np.ndarray:
        """Writable (res, res, 4) uint8 view of an ARGB32 image (bytes B, G, R, A)."""
        stride = image.bytesPerLine()
        buf = np.frombuffer(image.bits(), np.uint8, count=stride * image.height())
        rows = buf.reshape(image.height(), stride)[:, : image.width() * 4]
        return rows.reshape(image.height(), image.width(), 4)

    def _alpha(self) -> np.ndarray:
        stride = self._image.bytesPerLine()
        buf = np.frombuffer(self._image.constBits(), np.uint8, count=stride * self._res)
        return buf.reshape(self._res, stride)[:, 3 : self._res * 4 : 4]

    def _painter(self, image: QImage, stroke: _Stroke) -> QPainter:
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if stroke.erase:
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOut)
        return p

    def _pen(self, stroke: _Stroke, pressure: float) -> QPen:
        pen = QPen(INK)
        pen.setWidthF(max(1.0, float(pressure_width(stroke.width, pressure))))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _paint_segment(self, image: QImage, stroke: _Stroke, i: int) -> QRectF:
        """Paint point ``i`` of ``stroke`` (a dot for the first, a line from i-1 otherwise)."""
        p = self._painter(image, stroke)
        try:
            pen = self._pen(stroke, stroke.pressures[i])
            p.setPen(pen)
            b = stroke.points[i]
            if i == 0:
                p.drawPoint(b)
                a = b
            else:
                a = stroke.points[i - 1]
                p.drawLine(a, b)
        finally:
            p.end()
        half = pen.widthF() / 2.0 + 2.0
        return QRectF(min(a.x(), b.x()) - half, min(a.y(), b.y()) - half,
                      abs(a.x() - b.x()) + 2 * half, abs(a.y() - b.y()) + 2 * half)

    def _replay(self) -> None:
        start = 0
        for k in range(len(self._ops) - 1, -1, -1):
            if isinstance(self._ops[k], (_Clear, _Image)):
                start = k
                break
        image = self._blank()
        for op in self._ops[start:]:
            if isinstance(op, _Clear):
                image = self._blank()
            elif isinstance(op, _Image):
                image = op.image.copy()
            else:
                for i in range(len(op.points)):
                    self._paint_segment(image, op, i)
        self._image = image
        self.update()

    def _begin_stroke(self, pos: QPointF, pressure: float, erase: bool) -> None:
        self._finish_stroke(emit=False)
        width = self.brush_pixels() * (ERASER_SCALE if erase else 1.0)
        stroke = _Stroke(width=width, erase=erase)
        self._current = stroke
        self._ops.append(stroke)
        self._add_point(pos, pressure)

    def _add_point(self, pos: QPointF, pressure: float) -> None:
        stroke = self._current
        if stroke is None:
            return
        pt = self.map_to_image(pos)
        if stroke.points:
            last = stroke.points[-1]
            if abs(last.x() - pt.x()) < 0.05 and abs(last.y() - pt.y()) < 0.05:
                return
        stroke.points.append(pt)
        stroke.pressures.append(pressure)
        stroke.xy.append((pt.x(), pt.y()))
        dirty = self._paint_segment(self._image, stroke, len(stroke.points) - 1)
        if self._placeholder_painted != self._shows_placeholder():
            self.update()
        else:
            self.update(self._image_rect_to_widget(dirty))
        self.changed.emit()

    def _finish_stroke(self, emit: bool = True) -> None:
        if self._current is None:
            return
        self._current = None
        if self._placeholder_painted != self._shows_placeholder():
            self.update()  # e.g. an eraser stroke left no ink: the placeholder returns whole
        if emit:
            self.stroke_finished.emit()

    def _emit_finished_change(self) -> None:
        self.changed.emit()
        self.stroke_finished.emit()

    def _shows_placeholder(self) -> bool:
        """The placeholder text is shown while nothing is drawn and no stroke is under way."""
        return not self._ops or (self._current is None and self.is_empty())

    def _update_hover(self) -> None:
        if self._hover is not None:
            self.update()

    def _hover_radius(self) -> float:
        scale = ERASER_SCALE if self._eraser else 1.0
        return self.brush_pixels() * scale / 2.0 * self.target_rect().width() / self._res

    # ------------------------------------------------------------------ Qt event handlers
    @guarded
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(event.rect(), self.palette().window())
        r = self.target_rect()
        p.fillRect(r, PAPER)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(r, self._image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._placeholder_painted = self._shows_placeholder()
        if self._placeholder_painted:
            p.setPen(QColor(150, 150, 150))
            f = QFont(self.font())
            f.setPointSizeF(max(11.0, self.font().pointSizeF() * 1.3))
            p.setFont(f)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, self._placeholder)
        if self._hover is not None and self._current is None:
            rad = self._hover_radius()
            pen = QPen(QColor(200, 60, 60) if self._eraser else QColor(60, 110, 200))
            pen.setWidthF(1.2)
            pen.setStyle(Qt.PenStyle.DashLine if self._eraser else Qt.PenStyle.SolidLine)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(self._hover, rad, rad)
        p.setPen(QPen(QColor(170, 170, 170), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))
        p.end()

    def _set_hover(self, pos: QPointF | None) -> None:
        old = self._hover
        self._hover = pos
        rad = self._hover_radius() + 3
        for c in (old, pos):
            if c is not None:
                self.update(QRectF(c.x() - rad, c.y() - rad, 2 * rad, 2 * rad).toAlignedRect())

    @guarded
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._tablet_active:
            event.accept()
            return
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            event.ignore()
            return
        erase = self._eraser or button == Qt.MouseButton.RightButton
        self._set_hover(None)
        self._begin_stroke(event.position(), 1.0, erase)
        event.accept()

    @guarded
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._tablet_active:
            event.accept()
            return
        if self._current is not None:
            self._add_point(event.position(), 1.0)
        else:
            self._set_hover(event.position())
        event.accept()

    @guarded
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._tablet_active:
            event.accept()
            return
        if self._current is not None:
            self._add_point(event.position(), 1.0)
            self._finish_stroke()
        self._set_hover(event.position())
        event.accept()

    @guarded
    def leaveEvent(self, event) -> None:  # noqa: N802
        self._set_hover(None)

    @guarded
    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802
        t = event.type()
        pressure = float(event.pressure()) if event.pressure() > 0 else 1.0
        device = event.pointingDevice()
        is_eraser_tip = device is not None and device.pointerType() == QPointingDevice.PointerType.Eraser
        if t == QTabletEvent.Type.TabletPress:
            self._tablet_active = True
            self._set_hover(None)
            self._begin_stroke(event.position(), pressure, self._eraser or is_eraser_tip)
        elif t == QTabletEvent.Type.TabletMove:
            if self._current is not None:
                self._add_point(event.position(), pressure)
            else:
                self._set_hover(event.position())
        elif t == QTabletEvent.Type.TabletRelease:
            if self._current is not None:
                self._finish_stroke()
            self._tablet_active = False
        event.accept()   # no synthesised mouse events for pen input
