"""The log file: what digitlab loaded, trained and saved, and every error with its traceback.

A person who meets an error, in the window (no console on Windows) or on the command line, has a
file to send. The log lives in the user's data folder (:func:`digitlab.paths.user_data_dir`), in
``logs/``: ``digitlab-app.log`` for the window and ``digitlab-cli.log`` for the command line, each
rotating at :data:`MAX_BYTES` with :data:`BACKUP_COUNT` older files kept (``.log.1`` ... ``.log.5``).
One file per program because the window and a command often run at once, and a rotating file that
two processes write loses lines at rotation (and cannot rotate at all on Windows, where an open file
cannot be renamed).

Only the entry points call :func:`configure_logging` (``digitlab.app.main`` and
``digitlab.cli.main``), never an import: library modules log through
``logging.getLogger(__name__)`` and, with nothing configured, cost nothing and print nothing but
logging's own last resort (warnings on stderr). The test session sets ``DIGITLAB_LOG=off``
(tests/conftest.py) so tests write no log unless one asks. Imports neither NumPy nor Qt.

What reached the terminal before still does, once: warnings and errors go to stderr as logging's
last resort printed them (their message only). What the person has already seen (an error dialog,
the command line's own one-line error, a traceback printed by Python's own hook) is written to the
file only: :func:`log_shown`, or records marked ``extra=SHOWN``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import platform
import sys
import threading
from pathlib import Path

from digitlab import __version__, paths

__all__ = ["BACKUP_COUNT", "LOG_ENV", "MAX_BYTES", "SHOWN", "configure_logging", "log_dir", "log_file",
           "log_file_name", "log_shown", "stop_logging"]

log = logging.getLogger("digitlab")

#: ``DIGITLAB_LOG=off`` (or ``0``, ``no``, ``false``) writes no log file.
LOG_ENV = "DIGITLAB_LOG"
#: The size at which the log file rotates, and how many older files are kept: at most 6 MB in all.
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
#: ``extra=SHOWN`` on a record the person has already seen: the file gets it, the terminal does not.
SHOWN = {"shown": True}

_FORMAT = "%(asctime)s %(levelname)s %(name)s [pid %(process)d, %(threadName)s] %(message)s"
_OFF = ("0", "off", "no", "false")

_file_handler: logging.handlers.RotatingFileHandler | None = None
_terminal_handler: logging.Handler | None = None
_previous_level: int = logging.NOTSET
_previous_hooks: tuple | None = None


def log_dir() -> Path:
    """The folder of the log files: ``logs/`` in the user's data folder (created on demand)."""
    folder = paths.user_data_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_file_name(program: str) -> str:
    """The log file of ``program`` ("app" or "cli"): ``digitlab-app.log``, ``digitlab-cli.log``."""
    return f"digitlab-{program}.log"


def log_file() -> Path | None:
    """The file this process logs to; None when :func:`configure_logging` has not set one up."""
    return Path(_file_handler.baseFilename) if _file_handler is not None else None


def log_shown(logger: logging.Logger, level: int, msg: str, *args, exc_info=None) -> None:
    """Log what the person has just been shown (an error dialog, a one-line error on stderr).

    To the log file only: never a second time on the terminal, so nothing at all when there is no
    log file (logging's last resort would print it).
    """
    if _file_handler is not None:
        logger.log(level, msg, *args, exc_info=exc_info, extra=SHOWN)


class _Terminal(logging.Handler):
    """Warnings and errors on the current ``sys.stderr``, as logging's last resort printed them.

    The stream is looked up at every record (like the last resort), so a redirected stderr is
    followed; a process without one (``pythonw`` on Windows) prints nothing.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.addFilter(lambda record: not getattr(record, "shown", False))

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr
        if stream is None:
            return
        try:
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging's own rule: a failing handler reports, never raises
            self.handleError(record)


def _is_off() -> bool:
    return os.environ.get(LOG_ENV, "").strip().lower() in _OFF


def configure_logging(program: str, folder: Path | None = None) -> Path | None:
    """Set up this process's log file for ``program`` ("app" or "cli"); return its path.

    Once per process: a second call returns the file of the first. ``folder`` defaults to
    :func:`log_dir`. Logs INFO and above of the ``digitlab`` loggers, uncaught exceptions of every
    thread (``sys.excepthook`` and ``threading.excepthook``, each then handed on to the hook that
    was there before) and a first line saying what runs where. Returns None, and logs nowhere new,
    when ``DIGITLAB_LOG=off`` or when the folder cannot be made or written (a log must never stop
    digitlab from starting; the reason goes to stderr).
    """
    global _file_handler, _terminal_handler, _previous_level
    if _file_handler is not None:
        return log_file()
    if _is_off():
        return None
    try:
        folder = Path(folder) if folder is not None else log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / log_file_name(program), maxBytes=MAX_BYTES,
                                                       backupCount=BACKUP_COUNT, encoding="utf-8")
    except OSError as exc:
        log.warning("digitlab writes no log file this time: %s", exc)
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    _file_handler = handler
    _terminal_handler = _Terminal()
    _previous_level = log.level
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    log.addHandler(_terminal_handler)
    _install_hooks()
    log.info("digitlab %s (%s) started: Python %s on %s; data folder %s", __version__, program,
             platform.python_version(), platform.platform(), paths.user_data_dir())
    for note in paths.data_dir_notes():
        log.info("%s", note)
    return log_file()


def stop_logging() -> None:
    """Undo :func:`configure_logging`: close the file, restore the hooks (for tests that ask)."""
    global _file_handler, _terminal_handler, _previous_hooks
    if _previous_hooks is not None:
        sys.excepthook, threading.excepthook = _previous_hooks
        _previous_hooks = None
    for handler in (_file_handler, _terminal_handler):
        if handler is not None:
            log.removeHandler(handler)
            handler.close()
    if _file_handler is not None:
        log.setLevel(_previous_level)
    _file_handler = _terminal_handler = None


def _install_hooks() -> None:
    """Log every uncaught exception, in the main thread and in any other, then let the previous
    hook do what it did (print the traceback; a debugger's or a test runner's hook keeps working)."""
    global _previous_hooks
    previous_sys, previous_threading = sys.excepthook, threading.excepthook
    _previous_hooks = (previous_sys, previous_threading)

    def sys_hook(exc_type, exc, tb):
        if not issubclass(exc_type, KeyboardInterrupt):     # Ctrl+C is not an error to report
            log.critical("Uncaught exception", exc_info=(exc_type, exc, tb), extra=SHOWN)
        previous_sys(exc_type, exc, tb)

    def threading_hook(args):
        if not issubclass(args.exc_type, SystemExit):       # what the default hook ignores too
            name = args.thread.name if args.thread is not None else "a thread"
            log.critical("Uncaught exception in %s", name,
                         exc_info=(args.exc_type, args.exc_value, args.exc_traceback), extra=SHOWN)
        previous_threading(args)

    sys.excepthook = sys_hook
    threading.excepthook = threading_hook
