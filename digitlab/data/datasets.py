"""Load MNIST-format datasets and cut them into train / validation / test splits.

Sources understood by :func:`load_dataset`:

- ``None`` or ``"mnist"``: the copy bundled in ``resources/mnist`` (checked against the published
  MD5 sums), or, if that copy is missing or damaged, one fetched by ``digitlab data download``
  into ``<user data>/mnist``;
- ``"fashion-mnist"``: Debian's ``dataset-fashion-mnist`` package in /usr/share/datasets;
- a folder holding the four standard IDX files, gzipped or not;
- a ``.npz`` file with the Keras keys ``x_train, y_train, x_test, y_test``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab import paths
from digitlab.data.idx import MAX_IDX_BYTES, IDXError, open_regular_file, read_idx

log = logging.getLogger(__name__)

__all__ = [
    "MNIST_MD5",
    "MNIST_FILES",
    "FASHION_MNIST_DIR",
    "RawDataset",
    "Splits",
    "DatasetError",
    "load_dataset",
    "prepare_splits",
    "dataset_checksum",
    "bundled_mnist_dir",
    "user_mnist_dir",
]

#: MD5 of the *uncompressed* payload of each MNIST file, as published with the original files.
#: (The bundled .gz wrappers were recompressed, so their own MD5 differs; check the payload.)
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}

#: The four standard file stems, in the order train images, train labels, test images, test labels.
MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

_IMAGE_SHAPE = (28, 28)
_N_CLASSES = 10

#: Most images (and labels) one array of a .npz dataset may declare: a million 28x28 images, the
#: same bound as an IDX file's (EMNIST ByClass, the largest MNIST-format set in use, has 697,932).
MAX_IMAGES = 1_000_000
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DatasetError(ValueError):
    """A dataset could not be found, read or validated; the message says which file and what to do."""


@dataclass(frozen=True, eq=False)
class RawDataset:
    """A dataset exactly as stored on disk.

    ``eq=False``: equality of NumPy arrays is elementwise, so dataclass ``==`` would be ambiguous;
    compare :attr:`checksum` instead.

    Attributes
    ----------
    name : str
        ``"mnist"``, ``"fashion-mnist"``, or the folder / file the data came from.
    train_images : numpy.ndarray, shape (N, 28, 28), uint8
    train_labels : numpy.ndarray, shape (N,), uint8, values 0..9
    test_images : numpy.ndarray, shape (M, 28, 28), uint8
    test_labels : numpy.ndarray, shape (M,), uint8, values 0..9
    checksum : str
        :func:`dataset_checksum` of the four arrays, so a model file can record which data
        trained it.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    checksum: str

    def __repr__(self) -> str:
        return (
            f"RawDataset(name={self.name!r}, train={self.train_images.shape}, "
            f"test={self.test_images.shape}, checksum={self.checksum[:12]}...)"
        )


