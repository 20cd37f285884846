"""How long `python main.py` takes to show its window and to predict a first digit.

Each launch is a new process (a cold start of the interpreter and the app; the operating system's
file cache is warm after the first). The app, run with ``DIGITLAB_STARTUP_PROBE=1`` (see
``digitlab.app._install_startup_probe``), prints wall-clock stamps when its window's first paint
is done and when the Draw view has predicted a digit put on its canvas right after that paint,
then quits. Times are measured from just before this script spawns the process, so they include
the interpreter's own start and every import.

    python benchmarks/startup.py                 # median of 5 launches, offscreen
    python benchmarks/startup.py -n 9 --json out.json
    python benchmarks/startup.py --importtime    # one launch: the slowest imports
    python benchmarks/startup.py --cprofile      # one launch: where the start-up time goes

For scale, the same measure is taken of a bare PySide6 QMainWindow (the floor for any Qt app
here). Every launch uses one temporary DIGITLAB_HOME and settings file (made by an unmeasured
first launch), so the person's own settings neither change nor change the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60

BARE_WINDOW = """
import time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow()
window.resize(1280, 800)
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, lambda: (print(f"startup-probe window-painted {time.time():.6f}",
                                                flush=True),
                                          app.quit()))
        return False
probe = FirstPaint()
window.installEventFilter(probe)
window.show()
app.exec()
"""


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["DIGITLAB_STARTUP_PROBE"] = "1"
    env["DIGITLAB_HOME"] = str(home / "home")
    env["DIGITLAB_SETTINGS"] = str(home / "settings.ini")
    return env


def launch(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Spawn one process; the seconds from spawn to each ``startup-probe`` stamp it printed."""
    t0 = time.time()
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    stamps = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "startup-probe":
            stamps[parts[1]] = float(parts[2]) - t0
    if proc.returncode != 0 or "window-painted" not in stamps:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode} without its stamps:\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return stamps


def measure(n: int, home: Path) -> dict[str, list[float]]:
    env = _env(home)
    launch([sys.executable, "main.py"], env)          # unmeasured: makes the home and settings
    runs: dict[str, list[float]] = {"window-painted": [], "first-prediction": [], "bare-qt-window": []}
    for _ in range(n):
        stamps = launch([sys.executable, "main.py"], env)
        runs["window-painted"].append(stamps["window-painted"])
        runs["first-prediction"].append(stamps.get("first-prediction", float("nan")))
        runs["bare-qt-window"].append(launch([sys.executable, "-c", BARE_WINDOW], env)["window-painted"])
    return runs


def importtime(home: Path, top: int = 25) -> None:
    """One launch under ``python -X importtime``: the imports with the largest cumulative time."""
    env = _env(home)
    proc = subprocess.run([sys.executable, "-X", "importtime", "main.py"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _self, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            rows.append((int(cumulative), name))
    top_level = [(c, name) for c, name in rows if not name.startswith(" ")]
    print(f"all imports: {sum(c for c, _ in top_level) / 1e6:.2f} s (sum of top-level cumulative)")
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1e3:8.1f} ms  {name}")


def cprofile(home: Path, top: int = 30) -> None:
    """One launch under cProfile: the calls with the largest cumulative time."""
    import pstats

    env = _env(home)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "startup.prof"
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "main.py"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=TIMEOUT_S, check=True)
        pstats.Stats(str(out)).sort_stats("cumulative").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="launches to take the median of (default 5)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--importtime", action="store_true", help="one launch: the slowest imports")
    parser.add_argument("--cprofile", action="store_true", help="one launch: cProfile's top calls")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if args.importtime or args.cprofile:
            launch([sys.executable, "main.py"], _env(home))   # make the home first
            if args.importtime:
                importtime(home)
            if args.cprofile:
                cprofile(home)
            return 0
        runs = measure(args.n, home)
    medians = {key: statistics.median(values) for key, values in runs.items()}
    print(f"python main.py, median of {args.n} launches ({os.environ.get('QT_QPA_PLATFORM', 'offscreen')}):")
    print(f"  window painted:   {medians['window-painted']:.2f} s   "
          f"(runs: {', '.join(f'{v:.2f}' for v in runs['window-painted'])})")
    print(f"  first prediction: {medians['first-prediction']:.2f} s   "
          f"(runs: {', '.join(f'{v:.2f}' for v in runs['first-prediction'])})")
    print(f"  bare PySide6 QMainWindow painted: {medians['bare-qt-window']:.2f} s (the floor)")
    if args.json:
        summary = {"launches": args.n, "runs": runs, "median": medians}
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
