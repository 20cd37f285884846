import os

# Offscreen unless the caller chose a platform (QT_QPA_PLATFORM=xcb under Xvfb still wins).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One BLAS thread: stable timings and bit-reproducible runs (see docs on PERFORMANCE).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
