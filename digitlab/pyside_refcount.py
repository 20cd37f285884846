"""A guard against a PySide6 defect on Python 3.11 that aborts the process; imports no Qt.

PySide6 6.12 (abi3 wheels) on Python 3.11 drops one reference to ``None`` on every call of a Qt
method that returns ``void``, and one to ``True`` on every ``Signal.emit``. Python 3.11 starts with
only a few thousand references to each, so after a few thousand Qt calls the interpreter aborts
with "Fatal Python error: none_dealloc: deallocating None". Python 3.12 made these singletons
immortal. :func:`protect_singletons` gives them 2**40 extra references on 3.11.

It lives outside ``digitlab.gui`` because ``digitlab.reports`` renders figures with Qt too and
must not import the GUI; both call it before heavy Qt use.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("digitlab")

_BOOST = 1 << 40       # a million stray decrements a second would need 12 days to use it up


def protect_singletons() -> bool:
    """Make ``None``, ``True`` and ``False`` effectively immortal on CPython < 3.12.

    Works around PySide6 6.12 (abi3 wheels) dropping a reference to ``None`` on every call of a
    ``void`` Qt method and to ``True`` on every ``Signal.emit`` when run on Python 3.11, which
    otherwise aborts the process after a few thousand calls. Returns True if it acted. Safe to
    call repeatedly; a no-op on Python 3.12+ (immortal objects) and on other implementations.
    """
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


