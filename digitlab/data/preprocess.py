"""Turn a drawn or photographed digit into an MNIST-like 28x28 input, the way MNIST itself was made.

MNIST's digits were size-normalised to fit a 20x20 box (keeping the aspect ratio, anti-aliased)
and then placed in a 28x28 field so that their intensity centre of mass sits at the centre. A
network trained on MNIST has only ever seen digits like that, so the drawing pad and
``digitlab predict`` put every input through the same steps:

1. grayscale in [0, 1], ink high (dark-on-light input is inverted; the paper level is removed);
2. crop to the ink's bounding box; an empty canvas stops here (no prediction rather than a guess);
3. scale the longer side to 20 px with area-averaging resampling (linear when enlarging);
4. paste into 28x28 and shift (by whole pixels, as MNIST did) so the centre of mass is at (14, 14);
5. (``normalise_width``, the default) if the strokes are wider or thinner than MNIST's, erode them
   to MNIST's pen width (wider) or redraw the skeleton with MNIST's pen (thinner), then frame the
   result again (steps 2-4).

Steps 2-4 are :func:`frame_ink`, which the drawing pad's stroke rendering
(:mod:`digitlab.data.strokes`) uses too.

Everything here is NumPy only; :func:`read_image_file` imports Qt lazily to decode image files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from digitlab.data.pen import render_segments, skeleton_segments
from digitlab.data.stroke_width import (
    CALIBRATION_SUPERSAMPLE,
    MNIST_PEN_WIDTH,
    MNIST_STROKE_WIDTH_RANGE,
    stroke_width,
)
from digitlab.data.thinning import zhang_suen

__all__ = [
    "to_mnist",
    "to_mnist_steps",
    "frame_ink",
    "redraw_skeleton",
    "thin_strokes",
    "SUPERSAMPLE",
    "read_image_file",
    "FIELD_SIZE",
    "BOX_SIZE",
    "CENTRE",
    "MAX_IMAGE_PIXELS",
    "DECODE_MAX_SIDE",
]

FIELD_SIZE = 28
BOX_SIZE = 20
#: Target of the centre of mass in (row, column) pixel-index coordinates. MNIST's own training
#: digits have their centre of mass at 14.00 +- 0.29 in these coordinates (measured), so this is
#: the convention to match, rather than the geometric centre 13.5.
CENTRE = 14.0
#: Strokes are redrawn this many times finer than the 28x28 field and area-averaged down, as
#: MNIST's digits were anti-aliased from finer drawings.
SUPERSAMPLE = CALIBRATION_SUPERSAMPLE
#: Pixels above this fraction of the strongest ink belong to the bounding box.
INK_THRESHOLD = 0.05
#: An image whose strongest ink (after removing the paper level) is below this is empty.
MIN_INK = 0.1

#: Largest image :func:`read_image_file` decodes, in pixels (checked from the file's header,
#: before decoding, like Pillow's decompression-bomb limit): 4096 x 4096. A phone photo of a
#: drawn digit is 12 MP (4032 x 3024) and fits; a 48 MP full-resolution photo is refused with a
#: request to resize it. Decoded at 4 bytes a pixel this is 64 MiB, where a 98 KB PNG declaring
#: 8000 x 8000 would need 256 MiB before any of our own float copies.
MAX_IMAGE_PIXELS = 4096 * 4096
#: Second guard, for formats whose header gives no size: Qt's decoders refuse to allocate more
#: than this many MiB (MAX_IMAGE_PIXELS at 8 bytes a pixel, the widest format, 16-bit RGBA).
_DECODE_LIMIT_MB = MAX_IMAGE_PIXELS * 8 // 2**20
#: Images longer than this on either side are scaled down while decoding: the network sees
#: 28 x 28, and the float copies of a 16 MP image would cost seconds and ~1 GB. Images up to this
#: size are decoded untouched, pixel for pixel.
DECODE_MAX_SIDE = 2048


def _as_float_image(image) -> np.ndarray:
    """Validate a grayscale image and return it as float64 (H, W) in [0, 1]."""
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(
            f"image must be a 2-D grayscale array (H, W), got shape {arr.shape}; "
            "convert colour images to grayscale first (read_image_file does)."
        )
    if arr.size == 0:
        raise ValueError(f"image must not be empty, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if arr.dtype.kind in "iu":
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError(
                f"integer images must hold 0..255, got {arr.min()}..{arr.max()} ({arr.dtype})"
            )
        return arr.astype(np.float64) / 255.0
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError("image contains NaN or infinite values")
        # Float images are [0, 1] by contract; clip rounding spill-over from earlier filters.
        return np.clip(arr.astype(np.float64), 0.0, 1.0)
    raise ValueError(f"image dtype must be uint8, bool or float, got {arr.dtype}")


def _border(img: np.ndarray) -> np.ndarray:
    return np.concatenate([img[0], img[-1], img[1:-1, 0], img[1:-1, -1]])


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Weights ``W`` of shape (n_out, n_in) so that ``W @ v`` resizes a length-n_in signal.

    Shrinking uses area averaging: output pixel ``i`` covers the input interval
    ``[i * r, (i + 1) * r)`` with ``r = n_in / n_out``, and each input pixel contributes in
    proportion to its overlap. That is a box filter matched to the scale, which is what stops thin
    strokes from aliasing away. Enlarging interpolates linearly between pixel centres, since area
    averaging would only repeat pixels in blocks. Rows sum to 1, so ink is neither gained nor lost.
    """
    if n_out == n_in:
        return np.eye(n_in)
    if n_out < n_in:
        r = n_in / n_out
        lo = (np.arange(n_out) * r)[:, None]
        hi = lo + r
        j = np.arange(n_in)[None, :]
        overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
        return overlap / r
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    j0 = np.floor(pos).astype(int)
    j1 = np.minimum(j0 + 1, n_in - 1)
    frac = pos - j0
    w = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(w, (rows, j0), 1.0 - frac)
    np.add.at(w, (rows, j1), frac)
    return w


