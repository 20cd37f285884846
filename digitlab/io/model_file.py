"""Trained models as plain HDF5 files, written atomically and read back with clear errors.

The layout is documented in ``docs/model-format.md``; in short::

    /                 attrs: format="digitlab-model", format_version, digitlab_version, name, created,
                             stop_reason, message, dataset, dataset_checksum, epochs, steps,
                             best_step, elapsed
    /config           attrs: one per TrainConfig field (a None value is left out)
    /layers           attrs: layer_sizes, batch_norm, bn_eps, bn_momentum, init, init_std, seed,
                             dtype, hidden_activation="relu", output_activation="softmax"
    /layers/1 ... /layers/L
                      W (fan_in, fan_out), b (fan_out,); hidden layers of a batch-normalised
                      network also gamma, beta, running_mean, running_var (fan_out,)
    /history          (n_checks, 7) float64, attr columns = CHECK_FIELDS
    /metrics          attrs: train_cost, val_cost, test_cost, train_accuracy, ...

Never imports Qt.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..atomic import atomic_path
from ..nn import Network
from ..training import CHECK_FIELDS, History, TrainConfig, TrainResult

FORMAT = "digitlab-model"
FORMAT_VERSION = 1

ROOT_FIELDS = ("name", "created", "stop_reason", "message", "dataset", "dataset_checksum",
               "epochs", "steps", "best_step", "elapsed")
BN_ARRAYS = ("gamma", "beta", "running_mean", "running_var")

_PNG = b"\x89PNG\r\n\x1a\n"
_HDF5 = b"\x89HDF\r\n\x1a\n"


class ModelFileError(ValueError):
    """A model file that cannot be read or written; the message names the file, the problem and
    what to do."""


# ---------------------------------------------------------------------------- SavedModel
def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _default_name(config: TrainConfig) -> str:
    arch = "-".join(map(str, config.layer_sizes))
    parts = [arch]
    if config.l2:
        parts.append(f"L2 {config.l2:g}")
    if config.batch_norm:
        parts.append("BN")
    return " ".join(parts)


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

    @classmethod
    def from_result(cls, result: TrainResult, *, name: str | None = None, dataset_name: str = "",
                    dataset_checksum: str = "") -> "SavedModel":
        """Wrap a fresh :class:`TrainResult`; ``created`` is now (UTC)."""
        config = result.config
        return cls(network=result.network, config=config, history=result.history,
                   metrics=dict(result.metrics), stop_reason=result.stop_reason,
                   message=result.message, best_step=int(result.best_step),
                   epochs=int(result.epochs), steps=int(result.steps),
                   elapsed=float(result.elapsed),
                   name=name or config.name or _default_name(config),
                   dataset=dataset_name or getattr(result, "dataset", "") or config.dataset,
                   dataset_checksum=dataset_checksum or getattr(result, "dataset_checksum", ""))

    @property
    def mean_abs_weights(self) -> list[float]:
        """Mean absolute value of each weight matrix (the report's weights table)."""
        return self.network.mean_abs_weights()

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self.network.layer_sizes

    def describe(self) -> str:
        """One line for a person, e.g. ``"report-bn: 784-20-7-5-10 BN, test 92.46 %, 14 epochs"``."""
        arch = "-".join(map(str, self.network.layer_sizes))
        parts = [arch + (" BN" if self.network.batch_norm else "")]
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
        if not self.name or self.name == _default_name(self.config):
            return ", ".join(parts)
        return f"{self.name}: " + ", ".join(parts)


# ---------------------------------------------------------------------------- helpers
def _py(value):
    """An HDF5 attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
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


def _layer_arrays(network: Network) -> dict[tuple[int, str], np.ndarray]:
    """``{(layer, "W"|"b"|"gamma"|...): array}`` for layers numbered from 1."""
    out = {}
    for l in range(network.n_layers):
        out[(l + 1, "W")] = network.weights[l]
        out[(l + 1, "b")] = network.biases[l]
    if network.batch_norm:
        for l in range(network.n_layers - 1):
            out[(l + 1, "gamma")] = network.gammas[l]
            out[(l + 1, "beta")] = network.betas[l]
            out[(l + 1, "running_mean")] = network.running_means[l]
            out[(l + 1, "running_var")] = network.running_vars[l]
    return out


def _state_name(kind: str, layer: int) -> str:
    return f"{kind}{layer}"


_KIND_WORDS = {"W": "weight W", "b": "bias b", "gamma": "scale gamma", "beta": "shift beta",
               "running_mean": "running_mean", "running_var": "running_var"}


# ---------------------------------------------------------------------------- save
def save_model(path, model: TrainResult | SavedModel, *, name: str | None = None,
               dataset_name: str | None = None, dataset_checksum: str | None = None) -> Path:
    """Write ``model`` to ``path`` as HDF5, atomically.

    The file is written to a temporary file in the same folder and moved into place with
    ``os.replace``; if anything fails, the temporary file is removed and an existing file at
    ``path`` is left untouched. Keyword arguments that are not None override the model's own.

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
    net = model.network
    arrays = _layer_arrays(net)
    bad = [f"layer {l} {_KIND_WORDS[k]}" for (l, k), a in arrays.items() if not np.all(np.isfinite(a))]
    if bad:
        raise ModelFileError(f"cannot save {path}: the network has non-finite values (NaN or "
                             f"infinity) in {', '.join(bad)}; the run diverged, so retrain with a "
                             f"smaller learning rate")

    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=True) as f:
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

            cfg = f.create_group("config", track_order=True)
            for key, value in model.config.to_dict().items():
                if value is not None:
                    cfg.attrs[key] = _attr_value(value)

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
            layers.attrs["hidden_activation"] = "relu"
            layers.attrs["output_activation"] = "softmax"
            for l in range(1, net.n_layers + 1):
                g = layers.create_group(str(l))
                g.attrs["fan_in"] = np.int64(net.layer_sizes[l - 1])
                g.attrs["fan_out"] = np.int64(net.layer_sizes[l])
                g.attrs["batch_norm"] = bool(net.batch_norm and l < net.n_layers)
                for kind in ("W", "b") + BN_ARRAYS:
                    arr = arrays.get((l, kind))
                    if arr is not None:
                        g.create_dataset(kind, data=np.ascontiguousarray(arr), fletcher32=True)

            hist = f.create_dataset("history", data=model.history.as_array().astype(np.float64),
                                   fletcher32=model.history.as_array().size > 0)
            hist.attrs["columns"] = np.array(CHECK_FIELDS, dtype=h5py.string_dtype())
            met = f.create_group("metrics", track_order=True)
            for key, value in model.metrics.items():
                met.attrs[key] = float(value)
    return path


