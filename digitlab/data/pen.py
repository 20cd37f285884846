"""A round pen in NumPy: centre-line segments drawn as anti-aliased capsules.

Used to redraw a digit's centre lines with MNIST's pen (:func:`skeleton_segments` turns a
one-pixel skeleton into such segments) (the drawing pad's strokes, and the
skeletons of raster digits whose strokes are too thick or thin). Coverage is analytic:
``clip(r + 1/2 - d, 0, 1)`` for a pixel whose centre is at distance ``d`` from the segment, which
integrates to exactly the pen's width across a straight stroke and is one evaluation per pixel;
callers render at a few times the target resolution and area-average down (as MNIST was made),
which also gets the round caps and joins right. Qt-free.
"""

from __future__ import annotations

import numpy as np

__all__ = ["render_segments", "skeleton_segments", "pressure_width", "MIN_PRESSURE_WIDTH"]

#: A pen touching the tablet lightly still leaves this fraction of its full width.
MIN_PRESSURE_WIDTH = 0.35


def pressure_width(width, pressure):
    """The pen's diameter at a pressure in [0, 1]: from 35 % of ``width`` (a light touch still
    leaves a visible line) to ``width`` at full pressure. Works on floats and arrays."""
    p = np.clip(pressure, 0.0, 1.0)
    return width * (MIN_PRESSURE_WIDTH + (1.0 - MIN_PRESSURE_WIDTH) * p)


def render_segments(starts: np.ndarray, ends: np.ndarray, radii, shape: tuple[int, int]) -> np.ndarray:
    """Draw segments with a round pen and return the ink coverage.

    Parameters
    ----------
    starts, ends : array_like, shape (k, 2)
        Segment end points ``(x, y)`` in pixels; pixel (row, col) covers ``[col, col+1) x
        [row, row+1)``. A zero-length segment is a dot.
    radii : float or array_like, shape (k,)
        Pen radius per segment, in pixels.
    shape : (rows, cols)

    Returns
    -------
    numpy.ndarray, float32, ``shape``
        Coverage in [0, 1]: the maximum over segments of ``clip(r + 0.5 - d, 0, 1)``.

    Only the pixels in a window around each segment are evaluated, all segments at once, so the
    cost grows with the drawn length, not the image size. Segments should be short (a few
    pixels; resample long ones first): every window is as large as the longest segment's.
    """
    a = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(ends, dtype=np.float64).reshape(-1, 2)
    r = np.broadcast_to(np.asarray(radii, dtype=np.float64), (len(a),))
    rows, cols = int(shape[0]), int(shape[1])
    if len(a) == 0 or rows == 0 or cols == 0:
        return np.zeros((rows, cols), np.float32)
    lo = np.floor(np.minimum(a, b) - r[:, None] - 0.5).astype(np.int64)
    span = int(np.ceil(np.max(np.abs(b - a)) + 2.0 * r.max() + 2.0)) + 1
    # Draw into a frame padded by one window on every side, so no window needs clipping; the
    # frame is cut off at the end. A window that starts further out than that lies wholly outside
    # the image, so moving it into the padding changes nothing that is kept.
    pad = span
    lo = np.clip(lo, -pad, [cols, rows])
    wide = cols + 2 * pad
    out = np.zeros((rows + 2 * pad + span) * wide, np.float32)
    f32 = np.float32
    off = np.arange(span, dtype=f32)
    d = (b - a).astype(f32)
    ll = np.einsum("ij,ij->i", d, d)
    inv = np.divide(f32(1.0), ll, out=np.zeros_like(ll), where=ll > 0)
    # pixel centres relative to each segment's start: (k, 1, span) columns, (k, span, 1) rows
    rx = (lo[:, 0] + 0.5 - a[:, 0]).astype(f32)[:, None, None] + off[None, None, :]
    ry = (lo[:, 1] + 0.5 - a[:, 1]).astype(f32)[:, None, None] + off[None, :, None]
    dx, dy = d[:, 0, None, None], d[:, 1, None, None]
    t = rx * (dx * inv[:, None, None]) + ry * (dy * inv[:, None, None])
    np.clip(t, 0.0, 1.0, out=t)
    ex = rx - t * dx
    t *= dy
    np.subtract(ry, t, out=t)                  # t now holds the y offset
    ex *= ex
    t *= t
    ex += t
    np.sqrt(ex, out=ex)
    np.subtract((r + 0.5).astype(f32)[:, None, None], ex, out=ex)
    np.clip(ex, 0.0, 1.0, out=ex)
    base = (lo[:, 1] + pad) * wide + (lo[:, 0] + pad)
    idx = base[:, None, None] + (np.arange(span) * wide)[None, :, None] + np.arange(span)[None, None, :]
    np.maximum.at(out, idx.ravel(), ex.ravel())
    return out.reshape(-1, wide)[pad:pad + rows, pad:pad + cols].copy()


def skeleton_segments(skel: np.ndarray) -> np.ndarray:
    """The centre line of a skeleton as segments between 8-neighbouring pixels.

    Parameters
    ----------
    skel : array_like of bool, shape (H, W)

    Returns
    -------
    numpy.ndarray, shape (k, 2, 2), float64
        ``[[x0, y0], [x1, y1]]`` per segment in pixel-centre coordinates (pixel (row, col) has its
        centre at x = col + 0.5, y = row + 0.5). A pixel with no skeleton neighbour is a
        zero-length segment (a dot), so a dot is drawn as one.
    """
    s = np.pad(np.asarray(skel, dtype=bool), 1)
    c = s[1:-1, 1:-1]
    segs = []
    linked = np.zeros_like(c)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        other = s[1 + dy:s.shape[0] - 1 + dy, 1 + dx:s.shape[1] - 1 + dx]
        ys, xs = np.nonzero(c & other)
        linked[ys, xs] = True
        linked[ys + dy, xs + dx] = True
        segs.append(np.stack([np.stack([xs, ys], -1), np.stack([xs + dx, ys + dy], -1)], 1))
    ys, xs = np.nonzero(c & ~linked)
    segs.append(np.stack([np.stack([xs, ys], -1)] * 2, 1))
    return np.concatenate(segs).astype(np.float64).reshape(-1, 2, 2) + 0.5