@dataclass(eq=False)
class Splits:
    """Model-ready arrays: flattened, scaled to [0, 1], split into train / validation / test.

    Attributes
    ----------
    x_train : numpy.ndarray, shape (n_train, 784), float32 (or the dtype asked for), in [0, 1]
    y_train : numpy.ndarray, shape (n_train,), int64, values 0..9
    x_val : numpy.ndarray, shape (n_val, 784)
    y_val : numpy.ndarray, shape (n_val,), int64
    x_test : numpy.ndarray, shape (n_test, 784)
    y_test : numpy.ndarray, shape (n_test,), int64
    name : str
        Name of the source dataset.
    checksum : str
        Checksum of the source :class:`RawDataset`.
    x_train_bytes : numpy.ndarray or None, shape (n_train, 784), uint8
        The training pixels before scaling (``x_train == x_train_bytes / 255`` exactly). The
        trainer gathers its batches from these: a quarter of the memory traffic.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    checksum: str
    x_train_bytes: np.ndarray | None = None

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.x_val.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return _N_CLASSES

    def __repr__(self) -> str:
        return (
            f"Splits(name={self.name!r}, n_train={self.n_train}, n_val={self.n_val}, "
            f"n_test={self.n_test}, dtype={self.x_train.dtype}, checksum={self.checksum[:12]}...)"
        )


# --------------------------------------------------------------------------------------------
# checksums and validation


def dataset_checksum(train_images, train_labels, test_images, test_labels) -> str:
    """SHA-256 (hex) over the four arrays, in that order.

    Each array contributes a short ``"dtype shape;"`` tag followed by its C-order bytes; the tag
    keeps two datasets whose bytes happen to concatenate identically (a different train/test
    boundary) from sharing a checksum.
    """
    h = hashlib.sha256()
    for arr in (train_images, train_labels, test_images, test_labels):
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str} {arr.shape};".encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def _as_uint8(arr: np.ndarray, what: str, source: str) -> np.ndarray:
    """Images and labels are uint8 on disk; accept other integer dtypes if the values fit."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind not in "iu":
        raise DatasetError(
            f"{source}: {what} have dtype {arr.dtype}; expected integers 0..255 (uint8). "
            "Convert the array to uint8 before saving it."
        )
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise DatasetError(
            f"{source}: {what} hold values {arr.min()}..{arr.max()}, outside 0..255."
        )
    return arr.astype(np.uint8)


def _validate(source: str, train_images, train_labels, test_images, test_labels):
    """Check shapes, dtypes, label ranges and matching lengths; return the four uint8 arrays."""
    out = []
    for part, images, labels in (("training", train_images, train_labels),
                                 ("test", test_images, test_labels)):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
            raise DatasetError(
                f"{source}: {part} images have shape {images.shape}; expected (N, 28, 28)."
            )
        if images.shape[0] == 0:
            raise DatasetError(f"{source}: the {part} set holds no images.")
        if labels.ndim == 2 and labels.shape[1] == 1:  # some exporters keep a column vector
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise DatasetError(
                f"{source}: {part} labels have shape {labels.shape}; expected (N,) class numbers "
                "(not one-hot rows)."
            )
        if labels.shape[0] != images.shape[0]:
            raise DatasetError(
                f"{source}: {images.shape[0]} {part} images but {labels.shape[0]} {part} labels; "
                "the image and label files do not belong together."
            )
        images = _as_uint8(images, f"{part} images", source)
        if labels.dtype.kind not in "iu":
            raise DatasetError(
                f"{source}: {part} labels have dtype {labels.dtype}; expected integer classes 0..9."
            )
        if labels.min() < 0 or labels.max() >= _N_CLASSES:
            raise DatasetError(
                f"{source}: {part} labels range over {labels.min()}..{labels.max()}; "
                f"expected classes 0..{_N_CLASSES - 1}."
            )
        out += [images, labels.astype(np.uint8, copy=False)]
    return out


def _make_raw(name: str, arrays, *, read_only: bool, source: str | None = None) -> RawDataset:
    """The dataset ``name`` read from ``source`` (default: the name, which is then its path)."""
    if read_only:
        # Shared through the cache: a caller scribbling on it would corrupt every later load.
        for a in arrays:
            a.flags.writeable = False
    log.info("Loaded the dataset %s from %s: %d training and %d test images", name, source or name,
             len(arrays[1]), len(arrays[3]))
    return RawDataset(name, *arrays, checksum=dataset_checksum(*arrays))


# --------------------------------------------------------------------------------------------
# sources


def bundled_mnist_dir() -> Path:
    """``resources/mnist``, the copy shipped with digitlab."""
    return paths.resources_dir() / "mnist"


def user_mnist_dir() -> Path:
    """``<user data>/mnist``: where ``digitlab data download`` should put its copy."""
    return paths.user_data_dir() / "mnist"


def _find_idx_file(folder: Path, stem: str) -> Path | None:
    # Accept the standard names with or without .gz, and the "train-images.idx3-ubyte" spelling
    # some re-distributions (e.g. Kaggle) use.
    alt = stem.replace("-idx", ".idx")
    for candidate in (stem + ".gz", stem, alt + ".gz", alt):
        path = folder / candidate
        # exists(), not is_file(): a pipe or folder under the right name is reported as such by
        # read_idx, rather than as a missing file.
        if path.exists():
            return path
    return None


