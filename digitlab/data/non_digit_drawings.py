"""Generated drawings that are not digits, to measure the input check against (issue 9).

Each kind is made the way a person would make it on the Draw view's canvas: pen strokes with a
brush of the canvas's range of widths, on a square canvas of the canvas's resolution. They reach
the networks through either of the app's two conversions:

- ``"strokes"``: the drawing pad's, :func:`digitlab.data.strokes.drawing_to_mnist_steps`, which
  redraws the strokes' centre lines with MNIST's pen (and reports the ink's extent);
- ``"raster"``: the one for image files and loaded pictures, :func:`digitlab.data.to_mnist` on the
  strokes rasterised with the person's brush (ink high, paper 0), with its stroke-width
  normalisation; the extent is then unknown to the app (None), as for an image file.

Kinds (:data:`KINDS`):

- ``"scribble"``: a random pen walk, 15 to 60 points with momentum, over 30 to 80 % of the side;
- ``"blob"``: a smoothly irregular area coloured in with back-and-forth strokes, 15 to 70 % of
  the side;
- ``"speckle"``: 10 to 60 clicks scattered over 30 to 80 % of the side;
- ``"dot"``: one click, with a brush of 1 to 25 % of the side (the canvas's whole range);
- ``"hatching"``: 3 to 8 parallel straight lines at a random angle;
- ``"letter"``: capital letters that no digit resembles (A E F H K M N R W X), with a wobble;
- ``"noise"`` (raster only: a pen cannot make it): random pixel noise over part of the image, a
  photo of nothing or a sensor's grain, 5 to 60 % of its pixels lit.

NumPy only (the pad's conversion is Qt-free too) and deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitlab.data.pen import render_segments
from digitlab.data.preprocess import to_mnist
from digitlab.data.strokes import Drawing, Stroke, drawing_to_mnist_steps

__all__ = [
    "CANVAS_SIDE",
    "KINDS",
    "PATHS",
    "STROKE_KINDS",
    "NonDigitDrawing",
    "draw_non_digit",
    "ink_extent",
    "non_digit_inputs",
    "rasterise",
]

KINDS = ("scribble", "blob", "speckle", "dot", "hatching", "letter", "noise")
#: The kinds a pen can draw (all but pixel noise).
STROKE_KINDS = KINDS[:-1]
PATHS = ("strokes", "raster")
#: The Draw view's canvas resolution (``digitlab.gui.canvas.DEFAULT_RESOLUTION``, not imported:
#: that module is Qt).
CANVAS_SIDE = 448
#: Brush diameters as a fraction of the side for everything but dots: the canvas's default is 7 %,
#: its slider runs from 1 to 25 %; this is the range a person writes with.
BRUSH_RANGE = (0.03, 0.12)

# Letters as polylines in a unit box (x right, y down); each inner list is one pen stroke.
_LETTERS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], [(0.22, 0.58), (0.78, 0.58)]],
    "E": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0)], [(0.0, 0.5), (0.75, 0.5)]],
    "F": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0)], [(0.0, 0.5), (0.75, 0.5)]],
    "H": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (1.0, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
    "K": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (0.0, 0.55), (1.0, 1.0)]],
    "M": [[(0.0, 1.0), (0.0, 0.0), (0.5, 0.6), (1.0, 0.0), (1.0, 1.0)]],
    "N": [[(0.0, 1.0), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0)]],
    "R": [[(0.0, 1.0), (0.0, 0.0), (0.7, 0.0), (0.95, 0.15), (0.95, 0.35), (0.7, 0.5), (0.0, 0.5)],
          [(0.4, 0.5), (1.0, 1.0)]],
    "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.35), (0.75, 1.0), (1.0, 0.0)]],
    "X": [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]],
}


@dataclass(frozen=True, eq=False)
class NonDigitDrawing:
    """One generated drawing: pen strokes with one brush, or (for noise) a raster.

    ``strokes``: arrays of (x, y) canvas points, one per pen stroke (one point is a click);
    ``brush``: the pen's diameter in canvas pixels; ``raster``: (side, side) float32 ink for noise,
    else None; ``side``: the canvas side in pixels.
    """

    side: int
    strokes: tuple[np.ndarray, ...] = ()
    brush: float = 0.0
    raster: np.ndarray | None = None

    def drawing(self) -> Drawing:
        """The drawing pad's record of these strokes (a mouse: full pressure)."""
        if self.raster is not None:
            return Drawing(self.side, raster=self.raster)
        return Drawing(self.side, tuple(Stroke(p, np.ones(len(p)), self.brush) for p in self.strokes))

    def image(self) -> np.ndarray:
        """The canvas's ink, ink high, (side, side) float32."""
        if self.raster is not None:
            return self.raster
        return rasterise(self.strokes, self.brush / 2.0, self.side)


