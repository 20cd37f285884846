"""Writes that never destroy: outputs are checked first, written beside their target and moved into
place in one step, so that at every instant the target holds the complete old or the complete new
content, never a mix and never nothing.

The rules every writer in digitlab follows through this module:

* an output is never one of the command's inputs (:func:`check_output`);
* an existing output is replaced only when the caller says so (``replace=True``, from ``--force``);
  otherwise the final move is a no-replace move, so two writers racing for one name cannot both
  succeed (the loser gets :class:`OutputExistsError`);
* symbolic links, devices, FIFOs and sockets are refused as outputs (writing "through" them would
  clobber something else, e.g. ``/dev/null`` when run as root);
* a file is written with ordinary Python file I/O, flushed and fsynced before the rename, so a full
  disk or a file size limit is a clean :class:`OutputError` and not a crash; a replaced file keeps
  its permissions;
* a folder is replaced by swapping it with a complete staged folder (``renameat2(RENAME_EXCHANGE)``
  on Linux; two renames plus recovery elsewhere), and what a killed process leaves behind is cleaned
  or restored by the next writer (:func:`clean_leftovers`);
* :func:`output_lock` keeps two processes from working on the same output for a whole command.

Temporary names are ``.{name}.{pid}.{random}.tmp`` (and ``.old`` for the fallback swap): the pid
lets a later run tell the leftovers of a dead process from the work of a live one.

Setting ``DIGITLAB_NO_RENAMEAT2=1`` forces the portable two-rename swap (used by the tests, and an
escape hatch for a file system whose renameat2 misbehaves).

Standard library only; never imports Qt.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import re
import secrets
import shutil
import stat
import sys
import time
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:          # Windows
    fcntl = None

__all__ = ["OutputError", "OutputExistsError", "OutputPermissionError", "check_output",
           "write_bytes_atomic", "write_text_atomic", "atomic_path", "staging_folder",
           "replace_folder", "atomic_folder", "clean_leftovers", "output_lock", "output_error"]


# ---------------------------------------------------------------------------- errors
class OutputError(OSError):
    """An output that cannot be written; ``str()`` is a full sentence saying what to do."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)       # one argument, so str() is the sentence alone
        self.errno = errno


class OutputExistsError(OutputError, FileExistsError):
    """The output exists and replacing it was not allowed."""


class OutputPermissionError(OutputError, PermissionError):
    """The output's folder or file may not be written (EACCES / EPERM)."""


# errno -> (what went wrong, what to do)
_WORDS = {
    _errno.ENOSPC: ("the disk is full", "free some space or choose another place"),
    _errno.EDQUOT: ("your disk quota is used up", "free some space or choose another place"),
    _errno.EFBIG: ("the file is larger than the file size limit allows",
                   "raise the limit (ulimit -f) or choose another place"),
    _errno.EROFS: ("the folder is on a read-only file system", "choose a writable place"),
    _errno.EACCES: ("permission was denied",
                    "choose a folder you can write to, or change its permissions"),
    _errno.EPERM: ("the operation is not permitted",
                   "choose a folder you can write to, or change its permissions"),
    _errno.ENOENT: ("a folder on the way does not exist", "check the path"),
    _errno.ENOTDIR: ("part of the path is a file, not a folder", "check the path"),
    _errno.EISDIR: ("it is a folder", "choose a file name"),
    _errno.ENAMETOOLONG: ("the name is too long", "choose a shorter name"),
    _errno.EIO: ("the disk or its connection failed (input/output error)",
                 "check the disk and try again, or choose another place"),
    _errno.EMFILE: ("too many files are open", "close some programs and try again"),
    _errno.ENFILE: ("too many files are open", "close some programs and try again"),
}


