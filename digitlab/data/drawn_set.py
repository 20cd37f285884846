"""The pen strokes of a drawn test set of our own (issue 9): what a hand would do on the Draw canvas.

Two sources of digits, both as ordered pen strokes (polylines, (x, y), y down):

- ``"mnist"``: MNIST *test* digits traced from their skeletons into 1-4 strokes
  (:func:`digitlab.data.skeleton_strokes.mnist_strokes`);
- ``"template"``: digits drawn "by ourselves": hand-written-style templates, two styles per digit,
  with seeded human-like variation (:func:`digitlab.data.digit_templates.template_strokes`).

:func:`plan_drawn_set` places every digit on a square canvas at several sizes ("small" about 20 %
of the side, "normal" about 60 %, "large" about 85 %: the longer side of the pen's path), at a
random position where it fits, with several brush widths, and samples each stroke as a mouse
would report it: points at uneven spacing, slow at the ends of a stroke and fast in its middle
(:func:`mouse_points`). Drawing the plan through the real canvas is the job of
``benchmarks/drawn_set.py``; this module is NumPy only and deterministic for a seed.

Nothing here uses scikit-learn's bundled digits (the UCI collection): the issue's private set
draws on it, so we keep clear of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab.data.digit_templates import TEMPLATE_STYLES, template_strokes
from digitlab.data.skeleton_strokes import mnist_strokes

__all__ = [
    "DrawnDigit",
    "SIZE_CLASSES",
    "BRUSH_PERCENTS",
    "SOURCES",
    "mouse_points",
    "plan_drawn_set",
    "save_drawn_set",
    "load_drawn_set",
]

#: Size classes: the longer side of the pen's path as a fraction of the canvas side (each drawing
#: varies by up to 10 % around it, as a person's would, and a large one stays small enough for the
#: path and the pen to fit on the canvas: with the 12 % brush at most 87 %).
SIZE_CLASSES: dict[str, float] = {"small": 0.20, "normal": 0.60, "large": 0.85}
#: Brush diameters in percent of the canvas side: thin, the canvas's default, thick.
BRUSH_PERCENTS: tuple[float, ...] = (3.0, 7.0, 12.0)
SOURCES: tuple[str, ...] = ("mnist", "template")


# --------------------------------------------------------------------------- mouse sampling

def mouse_points(stroke: np.ndarray, rng: np.random.Generator, spacing: float) -> np.ndarray:
    """Resample a dense stroke the way a mouse reports it: points at uneven spacing along the path.

    The hand is slow at the ends of a stroke and fast in its middle (a bell-shaped speed), and
    each step varies by about 30 % on top of that. ``spacing`` is the mean distance between
    reported points in the stroke's units (for a mouse at 125 Hz, 2 to 8 canvas pixels). The
    first and last points are the stroke's own.
    """
    stroke = np.asarray(stroke, dtype=np.float64)
    seg = np.hypot(*np.diff(stroke, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if len(stroke) < 2 or s[-1] <= 0:
        return stroke[:1].copy()
    n = max(round(s[-1] / spacing), 1)
    u = (np.arange(n) + 0.5) / n
    steps = (0.25 + np.sin(np.pi * u) ** 1.5) * rng.lognormal(0.0, 0.3, size=n)
    t = np.concatenate([[0.0], np.cumsum(steps)])
    t *= s[-1] / t[-1]
    return np.stack([np.interp(t, s, stroke[:, 0]), np.interp(t, s, stroke[:, 1])], axis=1)


# --------------------------------------------------------------------------- the set

@dataclass(frozen=True)
class DrawnDigit:
    """One drawing of the set: the mouse path of every stroke and how it was drawn.

    ``strokes`` are (n, 2) float64 arrays of (x, y) canvas pixels, in drawing order, as the mouse
    events report them. ``base`` numbers the digit the drawing was made from: the same base is
    drawn in every size class and with every brush, so cells can be compared digit for digit.
    """

    label: int
    source: str                 # "mnist" or "template"
    style: str                  # the template style, or "mnist test #<index>"
    base: int
    size_class: str             # a key of SIZE_CLASSES
    size_fraction: float        # the path's longer side / the canvas side
    brush_percent: float        # pen diameter, percent of the canvas side
    centre: tuple[float, float]  # centre of the path's bounding box, canvas pixels (x, y)
    strokes: tuple[np.ndarray, ...]


def _fit(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Shift and scale strokes so their bounding box's longer side is 1 and its centre is 0."""
    pts = np.vstack(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = max(float((hi - lo).max()), 1e-9)
    return [(s - (lo + hi) / 2.0) / side for s in strokes]


def _place(unit: list[np.ndarray], rng: np.random.Generator, canvas_side: int, fraction: float,
           brush_percent: float) -> tuple[list[np.ndarray], tuple[float, float]]:
    """Scale fitted strokes to ``fraction`` of the canvas and put them where they fit, ink and pen
    inside the canvas with a 2-pixel margin (centred when there is no room to move)."""
    size = fraction * canvas_side
    pts = np.vstack(unit) * size
    half = (pts.max(axis=0) - pts.min(axis=0)) / 2.0
    margin = brush_percent / 200.0 * canvas_side + 2.0
    lo = half + margin
    hi = canvas_side - half - margin
    centre = np.where(hi > lo, rng.uniform(np.minimum(lo, hi), np.maximum(lo, hi)), canvas_side / 2.0)
    return [s * size + centre for s in unit], (float(centre[0]), float(centre[1]))


def plan_drawn_set(images: np.ndarray, labels: np.ndarray, *, seed: int = 0, per_class: int = 10,
                   canvas_side: int = 448, sizes: dict[str, float] | None = None,
                   brushes: tuple[float, ...] = BRUSH_PERCENTS) -> list[DrawnDigit]:
    """Every drawing of the set, ready to be drawn with a mouse on a ``canvas_side`` canvas.

    Parameters
    ----------
    images, labels : MNIST *test* images (n, 28, 28) and labels (n,)
        ``per_class`` digits of each class are picked at random (with ``seed``) and traced.
    seed : int
        Everything (the picked digits, template variation, sizes, positions, mouse sampling)
        follows from it.
    per_class : int
        Bases per class and source: the set has ``2 * 10 * per_class`` bases, each drawn once in
        every size class with every brush.
    sizes : dict of size class -> fraction of the canvas side (default :data:`SIZE_CLASSES`)
    brushes : brush diameters in percent of the canvas side (default :data:`BRUSH_PERCENTS`)

    Returns
    -------
    list of DrawnDigit, ``2 * 10 * per_class * len(sizes) * len(brushes)`` of them
    """
    sizes = dict(SIZE_CLASSES if sizes is None else sizes)
    images = np.asarray(images)
    labels = np.asarray(labels).astype(int)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"images must be (n, H, W) with one label each, got {images.shape} and "
                         f"{labels.shape}")
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    rng = np.random.default_rng(seed)
    bases: list[tuple[int, str, str, list[np.ndarray]]] = []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        if len(idx) < per_class:
            raise ValueError(f"only {len(idx)} images of digit {digit}, {per_class} needed")
        for i in np.sort(rng.choice(idx, size=per_class, replace=False)):
            bases.append((digit, "mnist", f"mnist test #{i}", mnist_strokes(images[i])))
    for digit in range(10):
        styles = TEMPLATE_STYLES[digit]
        for k in range(per_class):
            style = styles[k % len(styles)]
            bases.append((digit, "template", style, template_strokes(digit, style, rng)))
    plan = []
    for b, (digit, source, style, strokes) in enumerate(bases):
        unit = _fit(strokes)
        for size_class, fraction in sizes.items():
            for brush in brushes:
                # a large digit with a thick pen is as large as still fits on the canvas
                frac = min(fraction * rng.uniform(0.9, 1.1), 1.0 - brush / 100.0 - 4.0 / canvas_side)
                placed, centre = _place(unit, rng, canvas_side, frac, brush)
                spacing = rng.uniform(2.0, 7.0)
                path = tuple(mouse_points(s, rng, spacing) for s in placed)
                plan.append(DrawnDigit(digit, source, style, b, size_class, frac, float(brush),
                                       centre, path))
    return plan


