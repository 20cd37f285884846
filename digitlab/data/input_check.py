"""Is this drawing a digit the networks can read? "ok", "too small" or "not a digit" (issue 9).

A network trained on MNIST answers every input with ten probabilities summing to one: a dot, a
scribble or a filled blob gets a digit, often with confidence. :func:`check_input` looks at the
network's 28x28 input (and, when the drawing pad knows it, how large the ink was on the canvas)
and decides whether that answer deserves to be shown as one.

What it measures, and why these and not the networks' own confidence. Measured with
``python benchmarks/input_check.py`` against generated non-digits (scribbles, coloured-in blobs,
scattered clicks, dots, hatchings, letters, pixel noise; :mod:`digitlab.data.non_digit_drawings`)
at the same false-rejection rate on MNIST validation digits, the maximum softmax probability of
the shipped networks rejects 1-14 % of the scribbles, blobs, scattered clicks, hatchings and
letters, and the energy of the logits 0-24 %; both depend on the model too, and a person can
train any model. So the check is model-free, six scores of the input itself, each with a limit
set on MNIST's digits:

- ``box``: the longer side of the ink's box in the 28x28 input, in pixels. MNIST's digits and
  every converted drawing fill the 20-px box (the smallest MNIST validation digit spans 19 px);
  the drawing pad does not magnify a click or a tiny mark (``strokes.MIN_EXTENT``), so they stay
  a few pixels across. Below :data:`MIN_BOX_PIXELS`: "too small".
- ``solid``: the share of the ink pixels (> 0.5) at least two pixels inside the ink (their whole
  5x5 neighbourhood is ink). MNIST's strokes are 2-4 px wide and have almost no such inside; a
  filled blob, a disc or close hatching is mostly inside. (Measured against one pixel inside,
  the 3x3 neighbourhood: as good on MNIST, a few points better on blobs and hatchings, whose
  ragged edges the 3x3 version counts as outline.)
- ``wide``: the ink box's width over its height. MNIST's digits stand upright: 99.95 % of the
  validation digits are at most 1.67 times as wide as tall, where half of all random scribbles
  lie on their side (a person writing sideways is told so too).
- ``faint``: the share of the ink (by intensity) in pixels between 0.02 and 0.5. MNIST's strokes
  are saturated with a thin anti-aliased edge; pixel noise is all half-tones.
- ``pieces``: separate pieces of ink (8-connected pixels > 0.5, at least 3 pixels). MNIST's
  digits have 1, rarely 2 or 3 (99.9 % have at most 3); scattered clicks and hatchings have many.
- ``shape``: the squared distance from the input to the nearest of 256 prototype digits (k-means
  centres of MNIST's training digits in their first 30 principal components), plus the squared
  part of the input outside those 30 components. Far from every typical MNIST digit means an
  unfamiliar shape (letters, some scribbles).

The limits of ``solid``, ``wide``, ``faint`` and ``shape``, the prototypes and the principal
components are fitted on MNIST's training digits and its validation split (never the test set)
by :mod:`digitlab.data.input_check_fit` and shipped in ``resources/input_check.npz``; ``box`` and
``pieces`` are fixed limits read off the same validation digits. With the canvas's ink extent a
mark smaller than :data:`MIN_EXTENT` (12 %) of the canvas side is "too small" as well.

Use (the Draw view)::

    steps = drawing_to_mnist_steps(drawing)
    if steps["centred"] is not None:
        verdict = check_input(steps["centred"], steps["ink_extent"])
        if not verdict.ok:
            show(verdict.message)          # and dim the bars: bars.set_dimmed(True, ...)

For an image file or a loaded digit pass ``ink_extent=None``.

NumPy only (no Qt, no networks); about half a millisecond for one input.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitlab.paths import resources_dir

__all__ = [
    "MAX_PIECES",
    "MIN_BOX_PIXELS",
    "MIN_EXTENT",
    "REFERENCE_FILE",
    "STATES",
    "InputCheck",
    "InputCheckReference",
    "check_input",
    "check_inputs",
    "input_scores",
    "load_reference",
    "reference_path",
]

#: The three answers, in the order a person should act on them.
STATES = ("ok", "too small", "not a digit")
#: A drawing whose ink box (its longer side, pen included) is below this fraction of the canvas
#: side is "too small". A click with the canvas's default brush (7 %) and marks a few percent
#: long are below it; digits drawn "small" (20 % of the side, the issue's failing case) are well
#: above it, and so is every digit of the drawn test set (smallest: 0.21).
MIN_EXTENT = 0.12
#: A 28x28 input whose ink box is shorter than this on its longer side is "too small": converted
#: digits fill a 20-px box (MNIST validation: 19 px or more); the pad leaves tiny marks small.
MIN_BOX_PIXELS = 16
#: More separate pieces of ink than this is "not a digit" (MNIST validation: 99.9 % have <= 3).
MAX_PIECES = 3
#: Pixels above this intensity are ink for ``solid`` and ``pieces``.
INK_LEVEL = 0.5
#: Pieces smaller than this many pixels are specks, not pieces.
MIN_PIECE_PIXELS = 3
#: Pixels between these intensities are half-tones for ``faint``.
FAINT_RANGE = (0.02, 0.5)
#: The box of ``box`` is the pixels above this fraction of the input's peak (as ``to_mnist``).
BOX_LEVEL = 0.05
REFERENCE_FILE = "input_check.npz"

_MESSAGES = {
    "ok": "",
    "too small": "Draw bigger: this mark is too small to read as a digit.",
    "not a digit": "This doesn't look like a digit.",
}
# Why, in a person's words; appended to "not a digit" (first reason only: one sentence is enough).
_REASONS = {
    "solid": "It is mostly filled-in ink; draw the digit's lines.",
    "wide": "It is much wider than it is tall; digits stand upright.",
    "faint": "It is faint, speckled ink rather than pen strokes.",
    "pieces": "It is in many separate pieces.",
    "shape": "Its shape is unlike the digits the networks learned from.",
}


@dataclass(frozen=True)
class InputCheck:
    """The verdict on one input.

    Attributes
    ----------
    state : str
        ``"ok"``, ``"too small"`` or ``"not a digit"`` (:data:`STATES`).
    message : str
        A sentence for the person ("" when ok), e.g. "Draw bigger: this mark is too small to read
        as a digit."
    scores : dict of str -> float
        Every score behind the decision: ``extent`` (NaN when unknown), ``box``, ``solid``,
        ``wide``, ``faint``, ``pieces``, ``shape``; :attr:`InputCheckReference.limits` gives their limits.
    reasons : tuple of str
        The scores past their limits, e.g. ``("extent",)`` or ``("solid", "shape")``; empty when ok.
    """

    state: str
    message: str
    scores: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclass(frozen=True, eq=False)
class InputCheckReference:
    """What :func:`check_input` compares an input with (fitted on MNIST by input_check_fit).

    Attributes
    ----------
    mean : (784,) float32, MNIST's mean training digit
    components : (784, k) float32, its first k principal components (orthonormal columns)
    prototypes : (m, k) float32, k-means centres of the training digits in those components
    solid_limit, wide_limit, faint_limit, shape_limit : float
        The largest ``solid``, ``wide``, ``faint`` and ``shape`` scores still "ok".
    info : dict
        How it was fitted (dataset checksum, split, quantiles, the validation rejection rate).
    """

    mean: np.ndarray
    components: np.ndarray
    prototypes: np.ndarray
    solid_limit: float
    wide_limit: float
    faint_limit: float
    shape_limit: float
    info: dict = field(default_factory=dict)

    @property
    def limits(self) -> dict[str, float]:
        """Each score's limit: ``extent`` and ``box`` from below, the others from above."""
        return {"extent": MIN_EXTENT, "box": float(MIN_BOX_PIXELS), "solid": self.solid_limit,
                "wide": self.wide_limit, "faint": self.faint_limit, "pieces": float(MAX_PIECES),
                "shape": self.shape_limit}