def output_error(path, exc: OSError, doing: str = "write") -> OutputError:
    """``exc`` (an OSError while writing ``path``) as an :class:`OutputError` in words.

    An OutputError is returned as it is. The system's own text stays in brackets, so nothing is
    lost. Use as ``raise output_error(path, exc) from exc``.
    """
    if isinstance(exc, OutputError):
        return exc
    code = exc.errno
    detail = exc.strerror or str(exc) or type(exc).__name__
    what, advice = _WORDS.get(code, (None, "check the path and try again, or choose another place"))
    message = (f"cannot {doing} {path}: {what} ({detail}); {advice}" if what
               else f"cannot {doing} {path}: {detail}; {advice}")
    cls = OutputPermissionError if code in (_errno.EACCES, _errno.EPERM) else OutputError
    return cls(message, code)


# ---------------------------------------------------------------------------- names
_NEW = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<rand>[0-9a-f]{8})\.(?P<kind>tmp|old)$")
# What earlier versions left: mkstemp/mkdtemp names without a pid, and the report's ``.old-PID-TIME``.
_LEGACY = (re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.(?P<kind>tmp|old)$"),
           re.compile(r"^\.(?P<name>.+)\.(?P<kind>old)-\d+-\d+$"))
_LEGACY_AGE = 3600.0          # legacy names carry no pid: only this old are they surely abandoned
_LOCK = re.compile(r"^\.(?P<name>.+)\.lock$")


def _temp_name(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}")