# --------------------------------------------------------------------------- saving

def save_drawn_set(path: str | os.PathLike, plan: list[DrawnDigit], *, canvas_side: int,
                   inputs: dict[str, np.ndarray] | None = None, seed: int | None = None) -> Path:
    """Write the set as one .npz: the strokes of every drawing and how each was drawn.

    Arrays: ``y`` labels; ``source``, ``style``, ``size_class`` (strings); ``base``;
    ``size_fraction``; ``brush_percent``; ``centre`` (n, 2); ``stroke_start`` (n + 1,) index of
    each drawing's first stroke in ``point_start`` (the last entry is the stroke count);
    ``point_start`` (s + 1,) index of each stroke's first point in ``points`` (the last entry is
    the point count); ``points`` (p, 2) float32 (x, y) canvas pixels; ``canvas_resolution`` (the
    canvas side in pixels; not ``canvas_side``, which marks a personal set's strokes); ``seed``
    (-1 when not given); and, for each entry ``name: inputs`` of ``inputs`` (what the networks
    received through a conversion, (n, 28, 28) in [0, 1]), ``x_<name>`` float32, and the first
    also as ``x``, uint8 0..255 rounded, so that with ``y`` the file is a Keras-style dataset
    (``digitlab evaluate model.h5 --dataset FILE``). Written to a temporary file first, then
    moved into place.
    """
    path = Path(path)
    n_strokes = [len(d.strokes) for d in plan]
    lengths = [len(s) for d in plan for s in d.strokes]
    arrays = {
        "y": np.array([d.label for d in plan], dtype=np.uint8),
        "source": np.array([d.source for d in plan]),
        "style": np.array([d.style for d in plan]),
        "base": np.array([d.base for d in plan], dtype=np.int32),
        "size_class": np.array([d.size_class for d in plan]),
        "size_fraction": np.array([d.size_fraction for d in plan]),
        "brush_percent": np.array([d.brush_percent for d in plan]),
        "centre": np.array([d.centre for d in plan], dtype=np.float64).reshape(-1, 2),
        "stroke_start": np.concatenate([[0], np.cumsum(n_strokes)]).astype(np.int64),
        "point_start": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "points": (np.vstack([s for d in plan for s in d.strokes]).astype(np.float32)
                   if lengths else np.zeros((0, 2), np.float32)),
        "canvas_resolution": np.array(canvas_side),
        "seed": np.array(-1 if seed is None else seed),
    }
    for k, (name, x) in enumerate((inputs or {}).items()):
        x = np.asarray(x, dtype=np.float32)
        if x.shape != (len(plan), 28, 28):
            raise ValueError(f"inputs {name!r} must be ({len(plan)}, 28, 28), one per drawing, "
                             f"got {x.shape}")
        arrays[f"x_{name}"] = x
        if k == 0:
            arrays["x"] = np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)
    return path


def load_drawn_set(path: str | os.PathLike) -> tuple[list[DrawnDigit], dict[str, np.ndarray]]:
    """Read a set written by :func:`save_drawn_set`: the drawings and all the arrays as stored."""
    with np.load(Path(path), allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    plan = []
    for i in range(len(a["y"])):
        first, last = a["stroke_start"][i], a["stroke_start"][i + 1]
        strokes = tuple(a["points"][a["point_start"][k]:a["point_start"][k + 1]].astype(np.float64)
                        for k in range(first, last))
        plan.append(DrawnDigit(int(a["y"][i]), str(a["source"][i]), str(a["style"][i]),
                               int(a["base"][i]), str(a["size_class"][i]),
                               float(a["size_fraction"][i]), float(a["brush_percent"][i]),
                               (float(a["centre"][i, 0]), float(a["centre"][i, 1])), strokes))
    return plan, a