# --------------------------------------------------------------------------- the reference file

def reference_path() -> Path:
    """Where the shipped reference lives (``resources/input_check.npz``)."""
    return resources_dir() / REFERENCE_FILE


_ARRAYS = ("mean", "components", "prototypes")
_LIMITS = ("solid_limit", "wide_limit", "faint_limit", "shape_limit")


def _read_reference(path: Path) -> InputCheckReference:
    remedy = ("reinstall digitlab, or rebuild the file with "
              "'python -m digitlab.data.input_check_fit --out resources/input_check.npz'")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float32) for k in _ARRAYS}
            limits = {k: float(z[k]) for k in _LIMITS}
            info = {k[5:]: z[k].item() for k in z.files if k.startswith("info_")}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: the input check's reference file is missing; {remedy}.") from None
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a valid input-check reference ({exc}); {remedy}.") from None
    mean, comps, protos = arrays["mean"], arrays["components"], arrays["prototypes"]
    if mean.shape != (784,) or comps.ndim != 2 or comps.shape[0] != 784 or protos.ndim != 2 \
            or protos.shape[1] != comps.shape[1] or not all(np.isfinite(v) for v in limits.values()):
        raise ValueError(f"{path}: the input-check reference has the wrong shapes (mean {mean.shape}, "
                         f"components {comps.shape}, prototypes {protos.shape}); {remedy}.")
    return InputCheckReference(mean, comps, protos, info=info, **limits)


