"""How long does the GUI event loop stall while File > Export report writes a report?

    python benchmarks/export_responsiveness.py [--runs 3] [--interval 5]

Opens the main window at 1280x800 (offscreen unless QT_QPA_PLATFORM says otherwise) with the
bundled models, shows Evaluate and waits until it has evaluated (so the data set is loaded), then
exports a report (HTML, PDF, Markdown) on networks A and B into a new folder while switching
views every 100 ms, as a person clicking around would. A QTimer ticks every ``--interval`` ms; a
stall is how late a tick comes. Prints the longest stall and p99 of each export, and the median
of the longest stalls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--interval", type=int, default=5, help="timer interval in ms")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="digitlab-bench-"))
    os.environ.setdefault("DIGITLAB_HOME", str(tmp / "home"))
    os.environ["DIGITLAB_SETTINGS"] = str(tmp / "settings.ini")
    from digitlab.app import make_app

    app = make_app([sys.argv[0]])  # noqa: F841 - held so the QApplication lives as long as main()
    from PySide6.QtCore import QTimer

    from digitlab.gui.main_window import MainWindow
    from digitlab.gui.stall_meter import StallMeter, spin


    window = MainWindow()
    window.show_error = lambda title, text, details=None: print("error:", title, text)
    window.resize(1280, 800)
    window.show()
    window.show_view("evaluate")
    ev = window.evaluate_view
    t0 = time.perf_counter()
    while ev.eval_a is None and time.perf_counter() - t0 < 60:
        spin(0.05)
    spin(0.5)

    views = ["draw", "models", "train", "evaluate"]
    switcher = QTimer()
    switcher.setInterval(100)
    switcher.timeout.connect(lambda: window.show_view(views[int(time.perf_counter() * 10) % len(views)]))
    maxima, seconds = [], []
    for k in range(args.runs):
        written: list[str] = []
        ev.report_written.connect(written.append)
        meter = StallMeter(args.interval)
        meter.start()
        switcher.start()
        start = time.perf_counter()
        window.export_report(str(tmp / f"report-{k}"))
        while not written and time.perf_counter() - start < 120:
            spin(0.02)
        took = time.perf_counter() - start
        spin(0.05)
        switcher.stop()
        meter.stop()
        ev.report_written.disconnect(written.append)
        window.show_view("evaluate")
        maxima.append(meter.max_ms)
        seconds.append(took)
        print(f"export {k + 1}: {took:.2f} s, {meter.summary()}")
    print(f"longest event-loop stall during an export: median {statistics.median(maxima):.0f} ms "
          f"of {args.runs} exports (each {statistics.median(seconds):.1f} s; "
          f"Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs)")
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