# ---------------------------------------------------------------------------- load
def _check_path(path: Path) -> None:
    """Raise a ModelFileError for a path that cannot be an HDF5 model, before h5py sees it."""
    if not path.exists():
        raise ModelFileError(f"cannot open model {path}: no such file; check the path, or train "
                             f"and save a model first")
    if path.is_dir():
        raise ModelFileError(f"cannot open model {path}: it is a folder, not a model file; choose "
                             f"the .h5 file inside it")
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise ModelFileError(f"cannot open model {path}: {e.strerror or e}; check the file's "
                             f"permissions") from None
    if size == 0:
        raise ModelFileError(f"cannot open model {path}: the file is empty (0 bytes), probably an "
                             f"interrupted save; save or train the model again")
    if head == _PNG:
        raise ModelFileError(f"cannot open model {path}: it is a PNG image, not a digitlab model "
                             f"file; to classify an image use 'digitlab predict MODEL {path.name}'")
    if head != _HDF5 and not h5py.is_hdf5(str(path)):
        kind = "a text file" if _looks_like_text(path) else "not an HDF5 file"
        raise ModelFileError(f"cannot open model {path}: it is {kind}, not a digitlab model (those "
                             f"are HDF5 files written by digitlab); choose a model saved by digitlab")


def _looks_like_text(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            chunk = fh.read(4096)
        chunk.decode("utf-8")
        return b"\0" not in chunk
    except (OSError, UnicodeDecodeError):
        return False


def _open(path: Path) -> h5py.File:
    _check_path(path)
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ModelFileError(f"cannot open model {path}: it looks like HDF5 but cannot be read "
                             f"({_short(e)}); it is probably truncated or damaged, so save or train "
                             f"the model again") from None


_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError)


def _damaged(path: Path, e: BaseException) -> ModelFileError:
    """The error for a file whose reading failed somewhere inside h5py."""
    return ModelFileError(f"cannot open model {path}: reading it failed ({_short(e)}); it is "
                          f"probably truncated or damaged, so save or train the model again")


def _short(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:200]


