"""A person's own handwriting: a small labelled set of digits drawn in the Draw view.

The set is one Keras-style ``.npz`` file, readable with NumPy alone::

    x               (n, 28, 28) uint8    the network inputs * 255, rounded (ink high)
    y               (n,)        int64    labels 0..9
    canvas_side     (n,)        float64  side of the canvas the strokes were drawn on, in the
                                         canvas's pixels; 0 when no strokes were recorded
    stroke_info     (s, 4)      float64  one row per stroke, in drawing order, grouped by sample:
                                         sample index, index of its first row in stroke_points,
                                         pen diameter (canvas pixels), erase flag (0 or 1)
    stroke_points   (p, 3)      float32  x, y (canvas pixels) and pen pressure 0..1 of every point
    format_version  ()          int64    FORMAT_VERSION

Stroke ``k`` owns the rows ``stroke_info[k, 1]`` up to the next stroke's first row (or ``p``).
A plain Keras file with only ``x`` and ``y`` loads too (its samples have no strokes). The strokes
come back as :class:`digitlab.data.strokes.Drawing` of :class:`~digitlab.data.strokes.Stroke`; a
drawing made over a loaded image is stored without strokes (they alone are not the drawing).

The file may come from a stranger: :func:`load_personal_set` reads every array's .npy header
before any data, refuses pickled objects, shapes, dtypes and sizes it does not expect, NaN and
labels outside 0..9, and says in a :class:`PersonalSetError` (a ``ValueError``) what is wrong and
what to do. :func:`save_personal_set` writes atomically, so a failed save leaves the old file.

Never imports Qt.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from digitlab import paths
from digitlab.atomic import write_bytes_atomic
from digitlab.data.datasets import NPZ_READ_ERRORS, DatasetError, _read_npz_member
from digitlab.data.idx import open_regular_file
from digitlab.data.strokes import Drawing, Stroke

__all__ = [
    "FORMAT_VERSION",
    "DEFAULT_FILE_NAME",
    "MAX_SAMPLES",
    "MAX_STROKES",
    "MAX_POINTS",
    "PersonalSetError",
    "PersonalSet",
    "load_personal_set",
    "save_personal_set",
    "default_personal_set_path",
]

FORMAT_VERSION = 1
DEFAULT_FILE_NAME = "my-digits.npz"
#: Caps on what one file may declare, checked from the .npy headers before anything is read.
#: A person drawing a digit every few seconds for a day makes a few thousand; these leave room
#: for merged sets while keeping a hostile file's memory under about 200 MB.
MAX_SAMPLES = 100_000
MAX_STROKES = 1_000_000
MAX_POINTS = 5_000_000
#: Largest canvas side and coordinate magnitude accepted (canvas pixels); far above any screen.
MAX_COORDINATE = 1e6
_N_CLASSES = 10
_STROKE_KEYS = ("canvas_side", "stroke_info", "stroke_points")
# key -> (allowed dtype kinds, expected shape after the first axis, row cap)
_MEMBERS = {
    "x": ("iu", (28, 28), MAX_SAMPLES),
    "y": ("iu", (), MAX_SAMPLES),
    "canvas_side": ("iuf", (), MAX_SAMPLES),
    "stroke_info": ("iuf", (4,), MAX_STROKES),
    "stroke_points": ("iuf", (3,), MAX_POINTS),
    "format_version": ("iu", None, 1),
}


class PersonalSetError(DatasetError):
    """A personal set file or entry that cannot be used; the message says what and what to do."""


def _as_saved_drawing(drawing: Drawing | None) -> Drawing | None:
    """What is kept of a drawing: its strokes with points and pressures as the file holds them
    (float32), or None for None and for a drawing over a loaded image (its ``raster``), which the
    strokes alone do not describe."""
    if drawing is None:
        return None
    if not isinstance(drawing, Drawing):
        raise PersonalSetError(f"the strokes to add are a {type(drawing).__name__}, not a Drawing; "
                               f"pass the canvas's drawing() or None")
    if drawing.raster is not None:
        return None
    if drawing.side > MAX_COORDINATE:
        raise PersonalSetError(f"the drawing's canvas side is {drawing.side} pixels, more than the "
                               f"{MAX_COORDINATE:g} a personal set keeps")
    strokes = []
    for k, stroke in enumerate(drawing.strokes):
        if len(stroke.points) == 0:
            continue                   # a stroke without points leaves no ink: nothing to keep
        points = stroke.points.astype(np.float32)
        pressures = stroke.pressures.astype(np.float32)
        _check_points(np.column_stack([points, pressures]), f"stroke {k} of the drawing to add")
        if stroke.width > MAX_COORDINATE:
            raise PersonalSetError(f"stroke {k} of the drawing to add is {stroke.width} pixels wide, "
                                   f"more than the {MAX_COORDINATE:g} a personal set keeps")
        strokes.append(Stroke(points, pressures, stroke.width, stroke.erase))
    return Drawing(drawing.side, tuple(strokes))


def _check_points(points: np.ndarray, where: str) -> None:
    if not np.isfinite(points).all():
        raise PersonalSetError(f"{where}: stroke points hold NaN or infinite values; the strokes "
                               f"are damaged, draw the digit again or remove the file")
    if points.size and np.abs(points[:, :2]).max() > MAX_COORDINATE:
        raise PersonalSetError(f"{where}: stroke points lie beyond {MAX_COORDINATE:g} pixels from "
                               f"the canvas; the strokes are damaged, remove the file")
    if points.size and (points[:, 2].min() < 0 or points[:, 2].max() > 1):
        raise PersonalSetError(f"{where}: pen pressures range over {points[:, 2].min():g}.."
                               f"{points[:, 2].max():g}, outside 0..1; the strokes are damaged")


def _input_bytes(x28) -> np.ndarray:
    """A network input (28x28 or 784 floats in [0, 1], or uint8 0..255) as 28x28 uint8."""
    arr = np.asarray(x28)
    if arr.shape not in ((28, 28), (784,)):
        raise PersonalSetError(f"the digit to add has shape {arr.shape}; expected the 28x28 network "
                               f"input (or its 784 values)")
    arr = arr.reshape(28, 28)
    if arr.dtype == np.uint8:
        return arr.copy()
    if arr.dtype.kind != "f":
        raise PersonalSetError(f"the digit to add has dtype {arr.dtype}; expected floats in [0, 1] "
                               f"(the network input) or uint8 pixels")
    if not np.isfinite(arr).all():
        raise PersonalSetError("the digit to add holds NaN or infinite values; it is not a network "
                               "input, draw the digit again")
    if arr.min() < -1e-6 or arr.max() > 1 + 1e-6:
        raise PersonalSetError(f"the digit to add ranges over {arr.min():g}..{arr.max():g}; "
                               f"expected the network input, in [0, 1]")
    return np.rint(np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def _label(label) -> int:
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
        raise PersonalSetError(f"the label is {label!r}; expected a digit 0..9")
    if not 0 <= int(label) < _N_CLASSES:
        raise PersonalSetError(f"the label is {int(label)}; expected a digit 0..9")
    return int(label)


class PersonalSet:
    """The digits of one person, with their labels and (when drawn here) their strokes.

    Attributes
    ----------
    x : numpy.ndarray, (n, 28, 28) uint8
        The network inputs * 255, rounded, ink high.
    y : numpy.ndarray, (n,) int64
        Labels 0..9.
    drawings : list of Drawing or None
        The strokes of each sample (a :class:`~digitlab.data.strokes.Drawing` without raster);
        None for a sample without recorded strokes.

    Change it with :meth:`add`, :meth:`insert`, :meth:`relabel` and :meth:`remove` (which check
    what they get), and write it with :func:`save_personal_set`.
    """

    def __init__(self, x=None, y=None, drawings=None):
        self.x = np.zeros((0, 28, 28), np.uint8) if x is None else np.asarray(x, np.uint8)
        self.y = np.zeros(0, np.int64) if y is None else np.asarray(y, np.int64)
        self.drawings: list[Drawing | None] = (
            [None] * len(self.y) if drawings is None else list(drawings))
        if not (self.x.ndim == 3 and self.x.shape[1:] == (28, 28)
                and len(self.x) == len(self.y) == len(self.drawings)):
            raise PersonalSetError(f"a personal set needs as many 28x28 images, labels and drawings; "
                                   f"got x {self.x.shape}, y {self.y.shape} and "
                                   f"{len(self.drawings)} drawings")
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= _N_CLASSES):
            raise PersonalSetError(f"labels range over {self.y.min()}..{self.y.max()}; expected 0..9")

    def __len__(self) -> int:
        return int(len(self.y))

    def __repr__(self) -> str:
        return f"PersonalSet(n={len(self)}, per digit={self.counts().tolist()})"

    def counts(self) -> np.ndarray:
        """How many samples of each digit: (10,) int64."""
        return np.bincount(self.y, minlength=_N_CLASSES).astype(np.int64)

    def inputs(self) -> np.ndarray:
        """The network inputs, (n, 784) float32 in [0, 1] (x / 255)."""
        return self.x.reshape(len(self), 784).astype(np.float32) / np.float32(255.0)

    def insert(self, i: int, x28, label: int, drawing=None) -> None:
        """Put a sample at position ``i`` (0..n); ``drawing`` has ``side`` and ``strokes``
        (each with points, pressures, width, erase) or is None."""
        if not 0 <= i <= len(self):
            raise IndexError(f"cannot insert at {i}: the set holds {len(self)} digits")
        if len(self) >= MAX_SAMPLES:
            raise PersonalSetError(f"the set already holds {MAX_SAMPLES:,} digits, the most a personal "
                                   f"set may; start another file")
        pixels, lab, saved = _input_bytes(x28), _label(label), _as_saved_drawing(drawing)
        self.x = np.concatenate([self.x[:i], pixels[None], self.x[i:]])
        self.y = np.concatenate([self.y[:i], np.array([lab], np.int64), self.y[i:]])
        self.drawings.insert(i, saved)

    def add(self, x28, label: int, drawing=None) -> int:
        """Append a sample (see :meth:`insert`); returns its index."""
        self.insert(len(self), x28, label, drawing)
        return len(self) - 1

    def relabel(self, i: int, label: int) -> None:
        """Give sample ``i`` the label ``label`` (0..9)."""
        self._check_index(i)
        self.y = self.y.copy()
        self.y[i] = _label(label)

    def remove(self, i: int) -> tuple[np.ndarray, int, Drawing | None]:
        """Take sample ``i`` out; returns its (x 28x28 uint8, label, drawing), which
        :meth:`insert` puts back (undo)."""
        self._check_index(i)
        item = (self.x[i].copy(), int(self.y[i]), self.drawings[i])
        self.x = np.delete(self.x, i, axis=0)
        self.y = np.delete(self.y, i)
        del self.drawings[i]
        return item

    def _check_index(self, i) -> None:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(self):
            raise IndexError(f"no digit {i!r} in the set: it holds {len(self)} (0..{len(self) - 1})")


# ------------------------------------------------------------------------------------ paths
def default_personal_set_path() -> Path:
    """``my-digits.npz`` in the user's data folder (:func:`digitlab.paths.user_data_dir`)."""
    return paths.user_data_dir() / DEFAULT_FILE_NAME


