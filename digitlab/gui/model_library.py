"""The model library: every model file the app knows, and what a person can do with them.

Plain Python (no Qt): the Draw and Models views and the main window share one
:class:`ModelLibrary` and listen to it with :meth:`ModelLibrary.add_listener`.

Two folders are scanned for ``*.h5`` files:

- ``digitlab.paths.bundled_models_dir()``: the models that ship with digitlab (read-only here:
  they cannot be renamed or deleted from the app; copy them first);
- ``digitlab.paths.user_models_dir()``: the person's own models (trained, imported, renamed).

Every file is opened with the core's :func:`digitlab.io.load_model`; a corrupt or foreign file
raises the core's ``ModelFileError``, whose message (it names the file and the problem) is what
the person sees. Operations that fail leave the library exactly as it was.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from digitlab import paths
from digitlab.atomic import atomic_path

log = logging.getLogger("digitlab.gui")

__all__ = ["ModelEntry", "ModelLibrary", "LibraryError", "BUNDLED", "USER", "DEFAULT_PAIR_NAMES"]

BUNDLED = "bundled"
USER = "user"

#: The Draw view compares these two by default (the report's unregularised and regularised models).
DEFAULT_PAIR_NAMES: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("report-no-l2", "report", "report-nol2", "report_no_l2"),
    ("report-l2", "report_l2"),
)

EXPORT_FORMATS = ("npz", "csv", "json")


class LibraryError(ValueError):
    """An operation on the library was refused; the message says why in words for a person."""


def _load_model(path: Path):
    from digitlab.io import load_model  # imported lazily: the core may land after this module

    return load_model(path)


def _model_file_error() -> type[BaseException]:
    try:
        from digitlab.io import ModelFileError
    except ImportError:  # pragma: no cover - only while the core is missing
        return ValueError
    return ModelFileError


def _fmt_number(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v == 0:
        return "0"
    return f"{v:g}"


@dataclass(eq=False)
class ModelEntry:
    """One model file in the library.

    ``model`` is the core's ``SavedModel`` (network, config, history, metrics, name, created, ...).
    """

    path: Path
    source: str                      # BUNDLED or USER
    model: Any
    mtime: float = 0.0
    _extra: dict = field(default_factory=dict, repr=False)

    # -------------------------------------------------------------- identity
    @property
    def key(self) -> str:
        """A stable identifier: the resolved path as a string."""
        return str(self.path)

    @property
    def name(self) -> str:
        name = getattr(self.model, "name", None)
        return str(name) if name else self.path.stem

    @property
    def read_only(self) -> bool:
        return self.source == BUNDLED

    @property
    def source_label(self) -> str:
        return "Bundled" if self.source == BUNDLED else "Yours"

    # -------------------------------------------------------------- contents
    @property
    def network(self):
        return getattr(self.model, "network", None)

    @property
    def config(self):
        return getattr(self.model, "config", None)

    def _cfg(self, attr: str, default: Any = None) -> Any:
        cfg = self.config
        if cfg is None:
            return default
        if isinstance(cfg, dict):
            return cfg.get(attr, default)
        return getattr(cfg, attr, default)

    @property
    def metrics(self) -> dict:
        m = getattr(self.model, "metrics", None)
        return dict(m) if m else {}

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        net = self.network
        sizes = getattr(net, "layer_sizes", None) or self._cfg("layer_sizes", ())
        return tuple(int(s) for s in sizes)

    @property
    def layers_text(self) -> str:
        return "-".join(str(s) for s in self.layer_sizes) or "?"

    @property
    def l2(self) -> float | None:
        v = self._cfg("l2")
        return None if v is None else float(v)

    @property
    def l2_text(self) -> str:
        return "?" if self.l2 is None else ("off" if self.l2 == 0 else _fmt_number(self.l2))

    @property
    def batch_norm(self) -> bool | None:
        net = self.network
        v = getattr(net, "batch_norm", None)
        if v is None:
            v = self._cfg("batch_norm")
        return None if v is None else bool(v)

    @property
    def bn_text(self) -> str:
        return "?" if self.batch_norm is None else ("yes" if self.batch_norm else "no")

    @property
    def optimizer(self) -> str:
        v = self._cfg("optimizer")
        if not v:
            return "?"
        return {"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"}.get(str(v).lower(), str(v))

    @property
    def test_accuracy(self) -> float | None:
        v = self.metrics.get("test_accuracy")
        return None if v is None else float(v)

    @property
    def accuracy_text(self) -> str:
        a = self.test_accuracy
        return "–" if a is None else f"{100.0 * a:.2f} %"

    @property
    def created(self) -> str:
        return str(getattr(self.model, "created", "") or "")

    @property
    def date_text(self) -> str:
        """``YYYY-MM-DD HH:MM`` from the file's creation stamp (or the file's time)."""
        text = self.created
        if text:
            try:
                stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if stamp.tzinfo is not None:
                    stamp = stamp.astimezone()      # shown in the person's local time
                return stamp.strftime("%Y-%m-%d %H:%M")
            except ValueError:
                return text
        if self.mtime:
            return datetime.fromtimestamp(self.mtime).strftime("%Y-%m-%d %H:%M")
        return ""

    @property
    def short_summary(self) -> str:
        """Compact line for narrow places: layers only when not the report's 784-20-7-5-10."""
        parts = [] if self.layer_sizes == (784, 20, 7, 5, 10) else [self.layers_text]
        parts += [f"L2 {self.l2_text}", "BN" if self.batch_norm else "no BN", self.optimizer]
        if self.test_accuracy is not None:
            parts.append(f"test {self.accuracy_text}")
        return " · ".join(parts)

    @property
    def summary(self) -> str:
        """One line: layers, L2, BN, optimiser, test accuracy."""
        parts = [self.layers_text, f"L2 {self.l2_text}", "BN" if self.batch_norm else "no BN",
                 self.optimizer]
        if self.test_accuracy is not None:
            parts.append(f"test {self.accuracy_text}")
        return " · ".join(parts)

    def settings(self) -> dict[str, Any]:
        """Every training setting stored in the file, as a plain dict."""
        cfg = self.config
        if cfg is None:
            return {}
        if isinstance(cfg, dict):
            return dict(cfg)
        to_dict = getattr(cfg, "to_dict", None)
        if callable(to_dict):
            return dict(to_dict())
        return {k: v for k, v in vars(cfg).items() if not k.startswith("_")}

    def info(self) -> dict[str, Any]:
        """Facts about the file beyond the settings: stop reason, message, versions, checksum."""
        out: dict[str, Any] = {}
        for attr in ("stop_reason", "message", "created", "digitlab_version", "format_version",
                     "dataset_checksum"):
            v = getattr(self.model, attr, None)
            if v not in (None, ""):
                out[attr] = v
        out["file"] = str(self.path)
        return out

    def __repr__(self) -> str:
        return f"ModelEntry({self.name!r}, {self.source}, {self.path.name})"