def _read_folder(folder: Path, *, md5: dict[str, str] | None, remedy: str):
    """Read the four files of an MNIST-format folder; verify payload MD5s if a table is given."""
    arrays = []
    for stem in MNIST_FILES:
        path = _find_idx_file(folder, stem)
        if path is None:
            raise DatasetError(
                f"{folder}: missing {stem}.gz (or {stem}); an MNIST-format folder holds the "
                f"four files {', '.join(MNIST_FILES)}, gzipped or not. {remedy}"
            )
        expected = md5[stem + ".gz"] if md5 is not None else None
        try:
            arrays.append(read_idx(path, md5=expected))
        except IDXError as exc:
            raise DatasetError(f"{exc} {remedy}") from None
    return arrays


@functools.lru_cache(maxsize=4)
def _load_folder_cached(folder: str, name: str, verify: bool, remedy: str) -> RawDataset:
    md5 = MNIST_MD5 if verify and name == "mnist" else None
    arrays = _read_folder(Path(folder), md5=md5, remedy=remedy)
    return _make_raw(name, _validate(folder, *arrays), read_only=True, source=folder)


_DOWNLOAD_HINT = "Run `digitlab data download` to fetch a fresh copy."


def _load_mnist(verify: bool) -> RawDataset:
    bundled = bundled_mnist_dir()
    try:
        return _load_folder_cached(str(bundled.resolve()), "mnist", verify, _DOWNLOAD_HINT)
    except DatasetError as bundled_error:
        # The remedy the message suggests is a download into the user's folder: honour it.
        user_dir = user_mnist_dir()
        if user_dir.is_dir():
            try:
                return _load_folder_cached(str(user_dir.resolve()), "mnist", verify, _DOWNLOAD_HINT)
            except DatasetError:
                pass  # the downloaded copy is damaged too: the bundled copy's error says what to do
        raise bundled_error from None


def _npz_member_problem(key: str, shape: tuple, dtype: np.dtype, stored: int,
                        header_size: int) -> str | None:
    """What is wrong with one member of a dataset .npz, judged from its .npy header; None if fine.

    Only what decides memory is checked here (no pickles, the row cap, the byte cap, the stored
    size); dtypes and values are left to :func:`_validate`, which reads the same for every source.
    """
    if dtype.hasobject:
        return (f"holds Python objects (dtype {dtype}), which would have to be unpickled; "
                "a dataset holds plain integer arrays, save them with numpy.savez")
    if key.startswith("x_"):
        if len(shape) != 3 or shape[1:] != _IMAGE_SHAPE:
            return f"has shape {shape}; expected (N, 28, 28) images"
    elif not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        return f"has shape {shape}; expected (N,) class numbers (not one-hot rows)"
    if shape[0] > MAX_IMAGES:
        return f"declares {shape[0]:,} rows, more than the {MAX_IMAGES:,} digitlab reads"
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > MAX_IDX_BYTES:
        return (f"declares shape {shape} of {dtype}, {nbytes:,} bytes, more than the "
                f"{MAX_IDX_BYTES:,} digitlab reads for one array; save the images as uint8")
    if stored != header_size + nbytes:
        return (f"is a zip entry of {stored:,} bytes but its header declares shape {shape} of "
                f"{dtype} ({header_size + nbytes:,} bytes with the header); the file is damaged, "
                "save it again")
    return None


#: What reading a damaged or foreign .npz can raise (zip index, compression, .npy headers): every
#: .npz reader turns these into one "not a readable .npz file" sentence of its own.
NPZ_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, ValueError,
                   EOFError, zlib.error)

# The .npy preamble (magic, version, header length) plus NumPy's own cap on the header text.
_NPY_HEAD_BYTES = 12 + 10_000