# ------------------------------------------------------------------------------------ saving
def _stroke_arrays(s: PersonalSet) -> dict[str, np.ndarray]:
    sides = np.zeros(len(s), np.float64)
    info, points = [], []
    first = 0
    for i, drawing in enumerate(s.drawings):
        if drawing is None:
            continue
        sides[i] = drawing.side
        for stroke in drawing.strokes:
            info.append((i, first, stroke.width, 1.0 if stroke.erase else 0.0))
            points.append(np.column_stack([stroke.points, stroke.pressures]).astype(np.float32))
            first += len(stroke.points)
    return {
        "canvas_side": sides,
        "stroke_info": np.array(info, np.float64).reshape(-1, 4),
        "stroke_points": np.concatenate(points) if points else np.zeros((0, 3), np.float32),
    }


def save_personal_set(path: str | os.PathLike, s: PersonalSet) -> Path:
    """Write ``s`` to ``path`` atomically (the old file stays whole if anything fails); returns
    the path. Raises :class:`digitlab.atomic.OutputError` (an OSError) in words when the file
    cannot be written."""
    arrays = {"x": np.ascontiguousarray(s.x, np.uint8), "y": np.asarray(s.y, np.int64),
              **_stroke_arrays(s), "format_version": np.array(FORMAT_VERSION, np.int64)}
    _check_arrays(arrays, "the set to save")     # what is written must load again
    buffer = io.BytesIO()
    # uncompressed: the set is rewritten on every added digit, and deflating a thousand digits'
    # strokes takes ~150 ms on the GUI thread against ~8 ms, for a file only 40 % smaller
    np.savez(buffer, **arrays)
    return write_bytes_atomic(Path(path), buffer.getvalue(), replace=True)