def _check_header(f: h5py.File, path: Path) -> int:
    fmt = _py(f.attrs.get("format", None))
    if fmt != FORMAT:
        items = ", ".join(sorted(f.keys())[:6]) or "nothing"
        raise ModelFileError(f"cannot open model {path}: it is an HDF5 file but not a digitlab model "
                             f"(no format attribute '{FORMAT}'; it contains {items}); choose a model "
                             f"saved by digitlab")
    version = _py(f.attrs.get("format_version", None))
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"cannot open model {path}: its format_version is {version!r}, which "
                             f"no digitlab writes; the file is damaged, so save the model again")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"cannot open model {path}: it was written by a newer digitlab (format "
                             f"{version}); this version reads format {FORMAT_VERSION}; update "
                             f"digitlab")
    return version


def _read_config(f: h5py.File, path: Path) -> TrainConfig:
    if "config" not in f:
        raise ModelFileError(f"cannot open model {path}: the /config group is missing; the file is "
                             f"damaged, so save the model again")
    d = {k: _py(v) for k, v in f["config"].attrs.items()}
    try:
        config = TrainConfig.from_dict(d)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"cannot open model {path}: its training settings cannot be read "
                             f"({_short(e)}); the file is damaged, so save the model again") from None
    problems = config.problems()
    if problems:
        raise ModelFileError(f"cannot open model {path}: its training settings are invalid "
                             f"({'; '.join(problems)}); the file is damaged, so save the model again")
    return config


def _root_info(f: h5py.File) -> dict:
    info = {}
    for key in ROOT_FIELDS + ("digitlab_version", "format_version"):
        if key in f.attrs:
            info[key] = _py(f.attrs[key])
    return info


def _read_network(f: h5py.File, path: Path) -> Network:
    where = f"cannot open model {path}"
    if "layers" not in f or not isinstance(f["layers"], h5py.Group):
        raise ModelFileError(f"{where}: the /layers group is missing; the file is damaged, so save "
                             f"the model again")
    layers = f["layers"]
    a = layers.attrs
    try:
        sizes = tuple(int(s) for s in np.asarray(a["layer_sizes"]).ravel())
        batch_norm = bool(_py(a.get("batch_norm", False)))
        bn_eps = float(_py(a.get("bn_eps", 1e-5)))
        bn_momentum = float(_py(a.get("bn_momentum", 0.9)))
        init = str(_py(a.get("init", "he")))
        init_std = float(_py(a.get("init_std", 0.01)))
        seed = int(_py(a.get("seed", 0)))
        dtype = np.dtype(str(_py(a.get("dtype", "float32"))))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: the network settings on /layers cannot be read "
                             f"({_short(e)}); the file is damaged, so save the model again") from None
    if dtype not in (np.float32, np.float64):
        raise ModelFileError(f"{where}: the network dtype is {dtype}, expected float32 or float64; "
                             f"the file is damaged, so save the model again")
    try:
        net = Network(sizes, batch_norm=batch_norm, init=init, init_std=init_std, seed=seed,
                      dtype=dtype, bn_momentum=bn_momentum, bn_eps=bn_eps)
    except ValueError as e:
        raise ModelFileError(f"{where}: the network settings are invalid ({e}); the file is "
                             f"damaged, so save the model again") from None

    state = {}
    for (l, kind), target in _layer_arrays(net).items():
        what = f"layer {l} {_KIND_WORDS[kind]}"
        group = layers.get(str(l))
        if group is None or not isinstance(group, h5py.Group):
            raise ModelFileError(f"{where}: layer {l} (/layers/{l}) is missing but the layer sizes "
                                 f"{sizes} need {net.n_layers} layers; the file is damaged, so save "
                                 f"the model again")
        ds = group.get(kind)
        if ds is None or not isinstance(ds, h5py.Dataset):
            raise ModelFileError(f"{where}: {what} (/layers/{l}/{kind}) is missing; the file is "
                                 f"damaged, so save the model again")
        if ds.shape != target.shape:
            raise ModelFileError(f"{where}: {what} has shape {tuple(ds.shape)} but the layer sizes "
                                 f"say {target.shape}; the file is damaged, so save the model again")
        if ds.dtype.kind not in "fiu":
            raise ModelFileError(f"{where}: {what} holds {ds.dtype}, not numbers; the file is "
                                 f"damaged, so save the model again")
        try:
            value = ds[()]
        except (OSError, ValueError) as e:
            raise ModelFileError(f"{where}: {what} cannot be read ({_short(e)}); the file is "
                                 f"probably truncated, so save the model again") from None
        value = np.asarray(value)
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        if bad:
            raise ModelFileError(f"{where}: {what} contains {bad} non-finite value"
                                 f"{'s' if bad != 1 else ''} (NaN or infinity); the file is damaged "
                                 f"or the run diverged, so retrain the model")
        if kind == "running_var" and np.any(value < 0):
            raise ModelFileError(f"{where}: {what} has negative variances; the file is damaged, so "
                                 f"save the model again")
        state[_state_name(kind, l)] = value
    net.load_state(state)
    return net