def rasterise(strokes, radius: float, side: int) -> np.ndarray:
    """Rasterise pen strokes with a round pen, anti-aliased over one pixel, as the canvas does.

    Parameters
    ----------
    strokes : sequence of arrays of shape (k, 2)
        Points in canvas pixels, (x, y); a stroke of one point is a dot.
    radius : float
        Pen radius in canvas pixels.

    Returns
    -------
    numpy.ndarray, (side, side) float32 in [0, 1], ink high
    """
    starts, ends = [], []
    for pts in strokes:
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        starts.append(pts if len(pts) == 1 else pts[:-1])      # a stroke of one point is a dot
        ends.append(pts if len(pts) == 1 else pts[1:])
    if not starts:
        return np.zeros((side, side), np.float32)
    return render_segments(np.vstack(starts), np.vstack(ends), radius, (side, side))


def ink_extent(canvas: np.ndarray, threshold: float = 0.05) -> float | None:
    """The longer side of the ink's bounding box as a fraction of the canvas side (None if blank)."""
    peak = float(canvas.max(initial=0.0))
    if peak <= 0.0:
        return None
    mask = canvas > threshold * peak
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return float(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)) / max(canvas.shape)


def _brush(rng: np.random.Generator, side: int) -> float:
    return float(rng.uniform(*BRUSH_RANGE)) * side


def _fit(pts: np.ndarray, span: float, side: int, rng: np.random.Generator) -> np.ndarray:
    """Scale points so their longer extent is ``span`` and put them at a random place on the canvas."""
    pts = pts - pts.min(axis=0)
    pts = pts * (span / max(float(np.ptp(pts, axis=0).max()), 1e-9))
    room = np.maximum(side - np.ptp(pts, axis=0), 0.0)
    return pts + rng.uniform(0.1, 0.9, 2) * room


def _scribble(rng, side):
    n = int(rng.integers(15, 61))
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.normal(0.0, rng.uniform(0.4, 1.2), n).cumsum()  # momentum: a wandering hand
    steps = np.stack([np.cos(heading + turn), np.sin(heading + turn)], 1) * rng.uniform(0.5, 1.5, (n, 1))
    pts = _fit(steps.cumsum(axis=0), rng.uniform(0.3, 0.8) * side, side, rng)
    return NonDigitDrawing(side, (pts,), _brush(rng, side))


def _blob(rng, side):
    brush = _brush(rng, side)
    size = rng.uniform(0.15, 0.7) * side
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    radius = np.ones_like(angles)
    for k in range(1, 4):  # a few smooth bumps make it irregular, not an ellipse
        radius += rng.uniform(0, 0.25 / k) * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
    aspect = rng.uniform(0.5, 1.0)
    outline = np.stack([np.cos(angles) * radius, np.sin(angles) * radius * aspect], 1)
    # Colour it in: back-and-forth lines a little closer than the brush, between the outline's
    # left and right edges at each height, all in one stroke as a person would.
    lo, hi = outline[:, 1].min(), outline[:, 1].max()
    spacing = 0.7 * brush / size * 2.0   # in outline units (the outline spans about 2)
    pts = []
    for i, y in enumerate(np.arange(lo, hi + 1e-9, max(spacing, (hi - lo) / 60))):
        near = np.abs(outline[:, 1] - y) <= max(spacing, 0.05)
        xs = outline[near, 0] if near.any() else outline[:, 0]
        row = [(xs.min(), y), (xs.max(), y)]
        pts.extend(row if i % 2 == 0 else row[::-1])
    pts = _fit(np.asarray(pts) + rng.normal(0, 0.02, (len(pts), 2)), size, side, rng)
    return NonDigitDrawing(side, (pts,), brush)


def _speckle(rng, side):
    n = int(rng.integers(10, 61))
    span = rng.uniform(0.3, 0.8) * side
    pts = _fit(rng.random((n, 2)), span, side, rng)
    return NonDigitDrawing(side, tuple(p[None, :] for p in pts), _brush(rng, side))