def _resize(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Separable resampling of an (H, W) image to (out_h, out_w)."""
    return _resample_matrix(img.shape[0], out_h) @ img @ _resample_matrix(img.shape[1], out_w).T


def _shrink_matrix(n_in: int, scale: float) -> np.ndarray:
    """Area-averaging weights that shrink a length-n_in signal by exactly ``scale`` (< 1) into
    ``ceil(n_in * scale)`` pixels, the signal centred in them and paper around it.

    :func:`_resample_matrix` fits n_in into a whole number of pixels, which stretches a short
    side by up to half a pixel (a 10-px-wide stroke shrunk by 4 becomes 2 or 3 px, not 2.5); the
    longer side is a whole 20 px either way, the shorter one keeps the aspect ratio exactly here.
    """
    n_out = max(1, int(np.ceil(n_in * scale - 1e-6)))
    r = 1.0 / scale
    start = (n_in - n_out * r) / 2.0            # input coordinate of the output's left edge
    lo = (start + np.arange(n_out) * r)[:, None]
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(lo + r, j + 1) - np.maximum(lo, j), 0.0, None)
    return overlap / r


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    total = img.sum()
    rows = np.arange(img.shape[0]) @ img.sum(axis=1) / total
    cols = np.arange(img.shape[1]) @ img.sum(axis=0) / total
    return float(rows), float(cols)


def frame_ink(ink: np.ndarray, *, box: int = BOX_SIZE, max_scale: float | None = None) -> dict:
    """Crop an ink-high image to its ink, scale its longer side to ``box`` and centre it by mass
    in 28x28: MNIST's own framing, the one implementation of it (the drawing pad's strokes and
    raster inputs both end here).

    Parameters
    ----------
    ink : numpy.ndarray, shape (H, W)
        Ink high, in [0, 1]; pixels above ``INK_THRESHOLD`` of its peak are the ink's box.
    box : int
        Longer side of the scaled ink, in pixels (MNIST: 20).
    max_scale : float or None
        Largest scale factor allowed; a smaller ink box than ``box / max_scale`` stays smaller
        than ``box`` (the drawing pad's cap on magnifying a dot). None: always scale to ``box``.

    Returns
    -------
    dict
        ``"cropped"``, ``"scaled"``, ``"centred"`` as in :func:`to_mnist_steps` (float32), all
        None when the image has no ink.
    """
    out: dict = {"cropped": None, "scaled": None, "centred": None}
    peak = float(ink.max(initial=0.0))
    if peak <= 0.0:
        return out
    mask = ink > INK_THRESHOLD * peak
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    cropped = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    out["cropped"] = cropped.astype(np.float32)

    h, w = cropped.shape
    scale = box / max(h, w)
    if max_scale is not None:
        scale = min(scale, max_scale)
    if scale < 1.0:
        scaled = _shrink_matrix(h, scale) @ cropped @ _shrink_matrix(w, scale).T
    else:
        scaled = _resize(cropped, max(1, round(h * scale)), max(1, round(w * scale)))
    scaled = np.clip(scaled, 0.0, 1.0)
    out_h, out_w = scaled.shape
    out["scaled"] = scaled.astype(np.float32)

    # Whole-pixel shift, as MNIST did: no extra blur. Clamped so no ink leaves the field (only
    # lopsided shapes whose centre of mass is far from their box's middle are affected).
    # Symmetric shapes sit exactly half-way between two shifts; rounding the offset to 1e-6 first
    # breaks that tie the same way for the same picture however it was given (inverted, uint8...).
    cy, cx = _centre_of_mass(scaled)
    top = min(max(int(np.floor(round(CENTRE - cy, 6) + 0.5)), 0), FIELD_SIZE - out_h)
    left = min(max(int(np.floor(round(CENTRE - cx, 6) + 0.5)), 0), FIELD_SIZE - out_w)
    field = np.zeros((FIELD_SIZE, FIELD_SIZE), dtype=np.float32)
    field[top:top + out_h, left:left + out_w] = scaled
    out["centred"] = field
    return out


def _work_image(cropped: np.ndarray) -> np.ndarray:
    """``cropped`` resampled so its longer side is ``BOX_SIZE * SUPERSAMPLE`` pixels."""
    h, w = cropped.shape
    work = BOX_SIZE * SUPERSAMPLE / max(h, w)
    return _resize(cropped.astype(np.float64), max(1, round(h * work)), max(1, round(w * work)))


def _distance_to_paper(binary: np.ndarray) -> np.ndarray:
    """Euclidean distance from each ink pixel's centre to the nearest paper pixel's centre (0 on
    paper; the outside of the image is paper). Brute force over the paper pixels that touch ink,
    which is exact and fast enough for the ~80x80 images it is used on."""
    b = np.pad(binary, 1)
    edge = ~b & (np.roll(b, 1, 0) | np.roll(b, -1, 0) | np.roll(b, 1, 1) | np.roll(b, -1, 1))
    ey, ex = np.nonzero(edge)
    iy, ix = np.nonzero(b)
    out = np.zeros(b.shape, np.float32)
    for lo in range(0, len(iy), 2048):
        dy = iy[lo:lo + 2048, None].astype(np.float32) - ey[None, :]
        dx = ix[lo:lo + 2048, None].astype(np.float32) - ex[None, :]
        out[iy[lo:lo + 2048], ix[lo:lo + 2048]] = np.sqrt((dy * dy + dx * dx).min(axis=1))
    return out[1:-1, 1:-1]


def thin_strokes(cropped: np.ndarray) -> np.ndarray | None:
    """Make a cropped raster digit's strokes as thin as MNIST's by eroding them evenly.

    At ``SUPERSAMPLE`` times the 20-px box, the digit is binarised at 0.5 and each ink pixel's
    distance to the paper is measured; the stroke's half-width ``R`` is the median of that
    distance on the skeleton. Every stroke edge moves inwards by ``R - r``, with ``r`` the pen
    radius that becomes ``MNIST_PEN_WIDTH / 2`` once the thinner digit is framed to 20 px again,
    anti-aliased over one pixel. Unlike redrawing the skeleton this keeps the digit's outline (no
    spurs, no lost corners); a hole the thick pen closed stays closed. None when nothing reaches 0.5
    or the strokes are not wider than that pen.
    """
    img = _work_image(cropped)
    binary = img >= 0.5
    if not binary.any():
        return None
    dist = _distance_to_paper(binary)
    half = float(np.median(dist[zhang_suen(binary)])) - 0.5
    extent = float(max(binary.shape))
    rho = MNIST_PEN_WIDTH / 2.0 / BOX_SIZE            # pen radius per pixel of the framed box
    radius = rho * (extent - 2.0 * half) / (1.0 - 2.0 * rho)
    if half <= radius:
        return None
    # a pixel whose centre is d from the paper has its ink edge about d - 1/2 away; moving every
    # edge in by (half - radius) and spreading it over one pixel gives this coverage
    return np.clip(dist - (half - radius), 0.0, 1.0).astype(np.float32)


def redraw_skeleton(cropped: np.ndarray) -> np.ndarray:
    """Redraw a cropped raster digit's centre lines with MNIST's pen, ready for :func:`frame_ink`.

    The digit is resampled so its longer side is ``BOX_SIZE * SUPERSAMPLE`` pixels, binarised at
    0.5 and thinned (Zhang-Suen); its skeleton is scaled so the centre lines span
    ``BOX_SIZE - MNIST_PEN_WIDTH`` pixels of the 28x28 field and drawn with a round pen of
    ``MNIST_PEN_WIDTH`` there, ``SUPERSAMPLE`` times finer (frame it with ``max_scale=1 /
    SUPERSAMPLE``, so a dot stays a dot). Used for strokes thinner than MNIST's. Returns float32
    ink in [0, 1], or an all-zero image when nothing reaches 0.5.
    """
    k = SUPERSAMPLE
    img = _work_image(cropped)
    skel = zhang_suen(img >= 0.5)
    if not skel.any():
        return np.zeros((1, 1), np.float32)
    segs = skeleton_segments(skel)
    pts = segs.reshape(-1, 2)
    lo, extent = pts.min(axis=0), float(np.ptp(pts, axis=0).max())
    g = (BOX_SIZE - MNIST_PEN_WIDTH) * k / extent if extent > 0 else 1.0
    radius = MNIST_PEN_WIDTH * k / 2.0
    margin = radius + 2.0
    segs = (segs - lo) * g + margin
    side = int(np.ceil(extent * g + 2 * margin)) + 1
    return render_segments(segs[:, 0], segs[:, 1], radius, (side, side))


def to_mnist_steps(image, *, ink_is_dark: bool | None = None, normalise_width: bool = True) -> dict:
    """Run the MNIST preprocessing and keep every intermediate image (for the GUI's preview).

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grayscale, uint8 0..255, bool, or float 0..1; any size.
    ink_is_dark : bool or None
        True for dark ink on light paper (it is inverted), False for light ink on a dark canvas,
        None to decide from the border: a bright border (median > 0.5) means dark ink.
    normalise_width : bool
        True (photos, pen images, loaded digits): when the framed digit's stroke width
        (:func:`digitlab.data.stroke_width.stroke_width`) is outside MNIST's 1-99 % range
        (``MNIST_STROKE_WIDTH_RANGE``), wider strokes are eroded to MNIST's pen
        (:func:`thin_strokes`) and thinner ones redrawn from their skeleton with it
        (:func:`redraw_skeleton`), then framed again; MNIST's own digits (98 % of them) are
        within the range and pass unchanged. False: MNIST's framing only (as before issue 9).

    Returns
    -------
    dict
        ``"input"``: float32 (H, W), the image as given, in [0, 1];
        ``"cropped"``: float32 (h, w), ink high and normalised to a peak of 1, cropped to the ink;
        ``"scaled"``: float32, longer side 20, aspect ratio kept;
        ``"centred"``: float32 (28, 28) in [0, 1], ink high: the network's input.
        ``"ink_is_dark"``: the polarity used. For an empty image ``"cropped"``, ``"scaled"`` and
        ``"centred"`` are None.
        ``"stroke_width"``: the framed digit's ``area / length`` in 28x28 px (NaN if not measured);
        ``"redrawn"``: the digit thinned or redrawn with MNIST's pen (``SUPERSAMPLE`` times finer
        than the 20-px box) when the width was normalised, else None; then ``"scaled"`` and
        ``"centred"`` are the redrawing's.
    """
    x = _as_float_image(image)
    steps: dict = {"input": x.astype(np.float32), "cropped": None, "scaled": None, "centred": None,
                   "stroke_width": float("nan"), "redrawn": None}
    if ink_is_dark is None:
        ink_is_dark = bool(np.median(_border(x)) > 0.5)
    steps["ink_is_dark"] = ink_is_dark
    ink = 1.0 - x if ink_is_dark else x

    # Paper is rarely pure white (photos, scans): its level, read from the border, becomes zero.
    ink = np.clip(ink - np.median(_border(ink)), 0.0, None)
    peak = ink.max()
    if peak < MIN_INK:
        return steps
    ink = ink / peak  # MNIST strokes are saturated; a faint pen or grey pencil should be too
    steps.update(frame_ink(ink))
    if not normalise_width:
        return steps

    width = stroke_width(steps["centred"])
    steps["stroke_width"] = width
    lo, hi = MNIST_STROKE_WIDTH_RANGE
    if np.isnan(width) or lo <= width <= hi:
        return steps
    if width > hi:
        redrawn = thin_strokes(steps["cropped"])
        framed = frame_ink(redrawn) if redrawn is not None else {"centred": None}
    else:
        redrawn = redraw_skeleton(steps["cropped"])
        framed = frame_ink(redrawn, max_scale=1.0 / SUPERSAMPLE)
    if framed["centred"] is not None:
        steps["redrawn"] = redrawn
        steps["scaled"], steps["centred"] = framed["scaled"], framed["centred"]
    return steps


def to_mnist(image, *, ink_is_dark: bool | None = None, normalise_width: bool = True) -> np.ndarray | None:
    """Convert a grayscale digit image to the network's 28x28 input.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grayscale, uint8 0..255, bool, or float 0..1; any size.
    ink_is_dark : bool or None
        Ink polarity; None detects it from the border (see :func:`to_mnist_steps`).
    normalise_width : bool
        Redraw strokes wider or thinner than MNIST's with MNIST's pen (default); False keeps
        MNIST's framing only (see :func:`to_mnist_steps`).

    Returns
    -------
    numpy.ndarray of shape (28, 28), float32, or None
        Ink high, values in [0, 1], centre of mass at pixel (14, 14) to within half a pixel;
        ``image.reshape(1, 784)`` is a network input. None if the image holds no ink.
    """
    return to_mnist_steps(image, ink_is_dark=ink_is_dark, normalise_width=normalise_width)["centred"]


def read_image_file(path: str | os.PathLike) -> np.ndarray:
    """Read an image file (PNG, JPEG, BMP, GIF, ...) as grayscale.

    Decoding uses Qt's QImageReader, imported here rather than at module level so that
    ``digitlab.data`` stays free of Qt. It needs no QApplication and works headless.

    The image's size is read from its header before anything is decoded: more than
    :data:`MAX_IMAGE_PIXELS` is refused, and an image longer than :data:`DECODE_MAX_SIDE` on either
    side is scaled down (smoothly, aspect ratio kept) to that size while decoding. Only regular
    files are read; a named pipe or device is refused rather than waited on.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    numpy.ndarray, shape (H, W), float32 in [0, 1]
        Luminance (ITU-R 601 weights). Transparent pixels are laid over paper: white when the
        visible strokes are dark, black when they are light, so a PNG of strokes on a
        transparent background reads as the strokes.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the path is not a regular file, the image is larger than :data:`MAX_IMAGE_PIXELS`, or
        the file is not an image Qt can decode.
    """
    from PySide6.QtCore import QSize  # lazy: keep Qt out of digitlab.data imports
    from PySide6.QtGui import QImage, QImageReader

    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such image file") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{path}: is a folder, not an image file; give the path of the image.")
    if not stat.S_ISREG(mode):
        # Qt would open a named pipe and wait for a writer forever.
        raise ValueError(
            f"{path}: is not a file on disk (a named pipe, device or socket); "
            "save the image to a file and give its path."
        )

    # Process-wide, so only ever lowered (Qt 6's default is 256 MiB).
    if QImageReader.allocationLimit() == 0 or QImageReader.allocationLimit() > _DECODE_LIMIT_MB:
        QImageReader.setAllocationLimit(_DECODE_LIMIT_MB)
    reader = QImageReader(str(path))
    size = reader.size()  # from the header; nothing is decoded yet
    w, h = size.width(), size.height()
    if w > 0 and h > 0:
        if w * h > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"{path}: the image is {w} x {h} pixels ({w * h / 1e6:.1f} megapixels), more than "
                f"the {MAX_IMAGE_PIXELS / 1e6:.1f} megapixels digitlab decodes; scale it down "
                f"(a digit needs far less: the network sees 28 x 28) and try again."
            )
        if max(w, h) > DECODE_MAX_SIDE:
            scale = DECODE_MAX_SIDE / max(w, h)
            reader.setScaledSize(QSize(max(1, round(w * scale)), max(1, round(h * scale))))
    img = reader.read()
    if img.isNull():
        formats = ", ".join(sorted({bytes(f).decode() for f in QImageReader.supportedImageFormats()}))
        raise ValueError(
            f"{path}: cannot read this file as an image ({reader.errorString()}); "
            f"use one of: {formats}."
        )
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w, stride = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * stride)
    rgba = buf.reshape(h, stride)[:, : 4 * w].reshape(h, w, 4).astype(np.float32) / 255.0
    gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if img.hasAlphaChannel():
        alpha = rgba[..., 3]
        visible = alpha > 0.5
        strokes_dark = not visible.any() or float(np.mean(gray[visible])) < 0.5
        paper = 1.0 if strokes_dark else 0.0
        gray = gray * alpha + paper * (1.0 - alpha)
    return np.clip(gray, 0.0, 1.0).astype(np.float32)