# ------------------------------------------------------------------------------------ loading
def _member_problem(key: str, shape: tuple, dtype: np.dtype, stored: int, header_size: int) -> str | None:
    """What is wrong with one member, judged from its .npy header alone; None if fine."""
    kinds, tail, cap = _MEMBERS[key]
    if dtype.hasobject:
        return (f"holds Python objects (dtype {dtype}), which would have to be unpickled; a "
                f"personal set holds plain numeric arrays, save it with numpy.savez")
    if dtype.kind not in kinds or dtype.itemsize > 8:
        wanted = "integers" if kinds == "iu" else "numbers"
        return f"has dtype {dtype}; expected {wanted}" + (" 0..255 (uint8)" if key == "x" else "")
    if tail is None:
        if shape != ():
            return f"has shape {shape}; expected a single number"
    else:
        ok = len(shape) == 1 + len(tail) and tuple(shape[1:]) == tail
        if key == "y" and len(shape) == 2 and shape[1] == 1:
            ok = True                  # some exporters keep labels as a column
        if not ok:
            want = "(N, " + ", ".join(map(str, tail)) + ")" if tail else "(N,)"
            return f"has shape {shape}; expected {want}"
        if shape[0] > cap:
            return f"declares {shape[0]:,} rows, more than the {cap:,} digitlab reads"
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if stored != header_size + nbytes:
        return (f"is a zip entry of {stored:,} bytes but its header declares shape {shape} of "
                f"{dtype} ({header_size + nbytes:,} bytes with the header); the file is damaged")
    return None


