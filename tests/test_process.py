"""Process-wide settings (digitlab/process.py) are applied by the entry points, and only by them."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from digitlab.process import (
    BLAS_THREAD_VARIABLES,
    install_refcount_guard,
    set_blas_threads,
)

ROOT = Path(__file__).resolve().parents[1]


def _run_fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter whose environment names no BLAS thread count."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    env.update(PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# Records the BLAS variables at the moment NumPy starts loading, then runs the `digitlab` console
# script's own call (pyproject: digitlab = "digitlab.cli:main").
_CLI_SCRIPT = f"""
import importlib.abc, json, os, sys
VARS = {BLAS_THREAD_VARIABLES!r}
seen = {{}}
class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and "numpy" not in seen:
            seen["numpy"] = {{v: os.environ.get(v) for v in VARS}}
        return None
sys.meta_path.insert(0, Spy())
from digitlab.cli import main
numpy_before_main = "numpy" in sys.modules
status = main(["data", "info"])
print(json.dumps({{"status": status, "numpy_before_main": numpy_before_main, "seen": seen}}))
"""


def test_the_cli_sets_one_blas_thread_before_numpy_loads():
    result = _run_fresh(_CLI_SCRIPT)
    assert result["status"] == 0
    assert result["numpy_before_main"] is False          # importing the CLI loads no NumPy
    assert result["seen"]["numpy"] == {name: "1" for name in BLAS_THREAD_VARIABLES}


_IMPORT_SCRIPT = f"""
import importlib, json, os, pkgutil, sys
import digitlab, digitlab.gui, digitlab.reports
VARS = {BLAS_THREAD_VARIABLES!r}
env_before = {{v: os.environ.get(v) for v in VARS}}
names = sorted({{m.name for pkg in (digitlab, digitlab.gui, digitlab.reports)
                for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + ".")}})
for name in names:
    importlib.import_module(name)
print(json.dumps({{"env_before": env_before, "env_after": {{v: os.environ.get(v) for v in VARS}},
                  "none_refs": sys.getrefcount(None), "imported": names}}))
"""


def test_importing_digitlab_gui_and_reports_modules_sets_nothing():
    """No import side effects: no BLAS variable, no refcount guard, until an entry point runs."""
    result = _run_fresh(_IMPORT_SCRIPT)
    for name in ("digitlab.gui.main_window", "digitlab.reports.figures", "digitlab.app", "digitlab.cli"):
        assert name in result["imported"]
    assert result["env_before"] == result["env_after"] == {name: None for name in BLAS_THREAD_VARIABLES}
    assert result["none_refs"] < 1 << 39          # the guard would have added 2**40


def test_set_blas_threads_keeps_a_chosen_value(monkeypatch):
    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.setenv(name, "3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # nothing to set, so nothing to warn about
        assert set_blas_threads() == []
    assert [os.environ[name] for name in BLAS_THREAD_VARIABLES] == ["3", "3", "3"]


def test_set_blas_threads_after_numpy_says_it_is_too_late(monkeypatch):
    import numpy  # noqa: F401  (loaded, as in a session that has run other tests)

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with pytest.warns(RuntimeWarning, match="after NumPy was imported"):
        assert set_blas_threads() == ["OPENBLAS_NUM_THREADS"]
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"   # still set, for child processes


@pytest.mark.parametrize("threads", [0, -1, 1.5, "1", True])
def test_set_blas_threads_refuses_a_bad_count(threads):
    with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
        set_blas_threads(threads)


def test_a_worker_process_is_an_entry_point(monkeypatch):
    """process_pool's workers set the BLAS threads themselves, even if the parent did not."""
    from digitlab.training import process_pool

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with process_pool(1) as pool:
        assert pool.submit(os.getenv, "OPENBLAS_NUM_THREADS").result(timeout=120) == "1"
    assert "OPENBLAS_NUM_THREADS" not in os.environ   # set in the worker, not in this process


def test_install_refcount_guard_acts_once_per_process():
    """The test session installed it (conftest.py); a second call changes nothing."""
    before = sys.getrefcount(None)
    assert install_refcount_guard() is False
    assert abs(sys.getrefcount(None) - before) < 1000


@pytest.mark.skipif(sys.implementation.name != "cpython" or sys.version_info >= (3, 12),
                    reason="None, True and False are immortal from Python 3.12 on")
def test_install_refcount_guard_protects_the_singletons_in_a_fresh_process():
    result = _run_fresh("import json, sys\n"
                        "from digitlab.process import install_refcount_guard\n"
                        "before = sys.getrefcount(None)\n"
                        "first, second = install_refcount_guard(), install_refcount_guard()\n"
                        "print(json.dumps([before, first, second, sys.getrefcount(None), "
                        "sys.getrefcount(True), sys.getrefcount(False)]))")
    before, first, second, none_refs, true_refs, false_refs = result
    assert before < 1 << 39 and first is True and second is False
    assert min(none_refs, true_refs, false_refs) >= 1 << 40