def _read_history(f: h5py.File, path: Path) -> History:
    if "history" not in f:
        return History()
    ds = f["history"]
    cols = [str(c) for c in _py(ds.attrs.get("columns", np.array(CHECK_FIELDS, dtype=object)))]
    arr = np.asarray(ds[()], dtype=float)
    if arr.size == 0:
        return History()
    if arr.ndim != 2 or arr.shape[1] != len(cols):
        raise ModelFileError(f"cannot open model {path}: the history has shape {arr.shape} but "
                             f"{len(cols)} columns are named; the file is damaged, so save the "
                             f"model again")
    missing = [c for c in CHECK_FIELDS if c not in cols]
    if missing:
        raise ModelFileError(f"cannot open model {path}: the history lacks the column"
                             f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the file is "
                             f"damaged, so save the model again")
    return History.from_array(arr[:, [cols.index(c) for c in CHECK_FIELDS]])


def _read_metrics(f: h5py.File) -> dict:
    if "metrics" not in f:
        return {}
    return {k: float(_py(v)) for k, v in f["metrics"].attrs.items()}


def load_model(path) -> SavedModel:
    """Read a model saved by :func:`save_model`.

    The network is rebuilt exactly: its predictions equal the saved network's bit for bit.
    Raises :class:`ModelFileError` (never a raw h5py error) for a missing, empty, truncated,
    foreign, newer-format or damaged file.
    """
    path = Path(path)
    f = _open(path)
    try:
        with f:
            version = _check_header(f, path)
            info = _root_info(f)
            config = _read_config(f, path)
            network = _read_network(f, path)
            history = _read_history(f, path)
            metrics = _read_metrics(f)
    except ModelFileError:
        raise
    except _READ_ERRORS as e:
        raise _damaged(path, e) from None

    def get(key, default, kind):
        try:
            return kind(info.get(key, default))
        except (TypeError, ValueError):
            return default

    return SavedModel(
        network=network, config=config, history=history, metrics=metrics,
        stop_reason=get("stop_reason", "", str), message=get("message", "", str),
        best_step=get("best_step", 0, int), epochs=get("epochs", 0, int),
        steps=get("steps", 0, int), elapsed=get("elapsed", 0.0, float),
        name=get("name", "", str), created=get("created", "", str),
        dataset=get("dataset", "", str), dataset_checksum=get("dataset_checksum", "", str),
        digitlab_version=get("digitlab_version", "", str), format_version=version, path=path)


def read_model_info(path) -> dict:
    """The root attributes, the configuration and the metrics of a model file, without its weights.

    Fast enough for listing a folder of models. Keys: every root attribute (name, created,
    stop_reason, message, dataset, dataset_checksum, epochs, steps, best_step, elapsed,
    digitlab_version, format_version), ``config`` (a :class:`TrainConfig`), ``layer_sizes``,
    ``batch_norm``, ``metrics`` (dict) and ``path``. Raises :class:`ModelFileError` like
    :func:`load_model`.
    """
    path = Path(path)
    f = _open(path)
    try:
        with f:
            _check_header(f, path)
            info = _root_info(f)
            config = _read_config(f, path)
            layers = f.get("layers")
            if isinstance(layers, h5py.Group) and "layer_sizes" in layers.attrs:
                info["layer_sizes"] = tuple(int(s) for s in np.asarray(layers.attrs["layer_sizes"]).ravel())
                info["batch_norm"] = bool(_py(layers.attrs.get("batch_norm", config.batch_norm)))
            else:
                info["layer_sizes"], info["batch_norm"] = config.layer_sizes, config.batch_norm
            info["metrics"] = _read_metrics(f)
    except ModelFileError:
        raise
    except _READ_ERRORS as e:
        raise _damaged(path, e) from None
    info["config"] = config
    info["path"] = path
    return info
