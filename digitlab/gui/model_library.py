"""The model library: every model file the app knows, and what a person can do with them.

Plain Python (no Qt): the Draw and Models views and the main window share one
:class:`ModelLibrary` and listen to it with :meth:`ModelLibrary.add_listener`.

Two folders are scanned for ``*.h5`` files:

- ``digitlab.paths.bundled_models_dir()``: the models that ship with digitlab (read-only here:
  they cannot be renamed or deleted from the app; copy them first);
- ``digitlab.paths.user_models_dir()``: the person's own models (trained, imported, renamed).

Listing reads only each file's attributes (:func:`digitlab.io.read_model_info`, no arrays), so a
folder of strangers' files cannot exhaust memory; the whole model (:func:`digitlab.io.load_model`)
is loaded on first use (:meth:`ModelLibrary.load`, or an entry's ``model``/``network``) and kept.
A file that cannot be used stays listed as *damaged* with the reason in words (the core's
``ModelFileError`` message), can be deleted, and is never offered as a model: :meth:`entries`
holds the usable models only, :meth:`listing` every file. Anything that is not a regular file
(a FIFO, a device, a socket) is listed as damaged without being opened: opening a FIFO blocks.
Operations that fail leave the library exactly as it was, and never replace a file they did not
mean to: new files get a name nobody has (checked again at the moment of writing).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
import weakref
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


def _read_model_info(path: Path) -> dict:
    from digitlab.io import read_model_info  # imported lazily, like load_model

    return dict(read_model_info(path))


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "a special file"


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    """What tells whether a file changed since it was listed: inode, size, modification time."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


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


class ModelEntry:
    """One model file in the library: its attributes now, its arrays on first use.

    ``attrs`` is what :func:`digitlab.io.read_model_info` returned (name, created, config,
    layer_sizes, batch_norm, metrics, stop_reason, epochs, ...); ``damage`` is why the file cannot
    be used, in words (empty for a usable file). ``model`` (the core's ``SavedModel``) loads the
    whole file on first access through the library, which marks the entry damaged if that fails.
    """

    def __init__(self, path: Path, source: str, attrs: dict | None = None, *, model: Any = None,
                 damage: str = "", mtime: float = 0.0, stat_key: tuple | None = None,
                 loader: Callable[["ModelEntry"], Any] | None = None):
        self.path = path
        self.source = source                # BUNDLED or USER
        self.attrs: dict = dict(attrs or {})
        self.damage = damage
        self.mtime = mtime
        self.stat_key = stat_key
        self._model = model
        self._loader = loader

    @property
    def damaged(self) -> bool:
        return bool(self.damage)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self):
        """The whole model (network, history, ...), loaded on first access.

        Raises the core's ``ModelFileError`` (and the entry becomes damaged) when it cannot be read.
        """
        if self._model is None:
            if self._loader is None:
                raise _model_file_error()(self.damage or f"{self.path.name} is not loaded")
            return self._loader(self)
        return self._model

    def attr(self, name: str, default: Any = None) -> Any:
        """A stored attribute (``message``, ``epochs``, ...) without loading the arrays."""
        if name in self.attrs:
            return self.attrs[name]
        return getattr(self._model, name, default) if self._model is not None else default

    # -------------------------------------------------------------- identity
    @property
    def key(self) -> str:
        """A stable identifier: the resolved path as a string."""
        return str(self.path)

    @property
    def name(self) -> str:
        if self.damaged:
            return self.path.name           # the file is all a person can recognise it by
        name = self.attr("name")
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
        """The network, loaded on first use; ``None`` for a damaged file (the library says why)."""
        if self.damaged:
            return None
        try:
            return getattr(self.model, "network", None)
        except Exception:  # noqa: BLE001 - the loader has marked the entry damaged and told listeners
            return None

    @property
    def config(self):
        return self.attr("config")

    def _cfg(self, attr: str, default: Any = None) -> Any:
        cfg = self.config
        if cfg is None:
            return default
        if isinstance(cfg, dict):
            return cfg.get(attr, default)
        return getattr(cfg, attr, default)

    @property
    def metrics(self) -> dict:
        m = self.attr("metrics")
        return dict(m) if m else {}

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        sizes = self.attr("layer_sizes") or self._cfg("layer_sizes", ())
        try:
            return tuple(int(s) for s in sizes)
        except (TypeError, ValueError):
            return ()

    @property
    def layers_text(self) -> str:
        if self.damaged:
            return "–"
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
        v = self.attr("batch_norm")
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
        return str(self.attr("created", "") or "")

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
        """One line: layers, L2, BN, optimiser, test accuracy (or why the file is damaged)."""
        if self.damaged:
            return f"Damaged: {self.damage}"
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
        if self.damaged:
            out["damage"] = self.damage
        for attr in ("stop_reason", "message", "created", "digitlab_version", "format_version",
                     "dataset_checksum"):
            v = self.attr(attr)
            if v not in (None, ""):
                out[attr] = v
        out["file"] = str(self.path)
        return out

    def __repr__(self) -> str:
        state = ", damaged" if self.damaged else ""
        return f"ModelEntry({self.name!r}, {self.source}, {self.path.name}{state})"


