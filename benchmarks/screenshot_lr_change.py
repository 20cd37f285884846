"""The screenshot of a run whose learning rate is changed while it trains: ``train-lr-change.png``.

Taken by ``benchmarks/screenshots.py`` (with the others) and runnable alone for a look at it:
``python benchmarks/screenshot_lr_change.py [--out DIR] [--quick]``. The report's setting
(learning rate 0.009) trains; at step 600 the learning rate goes up to 0.05 in the "Change the run"
row (Apply), at step 1200 down to 0.01, and at step 1600 the run is paused with Pause and shown:
the cost plot marks each change with a vertical line and its new value, the thin line under the
curves is every step's mini-batch cost.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# (lr change at this step, new value); then paused at PAUSE_AT
CHANGES = ((600, "0.05"), (1200, "0.01"))
PAUSE_AT = 1600


def shoot(window, save, wait_until, subset: dict) -> None:
    """Train, change the learning rate twice through the Train view's fields, pause, save."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    tv = window.train_view
    window.show_view("train")
    form = tv.form
    form.apply_preset("report")
    for key, text in {**subset, "max_epochs": "100"}.items():
        form.field(key).setText(text)
    last = [0]
    tv.controller.steps.connect(lambda _i, steps: last.__setitem__(0, int(steps[-1][0])))
    QTest.mouseClick(tv.start_button, Qt.MouseButton.LeftButton)
    for step, text in CHANGES:
        wait_until(lambda step=step: last[0] >= step)
        tv.run_lr.setText(text)
        QTest.mouseClick(tv.apply_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: last[0] >= PAUSE_AT)
    QTest.mouseClick(tv.pause_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: tv.controller.is_paused())
    save(window, "train-lr-change.png")
    QTest.mouseClick(tv.stop_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: not tv.is_training())


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--quick", action="store_true", help="train on a 5,000-image subset")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = tempfile.mkdtemp(prefix="digitlab-shots-")
    os.environ["DIGITLAB_HOME"] = os.path.join(tmp, "home")
    os.environ["DIGITLAB_SETTINGS"] = os.path.join(tmp, "settings.ini")

    from digitlab.app import make_app

    _app = make_app([sys.argv[0]])   # held: the widgets below need a live QApplication
    from digitlab.gui.main_window import MainWindow
    from digitlab.gui.stall_meter import spin

    def wait_until(condition, timeout: float = 300.0) -> None:
        end = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > end:
                raise TimeoutError("the app did not get there in time")
            spin(0.05)

    def save(widget, name: str) -> None:
        spin(0.3)
        path = out / name
        if not widget.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        print(f"wrote {path} ({widget.width()}x{widget.height()})")

    window = MainWindow()
    window.confirm_close = lambda: True
    window.resize(1280, 800)
    window.show()
    spin(0.5)
    shoot(window, save, wait_until, {"train_subset": "5000"} if args.quick else {})
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
