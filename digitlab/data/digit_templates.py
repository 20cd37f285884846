"""Hand-written digits of our own as pen strokes: templates with several styles per digit.

Each style (:data:`TEMPLATE_STYLES`) is the strokes most people make for that digit, in their
order and direction: a 1 with or without a flag, an open or closed 4, a 7 with or without a bar, a 9
with a straight or a curved tail, and so on. :func:`template_strokes` gives a template as designed
or, with a random generator, with seeded human-like variation: slant, aspect, rotation, wobble,
strokes that overshoot or stop short of their ends, strokes that miss each other by a little.
NumPy only. Nothing here comes from scikit-learn's bundled digits (the UCI collection).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["TEMPLATE_STYLES", "template_strokes"]


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
