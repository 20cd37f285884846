"""The pen strokes of a drawn test set of our own (issue 9): what a hand would do on the Draw canvas.

Two sources of digits, both as ordered pen strokes (polylines, (x, y), y down):

- ``"mnist"``: MNIST *test* digits traced. Each is binarised (>= 0.5), thinned to a one-pixel
  skeleton (:func:`digitlab.data.thinning.zhang_suen` with Lü & Wang's correction, which keeps
  diagonal strokes two pixels thick), and the skeleton graph is walked into a few
  long strokes, as a person would draw them: strokes start at free ends (topmost first), then at
  junctions, then on closed loops; at a junction the walk goes on along the branch that turns
  least, so a 4 becomes two strokes and an 8 one (:func:`trace_skeleton`).
- ``"template"``: digits drawn "by ourselves": hand-written-style stroke templates, several styles
  per digit (:data:`TEMPLATE_STYLES`: a 1 with or without a flag, an open or closed 4, a 7 with or
  without a bar, a 9 with a straight or a curved tail...), given seeded human-like variation:
  slant, aspect, rotation, wobble, strokes that overshoot or stop short of their ends, strokes
  that miss each other by a little (:func:`template_strokes`).

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab.data.thinning import zhang_suen

__all__ = [
    "DrawnDigit",
    "SIZE_CLASSES",
    "BRUSH_PERCENTS",
    "SOURCES",
    "TEMPLATE_STYLES",
    "trace_skeleton",
    "mnist_strokes",
    "template_strokes",
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

#: Pixels of the skeleton graph: a branch from a free end to a junction shorter than this is a
#: thinning artefact (a spur on a corner), not a stroke a person drew.
_SPUR_PIXELS = 3
#: Moving-average passes that turn a staircase of skeleton pixels into a pen's smooth path.
_SMOOTHING_PASSES = 2
#: A person draws a digit in one to four strokes.
_MAX_STROKES = 4


# --------------------------------------------------------------------------- MNIST skeletons

_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _graph(pixels: set) -> dict:
    """8-neighbour adjacency of skeleton pixels (row, col). A diagonal link is left out when a
    pixel at the corner joins the two already, so a bend is a path, not a triangle."""
    adj = {}
    for r, c in pixels:
        nb = []
        for dr, dc in _OFFSETS:
            q = (r + dr, c + dc)
            if q not in pixels:
                continue
            if dr and dc and ((r + dr, c) in pixels or (r, c + dc) in pixels):
                continue
            nb.append(q)
        adj[(r, c)] = nb
    return adj


def _branches(adj: dict) -> list[list]:
    """Split the graph into branches: pixel paths between nodes whose degree is not 2 (free ends,
    junctions, lone pixels); closed loops with no such node become one branch starting and ending
    at their topmost pixel."""
    key = {p for p, nb in adj.items() if len(nb) != 2}
    used: set = set()
    out = []
    for k in sorted(key):
        if not adj[k]:
            out.append([k])            # a lone pixel: a dot
        for q in adj[k]:
            if frozenset((k, q)) in used:
                continue
            path, cur = [k, q], q
            used.add(frozenset((k, q)))
            while cur not in key:
                nxt = next((n for n in adj[cur] if frozenset((cur, n)) not in used), None)
                if nxt is None:        # the path closed on itself
                    break
                used.add(frozenset((cur, nxt)))
                path.append(nxt)
                cur = nxt
            out.append(path)
    for start in sorted(adj):          # what is left are loops of degree-2 pixels
        for q in adj[start]:
            if frozenset((start, q)) in used:
                continue
            path, cur = [start, q], q
            used.add(frozenset((start, q)))
            while cur != start:
                nxt = next((n for n in adj[cur] if frozenset((cur, n)) not in used), None)
                if nxt is None:
                    break
                used.add(frozenset((cur, nxt)))
                path.append(nxt)
                cur = nxt
            out.append(path)
    return out


def _prune_spurs(pixels: set) -> set:
    """Remove short branches that hang off a junction (thinning artefacts), keeping the rest."""
    for _ in range(2):
        adj = _graph(pixels)
        spurs = []
        for b in _branches(adj):
            ends = (len(adj[b[0]]), len(adj[b[-1]]))
            if 1 in ends and max(ends) >= 3 and len(b) - 1 < _SPUR_PIXELS:
                spurs.append(b[:-1] if ends[0] == 1 else b[1:])
        if not spurs:
            break
        for s in spurs:
            pixels = pixels - set(s)
    return pixels


def _direction(path: list, at_end: bool) -> np.ndarray:
    """Unit direction of a pixel path over its last (or first) few pixels, leaving (entering)."""
    k = min(4, len(path) - 1)
    a, b = (path[-1 - k], path[-1]) if at_end else (path[0], path[k])
    d = np.array([b[1] - a[1], b[0] - a[0]], dtype=np.float64)
    n = np.hypot(*d)
    return d / n if n > 0 else d


def trace_skeleton(skel: np.ndarray) -> list[np.ndarray]:
    """Walk a one-pixel skeleton into ordered pen strokes, as a person would draw it.

    Parameters
    ----------
    skel : array_like of bool, shape (H, W)

    Returns
    -------
    list of numpy.ndarray, each (n, 2) float64
        Stroke points in (x, y) pixel-centre coordinates (pixel (row, col) is at x = col + 0.5,
        y = row + 0.5), unsmoothed. Strokes start at free ends, topmost first, then at
        junctions, then on closed loops; at a junction a stroke continues along the unused branch
        that turns least. An empty skeleton gives no strokes.
    """
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(np.asarray(skel, dtype=bool)))}
    if not pixels:
        return []
    pixels = _prune_spurs(pixels)
    adj = _graph(pixels)
    branches = _branches(adj)
    at_node: dict = {}
    for i, b in enumerate(branches):
        at_node.setdefault(b[0], []).append(i)
        at_node.setdefault(b[-1], []).append(i)
    unused = set(range(len(branches)))

    def starts(degree_test) -> list:
        return sorted(n for n in at_node if degree_test(len(adj[n]))
                      and any(i in unused for i in at_node[n]))

    strokes = []
    while unused:
        cands = starts(lambda d: d <= 1) or starts(lambda d: d >= 3)
        if cands:
            node = cands[0]
            i = min(i for i in at_node[node] if i in unused)
        else:                           # only closed loops are left: start at the topmost pixel
            i = min(unused, key=lambda j: min(branches[j]))
            node = branches[i][0]
        path = list(branches[i]) if branches[i][0] == node else branches[i][::-1]
        unused.discard(i)
        while True:
            end = path[-1]
            options = [j for j in at_node.get(end, ()) if j in unused]
            if not options or len(path) < 2:
                break
            heading = _direction(path, at_end=True)
            leaving = [branches[j] if branches[j][0] == end else branches[j][::-1] for j in options]
            # the branch that turns least: the largest cosine between the heading and its start
            k = int(np.argmax([heading @ _direction(b, at_end=False) for b in leaving]))
            path.extend(leaving[k][1:])
            unused.discard(options[k])
        strokes.append(np.array([[c + 0.5, r + 0.5] for r, c in path], dtype=np.float64))
    return _at_most(strokes, _MAX_STROKES)


def _at_most(strokes: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Join strokes, nearest ends first, until there are at most ``n``: a hand draws a digit in a
    few strokes, and the rare skeleton in many pieces (broken by thinning) is one it drew through."""
    strokes = list(strokes)
    while len(strokes) > n:
        best = None
        for i in range(len(strokes)):
            for j in range(len(strokes)):
                if i == j:
                    continue
                for a in (strokes[i], strokes[i][::-1]):
                    for b in (strokes[j], strokes[j][::-1]):
                        d = float(np.hypot(*(a[-1] - b[0])))
                        if best is None or d < best[0]:
                            best = (d, i, j, a, b)
        _, i, j, a, b = best
        joined = np.vstack([a, b[1:] if np.array_equal(a[-1], b[0]) else b])
        strokes = [s for k, s in enumerate(strokes) if k not in (i, j)]
        strokes.insert(min(i, j), joined)
    return strokes