def _dot(rng, side):
    brush = rng.uniform(0.01, 0.25) * side
    return NonDigitDrawing(side, (rng.uniform(0.3, 0.7, (1, 2)) * side,), brush)


def _hatching(rng, side):
    n = int(rng.integers(3, 9))
    length = rng.uniform(0.3, 0.8) * side
    width = rng.uniform(0.3, 1.0) * length
    angle = rng.uniform(0, np.pi)
    along = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-along[1], along[0]])
    lines = [np.stack([o * across - along * length / 2, o * across + along * length / 2])
             for o in np.linspace(-0.5, 0.5, n) * width]
    whole = _fit(np.concatenate(lines), length, side, rng)
    return NonDigitDrawing(side, tuple(whole[2 * i:2 * i + 2] for i in range(n)), _brush(rng, side))


def _letter(rng, side):
    shape = _LETTERS[list(_LETTERS)[int(rng.integers(len(_LETTERS)))]]
    shear = rng.uniform(-0.2, 0.2)
    strokes = []
    for stroke in shape:
        pts = np.asarray(stroke, dtype=np.float64)
        pts = pts + rng.normal(0.0, 0.03, pts.shape)  # a hand's wobble
        pts[:, 0] = pts[:, 0] * rng.uniform(0.6, 0.9) + shear * (1.0 - pts[:, 1])
        strokes.append(pts)
    height = rng.uniform(0.3, 0.7) * side
    whole = _fit(np.concatenate(strokes) * [1.0, 1.0], height, side, rng)
    cut = np.cumsum([len(s) for s in strokes])[:-1]
    return NonDigitDrawing(side, tuple(np.split(whole, cut)), _brush(rng, side))


def _noise(rng, side):
    img = np.zeros((side, side), np.float32)
    h, w = (rng.uniform(0.3, 0.9, 2) * side).astype(int)
    top, left = rng.integers(0, side - h + 1), rng.integers(0, side - w + 1)
    density = rng.uniform(0.05, 0.6)
    img[top:top + h, left:left + w] = rng.random((h, w)) * (rng.random((h, w)) < density)
    return NonDigitDrawing(side, raster=img)


_MAKERS = {"scribble": _scribble, "blob": _blob, "speckle": _speckle, "dot": _dot,
           "hatching": _hatching, "letter": _letter, "noise": _noise}


def _check_kind(kind: str) -> None:
    if kind not in _MAKERS:
        raise ValueError(f"unknown kind of non-digit drawing {kind!r}; choose one of {', '.join(KINDS)}")


def draw_non_digit(kind: str, rng: np.random.Generator, side: int = CANVAS_SIDE) -> NonDigitDrawing:
    """One drawing of ``kind`` (see :data:`KINDS`) on a canvas of ``side`` pixels."""
    _check_kind(kind)
    return _MAKERS[kind](rng, side)


def non_digit_inputs(kind: str, n: int, seed: int = 0, path: str = "strokes",
                     side: int = CANVAS_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """``n`` drawings of ``kind`` through one of the app's conversions (see the module's text).

    Parameters
    ----------
    kind : one of :data:`KINDS` (``"noise"`` only with ``path="raster"``)
    path : ``"strokes"`` (the drawing pad) or ``"raster"`` (image files)

    Returns
    -------
    inputs : (n, 28, 28) float32
        The networks' inputs.
    extents : (n,) float64
        The ink's extent as the conversion reports it (the longer side of its box as a fraction
        of the canvas side) for ``"strokes"``; NaN for ``"raster"``, where the app does not know it.
    """
    _check_kind(kind)
    if path not in PATHS:
        raise ValueError(f"unknown conversion path {path!r}; choose 'strokes' or 'raster'")
    if path == "strokes" and kind not in STROKE_KINDS:
        raise ValueError(f"{kind!r} cannot be drawn with a pen; measure it with path='raster'")
    rng = np.random.default_rng([seed, KINDS.index(kind), PATHS.index(path)])
    inputs = np.zeros((n, 28, 28), np.float32)
    extents = np.full(n, np.nan)
    i = 0
    while i < n:
        made = draw_non_digit(kind, rng, side)
        if path == "strokes":
            steps = drawing_to_mnist_steps(made.drawing())
            x = steps["centred"]
            extents[i] = steps["ink_extent"]
        else:
            x = to_mnist(made.image(), ink_is_dark=False)
        if x is None:  # too faint to count as ink (sparse noise): the app shows nothing; draw another
            continue
        inputs[i] = x
        i += 1
    return inputs, extents