@functools.lru_cache(maxsize=4)
def _cached_reference(path: str, mtime_ns: int) -> InputCheckReference:
    return _read_reference(Path(path))


def load_reference(path: str | os.PathLike | None = None) -> InputCheckReference:
    """Read a reference file (default: the shipped one); read once and kept while unchanged."""
    p = Path(path) if path is not None else reference_path()
    try:
        mtime = p.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = -1  # let the reader raise its sentence
    return _cached_reference(str(p), mtime)


# --------------------------------------------------------------------------- scores

def _as_batch(x) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 1 and arr.size == 784 or arr.shape == (28, 28):
        arr = arr.reshape(1, 28, 28)
    elif arr.ndim == 2 and arr.shape[1] == 784:
        arr = arr.reshape(-1, 28, 28)
    if arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise ValueError(f"expected a 28x28 network input (or a batch of them), got shape {np.shape(x)}; "
                         "convert drawings and images with digitlab.data.to_mnist first.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("the input contains NaN or infinite values")
    return arr


def _box_sides(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Height and width of the ink's box, in pixels (0 for no ink)."""
    peak = x.max(axis=(1, 2), keepdims=True)
    ink = (x > BOX_LEVEL * peak) & (peak > 0)
    idx = np.arange(28)

    def span(m):
        lo = np.where(m, idx, 28).min(axis=1)
        hi = np.where(m, idx, -1).max(axis=1)
        return np.maximum(hi - lo + 1, 0)

    return span(ink.any(axis=2)), span(ink.any(axis=1))


def _solid(ink: np.ndarray) -> np.ndarray:
    # Ink two pixels deep: its whole 5x5 neighbourhood is ink (a 5x5 erosion, done separably).
    p = np.pad(ink, ((0, 0), (2, 2), (2, 2)))
    rows = p[:, :, 0:28] & p[:, :, 1:29] & p[:, :, 2:30] & p[:, :, 3:31] & p[:, :, 4:32]
    inside = rows[:, 0:28] & rows[:, 1:29] & rows[:, 2:30] & rows[:, 3:31] & rows[:, 4:32]
    n = ink.sum(axis=(1, 2))
    return np.where(n > 0, inside.sum(axis=(1, 2)) / np.maximum(n, 1), 0.0)


# Each 8-connected link once: east, south, south-east, south-west.
_LINKS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _pieces_of(ink: np.ndarray) -> int:
    """Pieces of 8-connected ink with at least MIN_PIECE_PIXELS pixels in one (28, 28) mask:
    union-find over the links between neighbouring ink pixels (a few hundred at most)."""
    index = np.full((30, 30), -1, np.int32)
    ys, xs = np.nonzero(ink)
    index[ys + 1, xs + 1] = np.arange(len(ys))
    parent = list(range(len(ys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving keeps the trees flat
            i = parent[i]
        return i

    for dy, dx in _LINKS:
        other = index[1 + dy:29 + dy, 1 + dx:29 + dx][ink]
        here = index[1:29, 1:29][ink]
        for a, b in zip(here[other >= 0].tolist(), other[other >= 0].tolist()):
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[ra] = rb
    sizes = np.bincount([root(i) for i in range(len(parent))], minlength=1)
    return int((sizes >= MIN_PIECE_PIXELS).sum())


def _pieces(ink: np.ndarray) -> np.ndarray:
    return np.fromiter((_pieces_of(m) for m in ink), dtype=np.int64, count=len(ink))


def _faint(x: np.ndarray) -> np.ndarray:
    lo, hi = FAINT_RANGE
    total = x.sum(axis=(1, 2))
    half = np.where((x > lo) & (x < hi), x, 0.0).sum(axis=(1, 2))
    return np.where(total > 0, half / np.maximum(total, 1e-12), 0.0)


def shape_distance(x, reference: InputCheckReference) -> np.ndarray:
    """``shape`` for a batch: squared distance to the nearest prototype in the principal
    components plus the squared residual outside them (float64, one per input)."""
    flat = _as_batch(x).reshape(-1, 784).astype(np.float64)
    d = flat - reference.mean
    comps = reference.components.astype(np.float64)
    z = d @ comps
    residual = np.einsum("ij,ij->i", d, d) - np.einsum("ij,ij->i", z, z)  # orthonormal columns
    protos = reference.prototypes.astype(np.float64)
    dist = (np.einsum("ij,ij->i", z, z)[:, None] + np.einsum("ij,ij->i", protos, protos)[None, :]
            - 2.0 * z @ protos.T)
    return np.maximum(dist.min(axis=1), 0.0) + np.maximum(residual, 0.0)


def input_scores(x, reference: InputCheckReference | None = None) -> dict[str, np.ndarray]:
    """The six model-free scores (see the module's text) for one input or a batch.

    Parameters
    ----------
    x : array, (28, 28), (784,), (n, 28, 28) or (n, 784)
        Network inputs: float in [0, 1], ink high, as :func:`digitlab.data.to_mnist` makes them.
    reference : InputCheckReference or None
        Default: the shipped one (:func:`load_reference`).

    Returns
    -------
    dict of str -> numpy.ndarray of shape (n,)
        ``box``, ``solid``, ``wide``, ``faint``, ``pieces``, ``shape``.
    """
    ref = load_reference() if reference is None else reference
    arr = _as_batch(x)
    ink = arr > INK_LEVEL
    height, width = _box_sides(arr)
    wide = np.where(height > 0, width / np.maximum(height, 1), 0.0)
    return {"box": np.maximum(height, width).astype(np.float64), "solid": _solid(ink), "wide": wide,
            "faint": _faint(arr),
            "pieces": _pieces(ink).astype(np.float64), "shape": shape_distance(arr, ref)}


# --------------------------------------------------------------------------- verdicts

def _reasons(scores: dict[str, np.ndarray], extents: np.ndarray, ref: InputCheckReference):
    """Boolean arrays, one per reason, in the order they are reported."""
    return {
        "extent": np.nan_to_num(extents, nan=np.inf) < MIN_EXTENT,
        "box": scores["box"] < MIN_BOX_PIXELS,
        "solid": scores["solid"] > ref.solid_limit,
        "wide": scores["wide"] > ref.wide_limit,
        "faint": scores["faint"] > ref.faint_limit,
        "pieces": scores["pieces"] > MAX_PIECES,
        "shape": scores["shape"] > ref.shape_limit,
    }


_TOO_SMALL = ("extent", "box")


def _extents(ink_extent, n: int) -> np.ndarray:
    if ink_extent is None:
        return np.full(n, np.nan)
    e = np.asarray([np.nan if v is None else v for v in np.atleast_1d(np.asarray(ink_extent, dtype=object))],
                   dtype=np.float64)
    if e.shape != (n,):
        raise ValueError(f"expected one ink extent per input ({n}), got {e.size}")
    if np.any(e[np.isfinite(e)] < 0):
        raise ValueError("ink extents are fractions of the canvas side and cannot be negative")
    return e


def check_inputs(x, ink_extents=None, *, reference: InputCheckReference | None = None) -> np.ndarray:
    """The state of each input of a batch (an array of :data:`STATES` strings); see :func:`check_input`.

    ``ink_extents``: None, or one extent per input (NaN or None where unknown).
    """
    ref = load_reference() if reference is None else reference
    arr = _as_batch(x)
    reasons = _reasons(input_scores(arr, ref), _extents(ink_extents, len(arr)), ref)
    too_small = np.logical_or.reduce([reasons[k] for k in _TOO_SMALL])
    not_digit = np.logical_or.reduce([v for k, v in reasons.items() if k not in _TOO_SMALL])
    return np.where(too_small, "too small", np.where(not_digit, "not a digit", "ok"))


def check_input(x28, ink_extent: float | None = None, *, ignore: tuple[str, ...] = (),
                reference: InputCheckReference | None = None) -> InputCheck:
    """Decide whether a network input is a digit the networks can read.

    Parameters
    ----------
    x28 : array, (28, 28) or (784,)
        The network's input: float in [0, 1], ink high, with some ink (as made by
        :func:`digitlab.data.to_mnist` or ``drawing_to_mnist_steps(...)["centred"]``).
    ink_extent : float or None
        The longer side of the ink's bounding box on the canvas, pen included, as a fraction of
        the canvas side (``drawing_to_mnist_steps(...)["ink_extent"]``); None when unknown (an
        image file, a loaded digit).
    ignore : tuple of str
        Scores not to judge by. The Draw view ignores ``"faint"`` for an image loaded on the
        canvas: the canvas enlarges a 28x28 digit smoothly, which softens every edge (measured:
        14 % of MNIST test digits loaded that way read as faint, 0.25 % as given).
    reference : InputCheckReference or None
        Default: the shipped one.

    Returns
    -------
    InputCheck
        ``state`` "too small" when the mark is small on the canvas (``ink_extent`` below
        :data:`MIN_EXTENT`) or in the input (``box`` below :data:`MIN_BOX_PIXELS`); else "not a
        digit" when any of ``solid``, ``wide``, ``faint``, ``pieces``, ``shape`` is past its limit; else
        "ok". ``message`` says it in a sentence; ``scores`` and ``reasons`` say why.

    Raises
    ------
    ValueError
        If the input is not a single 28x28 image, holds NaN, or has no ink at all (the caller
        shows its empty state then, not a verdict).
    """
    arr = _as_batch(x28)
    if len(arr) != 1:
        raise ValueError(f"check_input takes one input, got {len(arr)}; use check_inputs for a batch")
    if not (arr > 0).any():
        raise ValueError("the input has no ink: there is nothing to check (show the empty state)")
    ref = load_reference() if reference is None else reference
    scores = input_scores(arr, ref)
    extents = _extents(ink_extent, 1)
    unknown = set(ignore) - set(scores)
    if unknown:
        raise ValueError(f"ignore names no score: {sorted(unknown)}; the scores are {sorted(scores)}")
    flags = _reasons(scores, extents, ref)
    reasons = tuple(k for k, v in flags.items() if v[0] and k not in ignore)
    values = {"extent": float(extents[0]), **{k: float(v[0]) for k, v in scores.items()}}
    if any(r in _TOO_SMALL for r in reasons):
        return InputCheck("too small", _MESSAGES["too small"], values, reasons)
    if reasons:
        message = f"{_MESSAGES['not a digit']} {_REASONS[reasons[0]]}"
        return InputCheck("not a digit", message, values, reasons)
    return InputCheck("ok", _MESSAGES["ok"], values, ())