def _read_member(zf: zipfile.ZipFile, member: str, key: str, path: Path) -> np.ndarray:
    return _read_npz_member(zf, member, key, path, problem_of=_member_problem, error=PersonalSetError,
                            advice="the file is damaged or not a personal set")


def _check_arrays(a: dict[str, np.ndarray], where: str) -> None:
    """Values and agreement between the arrays (shapes and dtypes are already right)."""
    x, y = a["x"], a["y"]
    n = len(x)
    if len(y) != n:
        raise PersonalSetError(f"{where}: {n} images but {len(y)} labels; the file is damaged, "
                               f"each image needs one label")
    if x.size and (x.min() < 0 or x.max() > 255):
        raise PersonalSetError(f"{where}: pixels range over {x.min()}..{x.max()}, outside 0..255")
    if n and (y.min() < 0 or y.max() >= _N_CLASSES):
        bad = y[(y < 0) | (y >= _N_CLASSES)]
        raise PersonalSetError(f"{where}: labels range over {y.min()}..{y.max()} ({len(bad)} outside "
                               f"0..9, e.g. {bad[0]}); a label is a digit 0..9, fix or remove them")
    version = int(a["format_version"])
    if version < 1 or version > FORMAT_VERSION:
        raise PersonalSetError(f"{where}: format version {version}; this digitlab reads versions 1.."
                               f"{FORMAT_VERSION}" + (", update digitlab" if version > FORMAT_VERSION
                                                      else ", the file is damaged"))
    sides, info, points = a["canvas_side"], a["stroke_info"], a["stroke_points"]
    if len(sides) != n:
        raise PersonalSetError(f"{where}: {n} images but {len(sides)} canvas sides; the file is "
                               f"damaged, each image needs one (0 when it has no strokes)")
    if not np.isfinite(sides).all() or (sides < 0).any() or (sides > MAX_COORDINATE).any() \
            or (sides != np.round(sides)).any():
        raise PersonalSetError(f"{where}: canvas sides must be whole numbers 0..{MAX_COORDINATE:g} "
                               f"(0 for no strokes); the file is damaged")
    if not np.isfinite(info).all():
        raise PersonalSetError(f"{where}: stroke_info holds NaN or infinite values; the file is damaged")
    _check_points(points, where)
    if len(info) == 0:
        return
    sample, first, width, erase = info[:, 0], info[:, 1], info[:, 2], info[:, 3]
    if (sample != np.round(sample)).any() or sample.min() < 0 or sample.max() >= n \
            or (np.diff(sample) < 0).any():
        raise PersonalSetError(f"{where}: stroke_info's sample indices must be whole numbers 0.."
                               f"{n - 1} in order; the file is damaged")
    if (first != np.round(first)).any() or first[0] != 0 or (np.diff(first) <= 0).any() \
            or first[-1] >= len(points):
        raise PersonalSetError(f"{where}: stroke_info's first points must start at 0 and rise by at "
                               f"least one per stroke within the {len(points)} points; the file is damaged")
    if (width <= 0).any() or (width > MAX_COORDINATE).any():
        raise PersonalSetError(f"{where}: pen widths must be positive numbers of canvas pixels; "
                               f"the file is damaged")
    if not np.isin(erase, (0.0, 1.0)).all():
        raise PersonalSetError(f"{where}: erase flags must be 0 or 1; the file is damaged")
    if (sides[sample.astype(np.int64)] <= 0).any():
        raise PersonalSetError(f"{where}: a sample with strokes has no canvas side; the file is damaged")


