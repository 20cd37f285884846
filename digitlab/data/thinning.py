"""One-pixel skeletons of binary digit images: Zhang-Suen thinning and skeleton length, in NumPy.

Used to trace MNIST digits into pen strokes (:mod:`digitlab.data.skeleton_strokes`) and to measure
MNIST's stroke width (``benchmarks/drawn_digits.py``). NumPy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["zhang_suen", "skeleton_length"]


def _neighbours(p: np.ndarray) -> list[np.ndarray]:
    """P2..P9 of Zhang-Suen (N, NE, E, SE, S, SW, W, NW) for a zero-padded batch (B, H+2, W+2)."""
    h, w = p.shape[1] - 2, p.shape[2] - 2

    def shifted(dy: int, dx: int) -> np.ndarray:
        return p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

    return [shifted(-1, 0), shifted(-1, 1), shifted(0, 1), shifted(1, 1),
            shifted(1, 0), shifted(1, -1), shifted(0, -1), shifted(-1, -1)]


def zhang_suen(binary: np.ndarray, *, keep_diagonals: bool = False) -> np.ndarray:
    """Thin binary images to one-pixel skeletons (Zhang & Suen, 1984).

    Parameters
    ----------
    binary : array_like of bool, shape (B, H, W) or (H, W)
        Ink True.
    keep_diagonals : bool
        Zhang-Suen as published erases diagonal strokes two pixels thick and shortens stroke ends:
        on MNIST's test set, 264 of the 10,000 skeletons (binarised at 0.5) span less than 75 %
        of their digit's ink (#880, a 7, keeps only its bar). True applies Lü & Wang's correction
        (1986: a pixel needs 3..6 ink neighbours, not 2..6, to be removed), which keeps them: 68
        of 10,000. It also keeps a few more pixels: MNIST's median pen width measured against
        these skeletons drops by about 0.1 px, so the default stays the published algorithm that
        ``digitlab.data.stroke_width`` was calibrated with.

    Returns
    -------
    ndarray of bool, the same shape
        Vectorised over the batch: each sub-iteration removes, in every image at once, the
        boundary pixels that have 2..6 ink neighbours, exactly one 0->1 transition around them,
        and pass the sub-iteration's N/E/S/W test. A digit that would vanish entirely (a tiny
        blob) keeps its original pixels' centre-most one, so every non-empty image has a skeleton.
    """
    binary = np.asarray(binary)
    if binary.ndim not in (2, 3):
        raise ValueError(f"binary images must be (H, W) or (B, H, W), got shape {binary.shape}")
    single = binary.ndim == 2
    batch = binary[None] if single else binary
    img = np.pad(batch.astype(np.uint8), ((0, 0), (1, 1), (1, 1)))
    min_neighbours = 3 if keep_diagonals else 2
    while True:
        changed = False
        for step in (0, 1):
            c = img[:, 1:-1, 1:-1]
            n = _neighbours(img)
            b = sum(x.astype(np.int16) for x in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int16) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                cond = ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
            else:
                cond = ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
            kill = (c == 1) & (b >= min_neighbours) & (b <= 6) & (a == 1) & cond
            if kill.any():
                c[kill] = 0  # c is a view into img
                changed = True
        if not changed:
            break
    skel = img[:, 1:-1, 1:-1].astype(bool)
    for i in np.flatnonzero(~skel.any(axis=(1, 2))):
        ys, xs = np.nonzero(batch[i])
        if ys.size:
            k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
            skel[i, ys[k], xs[k]] = True
    return skel[0] if single else skel


def skeleton_length(skel: np.ndarray) -> float:
    """Length of a (H, W) skeleton in pixels: orthogonal links 1, diagonal links sqrt 2 unless a
    corner pixel already joins the two (then the path goes through the corner)."""
    s = np.pad(np.asarray(skel, dtype=bool), 1)
    c = s[1:-1, 1:-1]
    east = c & s[1:-1, 2:]
    south = c & s[2:, 1:-1]
    se = c & s[2:, 2:] & ~s[1:-1, 2:] & ~s[2:, 1:-1]
    sw = c & s[2:, :-2] & ~s[1:-1, :-2] & ~s[2:, 1:-1]
    return float(east.sum() + south.sum() + np.sqrt(2.0) * (se.sum() + sw.sum()))