def _read_npz_member(zf: zipfile.ZipFile, member: str, key: str, path: Path, *,
                     problem_of=None, error: type[DatasetError] = DatasetError,
                     advice: str = "save the dataset with numpy.savez") -> np.ndarray:
    """Check one member's .npy header and zip entry size, then read it (never unpickling).

    ``problem_of(key, shape, dtype, stored, header_size)`` says what is wrong with a member's
    declared shape and type, or None (default: a dataset's); ``error`` is raised with ``advice``
    as the sentence's second half. The personal set reads its members through this too.
    """
    problem_of = _npz_member_problem if problem_of is None else problem_of
    info = zf.getinfo(member)
    if info.flag_bits & 0x1:
        raise error(f"{path}: member {member} is encrypted; {advice}.")
    with zf.open(info) as fh:
        # Parse the header from a bounded prefix: a header length field claiming gigabytes must
        # not make the parser read (and decompress) that much.
        head = io.BytesIO(fh.read(min(info.file_size, _NPY_HEAD_BYTES)))
    try:
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(head)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(head)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not supported")
    except ValueError as exc:
        raise error(f"{path}: member {member} is not a readable .npy array ({exc}); {advice}.") from None
    problem = problem_of(key, tuple(shape), dtype, info.file_size, head.tell())
    if problem:
        raise error(f"{path}: member {member} {problem}.")
    # zipfile stops decompressing at the entry's declared size, now known to match the header,
    # and read_array fills a preallocated array in 256 KB pieces: memory is the array itself.
    with zf.open(info) as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def _load_npz(path: Path) -> RawDataset:
    try:
        with open_regular_file(path, DatasetError) as fh, zipfile.ZipFile(fh) as zf:
            # np.savez stores array "k" as member "k.npy"; np.load lists it as "k".
            members = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
            missing = [k for k in _NPZ_KEYS if k not in members]
            if missing:
                raise DatasetError(
                    f"{path}: missing keys {', '.join(missing)} (found: {', '.join(members) or 'none'}); "
                    "a dataset .npz needs the Keras keys x_train, y_train, x_test, y_test."
                )
            arrays = [_read_npz_member(zf, members[k], k, path) for k in _NPZ_KEYS]
    except DatasetError:
        raise
    except NPZ_READ_ERRORS as exc:
        raise DatasetError(
            f"{path}: not a readable .npz file ({exc}); save it with numpy.savez."
        ) from None
    return _make_raw(str(path), _validate(str(path), *arrays), read_only=False)


def load_dataset(source: str | os.PathLike | None = None, *, verify: bool = True) -> RawDataset:
    """Load a dataset in MNIST format.

    Parameters
    ----------
    source : None, str or path-like
        ``None`` or ``"mnist"`` for the bundled MNIST; ``"fashion-mnist"`` for the Debian
        package's Fashion-MNIST; a folder of the four standard IDX files (``.gz`` or not); or a
        ``.npz`` file with keys ``x_train, y_train, x_test, y_test``.
    verify : bool
        For MNIST, check each uncompressed file against :data:`MNIST_MD5`. Other sources have no
        reference sums; they are still checked for shapes, label ranges and matching lengths.

    Returns
    -------
    RawDataset
        Arrays ``(N, 28, 28)`` / ``(N,)`` uint8. Named datasets are cached in-process and their
        arrays are read-only (copy before modifying); repeated loads cost nothing.

    Raises
    ------
    DatasetError
        With the file concerned and what to do about it.
    """
    if source is None:
        return _load_mnist(verify)
    if isinstance(source, str) and source.strip().lower() in ("mnist", "fashion-mnist", "fashion_mnist"):
        key = source.strip().lower()
        if key == "mnist":
            return _load_mnist(verify)
        if not FASHION_MNIST_DIR.is_dir():
            raise DatasetError(
                f"Fashion-MNIST is not installed (looked in {FASHION_MNIST_DIR}); install it with "
                "`sudo apt-get install dataset-fashion-mnist`, or pass a folder holding its four "
                "IDX files."
            )
        return _load_folder_cached(
            str(FASHION_MNIST_DIR), "fashion-mnist", verify,
            "Reinstall it with `sudo apt-get install --reinstall dataset-fashion-mnist`.",
        )
    path = Path(source).expanduser()
    if path.is_dir():
        arrays = _read_folder(path, md5=None, remedy="Check the folder's files.")
        return _make_raw(str(path), _validate(str(path), *arrays), read_only=False)
    if path.exists():  # not only regular files: _load_npz says what else it is
        if path.suffix.lower() == ".npz":
            return _load_npz(path)
        raise DatasetError(
            f"{path}: a dataset is a folder of the four MNIST IDX files or a .npz file; "
            "this file is neither (to read a single IDX file, use read_idx)."
        )
    raise DatasetError(
        f"{source}: no such dataset, folder or file; use 'mnist', 'fashion-mnist', a folder of "
        "the four MNIST IDX files, or a .npz file with x_train, y_train, x_test, y_test."
    )


