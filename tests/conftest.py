import os

# Offscreen unless the caller chose a platform (QT_QPA_PLATFORM=xcb under Xvfb still wins).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The test session is an entry point: the same process-wide settings as the app and the CLI, set
# before any test module imports NumPy or Qt (see digitlab/process.py). One BLAS thread gives
# stable timings and bit-reproducible runs; the refcount guard keeps PySide6 6.12 on Python 3.11
# from aborting a long session ("deallocating None").
from digitlab.process import install_refcount_guard, set_blas_threads  # noqa: E402

set_blas_threads()
install_refcount_guard()
