"""One-pixel skeletons of binary images (Zhang-Suen thinning) and the centre-line segments they hold.

A skeleton is what is left of a stroke when its pen is taken away: the centre line. The drawing
pad's conversion and the stroke-width normalisation of raster inputs both measure a stroke's width
against its skeleton's length and redraw skeletons with MNIST's pen. NumPy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["zhang_suen", "skeleton_segments", "skeleton_length"]

_SQRT2 = float(np.sqrt(2.0))


def _neighbours(p: np.ndarray) -> list[np.ndarray]:
    """P2..P9 of Zhang-Suen (N, NE, E, SE, S, SW, W, NW) for a zero-padded batch (B, H+2, W+2)."""
    h, w = p.shape[1] - 2, p.shape[2] - 2
    return [p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            for dy, dx in ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))]


def zhang_suen(binary: np.ndarray) -> np.ndarray:
    """Thin binary images to one-pixel skeletons (Zhang & Suen, 1984).

    Parameters
    ----------
    binary : array_like of bool, shape (H, W) or (B, H, W)

    Returns
    -------
    numpy.ndarray of bool, the same shape
        Each sub-iteration removes, in every image of the batch at once, the boundary pixels that
        have 2..6 ink neighbours, exactly one paper-to-ink transition around them, and pass the
        sub-iteration's N/E/S/W test. An image whose ink would vanish entirely (a tiny blob)
        keeps the ink pixel nearest its centre, so every image with ink has a skeleton.
    """
    b = np.asarray(binary).astype(bool)
    if b.ndim not in (2, 3):
        raise ValueError(f"binary must be (H, W) or (B, H, W), got shape {b.shape}")
    single = b.ndim == 2
    batch = b[None] if single else b
    img = np.pad(batch.astype(np.uint8), ((0, 0), (1, 1), (1, 1)))
    centre = img[:, 1:-1, 1:-1]  # a view: removing pixels here removes them from img
    while True:
        changed = False
        for step in (0, 1):
            n = _neighbours(img)
            count = sum(x.astype(np.int8) for x in n)
            transitions = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int8) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                cond = ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
            else:
                cond = ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
            kill = (centre == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & cond
            if kill.any():
                centre[kill] = 0
                changed = True
        if not changed:
            break
    skel = centre.astype(bool)
    for i in np.flatnonzero(~skel.any(axis=(1, 2)) & batch.any(axis=(1, 2))):
        ys, xs = np.nonzero(batch[i])
        k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
        skel[i, ys[k], xs[k]] = True
    return skel[0] if single else skel


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


def skeleton_length(skel: np.ndarray) -> float:
    """Length of a skeleton in pixels: orthogonal links 1, diagonal links sqrt 2 unless a corner
    pixel already joins the two (then the path goes through the corner)."""
    s = np.pad(np.asarray(skel, dtype=bool), 1)
    c = s[1:-1, 1:-1]
    east = c & s[1:-1, 2:]
    south = c & s[2:, 1:-1]
    se = c & s[2:, 2:] & ~s[1:-1, 2:] & ~s[2:, 1:-1]
    sw = c & s[2:, :-2] & ~s[1:-1, :-2] & ~s[2:, 1:-1]
    return float(east.sum() + south.sum() + _SQRT2 * (se.sum() + sw.sum()))
