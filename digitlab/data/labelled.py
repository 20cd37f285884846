"""One labelled set of digits from a .npz file: what evaluation and fine-tuning read.

A full dataset (:func:`digitlab.data.load_dataset`) has a training and a test file; a person's own
digits, or a test set on its own, are one set of images and labels. :func:`load_labelled_set`
reads either Keras spelling of that:

- ``x`` (n, 28, 28) and ``y`` (n,): the personal dataset the Draw view writes, or any set saved
  that way, read by :func:`digitlab.data.personal.load_personal_set` (strokes checked too);
- ``x_test`` and ``y_test``: the test half of a Keras-style dataset file (``x_train`` and
  ``y_train`` may be there too and are not read).

Either way the file is read untrustingly (only regular files, no pickles, every declared size
checked before anything is allocated; see :mod:`digitlab.data.datasets`). Never imports Qt.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab.data.datasets import NPZ_READ_ERRORS, DatasetError, _as_uint8, _read_npz_member
from digitlab.data.idx import open_regular_file
from digitlab.data.personal import load_personal_set

__all__ = ["LabelledSet", "load_labelled_set", "labelled_checksum", "npz_members", "LABELLED_KEYS"]

#: The key pairs understood, in the order they are looked for.
LABELLED_KEYS: tuple[tuple[str, str], ...] = (("x", "y"), ("x_test", "y_test"))

_IMAGE_SHAPE = (28, 28)
_N_CLASSES = 10


@dataclass(frozen=True, eq=False)
class LabelledSet:
    """Images and labels read from one file.

    Attributes
    ----------
    name : str
        The file it came from.
    x : numpy.ndarray, shape (n, 28, 28), uint8
        The network's inputs as MNIST stores them (white digit on black, 0..255).
    y : numpy.ndarray, shape (n,), uint8, values 0..9
    checksum : str
        :func:`labelled_checksum` of ``x`` and ``y``: what a model trained on them records.
    keys : tuple[str, str]
        The members read, ``("x", "y")`` or ``("x_test", "y_test")``.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    checksum: str
    keys: tuple[str, str]

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def inputs(self, dtype=np.float32) -> np.ndarray:
        """``(n, 784)`` in [0, 1]: the rows a network takes."""
        flat = self.x.reshape(len(self), -1).astype(dtype)
        flat /= 255.0
        return flat

    def labels(self) -> np.ndarray:
        return self.y.astype(np.int64)


def labelled_checksum(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 (hex) over ``x`` then ``y``, each tagged with its dtype and shape.

    The same rule as :func:`digitlab.data.datasets.dataset_checksum` over two arrays instead of
    four, so the same images with other labels (or cut at another place) differ.
    """
    h = hashlib.sha256()
    # uint8 both, as MNIST stores them: a set reads the same whichever integer type saved its labels
    for arr in (np.asarray(x, dtype=np.uint8), np.asarray(y, dtype=np.uint8)):
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str} {arr.shape};".encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def _checked(source: str, images: np.ndarray, labels: np.ndarray, keys) -> tuple[np.ndarray, np.ndarray]:
    kx, ky = keys
    if images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise DatasetError(f"{source}: {kx} has shape {images.shape}; expected (n, 28, 28) images.")
    if images.shape[0] == 0:
        raise DatasetError(f"{source}: {kx} holds no images; add some digits first.")
    if labels.ndim == 2 and labels.shape[1] == 1:   # some exporters keep a column vector
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DatasetError(f"{source}: {ky} has shape {labels.shape}; expected (n,) class numbers "
                           "(not one-hot rows).")
    if labels.shape[0] != images.shape[0]:
        raise DatasetError(f"{source}: {images.shape[0]} images in {kx} but {labels.shape[0]} labels "
                           f"in {ky}; every image needs exactly one label.")
    images = _as_uint8(images, f"the images ({kx})", source)
    if labels.dtype.kind not in "iu":
        raise DatasetError(f"{source}: {ky} has dtype {labels.dtype}; expected integer classes 0..9.")
    if labels.min() < 0 or labels.max() >= _N_CLASSES:
        raise DatasetError(f"{source}: {ky} ranges over {labels.min()}..{labels.max()}; expected "
                           f"classes 0..{_N_CLASSES - 1}.")
    return images, labels.astype(np.uint8, copy=False)


def npz_members(path: str | os.PathLike) -> set[str]:
    """The array names in a ``.npz`` file (``"x"`` for member ``x.npy``), read from its zip index
    only. Raises :class:`DatasetError` for a missing, special or unreadable file."""
    path = Path(path).expanduser()
    try:
        with open_regular_file(path, DatasetError) as fh, zipfile.ZipFile(fh) as zf:
            return {n[:-4] if n.endswith(".npy") else n for n in zf.namelist()}
    except DatasetError:
        raise
    except NPZ_READ_ERRORS as exc:
        raise DatasetError(f"{path}: not a readable .npz file ({exc}); give a file saved with "
                           "numpy.savez holding x and y, or x_test and y_test.") from None


def load_labelled_set(path: str | os.PathLike) -> LabelledSet:
    """Read the images and labels of a ``.npz`` file with keys ``x``/``y`` or ``x_test``/``y_test``.

    Raises :class:`digitlab.data.DatasetError` (a ``ValueError``) naming the file, what is wrong
    and what to do: a missing file, a folder, a file that is not a .npz, missing keys, wrong
    shapes or dtypes, labels outside 0..9, more labels than images, no images, a damaged archive.
    """
    path = Path(path).expanduser()
    source = str(path)
    if path.is_dir():
        raise DatasetError(f"{source} is a folder; give a .npz file with x and y, or x_test and y_test.")
    members = npz_members(path)
    keys = next((pair for pair in LABELLED_KEYS if all(k in members for k in pair)), None)
    if keys is None:
        found = ", ".join(sorted(members)[:12]) or "none"
        raise DatasetError(f"{source}: no images and labels found (arrays: {found}); a labelled set "
                           "holds x and y (as a personal dataset does), or x_test and y_test, saved "
                           "with numpy.savez.")
    if keys == ("x", "y"):
        personal = load_personal_set(path)
        x, y = personal.x, personal.y
        if len(y) == 0:
            raise DatasetError(f"{source}: x holds no images; add some digits first.")
    else:
        x, y = _read_test_half(path, keys)
    y = y.astype(np.uint8)
    return LabelledSet(source, x, y, labelled_checksum(x, y), keys)


def _read_test_half(path: Path, keys) -> tuple[np.ndarray, np.ndarray]:
    source = str(path)
    try:
        with open_regular_file(path, DatasetError) as fh, zipfile.ZipFile(fh) as zf:
            members = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
            # x_test and y_test are checked as the dataset reader checks them (by key prefix)
            images = _read_npz_member(zf, members[keys[0]], keys[0], path)
            labels = _read_npz_member(zf, members[keys[1]], keys[1], path)
    except DatasetError:
        raise
    except NPZ_READ_ERRORS as exc:
        raise DatasetError(f"{source}: not a readable .npz file ({exc}); give a file saved with "
                           "numpy.savez holding x and y, or x_test and y_test.") from None
    return _checked(source, images, labels, keys)
