"""The model library: every model the app knows (bundled files, the person's files, finished runs
not saved yet), and what a person can do with them.

Plain Python (no Qt). The GUI listens through ``digitlab.gui.library_events`` (Qt signals), the
command line lists and finds models here (``digitlab models``, a model name instead of a path).

Two folders are scanned for ``*.h5`` files:

- ``digitlab.paths.bundled_models_dir()``: the models that ship with digitlab (read-only here:
  they cannot be renamed or deleted from the app; copy them first);
- ``digitlab.paths.user_models_dir()``: the person's own models (trained, imported, renamed).

Listing reads only each file's attributes (:func:`digitlab.io.read_model_info`, no arrays), so a
folder of strangers' files cannot exhaust memory; the whole model (:func:`digitlab.io.load_model`)
is loaded on first use (:meth:`ModelLibrary.load`, or an entry's ``model``) and kept.
A file that cannot be used stays listed as *damaged* with the reason in words (the core's
``ModelFileError`` message), can be deleted, and is never offered as a model: :meth:`entries`
holds the usable models only, :meth:`listing` every file. Anything that is not a regular file
(a FIFO, a device, a socket) is listed as damaged without being opened: opening a FIFO blocks.
Operations that fail leave the library exactly as it was, and never replace a file they did not
mean to: new files get a name nobody has (checked again at the moment of writing).

One entry per file: a file is known by its identity (device and inode), so opening a listed file
again, a bundled model, or a file whose bytes are already in the user folder returns the entry
that exists. An entry keeps its identity when its file is renamed, rescanned unchanged, or when an
unsaved run is saved, so the A/B pair and the views that hold it follow.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

from digitlab import paths
from digitlab.atomic import atomic_path
from digitlab.io import ModelFileError, SavedModel, export_weights, load_model, read_model_info, save_model
from digitlab.training import TrainResult

from .entry import BUNDLED, UNSAVED, USER, ModelEntry, ModelInfo, same_file

log = logging.getLogger("digitlab.library")

__all__ = ["ModelLibrary", "LibraryError", "DEFAULT_PAIR_NAMES", "EXPORT_FORMATS", "safe_file_stem"]

#: The Draw view compares these two by default: the pad networks, trained with augmentation for
#: drawn digits, without and with L2 (the report's pair where they are missing).
DEFAULT_PAIR_NAMES: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("pad", "report-no-l2", "report", "report-nol2", "report_no_l2"),
    ("pad-l2", "report-l2", "report_l2"),
)

EXPORT_FORMATS = ("npz", "csv", "json", "onnx")


class LibraryError(ValueError):
    """An operation on the library was refused; the message says why in words for a person."""


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
        self._runs: list[ModelEntry] = []             # finished runs not saved yet (no file)
        self._run_count = 0
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

    def add_listener(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` after every change. Bound methods are held weakly."""
        self._listeners.append(self._hold(callback))

    def add_damage_listener(self, callback: Callable[[ModelEntry], object]) -> None:
        """Call ``callback(entry)`` when loading a listed model on first use finds it damaged."""
        self._damage_listeners.append(self._hold(callback))

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
        self._name_entries()
        self._notifying = True
        try:
            for _round in range(4):
                self._notify_again = False
                self._listeners = self._call_all(self._listeners)
                if not self._notify_again:
                    break
        finally:
            self._notifying = False

    def _name_entries(self) -> None:
        """Give every entry a display name unique across the library.

        The person's models keep their name; a bundled model whose name one of theirs also has
        is "name (bundled)"; a run not saved yet is "name (unsaved)"; what is still the same gets
        "(2)", "(3)", ... in listing order."""
        everything = self.listing()
        names = [e.name for e in everything]
        users = {e.name for e in everything if e.source == USER}
        counts: dict[str, int] = {}
        for e, name in zip(everything, names):
            if e.source == BUNDLED and name in users and not e.damaged:
                name = f"{name} (bundled)"
            elif e.unsaved:
                name = f"{name} (unsaved)"
            counts[name] = counts.get(name, 0) + 1
            e.display_name = name if counts[name] == 1 else f"{name} ({counts[name]})"

    # ------------------------------------------------------------------ reading
    def refresh(self) -> list[tuple[Path, str]]:
        """Rescan both folders. Returns the files that cannot be used (path, reason).

        An unchanged file keeps its entry (the same object, with its loaded model), so whoever
        holds an entry keeps holding the library's entry."""
        before = {e.key: e for e in self._entries}
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
                old = before.get(str(rp))
                if old is not None and not old.damaged and old.source == source \
                        and old.stat_key == _current_stat_key(rp):
                    entries.append(old)             # unchanged file: the same entry, arrays kept
                    continue
                entries.append(self._read(rp, source))
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
            info = ModelInfo.from_file_info(read_model_info(path))
        except Exception as exc:  # noqa: BLE001 - one bad file must not hide or block the others
            log.warning("Model file %s cannot be used: %s", path, exc)
            return self._damaged_entry(path, source, _reason(exc), st=st)
        return ModelEntry(source, path=path, info=info, mtime=st.st_mtime,
                          stat_key=_stat_key(st), loader=self._load_entry)

    def _damaged_entry(self, path: Path, source: str, reason: str,
                       st: os.stat_result | None = None) -> ModelEntry:
        return ModelEntry(source, path=path, damage=reason,
                          mtime=st.st_mtime if st is not None else 0.0,
                          stat_key=_stat_key(st) if st is not None else None)

    def load(self, entry: ModelEntry | str) -> SavedModel:
        """The whole model of a listed file (network, history, ...), loaded once and kept.

        A file that turns out damaged (its arrays, though its attributes were fine) becomes a
        damaged entry, listeners hear of it, and the core's ``ModelFileError`` is raised with the
        reason in words.
        """
        return self._require(entry).model

    def _load_entry(self, e: ModelEntry) -> SavedModel:
        if e.damaged:
            raise ModelFileError(e.damage)
        if e._model is not None:
            return e._model
        try:
            model = load_model(e.path)
        except Exception as exc:  # noqa: BLE001 - includes MemoryError from a file that lies about sizes
            e.damage = _reason(exc)
            e.info = None
            e._model = None
            log.warning("Model file %s cannot be used: %s", e.path, exc)
            if e in self._entries:
                self._damage_listeners = self._call_all(self._damage_listeners, e)
                self._notify()
            raise ModelFileError(e.damage, detail=exc.detail if isinstance(exc, ModelFileError)
                                 else None) from None
        model.path = e.path
        e._model = model
        return model

    @property
    def errors(self) -> list[tuple[Path, str]]:
        """The listed files that cannot be used, with the reason in words."""
        return [(e.path, e.damage) for e in self._entries if e.damaged]

    def _usable(self) -> list[ModelEntry]:
        return [e for e in self._entries if not e.damaged] + list(self._runs)

    def entries(self) -> list[ModelEntry]:
        """The usable models: bundled first, then the person's, each sorted by file name, then the
        finished runs not saved yet."""
        return self._usable()

    def listing(self) -> list[ModelEntry]:
        """Every listed model, damaged files and unsaved runs included (the Models view shows them all)."""
        return list(self._entries) + list(self._runs)

    def __len__(self) -> int:
        return len(self._usable())

    def __iter__(self):
        return iter(self._usable())

    def names(self) -> list[str]:
        return [e.display_name for e in self._usable()]

    def get(self, key: str | os.PathLike | ModelEntry | None) -> ModelEntry | None:
        """Find an entry (damaged ones too): by entry, key or path (the same file however it is
        spelled), then by display name, name, or file stem; ``None`` if absent."""
        if key is None:
            return None
        everything = self.listing()
        if isinstance(key, ModelEntry):
            return key if key in everything else (self.get(key.path) if key.path else None)
        text = os.fspath(key) if isinstance(key, os.PathLike) else str(key)
        for e in everything:
            if e.key == text:
                return e
        by_path = self._by_file(Path(text))
        if by_path is not None:
            return by_path
        if isinstance(key, os.PathLike):
            return None
        for attr in ("display_name", "name"):
            for e in everything:
                if getattr(e, attr) == text:
                    return e
        for e in self._entries:
            if e.path is not None and e.path.stem == text:
                return e
        return None

    def _by_file(self, path: Path) -> ModelEntry | None:
        """The entry of the file at ``path`` (resolved, or the same device and inode), or None."""
        try:
            rp = path.expanduser().resolve()
        except (OSError, ValueError, RuntimeError):
            return None
        for e in self._entries:
            if e.path == rp:
                return e
        if not rp.exists():
            return None
        for e in self._entries:
            if same_file(e.path, rp):
                return e
        return None

    def _same_bytes(self, path: Path) -> ModelEntry | None:
        """A listed usable file with exactly the bytes of ``path`` (a file opened twice is copied
        once), or None."""
        try:
            size = os.stat(path).st_size
            data = None
            for e in self._entries:
                if e.damaged or e.stat_key is None or e.stat_key[1] != size:
                    continue
                if data is None:
                    data = path.read_bytes()
                if e.path.read_bytes() == data:
                    return e
        except OSError:
            return None
        return None

    def default_pair(self) -> tuple[ModelEntry | None, ModelEntry | None]:
        """The two models the Draw view compares by default.

        The unregularised and regularised pad networks (``pad`` and ``pad-l2``) when present, else
        the report's (``report-no-l2`` and ``report-l2``), else the first two models, else what
        there is.
        """
        def find(candidates: Iterable[str]) -> ModelEntry | None:
            for cand in candidates:
                for e in self._usable():
                    if (e.path is not None and e.path.stem == cand) or e.name == cand:
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

    def _publish_new(self, folder: Path, stem: str, write: Callable[[Path], object]) -> Path:
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
            raise ModelFileError(f"{src}: no such file") from None
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(f"{src.name} is not a regular file (it is "
                                      f"{_file_kind(st.st_mode)}); choose a model file saved by "
                                      f"digitlab.")
        existing = self._by_file(src) or self._same_bytes(src)
        if existing is not None and not existing.damaged:
            return existing
        model = load_model(src)          # raises ModelFileError with the core's message
        dest = self._publish_new(self.user_dir(), safe_file_stem(src.stem),
                                 lambda tmp: shutil.copyfile(src, tmp))
        entry = self._read(dest.resolve(), USER)
        if not entry.damaged:
            model.path = entry.path
            entry._model = model
        self._insert(entry)
        return entry

    def add_run(self, model: SavedModel) -> ModelEntry:
        """List a finished run that has no file yet (marked "unsaved"; it can be chosen, compared,
        exported and saved). The same run added twice is one entry."""
        for e in self._runs:
            if e.model is model or e.model.network is model.network:
                return e
        self._run_count += 1
        entry = ModelEntry(UNSAVED, info=ModelInfo.from_model(model), model=model,
                           key=f"unsaved:{self._run_count}")
        self._runs.append(entry)
        self._notify()
        return entry

    def saved_entry_of(self, model: SavedModel | TrainResult) -> ModelEntry | None:
        """The entry holding this run's network (an unsaved run or a file it was saved to), or None."""
        network = model.network
        for e in self._runs + self._entries:
            if e.loaded and e.model.network is network:
                return e
        return None

    def add_model(self, result: TrainResult | SavedModel, name: str) -> ModelEntry:
        """Save a ``TrainResult`` or ``SavedModel`` under ``name`` into the user folder (a new file).

        A run listed as unsaved becomes that file's entry (the same object, now saved), so a
        choice of it in the pair or a view follows it."""
        name = self._check_name(name)
        dest = self._publish_new(self.user_dir(), safe_file_stem(name),
                                 lambda tmp: _save_model_into(tmp, result, name))
        entry = self._read(dest.resolve(), USER)
        run = next((e for e in self._runs if e.model.network is result.network), None)
        if run is not None and not entry.damaged:
            self._runs.remove(run)
            model = run.model
            model.name, model.path = name, entry.path
            run.source, run.path, run.info = USER, entry.path, entry.info
            run.mtime, run.stat_key, run._loader = entry.mtime, entry.stat_key, self._load_entry
            entry = run
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
        if e.unsaved:
            return self.add_model(e.model, new_name)      # naming an unsaved run saves it
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
        fresh = self._read(dest.resolve(), USER)
        if e in self._entries:
            self._entries.remove(e)
        if not fresh.damaged:
            # the same entry, now named and filed anew: whoever holds it follows the rename
            model.name, model.path = new_name, fresh.path
            e.path, e.info, e.mtime, e.stat_key = fresh.path, fresh.info, fresh.mtime, fresh.stat_key
            fresh = e
        self._insert(fresh)
        return fresh

    def delete(self, entry: ModelEntry | str) -> None:
        """Delete a user model's file (bundled models are read-only); damaged files too."""
        e = self._require(entry)
        if e.read_only:
            raise LibraryError(f"“{e.name}” ships with digitlab and is read-only; it cannot be deleted.")
        if e.unsaved:                 # a run never saved: forgetting it is all there is to do
            self._runs.remove(e)
            self._notify()
            return
        self._check_on_disk(e, "delete")
        try:
            e.path.unlink()
        except FileNotFoundError:
            pass                      # already gone (deleted elsewhere): the entry goes all the same
        except OSError as exc:
            raise LibraryError(f"Could not delete {e.path}: {exc.strerror or exc}.") from exc
        if e in self._entries:
            self._entries.remove(e)
        self._notify()

    # ------------------------------------------------------------------ exporting (no change)
    def export_weights(self, entry: ModelEntry | str, path: str | os.PathLike, fmt: str | None = None,
                       *, overwrite: bool = False) -> Path:
        """Write the weights as .npz, CSV (a folder) or JSON, or the network as ONNX, via the core's
        ``export_weights`` (ONNX needs the onnx extra: ``MissingExtraError`` otherwise).

        ``fmt`` defaults to what the core infers from the name (``.npz``, ``.json``, ``.onnx``, a
        folder or ``.csv`` for CSV).
        ``overwrite`` lets a CSV export replace an existing folder (pass it only once the person
        agreed; single files are replaced atomically by the core).
        """
        e = self._require(entry)
        if e.damaged:
            raise LibraryError(f"{e.path.name} is damaged, so there are no weights to export: {e.damage}")
        dest = Path(path)
        if fmt is not None:
            fmt = fmt.lower().lstrip(".")
            if fmt not in EXPORT_FORMATS:
                raise LibraryError(f"Unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
        if not e.unsaved:
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
        if e.unsaved:
            save_model(dest, e.model)            # the person chose the path; the dialog asked
            self.refresh()
            return dest
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
        self._entries = [e for e in self._entries if e.path != entry.path and e is not entry]
        self._entries.append(entry)
        order = {BUNDLED: 0, USER: 1}
        self._entries.sort(key=lambda e: (order.get(e.source, 2), e.path.name.lower()))
        self._notify()


_PAST = {"rename": "renamed", "delete": "deleted", "export": "exported", "copy": "copied"}


def _save_model_into(path: Path, model: TrainResult | SavedModel, name: str) -> None:
    """``save_model`` onto a path the library has reserved (a fresh temporary file, or the
    model's own file when only the name inside changes)."""
    save_model(path, model, name=name)


def _current_stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        return _stat_key(os.stat(path))
    except OSError:
        return None


def _reason(exc: BaseException) -> str:
    """Why a file cannot be used, in words: the core's sentence, or one made from a raw error."""
    if isinstance(exc, MemoryError):
        return "it claims more data than fits in memory; it is damaged or not a digitlab model."
    text = str(exc).strip()
    if isinstance(exc, OSError) and getattr(exc, "strerror", None):
        text = f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    return text or type(exc).__name__
