"""Trained models as plain HDF5 files, written atomically and read back trusting nothing.

The layout is documented in ``docs/model-format.md``; in short::

    /                 attrs: format="digitlab-model", format_version, digitlab_version, name, created,
                             stop_reason, message, dataset, dataset_checksum, epochs, steps,
                             best_step, elapsed
    /config           attrs: one per TrainConfig field (a None value or no dropout is left out)
    /layers           attrs: layer_sizes, batch_norm, bn_eps, bn_momentum, init, init_std, seed,
                             dtype, hidden_activation (relu, leaky_relu, tanh or sigmoid; a file
                             without it is relu), output_activation="softmax"
    /layers/1 ... /layers/L
                      W (fan_in, fan_out), b (fan_out,); hidden layers of a batch-normalised
                      network also gamma, beta, running_mean, running_var (fan_out,)
    /history          (n_checks, 7) float64, attr columns = CHECK_FIELDS
    /metrics          attrs: train_cost, val_cost, test_cost, train_accuracy, ...
    /changes          optional: settings changed during the run (training_state_file.py)
    /training_state   optional: where the run ended, to continue it exactly (training_state_file.py)

Reading: a model file may come from anywhere, and HDF5 can point outside the file (external
storage, external links, virtual datasets), declare sizes it does not hold, or name filters that
make the library look for plugins. So the reader opens only a regular file (without blocking on a
FIFO), reads at most MAX_FILE_BYTES into memory and lets HDF5 parse those bytes (it never opens a
path itself), and checks every link, storage layout, filter, shape, dtype and size against the
caps below before reading an array, then every value after. docs/model-format.md lists what a
reader must refuse. Writing: the file is built in memory and written by plain Python I/O, so a
full disk is a clean ``OutputError``.

Never imports Qt.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as _dt
import io
import logging
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..atomic import write_bytes_atomic
from ..nn import INITS, Network
from ..nn.activations import ACTIVATIONS
from ..nn.arrays import KINDS, NamedArray, affine_first, array_specs
from ..training import CHECK_FIELDS, History, TrainConfig, TrainingState, TrainResult
from ..training.config import layer_size_problems, parameter_count
from ..training.naming import default_model_name, format_layer_sizes
from .training_state_file import read_changes, read_training_state, write_run_record

log = logging.getLogger(__name__)

FORMAT = "digitlab-model"
FORMAT_VERSION = 1

ROOT_FIELDS = ("name", "created", "stop_reason", "message", "dataset", "dataset_checksum",
               "epochs", "steps", "best_step", "elapsed")
# Where a fine-tuned model started and what it trained on besides its dataset (all optional;
# docs/model-format.md): the texts, then the one number.
ORIGIN_TEXTS = ("init_from", "init_from_checksum", "extra_data", "extra_data_checksum")
ORIGIN_NUMBERS = ("extra_share",)

_PNG = b"\x89PNG\r\n\x1a\n"
_HDF5 = b"\x89HDF\r\n\x1a\n"


class ModelFileError(ValueError):
    """A model file that cannot be read or written; the message names the file, the problem and
    what to do, in words. ``detail`` keeps the HDF5 library's own text when there was one (for a
    "Details" button, a bug report), else None."""

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.detail = detail


# ---------------------------------------------------------------------------- SavedModel
def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class SavedModel:
    """A trained network with everything needed to explain it: settings, history, metrics, origin."""

    network: Network
    config: TrainConfig
    history: History = field(default_factory=History)
    metrics: dict = field(default_factory=dict)
    stop_reason: str = ""
    message: str = ""
    best_step: int = 0
    epochs: int = 0
    steps: int = 0
    elapsed: float = 0.0
    name: str = ""
    created: str = field(default_factory=_now_iso)
    dataset: str = ""
    dataset_checksum: str = ""
    digitlab_version: str = __version__
    format_version: int = FORMAT_VERSION
    path: Path | None = None
    origin: dict = field(default_factory=dict)    # ORIGIN_TEXTS / ORIGIN_NUMBERS that apply
    # Where the run ended, to continue it exactly (None: an older file, or a run that diverged).
    training_state: TrainingState | None = None

    @classmethod
    def from_result(cls, result: TrainResult, *, name: str | None = None, dataset_name: str = "",
                    dataset_checksum: str = "") -> SavedModel:
        """Wrap a fresh :class:`TrainResult`; ``created`` is now (UTC)."""
        config = result.config
        return cls(network=result.network, config=config, history=result.history,
                   metrics=dict(result.metrics), stop_reason=result.stop_reason,
                   message=result.message, best_step=int(result.best_step),
                   epochs=int(result.epochs), steps=int(result.steps),
                   elapsed=float(result.elapsed),
                   name=name or config.name or default_model_name(config),
                   dataset=dataset_name or getattr(result, "dataset", "") or config.dataset,
                   dataset_checksum=dataset_checksum or getattr(result, "dataset_checksum", ""),
                   origin=dict(getattr(result, "origin", {})),
                   training_state=getattr(result, "training_state", None))

    @property
    def mean_abs_weights(self) -> list[float]:
        """Mean absolute value of each weight matrix (the report's weights table)."""
        return self.network.mean_abs_weights()

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.network.layer_sizes

    def describe(self) -> str:
        """One line for a person, e.g. ``"report-bn: 784-20-7-5-10 BN, test 92.46 %, 14 epochs"``."""
        parts = [format_layer_sizes(self.network.layer_sizes) + (" BN" if self.network.batch_norm else "")]
        if self.config.l2:
            parts.append(f"L2 {self.config.l2:g}")
        acc = self.metrics.get("test_accuracy")
        if acc is None:
            acc, which = self.metrics.get("val_accuracy"), "val"
        else:
            which = "test"
        if acc is not None:
            parts.append(f"{which} {100 * acc:.2f} %")
        parts.append(f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        if self.stop_reason:
            parts.append(self.stop_reason.replace("_", " "))
        if not self.name or self.name == default_model_name(self.config):
            return ", ".join(parts)
        return f"{self.name}: " + ", ".join(parts)


# ---------------------------------------------------------------------------- helpers
def _py(value):
    """An HDF5 attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_py(v) for v in value.tolist()] if value.dtype.kind in "SO" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attr_value(value):
    """A Python value as something h5py stores as a readable attribute."""
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return value


# ---------------------------------------------------------------------------- save
def save_model(path, model: TrainResult | SavedModel, *, name: str | None = None,
               dataset_name: str | None = None, dataset_checksum: str | None = None,
               replace: bool = True) -> Path:
    """Write ``model`` to ``path`` as HDF5, atomically.

    The HDF5 image is built in memory, then written to a temporary file in the same folder and
    moved into place (:func:`digitlab.atomic.write_bytes_atomic`); if anything fails, nothing is
    left behind and an existing file at ``path`` is untouched. With ``replace=False`` an existing
    file is never overwritten (``OutputExistsError``). A write that fails (a full disk, no
    permission) raises ``digitlab.atomic.OutputError``. Keyword arguments that are not None
    override the model's own.

    Returns the path written.
    """
    if isinstance(model, TrainResult):
        model = SavedModel.from_result(model, name=name, dataset_name=dataset_name or "",
                                       dataset_checksum=dataset_checksum or "")
    elif isinstance(model, SavedModel):
        changes = {k: v for k, v in (("name", name), ("dataset", dataset_name),
                                     ("dataset_checksum", dataset_checksum)) if v is not None}
        if changes:
            model = dataclasses.replace(model, **changes)
    else:
        raise TypeError(f"save_model needs a TrainResult or SavedModel, got {type(model).__name__}")
    arrays = model.network.arrays()
    bad = [f"layer {a.layer} {a.words}" for a in affine_first(arrays) if not np.all(np.isfinite(a.array))]
    if bad:
        raise ModelFileError(f"cannot save {path}: the network has non-finite values (NaN or "
                             f"infinity) in {', '.join(bad)}; the run diverged, so retrain with a "
                             f"smaller learning rate")
    # HDF5 writes into memory only; the bytes reach the disk through Python's file I/O, where a
    # full disk is an OSError (HDF5 writing to a full disk itself crashed the process).
    written = write_bytes_atomic(Path(path), _model_image(model, arrays), replace=replace)
    log.info("Saved the model %r to %s", model.name, written)
    return written


def _model_image(model: SavedModel, arrays: list[NamedArray]) -> bytes:
    """The bytes of the HDF5 file for ``model`` (layout: docs/model-format.md)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True) as f:
        _write_root(f, model)
        _write_layers(f, model.network, arrays)
        _write_history_and_metrics(f, model)
        write_run_record(f, model.history.changes, model.training_state, model.network.state(),
                         model.network.dtype, MAX_FILE_BYTES - 2 * model.network.params.nbytes - 2**20)
    return buffer.getvalue()


def _write_root(f: h5py.File, model: SavedModel) -> None:
    """The root attributes and /config."""
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = np.int64(FORMAT_VERSION)
    f.attrs["digitlab_version"] = __version__
    f.attrs["name"] = str(model.name)
    f.attrs["created"] = str(model.created)
    f.attrs["stop_reason"] = str(model.stop_reason)
    f.attrs["message"] = str(model.message)
    f.attrs["dataset"] = str(model.dataset)
    f.attrs["dataset_checksum"] = str(model.dataset_checksum)
    for key in ("epochs", "steps", "best_step"):
        f.attrs[key] = np.int64(getattr(model, key))
    f.attrs["elapsed"] = float(model.elapsed)
    for key in ORIGIN_TEXTS:
        if model.origin.get(key):
            f.attrs[key] = str(model.origin[key])
    for key in ORIGIN_NUMBERS:
        if model.origin.get(key) is not None:
            f.attrs[key] = float(model.origin[key])

    cfg = f.create_group("config", track_order=True)
    for key, value in model.config.to_dict().items():
        # no dropout is an empty list, which HDF5 cannot hold as an attribute: left out, read as ()
        if value is not None and not (key == "dropout" and not value):
            cfg.attrs[key] = _attr_value(value)


def _write_layers(f: h5py.File, net: Network, arrays: list[NamedArray]) -> None:
    """/layers: the network's settings, then one group per layer holding its arrays (the walk's
    order within a layer: W, b, gamma, beta, running_mean, running_var)."""
    layers = f.create_group("layers")
    layers.attrs["layer_sizes"] = np.asarray(net.layer_sizes, dtype=np.int64)
    layers.attrs["n_layers"] = np.int64(net.n_layers)
    layers.attrs["batch_norm"] = bool(net.batch_norm)
    layers.attrs["bn_eps"] = float(net.bn_eps)
    layers.attrs["bn_momentum"] = float(net.bn_momentum)
    layers.attrs["init"] = str(net.init)
    layers.attrs["init_std"] = float(net.init_std)
    layers.attrs["seed"] = np.int64(net.seed)
    layers.attrs["dtype"] = net.dtype.name
    layers.attrs["hidden_activation"] = str(net.activation)
    layers.attrs["output_activation"] = "softmax"
    for layer in range(1, net.n_layers + 1):
        g = layers.create_group(str(layer))
        g.attrs["fan_in"] = np.int64(net.layer_sizes[layer - 1])
        g.attrs["fan_out"] = np.int64(net.layer_sizes[layer])
        g.attrs["batch_norm"] = bool(net.batch_norm and layer < net.n_layers)
        for a in arrays:
            if a.layer == layer:
                g.create_dataset(a.kind, data=np.ascontiguousarray(a.array), fletcher32=True)


def _write_history_and_metrics(f: h5py.File, model: SavedModel) -> None:
    history = model.history.as_array().astype(np.float64)
    hist = f.create_dataset("history", data=history, fletcher32=history.size > 0)
    hist.attrs["columns"] = np.array(CHECK_FIELDS, dtype=h5py.string_dtype())
    met = f.create_group("metrics", track_order=True)
    for key, value in model.metrics.items():
        met.attrs[key] = float(value)


# ---------------------------------------------------------------------------- limits
# Every size a file declares is checked against these before anything is allocated.
MAX_FILE_BYTES = 256 * 2**20
"""Largest model file read: the largest network digitlab builds (training.config.MAX_PARAMETERS,
25 million parameters) is 100 MB as float32 and 200 MB as float64, plus a little metadata."""
MAX_HISTORY_ROWS = 1_000_000
"""Most validation checks in /history: one check every step for 1,000,000 steps is far beyond any
run here (the shipped models have 60-70), and 1,000,000 x 7 float64 is 56 MB."""
MAX_ABS_VALUE = 1e6
"""Largest magnitude of a stored weight, bias, batch-norm value or folded batch-norm scale.
Trained values here stay below 100 (L2 and batch norm keep them small); 1e6 leaves room for any
real training yet refuses the garbage of damaged bytes (3e38, 1e30), and with inputs in [0, 1] a
layer of at most 10,000 units sums to at most 1e10, far from float32's 3.4e38."""
MAX_TEXT_CHARS = 200
"""Longest name-like string attribute kept (name, dataset, created, ...); a longer one is cut to
this length ending in an ellipsis, so a 50 MB name costs nothing after loading."""
MAX_MESSAGE_CHARS = 2000
"""Longest ``message`` kept (digitlab's stop messages are about 200 characters)."""
MAX_ATTR_ITEMS = 64
"""Most values in one attribute (layer_sizes has at most 13, history columns 7)."""
MAX_METRICS = 64
"""Most attributes in /metrics (digitlab writes 6)."""

_MISSING = object()
_FLOAT_TYPES = {np.dtype(np.float32): (h5py.h5t.IEEE_F32LE, h5py.h5t.IEEE_F32BE),
                np.dtype(np.float64): (h5py.h5t.IEEE_F64LE, h5py.h5t.IEEE_F64BE)}
_FILTER_NAMES = {1: "deflate", 2: "shuffle", 4: "szip", 5: "nbit", 6: "scale-offset",
                 32000: "LZF", 32001: "blosc", 32004: "LZ4", 32008: "bitshuffle", 32015: "zstd"}
_LAYOUTS = (h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED)
_SPECIAL_FILES = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
_SAVE_AGAIN = "the file is damaged, so save the model again"


# ---------------------------------------------------------------------------- load: the file
def _read_file(path: Path) -> bytes:
    """The whole file, after checking it is a regular file of a sane size; never blocks."""
    where = f"cannot open model {path}"
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ModelFileError(f"{where}: no such file; check the path, or train and save a model "
                             f"first") from None
    except OSError as e:
        raise ModelFileError(f"{where}: {e.strerror or e}; check the path and the file's "
                             f"permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileError(f"{where}: it is a folder, not a model file; choose the .h5 file "
                             f"inside it")
    _check_regular(st, path)
    try:
        # O_NONBLOCK: if the path became a FIFO since the stat, opening it must not wait for a
        # writer; the fstat below then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise ModelFileError(f"{where}: {e.strerror or e}; check the file's permissions") from None
    try:
        st = os.fstat(fd)
        _check_regular(st, path)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(st.st_size + 1)
    except OSError as e:
        raise ModelFileError(f"{where}: reading it failed ({e.strerror or e}); check the disk, or "
                             f"copy the model again") from None
    finally:
        os.close(fd)
    if len(data) > st.st_size or len(data) > MAX_FILE_BYTES:
        raise ModelFileError(f"{where}: it grew while being read, so something is still writing "
                             f"it; wait until it is complete and open it again")
    if not data:
        raise ModelFileError(f"{where}: the file is empty (0 bytes), probably an interrupted save; "
                             f"save or train the model again")
    return data


def _check_regular(st: os.stat_result, path: Path) -> None:
    where = f"cannot open model {path}"
    if not stat.S_ISREG(st.st_mode):
        kind = next((words for test, words in _SPECIAL_FILES if test(st.st_mode)),
                    "not a regular file")
        raise ModelFileError(f"{where}: it is {kind}, not a regular file, and a model is a file "
                             f"saved by digitlab; choose the model's .h5 file")
    if st.st_size > MAX_FILE_BYTES:
        raise ModelFileError(f"{where}: it is {st.st_size / 2**20:,.0f} MiB, more than the "
                             f"{MAX_FILE_BYTES // 2**20} MiB of the largest network digitlab "
                             f"builds, so it is not a digitlab model; choose a model saved by "
                             f"digitlab")


def _has_hdf5_signature(data: bytes) -> bool:
    """HDF5's signature at 0, 512, 1024, 2048, ... (where the library looks for it)."""
    offset = 0
    while offset + len(_HDF5) <= len(data):
        if data[offset:offset + len(_HDF5)] == _HDF5:
            return True
        offset = 512 if offset == 0 else offset * 2
    return False


def _global_heap_problem(data: bytes) -> str | None:
    """Why HDF5 would hang on this file's global heap, or None.

    Variable-length strings (most attributes here) live in global heap collections. HDF5 (2.0, as
    shipped with h5py 3.16) parses a collection object by object and loops forever, in C, on an
    object with index 0 and size 0, which is what a zeroed stretch of the file looks like. So each
    collection is walked here first, the way the library walks it. Collections are found by their
    "GCOL" signature with version 1 and a size between HDF5's minimum (4096) and the end of the
    file; sizes are 8 bytes, as in every file h5py writes. The walk is bounded by the file's
    length, so a file crafted with many overlapping collections cannot make it slow.
    """
    budget = len(data) // 16 + 1024     # objects are >= 16 bytes: more steps means overlaps
    at = data.find(b"GCOL")
    while at != -1:
        size = int.from_bytes(data[at + 8:at + 16], "little")
        if data[at + 4:at + 8] == b"\x01\0\0\0" and 4096 <= size <= len(data) - at:
            p, end = at + 16, at + size
            while p + 16 <= end:
                index = int.from_bytes(data[p:p + 2], "little")
                length = int.from_bytes(data[p + 8:p + 16], "little")
                step = 16 + (-(-length // 8) * 8) if index else length
                if step == 0:
                    return (f"its global heap (the store of its text attributes) at byte {at} "
                            f"holds an empty object at byte {p}, which would make the HDF5 library "
                            f"loop forever")
                p += step
                budget -= 1
                if budget < 0:
                    return (f"its global heap collections overlap (at byte {at}), which no HDF5 "
                            f"writer produces")
        at = data.find(b"GCOL", at + 1)
    return None


def _looks_like_text(data: bytes) -> bool:
    chunk = data[:4096]
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\0" not in chunk


def _open(path: Path) -> tuple[h5py.File, bytes]:
    """The model file opened by HDF5 from its bytes in memory, and those bytes."""
    data = _read_file(path)
    where = f"cannot open model {path}"
    if data.startswith(_PNG):
        raise ModelFileError(f"{where}: it is a PNG image, not a digitlab model file; to classify "
                             f"an image use 'digitlab predict MODEL {path.name}'")
    if not _has_hdf5_signature(data):
        kind = "a text file" if _looks_like_text(data) else "not an HDF5 file"
        raise ModelFileError(f"{where}: it is {kind}, not a digitlab model (those are HDF5 files "
                             f"written by digitlab); choose a model saved by digitlab")
    problem = _global_heap_problem(data)
    if problem:
        raise ModelFileError(f"{where}: {problem}; the file is damaged, so save or train the model "
                             f"again")
    try:
        return h5py.File(io.BytesIO(data), "r"), data
    except _READ_ERRORS as e:
        raise ModelFileError(f"{where}: {_in_words(e, len(data))}, so save or train the model "
                             f"again", detail=_raw(e)) from None


_READ_ERRORS = (OSError, LookupError, ValueError, TypeError, RuntimeError, ArithmeticError,
                AttributeError)


def _damaged(path: Path, e: BaseException) -> ModelFileError:
    """The error for a file whose reading failed somewhere inside h5py."""
    return ModelFileError(f"cannot open model {path}: {_in_words(e)}, so save or train the model "
                          f"again", detail=_raw(e))


_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*?stored_eof = (\d+)", re.S)


def _in_words(e: BaseException, size: int | None = None) -> str:
    """What an error raised inside h5py means for a person: truncated (with the sizes), not a
    digitlab model, or damaged. The library's own text goes to ``ModelFileError.detail``."""
    text = str(e)
    m = _TRUNCATED.search(text)
    if m:
        eof, stored = int(m.group(1)), int(m.group(2))
        return (f"the file is truncated: it ends at {eof:,} bytes but says it holds {stored:,} "
                f"(it was probably cut off while being saved, copied or downloaded)")
    if "signature" in text.lower():
        return "it is not a digitlab model: its HDF5 header cannot be found"
    where = f" of its {size:,} bytes" if size else ""
    return (f"the file is damaged: part{where} cannot be read as HDF5 (it is probably truncated "
            f"or was changed by another program)")


def _raw(e: BaseException) -> str:
    """The HDF5 library's text, kept for the Details button."""
    return f"{type(e).__name__}: {str(e).strip()}"


def _short(e: BaseException, limit: int = 200) -> str:
    text = str(e).strip() or type(e).__name__
    return _cut(text.splitlines()[0], limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _fletcher32_matches(body: bytes, stored: int) -> bool:
    """Whether ``stored`` is HDF5's Fletcher-32 checksum of ``body``.

    HDF5 sums big-endian 16-bit words (an odd last byte is the high byte of one more word):
    sum1 = sum of the words, sum2 = sum of the running sum1, both modulo 65535 with end-around
    carry, stored as sum2 << 16 | sum1, little-endian. So sum2 = sum of w_i * (n - i). Compared
    modulo 65535, in blocks to keep memory bounded. HDF5 also accepts the checksum with the bytes
    of each half swapped (files from HDF5 before 1.6.3); so does this.
    """
    data = np.frombuffer(body, np.uint8)
    if data.size % 2:
        data = np.append(data, np.uint8(0))
    n = data.size // 2
    sum1 = sum2 = 0
    block = 1 << 20
    for start in range(0, n, block):
        part = data[2 * start:2 * min(n, start + block)]
        words = (part[0::2].astype(np.int64) << 8) | part[1::2]
        weights = (n - np.arange(start, start + words.size, dtype=np.int64)) % 65535
        sum1 = (sum1 + int(words.sum())) % 65535
        sum2 = (sum2 + int((words * weights).sum() % 65535)) % 65535
    swapped = int.from_bytes(bytes(stored.to_bytes(4, "little")[i] for i in (1, 0, 3, 2)), "little")
    return any((value & 0xFFFF) % 65535 == sum1 and (value >> 16) % 65535 == sum2
               for value in (stored, swapped))


def _plain_type(tid) -> bool:
    """Whether an attribute's HDF5 type is one digitlab writes: text (fixed or variable length),
    an integer, an IEEE float, or h5py's two-member enum for bool.

    Checked before reading because h5py converts what the type says: a damaged type byte turned a
    variable-length string into a variable-length sequence of nonsense, and reading that crashed
    the process.
    """
    t = h5py.h5t
    kind = tid.get_class()
    if kind == t.STRING:
        return tid.get_cset() in (t.CSET_ASCII, t.CSET_UTF8) and tid.get_strpad() in (
            t.STR_NULLTERM, t.STR_NULLPAD, t.STR_SPACEPAD)
    if kind == t.INTEGER:
        return tid.get_size() in (1, 2, 4, 8)
    if kind == t.FLOAT:
        return any(tid == known for pair in _FLOAT_TYPES.values() for known in pair)
    if kind == t.ENUM:
        base = tid.get_super()
        return (tid.get_nmembers() == 2 and base.get_class() == t.INTEGER
                and base.get_size() == 1)
    return False


# ---------------------------------------------------------------------------- load: objects
class _Reader:
    """Reads one open model file; every method refuses what digitlab would not have written."""

    def __init__(self, f: h5py.File, path: Path, data: bytes):
        self.f, self.path, self.data, self.size = f, path, data, len(data)
        self.extents = []          # sorted (start, end, what) of the array storage seen so far
        self.where = f"cannot open model {path}"

    def fail(self, problem: str, advice: str = _SAVE_AGAIN) -> ModelFileError:
        return ModelFileError(f"{self.where}: {problem}; {advice}")

    # -- links and objects
    def member(self, group, name: str, what: str, kind):
        """``group[name]`` if it is an object stored in this file, None if there is no such name.

        Only hard links are followed: an external link would read another file, a soft link an
        alias digitlab never writes. The link is inspected without being followed (H5Lexists and
        H5Lget_info on a single name do not traverse it).
        """
        key = name.encode()
        links = group.id.links
        if not links.exists(key):
            return None
        info = links.get_info(key)
        if info.type == h5py.h5l.TYPE_EXTERNAL:
            target_file, target = links.get_val(key)
            shown = _cut(f"{os.fsdecode(target_file)}:{os.fsdecode(target)}", 200)
            raise self.fail(f"{what} is an external link to {shown}, so its contents would come "
                            f"from another file", "digitlab reads only models that hold their own "
                            "data; open the original model instead, or save it again")
        if info.type == h5py.h5l.TYPE_SOFT:
            shown = _cut(os.fsdecode(links.get_val(key)), 200)
            raise self.fail(f"{what} is a soft link to {shown}, which digitlab never writes "
                            f"(the file was edited)")
        if info.type != h5py.h5l.TYPE_HARD:
            raise self.fail(f"{what} is a user-defined link, which digitlab never writes")
        obj = group[name]
        if not isinstance(obj, kind):
            found = "a group" if isinstance(obj, h5py.Group) else (
                "a dataset" if isinstance(obj, h5py.Dataset) else "a named type")
            wanted = "a group" if kind is h5py.Group else "a dataset"
            raise self.fail(f"{what} is {found}, not {wanted}")
        return obj

    # -- attributes
    def attr(self, obj, name: str, what: str):
        """The attribute as a plain Python value, ``_MISSING`` if absent; its size checked first."""
        if name not in obj.attrs:          # H5Aexists: reads nothing
            return _MISSING
        attr = h5py.h5a.open(obj.id, name.encode())
        if not _plain_type(attr.get_type()):
            raise self.fail(f"{what} has an HDF5 type digitlab never writes (not a number, flag "
                            f"or text)")
        shape = attr.shape
        count = math.prod(shape) if shape else 1
        if count > MAX_ATTR_ITEMS:
            raise self.fail(f"{what} holds {count:,} values, more than any digitlab model has "
                            f"({MAX_ATTR_ITEMS})")
        return _py(obj.attrs[name])

    def text(self, obj, name: str, what: str, limit: int = MAX_TEXT_CHARS, default=_MISSING):
        value = self.attr(obj, name, what)
        if value is _MISSING:
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(f"{what} is {_cut(repr(value), 60)}, not text")
        return _cut(value, limit)

    def integer(self, obj, name: str, what: str, default=_MISSING, minimum: int = 0):
        value = self.attr(obj, name, what)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"{what} is {_cut(repr(value), 60)}, not a whole number >= {minimum}")
        return value

    def number(self, obj, name: str, what: str, default=_MISSING):
        value = self.attr(obj, name, what)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(f"{what} is {_cut(repr(value), 60)}, not a finite number")
        return float(value)

    def flag(self, obj, name: str, what: str, default=_MISSING):
        value = self.attr(obj, name, what)
        if value is _MISSING:
            return default
        if value not in (True, False) or not isinstance(value, (bool, int)):
            raise self.fail(f"{what} is {_cut(repr(value), 60)}, not true or false")
        return bool(value)

    # -- datasets
    def check_dataset(self, ds: h5py.Dataset, what: str, shape: tuple, dtypes) -> np.dtype:
        """Refuse a dataset whose storage, shape or type is not what digitlab writes, before any
        of its values is read. Returns its NumPy dtype."""
        if ds.is_virtual:
            raise self.fail(f"{what} is a virtual dataset, whose values are mapped from other "
                            f"datasets (possibly in other files)", "digitlab writes plain arrays "
                            "and reads only those; save the model again")
        external = ds.external
        if external:
            shown = _cut(os.fsdecode(external[0][0]), 200)
            raise self.fail(f"{what} keeps its values outside the model file (HDF5 external "
                            f"storage in {shown})", "digitlab reads only models that hold their own "
                            "data; save the model again")
        if tuple(ds.shape) != tuple(shape):
            raise self.fail(f"{what} has shape {tuple(ds.shape)} but the layer sizes say "
                            f"{tuple(shape)}")
        tid = ds.id.get_type()
        dtype = next((np.dtype(d) for d in dtypes if any(tid == t for t in _FLOAT_TYPES[np.dtype(d)])),
                     None)
        if dtype is None:
            wanted = " or ".join(np.dtype(d).name for d in dtypes)
            raise self.fail(f"{what} is stored as {_cut(str(ds.dtype), 60)}, not as {wanted} "
                            f"numbers")
        layout, filters = self.check_layout_and_filters(ds, what)
        if math.prod(shape) > 0:
            self.check_stored(ds, what, shape, dtype, layout, bool(filters))
        return dtype

    def check_layout_and_filters(self, ds: h5py.Dataset, what: str) -> tuple[int, list[int]]:
        """The dataset's storage layout and filter codes, refused unless digitlab writes them."""
        plist = ds.id.get_create_plist()
        layout = plist.get_layout()
        if layout not in _LAYOUTS:
            raise self.fail(f"{what} uses HDF5 storage layout {layout}, which digitlab never "
                            f"writes")
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        other = [code for code in filters if code != h5py.h5z.FILTER_FLETCHER32]
        if other:
            # Refused by number before reading: running an unknown filter makes HDF5 search for
            # a plugin library, and a compressed one could expand without bound.
            name = _FILTER_NAMES.get(other[0], "unknown")
            raise self.fail(f"{what} is stored through HDF5 filter {other[0]} ({name}); digitlab "
                            f"writes only the Fletcher-32 checksum filter",
                            "save the model again with digitlab (or 'h5repack -f NONE' it)")
        return layout, filters

    def check_stored(self, ds: h5py.Dataset, what: str, shape: tuple, dtype: np.dtype, layout: int,
                     filtered: bool) -> None:
        """Every value of a non-empty dataset is stored, inside the file, in bytes no other array
        claims."""
        n = math.prod(shape)
        if layout == h5py.h5d.CHUNKED:
            chunks = ds.chunks
            if len(chunks) != len(shape) or any(c < 1 or c > s for c, s in zip(chunks, shape)):
                raise self.fail(f"{what} declares chunks {chunks} that do not fit its shape "
                                f"{tuple(shape)}")
            expected = math.prod(-(-s // c) for s, c in zip(shape, chunks))
            stored = ds.id.get_num_chunks()
            complete = stored == expected
            if complete:
                self.check_chunks(ds, what, shape, chunks, dtype, filtered)
        else:
            stored = ds.id.get_storage_size()
            offset = ds.id.get_offset() if layout == h5py.h5d.CONTIGUOUS else 0
            complete = stored >= n * dtype.itemsize and offset is not None
            if complete and layout == h5py.h5d.CONTIGUOUS and offset + stored > self.size:
                raise self.fail(f"{what} lies past the end of the file", "the file is probably "
                                "truncated, so save the model again")
            if complete and layout == h5py.h5d.CONTIGUOUS:
                self.claim(offset, stored, what)
        if not complete:
            raise self.fail(f"{what} was never completely written (only part of it is stored), so "
                            f"it would read as zeros")

    def check_chunks(self, ds, what: str, shape: tuple, chunks: tuple, dtype: np.dtype,
                     checksummed: bool) -> None:
        """Every chunk of the index is one cell of the chunk grid, stored whole inside the file.

        HDF5 trusts its chunk index: a damaged entry claiming a 0-byte chunk crashes the library
        (a segmentation fault in the checksum filter), so the index is checked before any read.
        Every chunk, edge chunks too, is stored full size, plus 4 bytes of Fletcher-32.
        """
        size = math.prod(chunks) * dtype.itemsize + (4 if checksummed else 0)
        seen = set()
        problems, pieces = [], []

        def visit(info):
            corner = tuple(info.chunk_offset)
            if (info.size != size or info.filter_mask != 0 or info.byte_offset is None
                    or info.byte_offset + info.size > self.size or corner in seen
                    or len(corner) != len(shape)
                    or any(o % c or o >= s for o, c, s in zip(corner, chunks, shape))):
                problems.append(corner)
                return 1                                    # stop iterating
            seen.add(corner)
            pieces.append(info)
            return None

        if hasattr(ds.id, "chunk_iter"):
            ds.id.chunk_iter(visit)
        else:
            for i in range(ds.id.get_num_chunks()):
                if visit(ds.id.get_chunk_info(i)):
                    break
        if problems:
            raise self.fail(f"{what} has a damaged chunk index (the piece at {problems[0]} is "
                            f"not where or what the index says)")
        for info in pieces:
            self.claim(info.byte_offset, info.size, what)

    def claim(self, start: int, length: int, what: str) -> None:
        """Record that ``what`` stores data in bytes [start, start + length); refuse an overlap.

        digitlab never stores two arrays in the same bytes; a damaged address that points at
        another array's chunk (of the same size, so its checksum still matches) would otherwise
        load that array's values in place of this one's.
        """
        end = start + length
        i = bisect.bisect_left(self.extents, (start, end, what))
        for j in (i - 1, i):
            if 0 <= j < len(self.extents):
                other_start, other_end, other = self.extents[j]
                if start < other_end and other_start < end:
                    raise self.fail(f"{what} and {other} claim the same bytes of the file "
                                    f"(from byte {max(start, other_start)}); a storage address is "
                                    f"damaged")
        self.extents.insert(i, (start, end, what))

    def values(self, ds: h5py.Dataset, what: str) -> np.ndarray:
        """The dataset's values, read after :meth:`check_dataset`; all finite.

        Chunked and contiguous data is taken from the file's bytes at the addresses the storage
        index gives, and each chunk's Fletcher-32 checksum is verified here, not by HDF5: HDF5
        finds a chunk through the keys of its index, and when damage breaks a key it silently
        returns the fill value (zeros) for an intact chunk; here the chunk itself is read.
        """
        shape, dtype = tuple(ds.shape), ds.dtype
        layout = ds.id.get_create_plist().get_layout()
        if math.prod(shape) == 0:
            value = np.zeros(shape, dtype)
        elif layout == h5py.h5d.CHUNKED:
            value = self.chunked_values(ds, what, shape, dtype)
        elif layout == h5py.h5d.CONTIGUOUS:
            start = ds.id.get_offset()
            value = np.frombuffer(self.data, dtype, math.prod(shape), start).reshape(shape)
        else:                                       # compact: the values are in the header
            try:
                value = np.asarray(ds[()])
            except (OSError, ValueError, RuntimeError) as e:
                err = self.fail(f"{what} cannot be read", "the file is probably truncated or "
                                "damaged, so save the model again")
                err.detail = _raw(e)
                raise err from None
        value = value.astype(dtype.newbyteorder("="))
        bad = int(value.size - np.count_nonzero(np.isfinite(value)))
        if bad:
            raise self.fail(f"{what} contains {bad} non-finite value{'s' if bad != 1 else ''} "
                            f"(NaN or infinity)", "the file is damaged or the run diverged, so "
                            "retrain the model")
        return value

    def chunked_values(self, ds, what: str, shape: tuple, dtype: np.dtype) -> np.ndarray:
        chunks = ds.chunks
        plist = ds.id.get_create_plist()
        checksummed = plist.get_nfilters() > 0          # Fletcher-32, the only filter accepted
        out = np.empty(shape, dtype)
        pieces = []
        if hasattr(ds.id, "chunk_iter"):
            ds.id.chunk_iter(lambda info: pieces.append(info))
        else:
            pieces = [ds.id.get_chunk_info(i) for i in range(ds.id.get_num_chunks())]
        for info in pieces:                            # already checked by check_chunks
            raw = self.data[info.byte_offset:info.byte_offset + info.size]
            if checksummed:
                raw, stored = raw[:-4], int.from_bytes(raw[-4:], "little")
                if not _fletcher32_matches(raw, stored):
                    raise self.fail(f"{what} cannot be read (its Fletcher-32 checksum does not "
                                    f"match in the piece at {tuple(info.chunk_offset)})",
                                    "the file is damaged, so save or train the model again")
            piece = np.frombuffer(raw, dtype).reshape(chunks)
            corner = tuple(info.chunk_offset)
            inside = tuple(slice(0, min(c, s - o)) for o, c, s in zip(corner, chunks, shape))
            target = tuple(slice(o, o + sl.stop) for o, sl in zip(corner, inside))
            out[target] = piece[inside]
        return out

    # -- the parts of a model
    def header(self) -> int:
        f = self.f
        userblock = f.id.get_create_plist().get_userblock()
        if userblock:        # addresses in the index would be off by its size (values() reads them)
            raise self.fail(f"it starts with a {userblock}-byte user block before the HDF5 data, "
                            f"which digitlab never writes", "save the model again with digitlab")
        fmt = self.attr(f, "format", "the format attribute")
        if fmt != FORMAT:
            raise self.fail(f"it is an HDF5 file but not a digitlab model (no format attribute "
                            f"'{FORMAT}'; it contains {self.contents()})", "choose a model saved "
                            "by digitlab")
        version = self.attr(f, "format_version", "the format_version attribute")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            shown = "missing" if version is _MISSING else _cut(repr(version), 60)
            raise self.fail(f"its format_version is {shown}, which no digitlab writes")
        if version > FORMAT_VERSION:
            raise self.fail(f"it was written by a newer digitlab (format {version}); this version "
                            f"reads format {FORMAT_VERSION}", "update digitlab")
        return version

    def contents(self) -> str:
        """The first few names at the root, for a message about a foreign HDF5 file."""
        try:
            names = [_cut(n, 40) for n, _ in zip(self.f.keys(), range(6))]
        except _READ_ERRORS:
            return "unreadable contents"
        return ", ".join(sorted(names)) or "nothing"

    def root_info(self) -> dict:
        f, info = self.f, {}
        for key in ("name", "created", "stop_reason", "dataset", "dataset_checksum",
                    "digitlab_version"):
            value = self.text(f, key, f"the root attribute {key}")
            if value is not _MISSING:
                info[key] = value
        message = self.text(f, "message", "the root attribute message", MAX_MESSAGE_CHARS)
        if message is not _MISSING:
            info["message"] = message
        for key in ("epochs", "steps", "best_step"):
            value = self.integer(f, key, f"the root attribute {key}")
            if value is not _MISSING:
                info[key] = value
        elapsed = self.number(f, "elapsed", "the root attribute elapsed")
        if elapsed is not _MISSING:
            if elapsed < 0:
                raise self.fail(f"the root attribute elapsed is {elapsed}, a negative time")
            info["elapsed"] = elapsed
        origin = {}
        for key in ORIGIN_TEXTS:
            value = self.text(f, key, f"the root attribute {key}")
            if value is not _MISSING:
                origin[key] = value
        for key in ORIGIN_NUMBERS:
            value = self.number(f, key, f"the root attribute {key}")
            if value is not _MISSING:
                origin[key] = value
        info["origin"] = origin
        return info

    def config(self) -> TrainConfig:
        group = self.member(self.f, "config", "/config", h5py.Group)
        if group is None:
            raise self.fail("the /config group is missing")
        d = {}
        for spec in dataclasses.fields(TrainConfig):      # only the settings this version knows
            what = f"the training setting {spec.name}"
            value = self.attr(group, spec.name, what)
            if value is _MISSING:
                continue
            if isinstance(value, str):
                value = _cut(value, MAX_TEXT_CHARS)
            elif isinstance(value, float) and not math.isfinite(value):
                raise self.fail(f"{what} is {value}, not a finite number")
            d[spec.name] = value
        if "activation" in d:
            self.known_activation(d["activation"], "/config says activation")
        try:
            config = TrainConfig.from_dict(d)
            problems = config.problems()
        except (TypeError, ValueError, OverflowError) as e:
            raise self.fail(f"its training settings cannot be read ({_short(e)})") from None
        if problems:
            raise self.fail(f"its training settings are invalid ({'; '.join(problems)})")
        return config

    def layers(self, config: TrainConfig) -> tuple[h5py.Group, dict]:
        """The /layers group and the Network's settings, all checked; allocates nothing."""
        layers = self.member(self.f, "layers", "/layers", h5py.Group)
        if layers is None:
            raise self.fail("the /layers group is missing")
        sizes = self.layer_sizes(layers)
        batch_norm = self.flag(layers, "batch_norm", "the batch_norm flag of /layers", False)
        bn_eps = self.number(layers, "bn_eps", "the bn_eps attribute of /layers", 1e-5)
        if not 0 < bn_eps <= 1:
            raise self.fail(f"bn_eps is {bn_eps}; batch norm divides by sqrt(running_var + "
                            f"bn_eps), so it must be > 0 (digitlab writes 1e-05) and at most 1")
        bn_momentum = self.number(layers, "bn_momentum", "the bn_momentum attribute of /layers", 0.9)
        if not 0 <= bn_momentum <= 1:
            raise self.fail(f"bn_momentum is {bn_momentum}, outside [0, 1]")
        init = self.text(layers, "init", "the init attribute of /layers", default="he")
        if init not in INITS:
            raise self.fail(f"the init attribute of /layers is {init!r}, not one of "
                            f"{', '.join(INITS)}")
        init_std = self.number(layers, "init_std", "the init_std attribute of /layers", 0.01)
        if not init_std > 0:
            raise self.fail(f"init_std is {init_std}, not > 0")
        seed = self.integer(layers, "seed", "the seed attribute of /layers", 0)
        dtype_name = self.text(layers, "dtype", "the dtype attribute of /layers", default="float32")
        if dtype_name not in ("float32", "float64"):
            raise self.fail(f"the network dtype is {dtype_name}, expected float32 or float64")
        activation = self.layers_agree(layers, config, sizes, batch_norm)
        spec = dict(layer_sizes=sizes, batch_norm=batch_norm, bn_eps=bn_eps,
                    bn_momentum=bn_momentum, init=init, init_std=init_std, seed=seed,
                    dtype=np.dtype(dtype_name), activation=activation)
        return layers, spec

    def layer_sizes(self, layers: h5py.Group) -> tuple[int, ...]:
        """The layer_sizes attribute of /layers, checked to make a digitlab network, and n_layers
        checked against it."""
        sizes = self.attr(layers, "layer_sizes", "the layer_sizes attribute of /layers")
        if sizes is _MISSING:
            raise self.fail("the network settings on /layers cannot be read (no layer_sizes)")
        if not isinstance(sizes, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                                  for s in sizes):
            raise self.fail(f"the layer_sizes attribute of /layers is {_cut(repr(sizes), 80)}, not "
                            f"a list of whole numbers")
        sizes = tuple(sizes)
        problems = layer_size_problems(sizes)        # before anything the size of a layer exists
        if problems:
            raise self.fail(f"its layer sizes {_cut(str(sizes), 120)} cannot be a digitlab "
                            f"network ({'; '.join(problems)})")
        n_layers = self.integer(layers, "n_layers", "the n_layers attribute of /layers",
                                len(sizes) - 1)
        if n_layers != len(sizes) - 1:
            raise self.fail(f"/layers says n_layers is {n_layers} but its layer sizes {sizes} "
                            f"make {len(sizes) - 1}")
        return sizes

    def known_activation(self, value, where: str) -> None:
        """Refuse a hidden activation this digitlab cannot compute (a newer one, or an edit)."""
        if value not in ACTIVATIONS:
            raise self.fail(f"{where} is {_cut(repr(value), 60)}, an activation this digitlab does not "
                            f"know (it knows {', '.join(ACTIVATIONS)}), so it cannot compute what the "
                            f"network was trained to compute",
                            "open it with a digitlab that knows it, or choose another model")

    def layers_agree(self, layers: h5py.Group, config: TrainConfig, sizes: tuple,
                     batch_norm: bool) -> str:
        """/layers names digitlab's activations and agrees with /config on sizes, batch norm and
        the hidden activation; returns that activation ("relu" for files from before it was
        recorded)."""
        value = self.text(layers, "output_activation", "the output_activation attribute of /layers",
                          default="softmax")
        if value != "softmax":
            raise self.fail(f"/layers says output_activation is {_cut(repr(value), 60)}; digitlab networks "
                            f"use 'softmax' and would predict differently from what was trained",
                            "this model was not written by digitlab, so choose one that was")
        hidden = self.text(layers, "hidden_activation", "the hidden_activation attribute of /layers",
                           default="relu")
        self.known_activation(hidden, "/layers says hidden_activation")
        if config.activation != hidden:
            raise self.fail(f"/layers says hidden_activation is {hidden!r} but /config says activation "
                            f"is {config.activation!r}; one of them was edited")
        if tuple(config.layer_sizes) != sizes:
            raise self.fail(f"/layers has layer sizes {sizes} but /config says "
                            f"{tuple(config.layer_sizes)}; one of them was edited")
        if bool(config.batch_norm) != batch_norm:
            raise self.fail(f"/layers says batch_norm is {str(batch_norm).lower()} but /config "
                            f"says {str(bool(config.batch_norm)).lower()}; one of them was edited")
        return hidden

    def layer_datasets(self, layers: h5py.Group, spec: dict) -> list[tuple[NamedArray, h5py.Dataset]]:
        """``(array, dataset)`` for every array the network needs (the walk over its sizes, the
        arrays not yet read), each checked (links, storage, filters, shape, dtype, flags) before
        any value is read."""
        sizes, batch_norm = spec["layer_sizes"], spec["batch_norm"]
        L = len(sizes) - 1
        if layers.id.links.exists(str(L + 1).encode()):
            raise self.fail(f"/layers has a group /layers/{L + 1} beyond the {L} layers its layer "
                            f"sizes {sizes} describe")
        needed = array_specs(sizes, batch_norm)
        out = []
        for layer in range(1, L + 1):
            group = self.layer_group(layers, layer, sizes, batch_norm)
            out += self.layer_group_datasets(group, layer, [a for a in needed if a.layer == layer],
                                             batch_norm, spec["dtype"])
        return out

    def layer_group(self, layers: h5py.Group, layer: int, sizes: tuple, batch_norm: bool) -> h5py.Group:
        """/layers/<l>, its fan_in, fan_out and batch_norm attributes checked against the sizes."""
        L = len(sizes) - 1
        group = self.member(layers, str(layer), f"layer {layer} (/layers/{layer})", h5py.Group)
        if group is None:
            raise self.fail(f"layer {layer} (/layers/{layer}) is missing but the layer sizes {sizes} "
                            f"need {L} layers")
        normalised = batch_norm and layer < L
        for key, wanted in (("fan_in", sizes[layer - 1]), ("fan_out", sizes[layer])):
            value = self.integer(group, key, f"the {key} attribute of /layers/{layer}", wanted)
            if value != wanted:
                raise self.fail(f"/layers/{layer} says {key} is {value} but the layer sizes "
                                f"{sizes} say {wanted}")
        flag = self.flag(group, "batch_norm", f"the batch_norm flag of /layers/{layer}", normalised)
        if flag != normalised:
            raise self.fail(f"/layers/{layer} says batch_norm is {str(flag).lower()} but the "
                            f"network's batch_norm flag makes it {str(normalised).lower()}")
        return group

    def layer_group_datasets(self, group: h5py.Group, layer: int, needed: list[NamedArray],
                             batch_norm: bool, dtype: np.dtype) -> list[tuple[NamedArray, h5py.Dataset]]:
        """The datasets of /layers/<l>: exactly the arrays ``needed`` (the walk's for this layer),
        none of the other kinds, each checked before any value is read."""
        wanted = {a.kind: a for a in needed}
        out = []
        for kind in KINDS:
            what = f"layer {layer} {kind.words} (/layers/{layer}/{kind.key})"
            ds = self.member(group, kind.key, what, h5py.Dataset)
            if ds is None and kind.key in wanted:
                reason = (" (batch_norm is true, so every hidden layer needs gamma, beta, "
                          "running_mean and running_var)" if kind.batch_norm else "")
                raise self.fail(f"{what} is missing{reason}")
            if ds is not None and kind.key not in wanted:
                flag_words = ("the output layer has no batch norm" if batch_norm
                              else "/layers says batch_norm is false")
                raise self.fail(f"{what} is present but {flag_words}; the flag or the arrays "
                                f"were edited")
            if ds is None:
                continue
            self.check_dataset(ds, f"layer {layer} {kind.words}", wanted[kind.key].shape, (dtype,))
            out.append((wanted[kind.key], ds))
        return out

    def layer_state(self, datasets: list[tuple[NamedArray, h5py.Dataset]], spec: dict) -> dict:
        """``{"W1": array, ...}`` read from the checked datasets, every value checked."""
        state = {}
        for a, ds in datasets:
            what = f"layer {a.layer} {a.words}"
            value = self.values(ds, what).astype(spec["dtype"], copy=False)
            big = np.abs(value) > MAX_ABS_VALUE
            if big.any():
                raise self.fail(f"{what} has {int(big.sum())} value{'s' if big.sum() != 1 else ''} "
                                f"beyond +-{MAX_ABS_VALUE:g} (up to {float(np.abs(value).max()):.3g}), "
                                f"far outside what training produces")
            if a.kind == "running_var" and np.any(value < 0):
                raise self.fail(f"{what} has negative variances")
            state[a.name] = value
        if spec["batch_norm"]:
            for layer in range(1, len(spec["layer_sizes"]) - 1):
                # The scale inference multiplies W by (Network._inference_layers).
                with np.errstate(all="ignore"):
                    scale = state[f"gamma{layer}"] / np.sqrt(state[f"running_var{layer}"]
                                                         + spec["dtype"].type(spec["bn_eps"]))
                worst = float(np.max(np.where(np.isfinite(scale), np.abs(scale), np.inf)))
                if not worst <= MAX_ABS_VALUE:
                    raise self.fail(f"layer {layer}'s batch-norm scale gamma / sqrt(running_var + "
                                    f"bn_eps) reaches {worst:.3g}, beyond +-{MAX_ABS_VALUE:g} "
                                    f"(running_var near 0 with a tiny bn_eps)")
        return state

    def history(self, read: bool) -> History:
        ds = self.member(self.f, "history", "/history", h5py.Dataset)
        if ds is None:
            return History()
        shape = tuple(ds.shape)
        if math.prod(shape) == 0:
            return History()
        if len(shape) != 2:
            raise self.fail(f"the history has shape {shape}, not (checks, columns)")
        if shape[0] > MAX_HISTORY_ROWS:
            raise self.fail(f"the history declares {shape[0]:,} rows, more than the "
                            f"{MAX_HISTORY_ROWS:,} digitlab accepts (a run checks validation "
                            f"far fewer times)")
        cols = self.attr(ds, "columns", "the history's columns attribute")
        if cols is _MISSING:
            cols = list(CHECK_FIELDS)
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise self.fail(f"the history's columns attribute is {_cut(repr(cols), 80)}, not a "
                            f"list of names")
        cols = [_cut(c, MAX_TEXT_CHARS) for c in cols]
        if shape[1] != len(cols):
            raise self.fail(f"the history has shape {shape} but {len(cols)} columns are named")
        missing = [c for c in CHECK_FIELDS if c not in cols]
        if missing:
            raise self.fail(f"the history lacks the column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)}")
        self.check_dataset(ds, "the history", shape, (np.float64, np.float32))
        if not read:
            return History()
        arr = self.values(ds, "the history").astype(np.float64)
        return History.from_array(arr[:, [cols.index(c) for c in CHECK_FIELDS]])

    def metrics(self) -> dict:
        group = self.member(self.f, "metrics", "/metrics", h5py.Group)
        if group is None:
            return {}
        count = len(group.attrs)
        if count > MAX_METRICS:
            raise self.fail(f"/metrics has {count:,} attributes, more than the {MAX_METRICS} a "
                            f"model can have")
        out = {}
        for key in list(group.attrs):
            if len(key) > MAX_TEXT_CHARS:
                raise self.fail(f"/metrics has an attribute with a {len(key):,}-character name")
            out[key] = self.number(group, key, f"the metric {key}")
        return out


# ---------------------------------------------------------------------------- load: entry points
@dataclass
class _Contents:
    info: dict
    config: TrainConfig
    spec: dict
    state: dict | None
    history: History
    metrics: dict
    training_state: TrainingState | None = None


def _read(path: Path, *, arrays: bool) -> _Contents:
    """Every check on the file at ``path``; ``arrays=False`` reads no array values and builds no
    network, but still checks every array's metadata (links, storage, filters, shape, dtype), so a
    listing already shows a file whose weights live elsewhere as damaged."""
    f, data = _open(path)
    try:
        with f:
            r = _Reader(f, path, data)
            version = r.header()
            info = r.root_info()
            info["format_version"] = version
            config = r.config()
            layers, spec = r.layers(config)
            datasets = r.layer_datasets(layers, spec)
            state = r.layer_state(datasets, spec) if arrays else None
            history = r.history(read=arrays)
            metrics = r.metrics()
            history.changes = read_changes(r, config, read=arrays)
            training_state = read_training_state(r, spec, config, state)
    except ModelFileError:
        raise
    except _READ_ERRORS as e:
        raise _damaged(path, e) from None
    return _Contents(info, config, spec, state, history, metrics, training_state)


def load_model(path) -> SavedModel:
    """Read a model saved by :func:`save_model`.

    The network is rebuilt exactly: its predictions equal the saved network's bit for bit.
    Raises :class:`ModelFileError` (never a raw h5py error) for a missing, empty, special (FIFO,
    device), oversized, truncated, foreign, newer-format, damaged or hostile file (one that
    points outside itself or declares sizes beyond digitlab's limits); docs/model-format.md lists
    every check.
    """
    path = Path(path)
    c = _read(path, arrays=True)
    s = c.spec
    try:
        network = Network(s["layer_sizes"], batch_norm=s["batch_norm"], init=s["init"],
                          init_std=s["init_std"], seed=s["seed"], dtype=s["dtype"],
                          bn_momentum=s["bn_momentum"], bn_eps=s["bn_eps"], activation=s["activation"])
        network.load_state(c.state)
    except ValueError as e:
        raise ModelFileError(f"cannot open model {path}: the network settings are invalid "
                             f"({_short(e)}); {_SAVE_AGAIN}") from None
    except MemoryError:
        raise ModelFileError(f"cannot open model {path}: there is not enough memory for its "
                             f"network of {parameter_count(s['layer_sizes']):,} parameters; close "
                             f"other programs and try again") from None
    info = c.info
    log.info("Loaded the model %r from %s", info.get("name", ""), path)
    return SavedModel(
        network=network, config=c.config, history=c.history, metrics=c.metrics,
        stop_reason=info.get("stop_reason", ""), message=info.get("message", ""),
        best_step=info.get("best_step", 0), epochs=info.get("epochs", 0),
        steps=info.get("steps", 0), elapsed=info.get("elapsed", 0.0),
        name=info.get("name", ""), created=info.get("created", ""),
        dataset=info.get("dataset", ""), dataset_checksum=info.get("dataset_checksum", ""),
        digitlab_version=info.get("digitlab_version", ""),
        format_version=info["format_version"], path=path, origin=info.get("origin", {}),
        training_state=c.training_state)


def _info(c: _Contents, path: Path) -> dict:
    info = dict(c.info)
    info["config"] = c.config
    info["layer_sizes"] = c.spec["layer_sizes"]
    info["batch_norm"] = c.spec["batch_norm"]
    info["activation"] = c.spec["activation"]
    info["metrics"] = c.metrics
    info["path"] = path
    info["can_continue"] = c.training_state is not None
    return info


def read_model_info(path) -> dict:
    """The root attributes, the configuration and the metrics of a model file, without its weights.

    Fast enough for listing a folder of models: the file goes through the same safe opening as
    :func:`load_model` (a regular file, never blocking, at most MAX_FILE_BYTES) and only
    attributes are read, but the structure is checked too (/config and /layers are groups in this
    file, not links elsewhere; the layer sizes are a digitlab network agreeing with /config;
    every array's link, storage, filters, shape and dtype; /history's declared size), so a damaged
    entry shows as damaged in a listing. It reads no array values: :func:`check_model_file` checks
    those too.

    Keys: every root attribute present (name, created, stop_reason, message, dataset,
    dataset_checksum, epochs, steps, best_step, elapsed, digitlab_version) and format_version,
    ``config`` (a :class:`TrainConfig`), ``layer_sizes``, ``batch_norm``, ``metrics`` (dict),
    ``can_continue`` (the file keeps a training state: its run can be continued exactly) and
    ``path``. Raises :class:`ModelFileError` like :func:`load_model`.
    """
    path = Path(path)
    return _info(_read(path, arrays=False), path)


def check_model_file(path) -> dict:
    """Every check :func:`load_model` makes, arrays and values included, without building the
    network; returns the same dict as :func:`read_model_info`. Raises :class:`ModelFileError`.

    For verifying a file (a download, a folder of models) when its network is not needed yet.
    """
    path = Path(path)
    return _info(_read(path, arrays=True), path)
