"""Keep an exception in a Qt event handler from taking the whole app down.

On Python 3.11 with PySide6 6.8-6.12, an exception raised by the interpreter itself inside an
overridden Qt virtual method (``paintEvent``, ``mouseMoveEvent``, ``resizeEvent``, ...) kills the
process with no traceback (see ../shared/docs/QT-NOTES.md). Every overridden event handler in
``digitlab.gui`` is therefore wrapped with :func:`guarded`::

    class Canvas(QWidget):
        @guarded
        def paintEvent(self, event): ...

        @guarded(default=False)          # handlers that must return a value
        def eventFilter(self, obj, event): ...

A second defect of the same PySide6 builds on Python 3.11 takes the app down just as surely:
every call of a Qt method that returns ``void`` drops one reference to ``None`` that it never
took, and every ``Signal.emit`` one to ``True``. That one is process-wide, so it is not handled
here but by :func:`digitlab.process.install_refcount_guard`, which the entry points call
(``digitlab.app.make_app``, ``digitlab.cli.main``, tests/conftest.py). Importing this module does
nothing but define what it offers.

A failing handler is caught, logged with its traceback (``logging``, logger ``digitlab.gui``),
reported to the person through :func:`report_error` and returns ``default`` instead of raising.

Reporting: the main window either calls :func:`set_error_hook` with a callable taking one string
(for example ``status_bar.showMessage``) or connects to ``error_reporter().error_occurred``. The
same failure repeating in a handler that runs many times a second (a paint event, a mouse move)
is reported once and then logged only at debug level until a different error happens, so the
status bar and the log are not flooded.
"""

from __future__ import annotations

import functools
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar, overload

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("digitlab.gui")

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "guarded",
    "call_guarded",
    "report_error",
    "set_error_hook",
    "error_reporter",
    "ErrorReporter",
    "last_error",
    "reset_reported",
]


class ErrorReporter(QObject):
    """Qt side of the error reporting: ``error_occurred(str)`` carries the one-line message."""

    error_occurred = Signal(str)


_reporter: ErrorReporter | None = None
_hook: Callable[[str], Any] | None = None
_lock = threading.Lock()
_last_key: tuple[str, str, str] | None = None
_last_message: str | None = None


def error_reporter() -> ErrorReporter:
    """The process-wide :class:`ErrorReporter` (created on first use, lives in the GUI thread)."""
    global _reporter
    if _reporter is None:
        _reporter = ErrorReporter()
    return _reporter


def set_error_hook(hook: Callable[[str], Any] | None) -> Callable[[str], Any] | None:
    """Set the callable that shows an error message to the person; returns the previous one.

    ``None`` removes it (errors are then only logged and emitted on ``error_occurred``).
    """
    global _hook
    previous, _hook = _hook, hook
    return previous


def last_error() -> str | None:
    """The message of the most recent reported error (``None`` if none yet); handy in tests."""
    return _last_message


def reset_reported() -> None:
    """Forget what was reported, so the next error is reported even if it repeats the last one."""
    global _last_key, _last_message
    with _lock:
        _last_key = None
        _last_message = None


def _describe(where: str, exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"Internal error in {where}: {name}: {text}" if text else f"Internal error in {where}: {name}"


def report_error(where: str, exc: BaseException) -> None:
    """Log ``exc`` with its traceback and show it once to the person.

    Never raises: a failing hook or signal is itself only logged.
    """
    global _last_key, _last_message
    key = (where, type(exc).__name__, str(exc))
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    with _lock:
        repeated = key == _last_key
        _last_key = key
    if repeated:
        log.debug("Repeated error in %s (already reported):\n%s", where, tb)
        return
    log.error("Exception caught in Qt handler %s (the app keeps running):\n%s", where, tb)
    message = _describe(where, exc)
    _last_message = message
    try:
        if _hook is not None:
            _hook(message)
    except Exception:  # the hook must not bring down what the guard protects
        log.exception("The error hook itself failed while reporting %r", message)
    try:
        error_reporter().error_occurred.emit(message)
    except Exception:
        log.exception("Could not emit error_occurred for %r", message)


def call_guarded(where: str, func: Callable[..., Any], *args: Any, default: Any = None, **kwargs: Any) -> Any:
    """Call ``func(*args, **kwargs)``; on an exception report it and return ``default``.

    For one-off places that are not methods, e.g. a lambda connected to a timer.
    """
    try:
        return func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the whole point is to catch everything
        report_error(where, exc)
        return default


@overload
def guarded(func: F) -> F: ...
@overload
def guarded(*, default: Any = None) -> Callable[[F], F]: ...


def guarded(func: Callable[..., Any] | None = None, *, default: Any = None):
    """Decorator for overridden Qt event handlers: catch, log, report, return ``default``.

    Usable bare (``@guarded``) or with a return value for handlers that must return one
    (``@guarded(default=False)`` for ``event`` / ``eventFilter``).
    """

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        where = getattr(f, "__qualname__", getattr(f, "__name__", repr(f)))

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return f(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                try:
                    report_error(where, exc)
                except Exception:  # pragma: no cover
                    pass  # report_error never raises; if it ever did, the handler must still return
                return default

        wrapper.__guarded__ = True  # type: ignore[attr-defined]
        return wrapper

    if func is not None:
        return decorate(func)
    return decorate