def _folder_of(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # exists, owned by someone else
        return True
    except OSError:                 # Windows: no such process
        return False
    return True


# ---------------------------------------------------------------------------- checks
def _kind_of(mode: int) -> str | None:
    """Words for a file type that is never an output; None for files and folders."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def _lstat(path: Path):
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):      # the folder check says which part is wrong
        return None
    except OSError as exc:
        raise output_error(path, exc) from exc


def _check_target(path: Path, *, replace: bool, folder: bool):
    """The rules about what is at ``path`` itself; returns its lstat (None when absent)."""
    st = _lstat(path)
    if st is None:
        return None
    special = _kind_of(st.st_mode)
    if special:
        extra = ""
        if stat.S_ISLNK(st.st_mode):
            try:
                extra = f" to {os.readlink(path)}"
            except OSError:
                pass            # the link's target only adds detail to the refusal
        raise OutputError(f"cannot write {path}: it is {special}{extra}, and digitlab writes only "
                          f"plain files and folders; choose another name")
    if folder and not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write the folder {path}: it is a file, not a folder; "
                          f"choose a folder name")
    if not folder and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {path}: it is a folder; choose a file name")
    if not replace:
        raise OutputExistsError(f"cannot write {path}: it already exists; choose another name "
                                f"or add --force to replace it")
    return st


def _probe(folder: Path, name: str) -> None:
    """Create and remove a temp file in ``folder``: catches read-only file systems, which an
    access() check does not."""
    probe = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise output_error(folder / name, exc) from exc
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass                    # the folder is writable, which is what was asked; a stray probe is
                                # tidied later


def check_output(path, *, replace: bool, inputs=(), folder: bool = False) -> Path:
    """Validate an output path before any work is done; return it as a Path.

    Raises :class:`OutputError` (with a sentence saying what to do) when ``path`` is one of
    ``inputs`` (same file, or same resolved path; for a folder output also an input inside it),
    a symbolic link, device, FIFO or socket, a folder where a file is wanted (or the reverse),
    when its folder cannot be created or written (a temp file is really created and removed, so a
    read-only file system is caught), and :class:`OutputExistsError` when it exists and
    ``replace`` is false.
    """
    path = Path(path)
    resolved = path.resolve()
    for item in inputs:
        item = Path(item)
        same = resolved == item.resolve()
        if not same and os.path.lexists(path) and os.path.exists(item):
            try:
                same = os.path.samefile(path, item)
            except OSError:
                same = False
        if same:
            raise OutputError(f"cannot write {path}: it is also an input ({item}), and writing it "
                              f"would destroy that input; choose another name for the output")
        if folder and resolved in item.resolve().parents:
            raise OutputError(f"cannot write the folder {path}: it holds the input {item}, which "
                              f"replacing the folder would destroy; choose another folder")
    _check_target(path, replace=replace, folder=folder)

    parent = _folder_of(path)
    existing = parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {path}: {existing} is a file, not a folder; "
                          f"choose another place")
    _probe(existing, path.name)
    return path


# ---------------------------------------------------------------------------- moves
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
# renameat2 system call numbers, for C libraries without the wrapper (glibc < 2.28)
_SYSCALL = {"x86_64": 316, "amd64": 316, "aarch64": 276, "arm64": 276, "riscv64": 276,
            "i386": 353, "i686": 353, "armv7l": 382, "ppc64le": 357, "ppc64": 357, "s390x": 347}
_renameat2_fn = None
_renameat2_ok = sys.platform.startswith("linux") and not os.environ.get("DIGITLAB_NO_RENAMEAT2")


def _renameat2(src, dst, flags: int) -> bool:
    """rename with flags; False when the kernel, C library or file system cannot do it."""
    global _renameat2_fn, _renameat2_ok
    if not _renameat2_ok:
        return False
    if _renameat2_fn is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if hasattr(libc, "renameat2"):
                fn = libc.renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                               ctypes.c_uint]

                def via_libc(a, b, f):
                    return fn(_AT_FDCWD, a, _AT_FDCWD, b, f)
                _renameat2_fn = via_libc
            else:
                nr = _SYSCALL[os.uname().machine]
                sc = libc.syscall

                def via_syscall(a, b, f):
                    return sc(ctypes.c_long(nr), ctypes.c_int(_AT_FDCWD), ctypes.c_char_p(a),
                              ctypes.c_int(_AT_FDCWD), ctypes.c_char_p(b), ctypes.c_uint(f))
                _renameat2_fn = via_syscall
        except (OSError, KeyError, AttributeError):
            _renameat2_ok = False
            return False
    if _renameat2_fn(os.fsencode(src), os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (_errno.ENOSYS, _errno.EINVAL, _errno.ENOTSUP, _errno.EOPNOTSUPP):
        return False            # not supported here (old kernel, or e.g. some network/FUSE fs)
    raise OSError(code, os.strerror(code), str(src), None, str(dst))


def _move_noreplace(src: Path, dst: Path, *, is_dir: bool) -> None:
    """Move ``src`` to ``dst``; FileExistsError if ``dst`` exists, even if it appears meanwhile."""
    if _renameat2(src, dst, _RENAME_NOREPLACE):
        return
    if not is_dir:
        try:
            os.link(src, dst)                   # fails with EEXIST, atomically
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (_errno.EPERM, _errno.ENOTSUP, _errno.EOPNOTSUPP, _errno.EXDEV,
                                 _errno.EMLINK, _errno.ENOSYS):
                raise
        else:
            os.unlink(src)
            return
    # No atomic no-replace move here: check, then rename. os.rename refuses a non-empty folder
    # and (on POSIX) replaces a file or empty folder, so a tiny window remains on such systems.
    if os.path.lexists(dst):
        raise FileExistsError(_errno.EEXIST, os.strerror(_errno.EEXIST), str(dst))
    os.rename(src, dst)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable; best effort (not possible on Windows, refused by some file systems)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass                    # some file systems cannot fsync a folder; the rename is done all the same
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _keep_owner_and_mode(tmp: Path, old) -> None:
    """Give the new file the replaced file's permissions (and owner, when allowed)."""
    if old is None:
        os.chmod(tmp, 0o666 & ~_umask())
        return
    if hasattr(os, "chown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(tmp, old.st_uid, old.st_gid)
        except OSError:
            pass                # not root: the file becomes ours, as any rewrite would
    os.chmod(tmp, stat.S_IMODE(old.st_mode) & 0o1777)     # never carry set-id bits to new content


def _finish_file(tmp: Path, path: Path, *, replace: bool) -> None:
    """Move the complete ``tmp`` to ``path`` under the replace rule; keep permissions."""
    old = _check_target(path, replace=replace, folder=False)
    _keep_owner_and_mode(tmp, old)
    if replace:
        os.replace(tmp, path)
    else:
        try:
            _move_noreplace(tmp, path, is_dir=False)
        except FileExistsError:
            raise OutputExistsError(f"cannot write {path}: a file of that name appeared while this "
                                    f"was being written (another process?); the new output was "
                                    f"not saved; choose another name or add --force to replace it"
                                    ) from None
    _fsync_folder(_folder_of(path))


def _prepare_folder(path: Path) -> Path:
    folder = _folder_of(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc) from exc
    try:
        clean_leftovers(folder, path.name)
    except OSError:
        pass                    # tidying up must never stop a write
    return folder


# ---------------------------------------------------------------------------- files
def write_bytes_atomic(path, data: bytes, *, replace: bool = True) -> Path:
    """Write ``data`` to ``path`` so that ``path`` is either untouched or complete; return it.

    A temp file ``.{name}.{pid}.{random}.tmp`` beside ``path`` is written, flushed and fsynced, given
    the replaced file's permissions (else ``0o666 & ~umask``) and renamed into place: with
    ``os.replace`` when ``replace``, else with a no-replace move, so an output that appears
    meanwhile is kept and :class:`OutputExistsError` raised. Any OSError (full disk, quota, file size
    limit, read-only or forbidden folder, ...) becomes an :class:`OutputError` in words and the
    temp file is removed. Symbolic links, devices, FIFOs and sockets are refused.
    """
    path = Path(path)
    _check_target(path, replace=replace, folder=False)
    _prepare_folder(path)
    tmp = _temp_name(path, "tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with open(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _finish_file(tmp, path, replace=replace)
    except OSError as exc:
        _remove(tmp)
        raise output_error(path, exc) from exc
    except BaseException:
        _remove(tmp)
        raise
    return path


def write_text_atomic(path, text: str, *, replace: bool = True) -> Path:
    """:func:`write_bytes_atomic` of ``text`` in UTF-8."""
    return write_bytes_atomic(path, text.encode("utf-8"), replace=replace)


@contextmanager
def atomic_path(path, *, replace: bool = True):
    """Yield a temp path beside ``path`` for a writer that needs a file name (``np.savez``,
    ``shutil.copyfile``); when the block succeeds it is fsynced and moved over ``path`` with the same
    rules and errors as :func:`write_bytes_atomic`.

    If the block raises, the temp file is removed; an OSError with an error number (a real I/O
    failure) comes out as an :class:`OutputError` in words, anything else unchanged.
    """
    path = Path(path)
    _check_target(path, replace=replace, folder=False)
    _prepare_folder(path)
    tmp = _temp_name(path, "tmp")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise output_error(path, exc) from exc
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _finish_file(tmp, path, replace=replace)
    except OSError as exc:
        full = exc.errno is None and _disk_full(tmp)
        _remove(tmp)
        if full:
            raise output_error(path, OSError(_errno.ENOSPC, f"{os.strerror(_errno.ENOSPC)}: {exc}")) from exc
        if exc.errno is None:
            raise
        raise output_error(path, exc) from exc
    except BaseException:
        _remove(tmp)
        raise


def _disk_full(path: Path) -> bool:
    """Whether the disk holding ``path`` is (nearly) full. Some writers (NumPy's ``tofile``) report
    a short write as an OSError without an error number; this tells a full disk from other causes."""
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


# ---------------------------------------------------------------------------- folders
def staging_folder(target) -> Path:
    """A new empty folder ``.{name}.{pid}.{random}.tmp`` beside ``target``, to fill and then hand
    to :func:`replace_folder`. Cleans leftovers of dead processes for the same name first."""
    target = Path(target)
    _prepare_folder(target)
    staged = _temp_name(target, "tmp")
    try:
        os.mkdir(staged, 0o777)           # the umask applies, as for any new folder
    except OSError as exc:
        raise output_error(target, exc) from exc
    return staged


def replace_folder(staged, target, *, replace: bool) -> Path:
    """Move the complete folder ``staged`` to ``target``; return ``target``.

    Absent target: a no-replace rename (a folder that appeared meanwhile, even an empty one, gives
    :class:`OutputExistsError`). Existing target with ``replace``: on Linux one
    ``renameat2(RENAME_EXCHANGE)`` swaps the two, so either the old or the new folder is at the
    name at every instant; the old one, now under the staged name, is then removed. Elsewhere (or
    where the file system cannot exchange): target -> ``.{name}.{pid}.{random}.old``, staged ->
    target, old removed; a process killed between the two renames leaves the ``.old``, which
    :func:`clean_leftovers` puts back. The new folder keeps the replaced folder's permissions.

    On failure ``staged`` is left for the caller to remove (see :func:`atomic_folder`).
    """
    staged, target = Path(staged), Path(target)
    parent = _folder_of(target)
    try:
        old = _check_target(target, replace=replace, folder=True)
        if old is None:
            try:
                _move_noreplace(staged, target, is_dir=True)
            except (FileExistsError, IsADirectoryError) as exc:
                raise OutputExistsError(
                    f"cannot write the folder {target}: a folder of that name appeared while this "
                    f"was being written (another process?); the new output was not saved; choose "
                    f"another name or add --force to replace it") from exc
            except OSError as exc:
                if exc.errno != _errno.ENOTEMPTY:
                    raise
                raise OutputExistsError(
                    f"cannot write the folder {target}: a folder of that name appeared while this "
                    f"was being written (another process?); the new output was not saved; choose "
                    f"another name or add --force to replace it") from exc
            _fsync_folder(parent)
            return target
        os.chmod(staged, stat.S_IMODE(old.st_mode))
        if _renameat2(staged, target, _RENAME_EXCHANGE):
            _fsync_folder(parent)
            _remove(staged)                 # the old folder, now under the staged name
            return target
        aside = _temp_name(target, "old")
        os.rename(target, aside)
        try:
            _move_noreplace(staged, target, is_dir=True)
        except BaseException:
            try:
                os.rename(aside, target)    # put the old folder back
            except OSError:
                pass                        # clean_leftovers restores it on the next run
            raise
        _fsync_folder(parent)
        _remove(aside)
        return target
    except OSError as exc:
        raise output_error(target, exc) from exc


@contextmanager
def atomic_folder(target, *, replace: bool):
    """Yield a staging folder for ``target``; when the block succeeds, :func:`replace_folder` it.

    On any failure the staging folder is removed; OSErrors with an error number come out as
    :class:`OutputError` in words.
    """
    target = Path(target)
    staged = staging_folder(target)
    try:
        yield staged
        replace_folder(staged, target, replace=replace)
    except OSError as exc:
        full = exc.errno is None and not isinstance(exc, OutputError) and _disk_full(staged)
        _remove(staged)
        if full:
            raise output_error(target, OSError(_errno.ENOSPC,
                                               f"{os.strerror(_errno.ENOSPC)}: {exc}")) from exc
        if exc.errno is None or isinstance(exc, OutputError):
            raise
        raise output_error(target, exc) from exc
    except BaseException:
        _remove(staged)
        raise


# ---------------------------------------------------------------------------- leftovers
def _remove(path: Path) -> None:
    """Remove a file or folder (never following a link); ignore what cannot be removed."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass                # gone already, or not ours to remove: a leftover, never the output


def _drop_lock_file(lock: Path) -> bool:
    """Remove an unused lock file: only if nobody holds it (holders re-check the inode)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    try:
        os.unlink(lock)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_leftovers(folder, name: str | None = None) -> list[Path]:
    """Tidy ``folder`` after processes that died mid-write; return the paths removed or restored.

    ``.X.PID.RAND.tmp`` / ``.X.PID.RAND.old`` files and folders whose PID is no longer running are
    removed, except that an ``.old`` whose ``X`` is missing is renamed back to ``X`` (a folder swap
    interrupted between its two renames). A live process's work is never touched. Names earlier
    versions left (``.X.abcd1234.tmp``, ``.X.abcd1234.old``, ``.X.old-PID-TIME``) carry no usable
    pid and count only when older than an hour. Unused ``.X.lock`` files are removed too. Only
    names for ``X == name`` when ``name`` is given.
    """
    folder = Path(folder)
    done = []
    now = time.time()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return done
    for entry in entries:
        if not entry.name.startswith("."):
            continue
        m = _NEW.match(entry.name)
        if m:
            if _pid_alive(int(m["pid"])):
                continue
        else:
            m = next((r.match(entry.name) for r in _LEGACY if r.match(entry.name)), None)
            if m is None:
                lock = _LOCK.match(entry.name)
                if lock and (name is None or lock["name"] == name) and _drop_lock_file(Path(entry.path)):
                    done.append(Path(entry.path))
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < _LEGACY_AGE:
                    continue
            except OSError:
                continue
        if name is not None and m["name"] != name:
            continue
        path = Path(entry.path)
        original = folder / m["name"]
        if m["kind"] == "old" and not os.path.lexists(original):
            try:
                _move_noreplace(path, original, is_dir=entry.is_dir(follow_symlinks=False))
                done.append(path)
                continue
            except OSError:
                pass            # something took the name meanwhile: then the .old is garbage
            if os.path.lexists(original):
                _remove(path)
                done.append(path)
            continue
        _remove(path)
        if not os.path.lexists(path):
            done.append(path)
    return done


# ---------------------------------------------------------------------------- locks
def _busy(path: Path) -> OutputError:
    return OutputError(f"another digitlab process is writing {path} right now; wait for it to "
                       f"finish or choose another output")


@contextmanager
def output_lock(path):
    """Hold an exclusive lock for writing ``path`` for the whole block (e.g. a training run).

    A second process (or a second lock in this one) gets :class:`OutputError` at once instead of
    waiting. ``fcntl.flock`` on ``.{name}.lock`` beside ``path``, removed on release; the kernel
    drops the lock if the process dies, and a stale file is simply taken over. Without fcntl
    (Windows) an ``O_EXCL`` lock file holding the pid, taken over when that pid is dead.
    """
    path = Path(path)
    folder = _folder_of(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc, "lock") from exc
    lock = folder / f".{path.name}.lock"
    if fcntl is None:
        with _pid_file_lock(path, lock):
            yield path
        return
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise output_error(path, exc, "lock") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _busy(path) from None
        except OSError as exc:
            os.close(fd)
            raise output_error(path, exc, "lock") from exc
        # The previous holder may have unlinked the file between our open and our flock: then
        # we hold a lock on a file nobody else can find, and must start again.
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        pass                    # the pid is only for people looking; the lock is the flock
    try:
        yield path
    finally:
        try:
            os.unlink(lock)     # while still holding it, so a waiter re-checks and retries
        except OSError:
            pass                # already removed: the flock is released with the descriptor below
        os.close(fd)


@contextmanager
def _pid_file_lock(path: Path, lock: Path):
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                raise _busy(path) from None
            if not pid:
                try:           # just created by someone who has not written the pid yet?
                    if time.time() - lock.stat().st_mtime < 5:
                        raise _busy(path) from None
                except FileNotFoundError:
                    continue
            try:
                os.unlink(lock)
            except OSError:
                pass  # best effort: a lock file left behind is harmless, the kernel lock is gone
            continue
        except OSError as exc:
            raise output_error(path, exc, "lock") from exc
        with open(fd, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        try:
            yield path
        finally:
            try:
                os.unlink(lock)
            except OSError:
                pass  # best effort: a lock file left behind is harmless, the kernel lock is gone
        return
    raise _busy(path)
