import os

# Offscreen unless the caller chose a platform (QT_QPA_PLATFORM=xcb under Xvfb still wins).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One BLAS thread: stable timings and bit-reproducible runs (see docs on PERFORMANCE).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# PySide6 6.12 on Python 3.11 leaks references to None/True on every Qt call; long test sessions
# would abort. The app protects itself the same way (see digitlab/pyside_refcount.py).
from digitlab.pyside_refcount import protect_singletons  # noqa: E402

protect_singletons()