def safe_file_stem(name: str) -> str:
    """A file name stem for a model name: letters, digits, ``-``, ``_`` and ``.`` only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return stem[:80] or "model"


class ModelLibrary:
    """The bundled and user model files, listed from their attributes, with rename/delete/import/export.

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
        self._entries: list[ModelEntry] = []          # every listed file, damaged ones included
        self._listeners: list[weakref.ref | Callable] = []
        self._damage_listeners: list[weakref.ref | Callable] = []
        self._notifying = False
        self._notify_again = False
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
    @staticmethod
    def _hold(callback: Callable) -> weakref.ref | Callable:
        if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
            return weakref.WeakMethod(callback)
        return callback

    def add_listener(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` after every change. Bound methods are held weakly."""
        self._listeners.append(self._hold(callback))

    def add_damage_listener(self, callback: Callable[[ModelEntry], Any]) -> None:
        """Call ``callback(entry)`` when loading a listed model on first use finds it damaged."""
        self._damage_listeners.append(self._hold(callback))

    def remove_listener(self, callback: Callable[[], Any]) -> None:
        keep = []
        for item in self._listeners:
            fn = item() if isinstance(item, weakref.WeakMethod) else item
            if fn is not None and fn != callback:
                keep.append(item)
        self._listeners = keep

    @staticmethod
    def _call_all(listeners: list, *args) -> list:
        alive = []
        for item in list(listeners):
            fn = item() if isinstance(item, weakref.WeakMethod) else item
            if fn is None:
                continue
            try:
                fn(*args)
            except RuntimeError as exc:
                if "already deleted" in str(exc):   # a widget that Qt has destroyed
                    continue
                log.exception("A model library listener failed")
            except Exception:
                log.exception("A model library listener failed")
            alive.append(item)
        return alive

    def _notify(self) -> None:
        # A listener may load a model (a view asking for its network) that turns out damaged, which
        # changes the library again: that change is announced once the current round is over,
        # not in the middle of it, so no view is refreshed inside its own refresh.
        if self._notifying:
            self._notify_again = True
            return
        self._notifying = True
        try:
            for _round in range(4):
                self._notify_again = False
                self._listeners = self._call_all(self._listeners)
                if not self._notify_again:
                    break
        finally:
            self._notifying = False

    # ------------------------------------------------------------------ reading
    def refresh(self) -> list[tuple[Path, str]]:
        """Rescan both folders. Returns the files that cannot be used (path, reason)."""
        loaded = {e.key: e for e in self._entries if e.loaded and not e.damaged}
        entries: list[ModelEntry] = []
        folders = [(self.bundled_dir(), BUNDLED), (self.user_dir(), USER)]
        seen: set[Path] = set()
        for folder, source in folders:
            if folder is None or not folder.is_dir():
                continue
            try:
                found = sorted(folder.glob("*.h5"), key=lambda p: p.name.lower())
            except OSError as exc:
                log.warning("Cannot list %s: %s", folder, exc)
                continue
            for path in found:
                try:
                    rp = path.resolve()
                except (OSError, RuntimeError):     # a symlink loop
                    rp = path.absolute()
                if rp in seen:
                    continue
                seen.add(rp)
                entry = self._read(rp, source)
                before = loaded.get(entry.key)
                if before is not None and before.stat_key == entry.stat_key and not entry.damaged:
                    entry._model = before._model   # unchanged file: keep the loaded arrays
                entries.append(entry)
        self._entries = entries
        self._notify()
        return self.errors

    def _read(self, path: Path, source: str) -> ModelEntry:
        """An entry for one file from its attributes only; a file that fails is a damaged entry."""
        try:
            st = os.stat(path)
        except OSError as exc:
            return self._damaged_entry(path, source, f"{path.name} cannot be read "
                                       f"({exc.strerror or exc}).")
        if not stat.S_ISREG(st.st_mode):
            # never opened: opening a FIFO waits for a writer, which would freeze the app
            return self._damaged_entry(path, source, f"{path.name} is not a regular file (it is "
                                       f"{_file_kind(st.st_mode)}), so it was not opened.",
                                       st=st)
        try:
            attrs = _read_model_info(path)
        except Exception as exc:  # noqa: BLE001 - one bad file must not hide or block the others
            log.warning("Model file %s cannot be used: %s", path, exc)
            return self._damaged_entry(path, source, _reason(exc), st=st)
        return ModelEntry(path=path, source=source, attrs=attrs, mtime=st.st_mtime,
                          stat_key=_stat_key(st), loader=self._load_entry)

    def _damaged_entry(self, path: Path, source: str, reason: str,
                       st: os.stat_result | None = None) -> ModelEntry:
        return ModelEntry(path=path, source=source, damage=reason,
                          mtime=st.st_mtime if st is not None else 0.0,
                          stat_key=_stat_key(st) if st is not None else None)

    def load(self, entry: ModelEntry | str) -> Any:
        """The whole model of a listed file (network, history, ...), loaded once and kept.

        A file that turns out damaged (its arrays, though its attributes were fine) becomes a
        damaged entry, listeners hear of it, and the core's ``ModelFileError`` is raised with the
        reason in words.
        """
        return self._require(entry).model

    def _load_entry(self, e: ModelEntry) -> Any:
        if e.damaged:
            raise _model_file_error()(e.damage)
        if e._model is not None:
            return e._model
        try:
            model = _load_model(e.path)
        except Exception as exc:  # noqa: BLE001 - includes MemoryError from a file that lies about sizes
            e.damage = _reason(exc)
            e._model = None
            log.warning("Model file %s cannot be used: %s", e.path, exc)
            if e in self._entries:
                self._damage_listeners = self._call_all(self._damage_listeners, e)
                self._notify()
            raise _model_file_error()(e.damage) from None
        try:
            model.path = e.path
        except Exception:  # noqa: BLE001 - a frozen model object keeps its own path
            pass
        e._model = model
        return model

    @property
    def errors(self) -> list[tuple[Path, str]]:
        """The listed files that cannot be used, with the reason in words."""
        return [(e.path, e.damage) for e in self._entries if e.damaged]

    def _usable(self) -> list[ModelEntry]:
        return [e for e in self._entries if not e.damaged]

    def entries(self) -> list[ModelEntry]:
        """The usable models: bundled first, then the person's, each sorted by file name."""
        return self._usable()

    def listing(self) -> list[ModelEntry]:
        """Every listed file, damaged ones included (the Models view shows them all)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._usable())

    def __iter__(self):
        return iter(self._usable())

    def names(self) -> list[str]:
        return [e.name for e in self._usable()]

    def get(self, key: str | os.PathLike | ModelEntry | None) -> ModelEntry | None:
        """Find an entry (damaged ones too) by key/path, by name, or by file stem; ``None`` if absent."""
        if key is None:
            return None
        if isinstance(key, ModelEntry):
            return key if key in self._entries else self.get(key.path)
        text = str(key)
        try:
            rp = Path(text).resolve()
        except (OSError, ValueError, RuntimeError):
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
                for e in self._usable():
                    if e.path.stem == cand or e.name == cand:
                        return e
            return None

        a = find(DEFAULT_PAIR_NAMES[0])
        b = find(DEFAULT_PAIR_NAMES[1])
        rest = [e for e in self._usable() if e is not a and e is not b]
        if a is None and rest:
            a = rest.pop(0)
        if b is None and rest:
            b = rest.pop(0)
        if b is None and a is not None and len(self._usable()) == 1:
            b = a
        return a, b

    # ------------------------------------------------------------------ changes
    def _unique_path(self, stem: str, folder: Path, exclude: Path | None = None) -> Path:
        candidate = folder / f"{stem}.h5"
        n = 2
        while (candidate.exists() or candidate.is_symlink()) and candidate.resolve() != exclude:
            candidate = folder / f"{stem}-{n}.h5"
            n += 1
        return candidate

    def _publish_new(self, folder: Path, stem: str, write: Callable[[Path], Any]) -> Path:
        """Write a new file in ``folder`` named after ``stem`` (``stem-2``, ... if taken); never
        replaces a file, even one that appears between choosing the name and writing.

        ``write(tmp)`` fills a temporary file beside it, which is then hard-linked to its name (a
        link fails if the name exists, unlike a rename) or, where links are not supported, moved
        there after one more check.
        """
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        try:
            write(tmp)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            for _attempt in range(1000):
                dest = self._unique_path(stem, folder)
                try:
                    os.link(tmp, dest)
                except FileExistsError:
                    continue                         # someone took the name meanwhile: next one
                except OSError:
                    if dest.exists():
                        continue
                    os.replace(tmp, dest)
                return dest
            raise LibraryError(f"Could not find a free file name for “{stem}” in {folder}.")
        finally:
            tmp.unlink(missing_ok=True)

    def import_file(self, path: str | os.PathLike) -> ModelEntry:
        """Open a model file and copy it into the user folder.

        The file is loaded first; a corrupt or foreign file raises the core's ``ModelFileError``
        and nothing changes. A file already in the library is not copied again.
        """
        src = Path(path).expanduser()
        try:
            st = os.stat(src)
        except OSError:
            raise _model_file_error()(f"{src}: no such file") from None
        if not stat.S_ISREG(st.st_mode):
            raise _model_file_error()(f"{src.name} is not a regular file (it is "
                                      f"{_file_kind(st.st_mode)}); choose a model file saved by "
                                      f"digitlab.")
        existing = self.get(src)
        if existing is not None and not existing.damaged:
            return existing
        model = _load_model(src)          # raises ModelFileError with the core's message
        dest = self._publish_new(self.user_dir(), safe_file_stem(src.stem),
                                 lambda tmp: shutil.copyfile(src, tmp))
        entry = self._read(dest.resolve(), USER)
        if not entry.damaged:
            try:
                model.path = entry.path
            except Exception:  # noqa: BLE001 - frozen dataclass or similar: keep the original attribute
                pass
            entry._model = model
        self._insert(entry)
        return entry

    def add_model(self, result: Any, name: str) -> ModelEntry:
        """Save a ``TrainResult`` or ``SavedModel`` under ``name`` into the user folder (a new file)."""
        name = self._check_name(name)
        dest = self._publish_new(self.user_dir(), safe_file_stem(name),
                                 lambda tmp: _save_model_into(tmp, result, name))
        entry = self._read(dest.resolve(), USER)
        self._insert(entry)
        return entry

    def rename(self, entry: ModelEntry | str, new_name: str) -> ModelEntry:
        """Give a user model a new name (stored in the file; the file is renamed to match)."""
        e = self._require(entry)
        if e.read_only:
            raise LibraryError(
                f"“{e.name}” ships with digitlab and is read-only; use “Save copy…” to make your "
                "own copy, then rename that."
            )
        if e.damaged:
            raise LibraryError(f"{e.path.name} is damaged and cannot be renamed ({e.damage}) "
                               "You can delete it.")
        new_name = self._check_name(new_name)
        if new_name == e.name:
            return e
        if any(o.name == new_name for o in self._entries if o is not e):
            raise LibraryError(f"There is already a model called “{new_name}”; choose another name.")
        self._check_on_disk(e, "rename")
        model = self._require(e).model    # raises ModelFileError (and marks it damaged) if unreadable
        stem = safe_file_stem(new_name)
        if self._unique_path(stem, e.path.parent, exclude=e.path) == e.path:
            # same file name: only the name inside changes, written over the model's own file
            _save_model_into(e.path, model, new_name)
            dest = e.path
        else:
            dest = self._publish_new(e.path.parent, stem,
                                     lambda tmp: _save_model_into(tmp, model, new_name))
            try:
                e.path.unlink()
            except FileNotFoundError:
                pass                              # gone meanwhile: the renamed copy is what is left
            except OSError as exc:
                dest.unlink(missing_ok=True)
                raise LibraryError(f"Could not rename {e.path.name}: {exc.strerror or exc}.") from exc
        new_entry = self._read(dest.resolve(), USER)
        if e in self._entries:
            self._entries.remove(e)
        self._insert(new_entry)
        return new_entry

    def delete(self, entry: ModelEntry | str) -> None:
        """Delete a user model's file (bundled models are read-only); damaged files too."""
        e = self._require(entry)
        if e.read_only:
            raise LibraryError(f"“{e.name}” ships with digitlab and is read-only; it cannot be deleted.")
        self._check_on_disk(e, "delete")
        try:
            e.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LibraryError(f"Could not delete {e.path}: {exc.strerror or exc}.") from exc
        if e in self._entries:
            self._entries.remove(e)
        self._notify()

    # ------------------------------------------------------------------ exporting (no change)
    def export_weights(self, entry: ModelEntry | str, path: str | os.PathLike, fmt: str | None = None,
                       *, overwrite: bool = False) -> Path:
        """Write the weights as .npz, CSV (a folder) or JSON via the core's ``export_weights``.

        ``fmt`` defaults to what the core infers from the name (``.npz``, ``.json``, a folder or
        ``.csv`` for CSV).
        ``overwrite`` lets a CSV export replace an existing folder (pass it only once the person
        agreed; single files are replaced atomically by the core).
        """
        from digitlab.io import export_weights

        e = self._require(entry)
        if e.damaged:
            raise LibraryError(f"{e.path.name} is damaged, so there are no weights to export: {e.damage}")
        dest = Path(path)
        if fmt is not None:
            fmt = fmt.lower().lstrip(".")
            if fmt not in EXPORT_FORMATS:
                raise LibraryError(f"Unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
        self._check_on_disk(e, "export")
        result = export_weights(e.model, dest, fmt, overwrite=overwrite)
        return Path(result) if isinstance(result, (str, os.PathLike)) else dest

    def save_copy(self, entry: ModelEntry | str, path: str | os.PathLike) -> Path:
        """Copy the model's .h5 file to ``path`` (atomically; the person chose ``path``, and the
        file dialog asked before replacing a file). Copies into the user folder join the library."""
        e = self._require(entry)
        if e.damaged:
            raise LibraryError(f"{e.path.name} is damaged, so it is not copied: {e.damage}")
        dest = Path(path).expanduser()
        if dest.suffix.lower() != ".h5":
            dest = dest.with_suffix(dest.suffix + ".h5") if dest.suffix else dest.with_suffix(".h5")
        if dest.resolve() == e.path:
            return dest
        self._check_on_disk(e, "copy")
        try:
            self._copy_atomic(e.path, dest)
        except FileNotFoundError:
            self.refresh()
            raise LibraryError(f"{e.path.name} is no longer in its folder (another program moved or "
                               "deleted it), so nothing was copied; the list has been refreshed.") from None
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

    def _check_on_disk(self, e: ModelEntry, doing: str) -> None:
        """Refuse (with the list refreshed) when the file vanished or changed since it was listed."""
        try:
            now = _stat_key(os.stat(e.path))
        except FileNotFoundError:
            self.refresh()
            raise LibraryError(f"{e.path.name} is no longer in its folder (another program moved or "
                               f"deleted it), so there is nothing to {doing}; the list has been "
                               "refreshed.") from None
        except OSError as exc:
            raise LibraryError(f"{e.path.name} cannot be reached ({exc.strerror or exc}); nothing "
                               "was changed.") from None
        if e.stat_key is not None and now != e.stat_key:
            self.refresh()
            raise LibraryError(f"{e.path.name} changed on disk since it was listed (another program "
                               f"wrote it), so it was not {_PAST.get(doing, doing)}; the list has "
                               "been refreshed: check it and try again.")

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


_PAST = {"rename": "renamed", "delete": "deleted", "export": "exported", "copy": "copied"}


def _save_model_into(path: Path, model: Any, name: str) -> None:
    """``save_model`` onto a path the library has reserved (a fresh temporary file, or the
    model's own file when only the name inside changes)."""
    from digitlab.io import save_model

    save_model(path, model, name=name)


def _reason(exc: BaseException) -> str:
    """Why a file cannot be used, in words: the core's sentence, or one made from a raw error."""
    if isinstance(exc, MemoryError):
        return "it claims more data than fits in memory; it is damaged or not a digitlab model."
    text = str(exc).strip()
    if isinstance(exc, OSError) and getattr(exc, "strerror", None):
        text = f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    return text or type(exc).__name__