def safe_file_stem(name: str) -> str:
    """A file name stem for a model name: letters, digits, ``-``, ``_`` and ``.`` only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return stem[:80] or "model"


class ModelLibrary:
    """The bundled and user model files, loaded, with rename/delete/import/export.

    Parameters
    ----------
    bundled_dir, user_dir : path-like or None
        Override the folders (tests); by default ``digitlab.paths`` decides.
    scan : bool
        Scan the folders now (default True).
    """

    def __init__(self, bundled_dir: str | os.PathLike | None = None,
                 user_dir: str | os.PathLike | None = None, *, scan: bool = True):
        self._bundled_dir = Path(bundled_dir) if bundled_dir is not None else None
        self._user_dir = Path(user_dir) if user_dir is not None else None
        self._entries: list[ModelEntry] = []
        self._errors: list[tuple[Path, str]] = []
        self._listeners: list[weakref.ref | Callable] = []
        if scan:
            self.refresh()

    # ------------------------------------------------------------------ folders
    def bundled_dir(self) -> Path | None:
        if self._bundled_dir is not None:
            return self._bundled_dir
        try:
            return paths.bundled_models_dir()
        except FileNotFoundError:
            return None

    def user_dir(self) -> Path:
        if self._user_dir is not None:
            self._user_dir.mkdir(parents=True, exist_ok=True)
            return self._user_dir
        return paths.user_models_dir()

    # ------------------------------------------------------------------ listeners
    def add_listener(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` after every change. Bound methods are held weakly."""
        if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
            self._listeners.append(weakref.WeakMethod(callback))
        else:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], Any]) -> None:
        keep = []
        for item in self._listeners:
            fn = item() if isinstance(item, weakref.WeakMethod) else item
            if fn is not None and fn != callback:
                keep.append(item)
        self._listeners = keep

    def _notify(self) -> None:
        alive = []
        for item in list(self._listeners):
            fn = item() if isinstance(item, weakref.WeakMethod) else item
            if fn is None:
                continue
            try:
                fn()
            except RuntimeError as exc:
                if "already deleted" in str(exc):   # a widget that Qt has destroyed
                    continue
                log.exception("A model library listener failed")
            except Exception:
                log.exception("A model library listener failed")
            alive.append(item)
        self._listeners = alive

    # ------------------------------------------------------------------ reading
    def refresh(self) -> list[tuple[Path, str]]:
        """Rescan both folders. Returns the files that could not be read (path, message)."""
        entries: list[ModelEntry] = []
        errors: list[tuple[Path, str]] = []
        folders = [(self.bundled_dir(), BUNDLED), (self.user_dir(), USER)]
        seen: set[Path] = set()
        for folder, source in folders:
            if folder is None or not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.h5"), key=lambda p: p.name.lower()):
                rp = path.resolve()
                if rp in seen:
                    continue
                seen.add(rp)
                try:
                    entries.append(self._read(rp, source))
                except Exception as exc:  # noqa: BLE001 - one bad file must not hide the others
                    errors.append((rp, str(exc)))
                    log.warning("Skipping model file %s: %s", rp, exc)
        self._entries = entries
        self._errors = errors
        self._notify()
        return list(errors)

    def _read(self, path: Path, source: str) -> ModelEntry:
        model = _load_model(path)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        return ModelEntry(path=path, source=source, model=model, mtime=mtime)

    @property
    def errors(self) -> list[tuple[Path, str]]:
        """Files skipped by the last scan, with the core's message."""
        return list(self._errors)

    def entries(self) -> list[ModelEntry]:
        """Bundled models first, then the user's, each sorted by file name."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(list(self._entries))

    def names(self) -> list[str]:
        return [e.name for e in self._entries]

    def get(self, key: str | os.PathLike | ModelEntry | None) -> ModelEntry | None:
        """Find an entry by key/path, by name, or by file stem; ``None`` if absent."""
        if key is None:
            return None
        if isinstance(key, ModelEntry):
            return key if key in self._entries else self.get(key.path)
        text = str(key)
        try:
            rp = Path(text).resolve()
        except (OSError, ValueError):
            rp = None
        for e in self._entries:
            if rp is not None and e.path == rp:
                return e
        for e in self._entries:
            if e.name == text:
                return e
        for e in self._entries:
            if e.path.stem == text:
                return e
        return None

    def default_pair(self) -> tuple[ModelEntry | None, ModelEntry | None]:
        """The two models the Draw view compares by default.

        The report's unregularised and regularised models (``report-no-l2`` and ``report-l2``)
        when present, else the first two models, else what there is.
        """
        def find(candidates: Iterable[str]) -> ModelEntry | None:
            for cand in candidates:
                for e in self._entries:
                    if e.path.stem == cand or e.name == cand:
                        return e
            return None

        a = find(DEFAULT_PAIR_NAMES[0])
        b = find(DEFAULT_PAIR_NAMES[1])
        rest = [e for e in self._entries if e is not a and e is not b]
        if a is None and rest:
            a = rest.pop(0)
        if b is None and rest:
            b = rest.pop(0)
        if b is None and a is not None and len(self._entries) == 1:
            b = a
        return a, b

    # ------------------------------------------------------------------ changes
    def _unique_path(self, stem: str, folder: Path, exclude: Path | None = None) -> Path:
        candidate = folder / f"{stem}.h5"
        n = 2
        while candidate.exists() and candidate.resolve() != exclude:
            candidate = folder / f"{stem}-{n}.h5"
            n += 1
        return candidate

    def import_file(self, path: str | os.PathLike) -> ModelEntry:
        """Open a model file and copy it into the user folder.

        The file is loaded first; a corrupt or foreign file raises the core's ``ModelFileError``
        and nothing changes. A file already in the library is not copied again.
        """
        src = Path(path).expanduser()
        if not src.is_file():
            raise _model_file_error()(f"{src}: no such file")
        model = _load_model(src)          # raises ModelFileError with the core's message
        existing = self.get(src)
        if existing is not None:
            return existing
        folder = self.user_dir()
        dest = self._unique_path(safe_file_stem(src.stem), folder)
        tmp = self._copy_atomic(src, dest)
        entry = ModelEntry(path=tmp.resolve(), source=USER, model=model, mtime=tmp.stat().st_mtime)
        path_attr = getattr(model, "path", None)
        if path_attr is not None:
            try:
                model.path = entry.path
            except Exception:  # frozen dataclass or similar: keep the original attribute
                pass
        self._insert(entry)
        return entry

    def add_model(self, result: Any, name: str) -> ModelEntry:
        """Save a ``TrainResult`` or ``SavedModel`` under ``name`` into the user folder."""
        from digitlab.io import save_model

        name = self._check_name(name)
        dest = self._unique_path(safe_file_stem(name), self.user_dir())
        save_model(dest, result, name=name)
        entry = self._read(dest.resolve(), USER)
        self._insert(entry)
        return entry

    def rename(self, entry: ModelEntry | str, new_name: str) -> ModelEntry:
        """Give a user model a new name (stored in the file; the file is renamed to match)."""
        from digitlab.io import save_model

        e = self._require(entry)
        if e.read_only:
            raise LibraryError(
                f"“{e.name}” ships with digitlab and is read-only; use “Save copy…” to make your "
                "own copy, then rename that."
            )
        new_name = self._check_name(new_name)
        if new_name == e.name:
            return e
        if any(o.name == new_name for o in self._entries if o is not e):
            raise LibraryError(f"There is already a model called “{new_name}”; choose another name.")
        dest = self._unique_path(safe_file_stem(new_name), e.path.parent, exclude=e.path)
        model = _load_model(e.path)
        save_model(dest, model, name=new_name)
        if dest.resolve() != e.path:
            try:
                e.path.unlink()
            except OSError as exc:
                dest.unlink(missing_ok=True)
                raise LibraryError(f"Could not rename {e.path.name}: {exc}") from exc
        new_entry = self._read(dest.resolve(), USER)
        self._entries[self._entries.index(e)] = new_entry
        self._notify()
        return new_entry

    def delete(self, entry: ModelEntry | str) -> None:
        """Delete a user model's file (bundled models are read-only)."""
        e = self._require(entry)
        if e.read_only:
            raise LibraryError(f"“{e.name}” ships with digitlab and is read-only; it cannot be deleted.")
        try:
            e.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LibraryError(f"Could not delete {e.path}: {exc}") from exc
        self._entries.remove(e)
        self._notify()

    # ------------------------------------------------------------------ exporting (no change)
    def export_weights(self, entry: ModelEntry | str, path: str | os.PathLike, fmt: str | None = None,
                       *, overwrite: bool = False) -> Path:
        """Write the weights as .npz, CSV (a folder) or JSON via the core's ``export_weights``.

        ``fmt`` defaults to what the core infers from the name (``.npz``, ``.json``, a folder or
        ``.csv`` for CSV).
        ``overwrite`` lets a CSV export replace an existing folder (single files are always
        replaced atomically by the core).
        """
        from digitlab.io import export_weights

        e = self._require(entry)
        dest = Path(path)
        if fmt is not None:
            fmt = fmt.lower().lstrip(".")
            if fmt not in EXPORT_FORMATS:
                raise LibraryError(f"Unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
        result = export_weights(e.model, dest, fmt, overwrite=overwrite)
        return Path(result) if isinstance(result, (str, os.PathLike)) else dest

    def save_copy(self, entry: ModelEntry | str, path: str | os.PathLike) -> Path:
        """Copy the model's .h5 file to ``path`` (atomically). Copies into the user folder join
        the library."""
        e = self._require(entry)
        dest = Path(path).expanduser()
        if dest.suffix.lower() != ".h5":
            dest = dest.with_suffix(dest.suffix + ".h5") if dest.suffix else dest.with_suffix(".h5")
        if dest.resolve() == e.path:
            return dest
        self._copy_atomic(e.path, dest)
        try:
            in_user = dest.resolve().parent == self.user_dir().resolve()
        except OSError:
            in_user = False
        if in_user:
            self._insert(self._read(dest.resolve(), USER))
        return dest

    # ------------------------------------------------------------------ helpers
    def _require(self, entry: ModelEntry | str) -> ModelEntry:
        e = self.get(entry)
        if e is None:
            raise LibraryError(f"No model {entry!r} in the library (was it deleted?)")
        return e

    @staticmethod
    def _check_name(name: str) -> str:
        name = (name or "").strip()
        if not name:
            raise LibraryError("A model name cannot be empty.")
        if len(name) > 120:
            raise LibraryError(f"A model name can have at most 120 characters, got {len(name)}.")
        if any(ord(c) < 32 for c in name):
            raise LibraryError("A model name cannot contain control characters.")
        return name

    @staticmethod
    def _copy_atomic(src: Path, dest: Path) -> Path:
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
        return dest

    def _insert(self, entry: ModelEntry) -> None:
        self._entries = [e for e in self._entries if e.path != entry.path]
        self._entries.append(entry)
        order = {BUNDLED: 0, USER: 1}
        self._entries.sort(key=lambda e: (order.get(e.source, 2), e.path.name.lower()))
        self._notify()
