import atexit
import os
import shutil
import tempfile

# Offscreen unless the caller chose a platform (QT_QPA_PLATFORM=xcb under Xvfb still wins).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# No test writes to the person's real data folder: the whole session (each xdist worker, and every
# process a test starts, which inherits the environment) has its own, removed at the end; the GUI
# tests give each test a fresh one on top (tests/gui/conftest.py). And no log file: the entry
# points called in-process (digitlab.cli.main) would otherwise log into it; a test that checks the
# log sets it up itself (digitlab.logs.configure_logging with a folder).
_session_home = tempfile.mkdtemp(prefix="digitlab-test-home-")
atexit.register(shutil.rmtree, _session_home, ignore_errors=True)
os.environ["DIGITLAB_HOME"] = _session_home
os.environ["DIGITLAB_LOG"] = "off"

# The test session is an entry point: the same process-wide settings as the app and the CLI, set
# before any test module imports NumPy or Qt (see digitlab/process.py). One BLAS thread gives
# stable timings and bit-reproducible runs; the refcount guard keeps PySide6 6.12 on Python 3.11
# from aborting a long session ("deallocating None").
from digitlab.process import install_refcount_guard, set_blas_threads  # noqa: E402

set_blas_threads()
install_refcount_guard()