def _drawings(n: int, sides, info, points) -> list[Drawing | None]:
    ends = np.append(info[1:, 1], len(points)).astype(np.int64) if len(info) else []
    per_sample: dict[int, list[Stroke]] = {}
    for (sample, first, width, erase), end in zip(info, ends):
        block = points[int(first):int(end)]
        per_sample.setdefault(int(sample), []).append(
            Stroke(block[:, :2], block[:, 2], float(width), bool(erase)))
    return [Drawing(int(sides[i]), tuple(per_sample.get(i, ()))) if sides[i] > 0 else None
            for i in range(n)]


def load_personal_set(path: str | os.PathLike, *, missing_ok: bool = False) -> PersonalSet:
    """Read a personal set (or a plain Keras .npz with ``x`` and ``y``).

    ``missing_ok``: a file that does not exist gives an empty set (the first digit creates it).
    Raises :class:`PersonalSetError` (a ``ValueError``) naming the file, what is wrong with it and
    what to do; nothing in the file is ever unpickled, and no array larger than the caps
    (:data:`MAX_SAMPLES`, :data:`MAX_STROKES`, :data:`MAX_POINTS`) is allocated.
    """
    path = Path(path).expanduser()
    if missing_ok and not os.path.lexists(path):
        return PersonalSet()
    try:
        with open_regular_file(path, PersonalSetError) as fh, zipfile.ZipFile(fh) as zf:
            # np.savez stores array "k" as member "k.npy"; np.load lists it as "k"
            members = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
            if "x" not in members or "y" not in members:
                found = ", ".join(sorted(members)) or "none"
                hint = (" It looks like a Keras dataset with train and test parts: open it as a "
                        "dataset (digitlab evaluate --dataset) instead." if "x_train" in members else "")
                raise PersonalSetError(f"{path}: missing the arrays x and y (found: {found}); a "
                                       f"personal set holds x (n, 28, 28) uint8 and y (n,) labels.{hint}")
            present = [k for k in _STROKE_KEYS if k in members]
            if present and len(present) != len(_STROKE_KEYS):
                missing = [k for k in _STROKE_KEYS if k not in members]
                raise PersonalSetError(f"{path}: has {', '.join(present)} but not {', '.join(missing)}; "
                                       f"the strokes are incomplete, the file is damaged")
            arrays = {k: _read_member(zf, members[k], k, path) for k in _MEMBERS if k in members}
    except PersonalSetError:
        raise
    except NPZ_READ_ERRORS as exc:
        raise PersonalSetError(f"{path}: not a readable .npz file ({exc}); choose a personal set "
                               f"saved by digitlab or by numpy.savez") from None
    if arrays["y"].ndim == 2:
        arrays["y"] = arrays["y"][:, 0]
    n = len(arrays["x"])
    arrays.setdefault("canvas_side", np.zeros(n, np.float64))
    arrays.setdefault("stroke_info", np.zeros((0, 4), np.float64))
    arrays.setdefault("stroke_points", np.zeros((0, 3), np.float32))
    arrays.setdefault("format_version", np.array(FORMAT_VERSION, np.int64))
    _check_arrays(arrays, str(path))
    info = arrays["stroke_info"].astype(np.float64)
    points = arrays["stroke_points"].astype(np.float32)
    return PersonalSet(arrays["x"].astype(np.uint8), arrays["y"].astype(np.int64),
                       _drawings(n, arrays["canvas_side"].astype(np.float64), info, points))
