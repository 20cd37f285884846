"""Export a network's arrays to ``.npz``, JSON or a folder of CSV files, or the network as an ONNX
model (``onnx_export.py``, which needs the optional ``onnx`` package), for use outside digitlab.

Every format uses the same array names, layer by layer from 1: ``W1`` (fan_in, fan_out), ``b1``,
and for a batch-normalised hidden layer ``gamma1``, ``beta1``, ``running_mean1``,
``running_var1``; then ``W2``, ...: the network's one walk over its arrays (``Network.arrays``),
which also gives each CSV file's description. The forward pass is in ``docs/model-format.md``.

Never imports Qt.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_folder, atomic_path, check_output
from ..nn import Network
from ..training import TrainResult, format_layer_sizes
from .model_file import ModelFileError, SavedModel

log = logging.getLogger(__name__)

FORMATS = ("npz", "json", "csv", "onnx")
WEIGHTS_FORMAT = "digitlab-weights"
WEIGHTS_FORMAT_VERSION = 1

def _unpack(model) -> tuple[Network, SavedModel | TrainResult | None]:
    if isinstance(model, Network):
        return model, None
    if isinstance(model, (SavedModel, TrainResult)):
        return model.network, model
    raise TypeError(f"export_weights needs a SavedModel, TrainResult or Network, got "
                    f"{type(model).__name__}")


def named_arrays(network: Network) -> dict[str, np.ndarray]:
    """``{"W1": ..., "b1": ..., "gamma1": ..., ...}`` in layer order (copies)."""
    return {a.name: a.array.copy() for a in network.arrays()}


def _network_info(network: Network) -> dict:
    return {"layer_sizes": list(network.layer_sizes), "batch_norm": network.batch_norm,
            "bn_eps": network.bn_eps, "dtype": network.dtype.name,
            "hidden_activation": network.activation, "output_activation": "softmax"}


def _extras(source) -> dict:
    """Config, metrics and provenance of a SavedModel or TrainResult (JSON-ready)."""
    if source is None:
        return {}
    out = {"config": source.config.to_dict(), "metrics": {k: float(v) for k, v in source.metrics.items()},
           "stop_reason": source.stop_reason, "epochs": int(source.epochs), "steps": int(source.steps)}
    if isinstance(source, SavedModel):
        out.update(name=source.name, created=source.created, dataset=source.dataset,
                   dataset_checksum=source.dataset_checksum)
    return out


def _resolve(path: Path, fmt: str | None) -> tuple[Path, str]:
    if fmt is None:
        suffix = path.suffix.lower()
        if suffix in (".npz", ".json", ".onnx"):
            return path, suffix[1:]
        if suffix == ".csv":
            return path.with_suffix(""), "csv"
        if suffix == "" or path.is_dir():
            return path, "csv"
        raise ValueError(f"cannot tell the export format from {path}: use a name ending in .npz, "
                         f".json or .onnx, a folder (or a name ending in .csv) for CSV files, or pass fmt")
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "csv" and path.suffix.lower() == ".csv":
        path = path.with_suffix("")
    elif fmt != "csv" and path.suffix == "":
        path = path.with_suffix("." + fmt)
    return path, fmt


def _write_atomic(path: Path, write, inputs=()) -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, then move it into place (fsynced,
    permissions of a replaced file kept; a full disk is an OutputError in words)."""
    check_output(path, replace=True, inputs=inputs)
    with atomic_path(path, replace=True) as tmp:
        with open(tmp, "wb") as fh:
            write(fh)


