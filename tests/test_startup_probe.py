"""The start-up probe benchmarks/startup.py relies on: stamps in order, then the app quits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_probe_stamps_first_paint_then_first_prediction_and_quits(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DIGITLAB_STARTUP_PROBE="1",
               DIGITLAB_HOME=str(tmp_path / "home"), DIGITLAB_SETTINGS=str(tmp_path / "settings.ini"))
    t0 = time.time()
    proc = subprocess.run([sys.executable, "main.py"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stamps = [line.split() for line in proc.stdout.splitlines() if line.startswith("startup-probe ")]
    assert [s[1] for s in stamps] == ["window-painted", "first-prediction"]
    painted, predicted = (float(s[2]) for s in stamps)
    assert t0 < painted <= predicted < time.time()

