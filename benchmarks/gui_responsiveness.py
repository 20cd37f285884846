"""How long does the GUI event loop stall while the Train view trains? (issue: never > 50 ms)

    python benchmarks/gui_responsiveness.py [--seconds 5] [--interval 5]

Opens the Train view at 1280x800 (offscreen unless QT_QPA_PLATFORM says otherwise), measures the
idle event loop for a second, then starts the report's setting (SGD, lr 0.009, batch 256, full
48,000-image training set, the real worker thread) and measures for ``--seconds``. A QTimer ticks
every ``--interval`` ms; a stall is how late a tick comes. Prints max and p99 for both phases.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--interval", type=int, default=5, help="timer interval in ms")
    args = parser.parse_args(argv)

    import tempfile

    os.environ.setdefault("DIGITLAB_HOME", tempfile.mkdtemp(prefix="digitlab-bench-"))
    from digitlab.app import make_app

    _app = make_app([sys.argv[0]])   # held: the widgets below need a live QApplication

    from digitlab.gui.stall_meter import StallMeter, spin
    from digitlab.gui.train_view import TrainView


    view = TrainView()
    view.resize(1280, 800)
    view.show()
    spin(0.3)

    meter = StallMeter(args.interval)
    meter.start()
    spin(1.0)
    meter.stop()
    idle = meter.summary()

    view.form.field("max_epochs").setText("1000")   # the report's setting, long enough to measure
    checks: list = []
    view.controller.check.connect(lambda _i, c: checks.append(c))
    t0 = time.perf_counter()
    view.start()
    while not checks and time.perf_counter() - t0 < 60:  # wait until the data is loaded
        spin(0.05)
    meter.start()
    spin(args.seconds)
    meter.stop()
    busy = meter.summary()
    steps = checks[-1].step if checks else 0
    view.shutdown()

    print(f"idle:     {idle}")
    print(f"training: {busy}")
    print(f"          ({len(checks)} checks, {steps} steps of the report's setting; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print(f"max stall while training: {meter.max_ms:.1f} ms (goal <= 50 ms), p99 {meter.p99_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
