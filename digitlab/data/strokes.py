"""The drawing pad's strokes, turned into the network's 28x28 input from the strokes themselves.

Rasterising the canvas and scaling its ink box to 20 px (:func:`digitlab.data.to_mnist_steps`)
scales the person's pen with the digit: a small digit drawn with the default brush (7 % of the
canvas) ends up with strokes 6-7 px wide where MNIST's are about 2.5. So the drawing pad keeps
its strokes as vectors and :func:`drawing_to_mnist_steps` redraws them:

1. the geometry is the pen strokes' centre lines (not the pen): their bounding box's longer side
   ``L`` (what an eraser rubbed out does not count) is scaled to ``BOX_SIZE - MNIST_PEN_WIDTH``
   28x28-pixels, so with MNIST's pen around them the digit fills MNIST's 20-px box, whatever the
   brush and however large it was drawn;
2. the centre lines are redrawn with a round pen of ``MNIST_PEN_WIDTH`` (times the pen pressure,
   as the canvas does) ``SUPERSAMPLE`` (4) times finer than the 28x28 field, with analytic
   coverage (:mod:`digitlab.data.pen`); eraser strokes erase, their width scaled with the same
   geometry, in drawing order;
3. MNIST's framing (:func:`digitlab.data.preprocess.frame_ink`): crop, area-average the longer side
   down to 20 px (the anti-aliasing: MNIST's digits were area-averaged from finer drawings, and a
   4x supersample does the same to the round caps and joins, which one analytic sample per pixel
   does not), centre by mass in 28x28.

A dot or a tiny mark is not magnified without bound: ``L`` counts as at least
``MIN_EXTENT`` (6 %) of the canvas side, so a mark smaller than that keeps its size relative to
a digit 6 % of the canvas tall (a mark a third of that is a third of the box), and step 3 never
enlarges the redrawing (its scale is at most ``1 / SUPERSAMPLE``). A click is a dot of MNIST's pen
width (about 2 x 2 pixels). The cap does touch one corner of the Draw view's settings: a digit
drawn 20 % tall with the thickest brush (16 %) has centre lines spanning 4 %, and comes out at
two thirds of the box (on the canvas it is a blob with no room for its shape either).

MNIST's pen (``MNIST_PEN_WIDTH`` = 2.5 px in 28x28): :func:`digitlab.data.stroke_width.
measure_pen_width` redraws each MNIST test digit's Zhang-Suen skeleton with round pens and finds
the diameter that puts down as much ink as the digit has. Over the 10,000 test digits the median
is 2.51 px, the 10-90 % range 1.79-3.74 px (2-98 %: 1.34-4.98 px). Reproduce with
``measure_pen_width(load_dataset().test_images / 255)`` (about 80 s; 300 digits give the median
within 0.05 px: 2.53-2.55 for three random picks).

A drawing that includes a loaded image (a test digit put on the canvas) has no strokes to redraw:
it goes through the raster path, ``to_mnist_steps(raster, ink_is_dark=False)`` with its stroke-width
normalisation. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from digitlab.data.pen import pressure_width, render_segments
from digitlab.data.preprocess import BOX_SIZE, INK_THRESHOLD, SUPERSAMPLE, frame_ink, to_mnist_steps
from digitlab.data.stroke_width import MNIST_PEN_WIDTH

__all__ = [
    "Stroke",
    "Drawing",
    "drawing_to_mnist_steps",
    "MNIST_PEN_WIDTH",
    "MIN_EXTENT",
]

#: The smallest centre-line extent, as a fraction of the canvas side, that is scaled up to fill
#: MNIST's box; smaller marks are scaled as if they were this large (they stay small).
MIN_EXTENT = 0.06
#: Centre lines are resampled every this many supersampled pixels (0.375 px of the 28x28
#: field): fine enough that cutting a corner moves the line less than a fifth of a pixel; the
#: work then follows the drawn length (under 3 segments per 28x28 pixel), not how densely the
#: mouse was sampled.
_STEP = 1.5


@dataclass(frozen=True, eq=False)
class Stroke:
    """One pen or eraser stroke as the canvas recorded it.

    Attributes
    ----------
    points : numpy.ndarray, shape (n, 2), float
        ``(x, y)`` in canvas pixels, in drawing order; one point is a dot.
    pressures : numpy.ndarray, shape (n,), float
        Pen pressure in [0, 1] per point (1 for a mouse).
    width : float
        Pen diameter in canvas pixels at full pressure.
    erase : bool
        True for an eraser stroke.
    """

    points: np.ndarray
    pressures: np.ndarray
    width: float
    erase: bool = False

    def __post_init__(self):
        pts = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        pr = np.asarray(self.pressures, dtype=np.float64).reshape(-1)
        if len(pts) == 0:
            raise ValueError("a stroke needs at least one point")
        if pr.shape != (len(pts),):
            raise ValueError(f"a stroke needs one pressure per point: {len(pts)} points, "
                             f"{pr.size} pressures")
        if not (np.all(np.isfinite(pts)) and np.all(np.isfinite(pr))):
            raise ValueError("stroke points and pressures must be finite numbers")
        if not (np.isfinite(self.width) and self.width > 0):
            raise ValueError(f"a stroke's width must be a positive number of pixels, got {self.width}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "pressures", pr)
        object.__setattr__(self, "width", float(self.width))
        object.__setattr__(self, "erase", bool(self.erase))


@dataclass(frozen=True, eq=False)
class Drawing:
    """What is on the drawing pad: its strokes since the last clear, or its ink as an image.

    Attributes
    ----------
    side : int
        Canvas side in pixels (the strokes' coordinate range).
    strokes : tuple of Stroke
        In drawing order.
    raster : numpy.ndarray of float32, shape (side, side), or None
        The canvas ink (ink high, [0, 1]) when the drawing cannot be rendered from strokes (an
        image was loaded since the last clear); then the conversion uses it and not the strokes.
        None otherwise.
    """

    side: int
    strokes: tuple[Stroke, ...] = field(default_factory=tuple)
    raster: np.ndarray | None = None

    def __post_init__(self):
        if int(self.side) < 1:
            raise ValueError(f"a drawing's side must be a positive number of pixels, got {self.side}")
        object.__setattr__(self, "side", int(self.side))
        object.__setattr__(self, "strokes", tuple(self.strokes))
        if not all(isinstance(s, Stroke) for s in self.strokes):
            raise ValueError("a drawing's strokes must be Stroke objects")
        if self.raster is not None:
            r = np.asarray(self.raster, dtype=np.float32)
            if r.ndim != 2:
                raise ValueError(f"a drawing's raster must be a 2-D image, got shape {r.shape}")
            object.__setattr__(self, "raster", r)


def _resample(points: np.ndarray, pressures: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` along a polyline (its first and last kept), pressures interpolated."""
    if len(points) == 1:
        return points, pressures
    seg = np.hypot(*np.diff(points, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    total = arc[-1]
    if total <= 0.0:
        return points[:1], pressures[:1]
    at = np.linspace(0.0, total, max(2, int(np.ceil(total / step)) + 1))
    xy = np.stack([np.interp(at, arc, points[:, 0]), np.interp(at, arc, points[:, 1])], axis=1)
    return xy, np.interp(at, arc, pressures)


def _segments(stroke: Stroke) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stroke's segments (starts, ends) and each one's pressure (the lighter end's); one point
    is a zero-length segment."""
    pts, pr = stroke.points, stroke.pressures
    if len(pts) == 1:
        return pts, pts, pr
    return pts[:-1], pts[1:], np.minimum(pr[:-1], pr[1:])


def _distance_to_segments(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(p, k) distances from each point to each segment."""
    p = points[:, None, :]
    d = ends - starts
    ll = np.einsum("ij,ij->i", d, d)
    t = np.clip(np.einsum("pkj,kj->pk", p - starts, d) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
    return np.hypot(*(p - (starts + t[..., None] * d)).transpose(2, 0, 1))


def _surviving_points(strokes: tuple[Stroke, ...]) -> np.ndarray:
    """The pen strokes' points that no later eraser stroke went over (the point within the
    eraser's radius at the lighter end of a segment: erased for sure, whatever the pen's edge)."""
    kept = []
    for i, s in enumerate(strokes):
        if s.erase:
            continue
        alive = np.ones(len(s.points), bool)
        for e in strokes[i + 1:]:
            if not e.erase or not alive.any():
                continue
            starts, ends, pressure = _segments(e)
            radius = pressure_width(e.width, pressure) / 2.0
            idx = np.flatnonzero(alive)
            hit = (_distance_to_segments(s.points[idx], starts, ends) < radius).any(axis=1)
            alive[idx[hit]] = False
        kept.append(s.points[alive])
    return np.concatenate(kept) if kept else np.zeros((0, 2))


def _empty_steps(source: str) -> dict:
    return {"input": None, "redrawn": None, "cropped": None, "scaled": None, "centred": None,
            "ink_is_dark": False, "ink_extent": 0.0, "source": source, "scale": float("nan"),
            "capped": False, "stroke_width": float("nan")}


def _raster_steps(drawing: Drawing) -> dict:
    """The raster path: ``to_mnist_steps`` on the canvas image cropped to its ink with a ring of
    two bare pixels (the same input as the whole canvas, since the conversion crops to the ink
    and reads the paper level from the border, at a fraction of the cost)."""
    raster = drawing.raster
    peak = float(raster.max(initial=0.0))
    mask = raster > INK_THRESHOLD * peak
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        steps = to_mnist_steps(raster, ink_is_dark=False)
        extent = 0
    else:
        crop = np.zeros((rows[-1] - rows[0] + 5, cols[-1] - cols[0] + 5), np.float32)
        crop[2:-2, 2:-2] = raster[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        steps = to_mnist_steps(crop, ink_is_dark=False)
        extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    steps.update(source="raster", scale=float("nan"), capped=False,
                 ink_extent=float(extent) / drawing.side if steps["centred"] is not None else 0.0)
    return steps


def drawing_to_mnist_steps(drawing: Drawing) -> dict:
    """The network's 28x28 input for a drawing, rendered from its strokes (see the module's text).

    Parameters
    ----------
    drawing : Drawing

    Returns
    -------
    dict
        The keys of :func:`digitlab.data.to_mnist_steps` and more:

        ``"input"``: None for strokes (nothing is rasterised at the canvas's resolution); for the
        raster path the raster cropped to its ink with two bare pixels around it; ``"redrawn"``:
        float32, the centre lines redrawn with MNIST's pen,
        ``SUPERSAMPLE`` times finer than the 28x28 field (for the raster path: the redrawn skeleton
        when its width was normalised, else None); ``"cropped"``: that redrawing cropped to its
        ink; ``"scaled"``: area-averaged down, longer side 20 px (less for a capped small mark);
        ``"centred"``: float32 (28, 28), the network's input, None when there is no ink;
        ``"ink_extent"``: the longer side of the ink's bounding box (centre lines plus the
        person's pen) as a fraction of the canvas side; ``"source"``: "strokes" or "raster";
        ``"scale"``: 28x28-pixels per canvas pixel of the geometry (NaN for raster);
        ``"capped"``: True when the mark was smaller than ``MIN_EXTENT`` and not magnified to
        fill the box; ``"ink_is_dark"``: False; ``"stroke_width"``: see ``to_mnist_steps``.
    """
    if drawing.raster is not None:
        return _raster_steps(drawing)
    strokes = drawing.strokes
    if not any(not s.erase for s in strokes):
        return _empty_steps("strokes")
    pts = _surviving_points(strokes)
    if len(pts) == 0:
        return _empty_steps("strokes")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    extent = float((hi - lo).max())
    floor = MIN_EXTENT * drawing.side
    capped = extent < floor
    k = SUPERSAMPLE
    scale = (BOX_SIZE - MNIST_PEN_WIDTH) / max(extent, floor)   # 28x28 px per canvas px
    g = scale * k                                               # supersampled px per canvas px
    pen_max = max(s.width for s in strokes if not s.erase)
    margin = MNIST_PEN_WIDTH * k / 2.0 + 2.0
    side = int(np.ceil(extent * g + 2.0 * margin)) + 1
    origin = lo - margin / g                                    # canvas point at pixel (0, 0)

    ink = np.zeros((side, side), np.float32)
    # Consecutive strokes of one kind are drawn in one call; order only matters between kinds.
    group: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    group_erase = False

    def flush():
        nonlocal ink
        if not group:
            return
        a = np.concatenate([x[0] for x in group])
        b = np.concatenate([x[1] for x in group])
        r = np.concatenate([x[2] for x in group])
        cover = render_segments(a, b, r, (side, side))
        if group_erase:
            ink *= 1.0 - cover
        else:
            np.maximum(ink, cover, out=ink)
        group.clear()

    for s in strokes:
        if s.erase != group_erase:
            flush()
            group_erase = s.erase
        q = (s.points - origin) * g
        # an eraser's width follows the geometry; the pen is MNIST's, whatever the person's
        full = s.width * g if s.erase else MNIST_PEN_WIDTH * k
        step = max(_STEP, full / 8.0)
        q, pr = _resample(q, s.pressures, step)
        radii = pressure_width(full, pr) / 2.0
        if len(q) == 1:
            group.append((q, q, radii))
        else:
            group.append((q[:-1], q[1:], np.maximum(radii[:-1], radii[1:])))
    flush()

    steps = _empty_steps("strokes")
    steps["redrawn"] = ink
    steps["scale"] = float(scale)
    steps["capped"] = bool(capped)
    steps["ink_extent"] = float(min(1.0, (extent + pen_max) / drawing.side))
    steps.update(frame_ink(ink, max_scale=1.0 / k))
    return steps
