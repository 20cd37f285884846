"""How wide a digit's strokes are, and how wide MNIST's pen was.

A stroke's width is measured as its ink divided by its centre line's length: ``area / length``,
with the area the sum of the (anti-aliased) intensities and the length that of its Zhang-Suen
skeleton (binarised at 0.5). On its own that reads high (round ends and junctions add ink but no
length), so the pen width of a digit is *calibrated*: it is the diameter of the round pen that,
redrawing the digit's own skeleton (4x supersampled, area-averaged), puts down the same amount of
ink. That is the question the drawing pad asks: with which pen must a centre line be drawn so that
its strokes look like this digit's?

:func:`measure_pen_width` gives that per digit; on MNIST it is what
:data:`digitlab.data.strokes.MNIST_PEN_WIDTH` comes from (the distribution is stated there).
:func:`stroke_width` is the cheap uncalibrated ``area / length`` used to decide whether a raster
input's strokes are outside MNIST's range. NumPy only.
"""

from __future__ import annotations

import numpy as np

from digitlab.data.pen import render_segments, skeleton_segments
from digitlab.data.thinning import skeleton_length, zhang_suen

__all__ = [
    "stroke_width",
    "measure_pen_width",
    "MNIST_PEN_WIDTH",
    "MNIST_STROKE_WIDTH_RANGE",
    "CALIBRATION_SUPERSAMPLE",
]

#: Supersampling of the calibration's redrawing (and of the drawing pad's rendering).
CALIBRATION_SUPERSAMPLE = 4
#: Pen diameters (28x28 px) the calibration redraws each skeleton with; interpolated between.
_CALIBRATION_WIDTHS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)

#: MNIST's pen diameter in 28x28 pixels: the median of :func:`measure_pen_width` over the 10,000
#: MNIST test digits (2.51 px; 10-90 % range 1.79-3.74 px). Reproduce with
#: ``measure_pen_width(load_dataset().test_images / 255)``.
MNIST_PEN_WIDTH = 2.5

#: The 1st and 99th percentiles of :func:`stroke_width` (uncalibrated area / length) over the
#: 10,000 MNIST test digits, in 28x28 pixels (1.28 and 6.14; median 2.52). A raster input outside
#: this range has its strokes brought to MNIST's pen; inside it, it is left as it is (so MNIST's
#: own digits pass unchanged). Wider than the pen's 10-90 % range because area / length reads
#: high on curly digits (round ends and junctions add ink but no length): at the 2-98 %
#: percentiles (1.39, 5.41), a fifth of the digits drawn with a 12 % pen at 60 % of a canvas,
#: whose strokes are 3.3 px wide (inside MNIST's range), were thinned, and lost accuracy.
MNIST_STROKE_WIDTH_RANGE = (1.3, 6.1)


def stroke_width(image: np.ndarray) -> float:
    """Ink per unit of centre-line length (``area / length``) of an ink-high image in [0, 1], in
    its own pixels; NaN for an image without a pixel >= 0.5."""
    img = np.asarray(image, dtype=np.float64)
    skel = zhang_suen(img >= 0.5)
    if not skel.any():
        return float("nan")
    return float(img.sum() / max(skeleton_length(skel), 1.0))


def _redraw_ink(segments: np.ndarray, diameter: float, shape: tuple[int, int]) -> float:
    """Total ink of ``segments`` (pixel coordinates of ``shape``) redrawn with a round pen of
    ``diameter``, rendered ``CALIBRATION_SUPERSAMPLE`` times finer and area-averaged."""
    k = CALIBRATION_SUPERSAMPLE
    hi = render_segments(segments[:, 0] * k, segments[:, 1] * k, diameter * k / 2.0,
                         (shape[0] * k, shape[1] * k))
    # the area average keeps the sum (up to the 1/k^2 factor), so the downsampling is a division
    return float(hi.sum()) / (k * k)


def measure_pen_width(images: np.ndarray) -> np.ndarray:
    """The calibrated pen diameter of each digit: the round pen that redraws the digit's skeleton
    with as much ink as the digit has.

    Parameters
    ----------
    images : array_like, shape (n, H, W) or (H, W)
        Ink high, in [0, 1] (MNIST's uint8 digits divided by 255).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Diameters in the images' pixels; NaN for an image with no pixel >= 0.5. Widths outside
        0.5..6 px are clamped to that range (the redrawings it is interpolated between).
    """
    imgs = np.asarray(images, dtype=np.float64)
    if imgs.ndim == 2:
        imgs = imgs[None]
    if imgs.ndim != 3:
        raise ValueError(f"images must be (n, H, W) or (H, W), got shape {imgs.shape}")
    skels = zhang_suen(imgs >= 0.5)
    out = np.full(len(imgs), np.nan)
    widths = np.asarray(_CALIBRATION_WIDTHS)
    for i, (img, skel) in enumerate(zip(imgs, skels)):
        if not skel.any():
            continue
        segs = skeleton_segments(skel)
        ink = np.array([_redraw_ink(segs, w, img.shape) for w in widths])
        out[i] = float(np.interp(img.sum(), ink, widths))  # ink grows with the pen: monotone
    return out