def _clean(x):
    """JSON-ready: tuples as lists, non-finite floats (which JSON lacks) as "NaN" / "Infinity"."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return x


def export_weights(model, path, fmt: str | None = None, *, overwrite: bool = False,
                   inputs=()) -> Path:
    """Write the network's arrays (or, as ONNX, the network) for use outside digitlab; return the
    path written.

    Parameters
    ----------
    model : SavedModel, TrainResult or Network
    path : str or Path
        ``*.npz``, ``*.json`` or ``*.onnx`` for one file; a folder, or ``name.csv`` meaning the
        folder ``name``, for CSV files.
    fmt : {"npz", "json", "csv", "onnx"}, optional
        Inferred from ``path`` when None. A missing suffix is added for npz, json and onnx.
    overwrite : bool
        CSV only: replace an existing non-empty folder. Single files are always replaced
        atomically.
    inputs : paths
        Files this export is made from (the model file): the output may not be one of them
        (:class:`digitlab.atomic.OutputError` otherwise).

    ``.npz``: one array per name (``W1``, ``b1``, ``gamma1``, ...) plus ``layer_sizes``,
    ``batch_norm`` and ``bn_eps``; arrays keep the network's dtype.
    ``.json``: ``layer_sizes``, ``batch_norm``, ``bn_eps``, activations, ``arrays`` (name ->
    nested lists, exact for float32 when read back into float32) and, for a SavedModel or
    TrainResult, ``config`` and ``metrics``.
    CSV: ``W1.csv`` has fan_in rows and fan_out columns; vectors are one row; ``manifest.json``
    and ``README.txt`` say what each file holds.
    ``.onnx``: the inference network as an ONNX graph with the settings and metrics as metadata
    (:mod:`digitlab.io.onnx_export`); without the ``onnx`` package, a
    :class:`~digitlab.io.onnx_export.MissingExtraError` saying how to install it.
    """
    network, source = _unpack(model)
    path, fmt = _resolve(Path(path), fmt)
    if fmt == "onnx":
        from .onnx_export import export_onnx  # here: the base install has no onnx package
        written = export_onnx(model, path, inputs=inputs)
        log.info("Exported the network (onnx) to %s", written)
        return written
    arrays = named_arrays(network)
    if fmt == "npz":
        extra = {"layer_sizes": np.asarray(network.layer_sizes, dtype=np.int64),
                 "batch_norm": np.asarray(network.batch_norm),
                 "bn_eps": np.asarray(network.bn_eps, dtype=np.float64)}
        _write_atomic(path, lambda fh: np.savez(fh, **arrays, **extra), inputs)
    elif fmt == "json":
        doc = {"format": WEIGHTS_FORMAT, "format_version": WEIGHTS_FORMAT_VERSION,
               **_network_info(network),
               "arrays": {name: arr.tolist() for name, arr in arrays.items()},
               **_extras(source)}
        text = json.dumps(_clean(doc), indent=1, allow_nan=False)
        _write_atomic(path, lambda fh: fh.write(text.encode("utf-8")), inputs)
    else:
        _write_csv_folder(path, network, arrays, source, overwrite, inputs)
    log.info("Exported the weights (%s) to %s", fmt, path)
    return path


def _write_csv_folder(folder: Path, network: Network, arrays: dict, source, overwrite: bool,
                      inputs=()) -> None:
    if folder.exists() and not folder.is_dir():
        raise ModelFileError(f"cannot export CSV files to {folder}: it is a file, not a folder; "
                             f"choose a folder name")
    empty = folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir())
    if folder.is_dir() and not empty and not overwrite:
        raise ModelFileError(f"cannot export CSV files to {folder}: the folder exists and is not "
                             f"empty; choose another folder or allow overwriting")
    check_output(folder, replace=overwrite or empty, inputs=inputs, folder=True)
    if empty and not overwrite:
        # An empty folder holds nothing to lose, so it is taken without --force. rmdir fails if
        # something arrived meanwhile, and the no-replace move below then refuses to replace it.
        try:
            os.rmdir(folder)
        except OSError:
            pass  # not empty (or gone): the no-replace move below decides
    # Built in a staging folder beside the target and swapped in whole: at every instant the name
    # holds the complete previous export or the complete new one.
    with atomic_folder(folder, replace=overwrite) as tmp:
        float_fmt = "%.9g" if network.dtype == np.float32 else "%.17g"   # exact round trip
        files = {}
        for a in network.arrays():
            arr = arrays[a.name]
            np.savetxt(tmp / f"{a.name}.csv", arr.reshape(1, -1) if arr.ndim == 1 else arr,
                       fmt=float_fmt, delimiter=",")
            files[f"{a.name}.csv"] = {"array": a.name, "shape": list(arr.shape),
                                      "description": a.description}
        manifest = {"format": WEIGHTS_FORMAT, "format_version": WEIGHTS_FORMAT_VERSION,
                    **_network_info(network), "files": files, **_extras(source)}
        (tmp / "manifest.json").write_text(json.dumps(_clean(manifest), indent=1, allow_nan=False)
                                           + "\n", encoding="utf-8")
        (tmp / "README.txt").write_text(_readme(network, files), encoding="utf-8")


def _readme(network: Network, files: dict) -> str:
    arch = format_layer_sizes(network.layer_sizes)
    lines = [
        f"digitlab network {arch}{' with batch normalisation' if network.batch_norm else ''}, "
        f"exported as CSV ({network.dtype.name} values, comma-separated).",
        "",
        "Input: a row of 784 pixels (28x28 row by row) in [0, 1], white digit on black.",
        "Each hidden layer l: Z = A @ Wl + bl"
        + (f"; Z = gammal * (Z - running_meanl) / sqrt(running_varl + {network.bn_eps:g}) + betal"
           if network.batch_norm else "")
        + "; A = max(Z, 0).",
        f"Output layer {network.n_layers}: Z = A @ W{network.n_layers} + b{network.n_layers}; "
        "probabilities = softmax(Z) = exp(Z - max Z) / sum(exp(Z - max Z)).",
        "",
        "Files:",
    ]
    width = max(len(n) for n in list(files) + ["manifest.json"])
    lines += [f"  {name:<{width}}  {info['description']}" for name, info in files.items()]
    lines += [f"  {'manifest.json':<{width}}  the same, machine-readable, with the training "
              f"settings if known", ""]
    return "\n".join(lines)
