"""Process-wide settings, applied by the entry points only; imports neither NumPy nor Qt.

Two things hold for a whole process and must be in place before the code that depends on them
starts, so the entry points (``digitlab.app.main``/``make_app``, ``digitlab.cli.main``, the worker
processes of experiments and sweeps, the test session in tests/conftest.py) call them first and
no other module does anything when imported:

* :func:`set_blas_threads`: one BLAS thread. OpenBLAS reads ``OPENBLAS_NUM_THREADS`` once, when
  NumPy loads, so this must run before anything imports NumPy; afterwards it would change nothing.
  These small matrices gain nothing from more threads, one thread gives bit-reproducible runs,
  and extra BLAS threads fighting the GUI thread for two cores made the draw-to-bars latency
  spike (p95 48 ms against 14 ms, benchmarks/draw_latency.py --blas-threads default).
* :func:`install_refcount_guard`: PySide6 6.12 (abi3 wheels) on Python 3.11 drops one reference to
  ``None`` on every call of a Qt method that returns ``void``, and one to ``True`` on every
  ``Signal.emit``. Python 3.11 starts with only a few thousand references to each, so after a few
  thousand Qt calls (a few seconds of drawing) the interpreter aborts with "Fatal Python error:
  none_dealloc: deallocating None". Python 3.12 made these singletons immortal; on 3.11 the guard
  gives them 2**40 extra references so the stray decrements can never reach zero. (The other
  Python 3.11 + PySide6 crash, an exception inside an overridden Qt event handler, is handled per
  handler by ``digitlab.gui.guard.guarded``; see shared/docs/QT-NOTES.md.)
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

__all__ = ["BLAS_THREAD_VARIABLES", "install_refcount_guard", "set_blas_threads", "worker_process_setup"]

log = logging.getLogger("digitlab")

#: The variables the BLAS builds NumPy may use read for their thread count (OpenBLAS, OpenMP, MKL).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

_BOOST = 1 << 40       # a million stray decrements a second would need 12 days to use it up
_guard_installed = False


def set_blas_threads(threads: int = 1) -> list[str]:
    """Give BLAS ``threads`` threads unless the environment already chose; returns what it set.

    Call it first in an entry point, before anything imports NumPy: the BLAS library reads these
    variables once, when NumPy loads. A value already in the environment (the person's choice, or
    inherited from the parent process) is kept. If NumPy is already loaded and a variable had to
    be set, the setting cannot take effect and a ``RuntimeWarning`` says so; the variable is still
    set, for the child processes this one starts.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_blas_threads: threads must be a whole number >= 1, got {threads!r}")
    changed = [name for name in BLAS_THREAD_VARIABLES if name not in os.environ]
    for name in changed:
        os.environ[name] = str(threads)
    if changed and "numpy" in sys.modules:
        warnings.warn(f"set_blas_threads() set {', '.join(changed)} after NumPy was imported, so BLAS "
                      f"keeps the thread count it started with; call it in the entry point before "
                      f"anything imports NumPy", RuntimeWarning, stacklevel=2)
    return changed


def install_refcount_guard() -> bool:
    """Make ``None``, ``True`` and ``False`` effectively immortal on CPython < 3.12, once per process.

    Call it in an entry point before heavy Qt use (see the module docstring for the PySide6
    defect). Returns True if this call protected them; later calls, Python 3.12+ (immortal
    objects) and other implementations do nothing and return False.
    """
    global _guard_installed
    if _guard_installed:
        return False
    _guard_installed = True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    import ctypes

    acted = False
    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))
        # check the layout first: ob_refcnt is the object's first field in a release build
        if abs(count.value - sys.getrefcount(obj)) > 16 and count.value < _BOOST // 2:
            log.warning("Unexpected object layout; not protecting %r's reference count", obj)
            continue
        if count.value < _BOOST // 2:
            count.value += _BOOST
            acted = True
    return acted


def worker_process_setup() -> None:
    """The entry point of a worker process (``training.process_pool``'s initializer).

    A spawned worker inherits its parent's environment, where the parent's entry point has already
    set the BLAS threads; this keeps a pool started from other code at one thread as well.
    Ctrl+C in a terminal reaches every process of the group: a worker leaves it to its parent,
    which stops the pool (training.experiments._Pool), rather than print a traceback of its own.
    """
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_blas_threads()