def _smooth(stroke: np.ndarray, passes: int = _SMOOTHING_PASSES) -> np.ndarray:
    """A three-point moving average along the stroke, ends fixed (a closed stroke stays closed)."""
    s = stroke.copy()
    for _ in range(passes):
        if len(s) < 3:
            break
        s[1:-1] = (s[:-2] + s[1:-1] + s[2:]) / 3.0
    return s


def mnist_strokes(image: np.ndarray) -> list[np.ndarray]:
    """The pen strokes of one MNIST digit: binarised at half intensity, thinned, traced, smoothed.

    Parameters
    ----------
    image : array_like, shape (28, 28)
        uint8 0..255 or float 0..1, ink high.

    Returns
    -------
    list of numpy.ndarray, each (n, 2) float64, (x, y) in the image's pixel coordinates
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"a digit image must be 2-D, got shape {img.shape}")
    scale = 255.0 if np.issubdtype(img.dtype, np.integer) else 1.0
    return [_smooth(s) for s in trace_skeleton(zhang_suen(img / scale >= 0.5, keep_diagonals=True))]


# --------------------------------------------------------------------------- templates

def _arc(cx: float, cy: float, rx: float, ry: float, deg0: float, deg1: float) -> np.ndarray:
    """Points on an elliptic arc; angles in degrees, 0 = right, 90 = down (y grows down)."""
    n = max(int(abs(deg1 - deg0) / 6.0), 2) + 1
    t = np.radians(np.linspace(deg0, deg1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _spline(*points: tuple[float, float], per_span: int = 12) -> np.ndarray:
    """A centripetal Catmull-Rom curve through the points (smooth, no loops or cusps of its own)."""
    p = np.asarray(points, dtype=np.float64)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = [p[1:2]]
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        t0 = 0.0
        t1 = t0 + np.hypot(*(p1 - p0)) ** 0.5 + 1e-9
        t2 = t1 + np.hypot(*(p2 - p1)) ** 0.5 + 1e-9
        t3 = t2 + np.hypot(*(p3 - p2)) ** 0.5 + 1e-9
        t = np.linspace(t1, t2, per_span + 1)[1:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    return np.vstack(out)


def _line(*points: tuple[float, float]) -> np.ndarray:
    return np.asarray(points, dtype=np.float64)


def _join(*parts: np.ndarray) -> np.ndarray:
    """One stroke from consecutive pieces (a piece's first point repeats the previous one's last)."""
    return np.vstack([parts[0]] + [p[1:] for p in parts[1:]])


# Each style is a function giving its strokes in a box about 0.6 wide and 1 high (x right, y down),
# in the order and direction most people draw them.
_TEMPLATES: dict[int, dict[str, Callable[[], list[np.ndarray]]]] = {
    0: {
        "oval from the top, anticlockwise": lambda: [_arc(0.3, 0.5, 0.28, 0.49, -90, -455)],
        "oval from the top right, clockwise": lambda: [_arc(0.3, 0.5, 0.27, 0.48, -60, 310)],
    },
    1: {
        "bar": lambda: [_line((0.32, 0.0), (0.28, 1.0))],
        "flag": lambda: [_line((0.1, 0.2), (0.34, 0.0), (0.3, 1.0))],
    },
    2: {
        "round neck": lambda: [_join(_arc(0.3, 0.27, 0.26, 0.25, 195, 360),
                                     _spline((0.56, 0.27), (0.42, 0.55), (0.0, 1.0)),
                                     _line((0.0, 1.0), (0.62, 0.98)))],
        "swan": lambda: [_join(_spline((0.04, 0.22), (0.26, 0.0), (0.52, 0.12), (0.5, 0.4),
                                       (0.05, 0.98)),
                               _spline((0.05, 0.98), (0.3, 0.9), (0.62, 1.0)))],
    },
    3: {
        "two bowls": lambda: [_join(_arc(0.3, 0.25, 0.26, 0.24, -160, 90),
                                    _arc(0.3, 0.74, 0.28, 0.25, -90, 150))],
        "flat top": lambda: [_join(_line((0.04, 0.0), (0.56, 0.0), (0.24, 0.4)),
                                   _spline((0.24, 0.4), (0.52, 0.5), (0.58, 0.74), (0.4, 0.97),
                                           (0.02, 0.9)))],
    },
    4: {
        "open": lambda: [_line((0.08, 0.0), (0.04, 0.62), (0.62, 0.6)),
                         _line((0.46, 0.08), (0.46, 1.0))],
        "closed": lambda: [_line((0.44, 0.0), (0.0, 0.66), (0.62, 0.64)),
                           _line((0.46, 0.0), (0.46, 1.0))],
    },
    5: {
        "bar last": lambda: [_join(_line((0.1, 0.0), (0.06, 0.45)),
                                   _spline((0.06, 0.45), (0.34, 0.38), (0.57, 0.58), (0.52, 0.88),
                                           (0.25, 1.0), (0.0, 0.9))),
                             _line((0.1, 0.0), (0.56, 0.0))],
        "one stroke": lambda: [_join(_line((0.56, 0.0), (0.1, 0.0), (0.06, 0.45)),
                                     _spline((0.06, 0.45), (0.34, 0.38), (0.57, 0.58),
                                             (0.52, 0.88), (0.25, 1.0), (0.0, 0.9)))],
    },
    6: {
        "curved": lambda: [_spline((0.52, 0.02), (0.26, 0.18), (0.08, 0.5), (0.1, 0.85),
                                   (0.3, 1.0), (0.52, 0.88), (0.54, 0.66), (0.34, 0.54),
                                   (0.1, 0.66))],
        "straight back": lambda: [_join(_line((0.42, 0.0), (0.07, 0.75)),
                                        _arc(0.3, 0.75, 0.23, 0.24, 180, 180 + 340))],
    },
    7: {
        "plain": lambda: [_line((0.0, 0.02), (0.6, 0.0), (0.22, 1.0))],
        "barred": lambda: [_line((0.0, 0.02), (0.6, 0.0), (0.22, 1.0)),
                           _line((0.18, 0.52), (0.56, 0.5))],
    },
    8: {
        "one stroke": lambda: [_spline((0.52, 0.12), (0.3, 0.0), (0.08, 0.14), (0.16, 0.36),
                                       (0.46, 0.6), (0.54, 0.84), (0.3, 1.0), (0.06, 0.84),
                                       (0.14, 0.6), (0.44, 0.38), (0.52, 0.16), (0.4, 0.02))],
        "two loops": lambda: [_arc(0.3, 0.24, 0.21, 0.24, -90, -450),
                              _arc(0.3, 0.73, 0.27, 0.27, -90, 270)],
    },
    9: {
        "straight tail": lambda: [_join(_arc(0.3, 0.27, 0.25, 0.26, 0, -360),
                                        _line((0.55, 0.27), (0.52, 1.0)))],
        "curved tail": lambda: [_join(_arc(0.3, 0.27, 0.25, 0.26, 0, -360),
                                      _spline((0.55, 0.27), (0.55, 0.62), (0.44, 0.9),
                                              (0.2, 1.0)))],
    },
}

#: The template styles of each digit, in a fixed order.
TEMPLATE_STYLES: dict[int, tuple[str, ...]] = {d: tuple(s) for d, s in _TEMPLATES.items()}


def _resample(stroke: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` along a polyline (its ends kept)."""
    seg = np.hypot(*np.diff(stroke, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return stroke[:1].copy()
    t = np.linspace(0.0, s[-1], max(int(np.ceil(s[-1] / step)), 1) + 1)
    return np.stack([np.interp(t, s, stroke[:, 0]), np.interp(t, s, stroke[:, 1])], axis=1)


def _wobble(stroke: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Displace a densely sampled stroke along its normal by a few slow random waves."""
    d = np.gradient(stroke, axis=0)
    n = np.hypot(*d.T)[:, None]
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.maximum(n, 1e-12)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    offset = np.zeros(len(stroke))
    for _ in range(3):
        freq = rng.uniform(0.8, 3.0)            # waves per unit of length (the digit's height)
        offset += rng.uniform(0.3, 1.0) * amplitude * np.sin(2 * np.pi * freq * s
                                                              + rng.uniform(0, 2 * np.pi))
    return stroke + offset[:, None] * normal


def _overshoot(stroke: np.ndarray, start: float, end: float) -> np.ndarray:
    """Extend (positive) or shorten (negative) a stroke at both ends along its own direction."""
    if len(stroke) < 3 or np.hypot(*(stroke[-1] - stroke[0])) < 0.05:
        return stroke                           # a dot or a closed loop: no free ends to move
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    keep = (s >= max(-start, 0.0)) & (s <= s[-1] - max(-end, 0.0))
    if keep.sum() < 2:
        return stroke
    out = stroke[keep]
    if start > 0:
        d = out[0] - out[min(3, len(out) - 1)]
        out = np.vstack([out[0] + start * d / max(np.hypot(*d), 1e-12), out])
    if end > 0:
        d = out[-1] - out[max(len(out) - 4, 0)]
        out = np.vstack([out, out[-1] + end * d / max(np.hypot(*d), 1e-12)])
    return out


def template_strokes(digit: int, style: str, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """The strokes of one template digit, with human-like variation when ``rng`` is given.

    Parameters
    ----------
    digit : int, 0..9
    style : str
        One of ``TEMPLATE_STYLES[digit]``.
    rng : numpy.random.Generator or None
        None gives the template as designed. Otherwise: a slant (the top leaning right by up to
        a third of the height, or a little left), a width from 0.75 to 1.3 times the design's,
        a rotation of up to 6 degrees, a slow wobble of about 1 % of the height along each
        stroke, stroke ends that overshoot by up to 6 % or stop 3 % short, and each later stroke
        shifted by about 1.5 % (the pen comes down a little off where the eye meant).

    Returns
    -------
    list of numpy.ndarray, each (n, 2) float64, (x, y), densely sampled (about 100 points per
    unit of height), the digit about 1 high
    """
    if digit not in _TEMPLATES:
        raise ValueError(f"digit must be 0..9, got {digit!r}")
    if style not in _TEMPLATES[digit]:
        raise ValueError(f"no template style {style!r} for digit {digit}; "
                         f"choose one of {', '.join(TEMPLATE_STYLES[digit])}")
    strokes = [_resample(s, 0.01) for s in _TEMPLATES[digit][style]()]
    if rng is None:
        return strokes
    out = []
    for k, s in enumerate(strokes):
        s = _overshoot(s, rng.uniform(-0.03, 0.06), rng.uniform(-0.03, 0.06))
        s = _wobble(s, rng, amplitude=rng.uniform(0.004, 0.014))
        if k:
            s = s + rng.normal(0.0, 0.015, size=2)
        out.append(s)
    slant = rng.uniform(-0.08, 0.33)
    aspect = np.exp(rng.uniform(np.log(0.75), np.log(1.3)))
    angle = np.radians(rng.uniform(-6.0, 6.0))
    c, s_ = np.cos(angle), np.sin(angle)
    # x' = aspect * x + slant * (1 - y): the top leans right; then a small rotation.
    shear = np.array([[aspect, -slant], [0.0, 1.0]])
    rot = np.array([[c, -s_], [s_, c]])
    m = rot @ shear
    return [p @ m.T + np.array([slant, 0.0]) @ rot.T for p in out]


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