# --------------------------------------------------------------------------------------------
# splits


def prepare_splits(
    raw: RawDataset,
    *,
    n_validation: int = 12000,
    seed: int = 0,
    train_subset: int | None = None,
    dtype=np.float32,
) -> Splits:
    """Flatten, scale to [0, 1] and split the training file into train and validation.

    Parameters
    ----------
    raw : RawDataset
        Training images ``(N, 28, 28)`` and test images ``(M, 28, 28)``, uint8.
    n_validation : int
        Images of the training file held out for validation, ``1 <= n_validation <= N - 1``.
        12,000 gives the usual 48,000 / 12,000 split of MNIST.
    seed : int
        Seed of the permutation that chooses the validation images; the same seed always gives
        the same split.
    train_subset : int or None
        Keep only the first ``train_subset`` training images of the (already shuffled) split and
        proportionally fewer validation images (at least 1): a quick, still random, sample for
        fast tests and previews. The test set is always kept whole.
    dtype : numpy dtype
        Floating dtype of the pixel arrays (float32 for speed, float64 for gradient checks).

    Returns
    -------
    Splits
        ``x_*`` of shape ``(n, 784)`` in ``dtype`` with values in [0, 1], ``y_*`` of shape
        ``(n,)`` int64.

    Raises
    ------
    ValueError
        For out-of-range arguments, e.g. "n_validation must be between 1 and N-1, got ...".
    """
    n = int(raw.train_images.shape[0])
    if isinstance(n_validation, bool) or not isinstance(n_validation, (int, np.integer)):
        raise ValueError(f"n_validation must be an integer, got {n_validation!r}")
    if not 1 <= n_validation <= n - 1:
        raise ValueError(f"n_validation must be between 1 and {n - 1} (N-1), got {n_validation}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating type such as float32, got {dtype}")
    n_train_full = n - n_validation
    if train_subset is not None:
        if isinstance(train_subset, bool) or not isinstance(train_subset, (int, np.integer)):
            raise ValueError(f"train_subset must be an integer or None, got {train_subset!r}")
        if not 1 <= train_subset <= n_train_full:
            raise ValueError(
                f"train_subset must be between 1 and {n_train_full} (the training images left "
                f"after validation), got {train_subset}"
            )

    perm = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = perm[:n_validation], perm[n_validation:]
    if train_subset is not None:
        n_val_sub = max(1, round(train_subset * n_validation / n_train_full))
        train_idx, val_idx = train_idx[:train_subset], val_idx[:n_val_sub]

    def pixels(images: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        chosen = images if idx is None else images[idx]
        x = chosen.reshape(chosen.shape[0], -1).astype(dtype)
        x /= 255.0  # in place: no second full-size temporary
        return x

    def labels(y: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        return (y if idx is None else y[idx]).astype(np.int64)

    train_bytes = raw.train_images[train_idx].reshape(len(train_idx), -1)
    return Splits(
        x_train_bytes=train_bytes,
        x_train=pixels(raw.train_images, train_idx),
        y_train=labels(raw.train_labels, train_idx),
        x_val=pixels(raw.train_images, val_idx),
        y_val=labels(raw.train_labels, val_idx),
        x_test=pixels(raw.test_images),
        y_test=labels(raw.test_labels),
        name=raw.name,
        checksum=raw.checksum,
    )
