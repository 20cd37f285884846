"""Take the README's screenshots from the running app: ``python benchmarks/screenshots.py``.

Starts the real main window at 1280x800 (offscreen by default; under Xvfb use
``xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb python benchmarks/screenshots.py``)
and saves into ``docs/screenshots/``:

- ``train.png``    the Train view during a live run of the report's setting, with an earlier
                   (faded) run to compare against;
- ``train-lr-change.png`` a run whose learning rate was changed twice while it trained, paused
                   (benchmarks/screenshot_lr_change.py, which also takes it alone);
- ``draw.png``     the Draw view with a digit drawn stroke by stroke with QTest mouse events and
                   both networks' probability bars;
- ``draw-small.png``, ``draw-not-a-digit.png``, ``draw-my-digits.png``: the Draw view with the
  default pad pair: a 3 drawn at a fifth of the canvas with "Show the steps" on, a scratched-out
  zigzag ("not a digit yet"), and the My digits tab after labelling ten drawn digits;
- ``draw-network.png``, ``draw-network-silenced.png``, ``draw-network-hover.png``: Draw > Network
  with the pad pair and a drawn 3: the network at work, then with the first-layer unit that
  matters most for this digit clicked off (A's bars change, B's do not), then pointing at a unit
  (its value, incoming weights and top test digits); ``evaluate-silenced.png``: Evaluate's
  accuracy without that unit, beside the intact network's;
- ``models.png``   the model library;
- ``runs.png``     the Runs view with the report's runs without L2, with L2 and with batch norm
                   ticked: their costs and validation accuracy against epochs, smoothed 0.6;
- ``evaluate.png`` Evaluate comparing networks A (the run saved above, one of "yours") and B
                   (report-l2): confusion matrices and the per-class table;
- ``mistakes.png`` Evaluate > Mistakes with one of A's mistakes clicked: both networks' bars;
- ``activations.png`` Evaluate > Inside > Activations of the 3 drawn in the Draw view;
- ``weights.png`` Evaluate > Inside > Weights (first-layer tiles); ``calibration.png`` Evaluate >
  Calibration;
- ``report-pair-page1.png`` the first page of the PDF that File > Export report writes on A and B
                   (rendered with ``pdftoppm`` from poppler-utils; skipped with a note without it);
- ``main-1920.png`` the Train view with the report's four experiments at 1920x1080.

Every view is taken twice: in the light theme (``<name>.png``) and in the dark one
(``<name>-dark.png``, View > Theme > Dark), switched live on the same window.

It uses a throwaway DIGITLAB_HOME and settings file, so your own models and settings are never
touched. ``--out DIR`` writes elsewhere; ``--quick`` trains on a subset (for trying the script);
``--network-only`` takes only the network view's four screenshots (no training).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_tmp = tempfile.mkdtemp(prefix="digitlab-shots-")
os.environ["DIGITLAB_HOME"] = os.path.join(_tmp, "home")
os.environ["DIGITLAB_SETTINGS"] = os.path.join(_tmp, "settings.ini")

# One stroke list per digit, as fractions of the canvas; drawn with interpolated mouse moves.
THREE = [[(0.30, 0.22), (0.45, 0.15), (0.62, 0.17), (0.68, 0.28), (0.62, 0.40), (0.47, 0.47)],
         [(0.47, 0.47), (0.63, 0.52), (0.70, 0.64), (0.64, 0.78), (0.48, 0.84), (0.30, 0.78)]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Take the README's screenshots from the running app.")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--quick", action="store_true", help="train on a 5,000-image subset")
    parser.add_argument("--network-only", action="store_true",
                        help="only the network view's screenshots (draw-network*.png, evaluate-silenced.png)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from digitlab.app import make_app

    _app = make_app([sys.argv[0]])   # held: the widgets below need a live QApplication
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from digitlab.gui.main_window import MainWindow
    from digitlab.gui.stall_meter import spin


    def wait_until(condition, timeout: float = 120.0) -> None:
        end = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > end:
                raise TimeoutError("the app did not get there in time")
            spin(0.05)

    def grab(widget, name: str) -> None:
        spin(0.3)                      # let the last flush and repaint happen
        path = out / name
        if not widget.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        print(f"wrote {path} ({widget.width()}x{widget.height()})")

    def save(widget, name: str) -> None:
        """``name`` in the light theme, then ``<stem>-dark.png`` in the dark one; light again after."""
        grab(widget, name)
        window.set_theme("dark")
        spin(0.3)
        grab(widget, name.replace(".png", "-dark.png"))
        window.set_theme("light")
        spin(0.3)

    window = MainWindow()
    window.set_theme("light")          # not the system's: the same pictures on every desktop
    window.confirm_close = lambda: True
    window.resize(1280, 800)
    window.show()
    spin(0.5)
    tv = window.train_view
    subset = {"train_subset": "5000"} if args.quick else {}

    def draw_strokes(strokes) -> None:
        canvas = window.draw_view.canvas
        rect = canvas.target_rect()
        for stroke in strokes:
            pts = [QPoint(int(rect.x() + fx * rect.width()), int(rect.y() + fy * rect.height()))
                   for fx, fy in stroke]
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
            for a, b in zip(pts, pts[1:]):
                for i in range(1, 7):
                    t = i / 6
                    QTest.mouseMove(canvas, QPoint(int(a.x() + (b.x() - a.x()) * t),
                                                   int(a.y() + (b.y() - a.y()) * t)))
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
            spin(0.1)

    def network_shots() -> None:
        """Draw > Network with the pad pair: a drawn 3, a unit clicked off, a unit pointed at, and
        Evaluate's accuracy without that unit."""
        previous = window.pair.a, window.pair.b
        window.pair.set_pair(window.library.get("pad"), window.library.get("pad-l2"))
        window.show_view("draw")
        dv = window.draw_view
        dv.clear()
        dv.show_network_tab()
        spin(0.3)
        draw_strokes(THREE)
        spin(0.5)
        save(window, "draw-network.png")
        # the first-layer unit whose absence changes A's answer for this digit the most
        net, x = window.pair.a.network, dv.current_input()
        p = net.predict_one(x)
        units = [(1, u) for u in range(net.layer_sizes[1])]
        unit = max(units, key=lambda lu: float(np.abs(net.predict_one(x, [lu]) - p).sum()))
        nv = dv.network_view
        QTest.mouseClick(nv.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         nv.unit_position(*unit))
        spin(0.5)
        save(window, "draw-network-silenced.png")
        # pointing at a second-layer unit: its value, weights and top digits (found on a thread)
        QTest.mouseMove(nv.canvas.viewport(), nv.unit_position(2, 1))
        wait_until(lambda: nv.top_digits(2, 1) is not None)
        QTest.mouseMove(nv.canvas.viewport(), nv.unit_position(2, 1) + QPoint(1, 1))
        spin(0.3)
        save(window, "draw-network-hover.png")
        QTest.mouseMove(nv.canvas.viewport(), QPoint(2, 2))
        window.show_view("evaluate")
        ev = window.evaluate_view
        ev.tabs.setCurrentIndex(0)
        wait_until(lambda: ev.eval_a is not None and ev.silenced_shown["A"] == (unit,))
        save(window, "evaluate-silenced.png")
        window.silencing.reset()
        dv.see_tabs.setCurrentIndex(0)
        dv.clear()
        window.pair.set_pair(*previous)

    import numpy as np
    if args.network_only:
        network_shots()
        window.close()
        return 0

    # ---------------- Train: an earlier run (faded) and a live run of the report's setting
    window.show_view("train")
    form = tv.form
    form.apply_preset("report")
    for key, text in {**subset, "learning_rate": "0.02", "max_epochs": "6"}.items():
        form.field(key).setText(text)
    tv.start()
    wait_until(lambda: not tv.is_training())
    saved = tv.save_model()            # so the library shows one of "yours" next to the bundled ones
    # networks A and B for Draw, Evaluate and the report: the run just saved, and report-l2
    window.pair.set_pair(window.library.get(saved), window.library.get("report-l2"))
    form.apply_preset("report")
    for key, text in {**subset, "max_epochs": "100"}.items():
        form.field(key).setText(text)
    checks: list = []
    tv.controller.check.connect(lambda _i, c: checks.append(c))
    tv.start()
    wait_until(lambda: len(checks) >= 45 or not tv.is_training())    # (--quick: a short run)
    save(window, "train.png")
    tv.stop()
    wait_until(lambda: not tv.is_training())
    # ---------------- Train: a run whose learning rate is changed while it trains
    from screenshot_lr_change import shoot as shoot_lr_change
    shoot_lr_change(window, save, wait_until, subset)

    # ---------------- Draw: a 3, drawn stroke by stroke
    window.show_view("draw")
    spin(0.3)
    dv = window.draw_view
    canvas = dv.canvas
    rect = canvas.target_rect() if hasattr(canvas, "target_rect") else canvas.rect()

    def point(fx: float, fy: float) -> QPoint:
        return QPoint(int(rect.x() + fx * rect.width()), int(rect.y() + fy * rect.height()))

    for stroke in THREE:
        pts = [point(*p) for p in stroke]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
        for a, b in zip(pts, pts[1:]):
            for i in range(1, 7):
                t = i / 6
                QTest.mouseMove(canvas, QPoint(int(a.x() + (b.x() - a.x()) * t),
                                               int(a.y() + (b.y() - a.y()) * t)))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
        spin(0.1)
    spin(0.5)
    save(window, "draw.png")

    # ---------------- Draw > Network: the network at work, a unit switched off, Evaluate without it
    network_shots()

    # ---------------- Draw with the default pad pair: a small digit, "not a digit yet", My digits
    from drawn_set import draw_on_canvas  # benchmarks/drawn_set.py: real mouse events

    from digitlab.data.digit_templates import TEMPLATE_STYLES, template_strokes

    previous_pair = window.pair.a, window.pair.b
    window.pair.set_pair(window.library.get("pad"), window.library.get("pad-l2"))
    res = canvas.resolution
    rng = np.random.default_rng(7)

    def placed(digit: int, height: float, centre=(0.5, 0.5)) -> list:
        """A template digit's strokes (about 1 high) scaled to ``height`` of the canvas side."""
        strokes = template_strokes(digit, TEMPLATE_STYLES[digit][digit % 2], rng)
        pts = np.vstack(strokes)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        scale = height * res / (hi - lo)[1]
        return [(p - (lo + hi) / 2) * scale + np.asarray(centre) * res for p in strokes]

    draw_on_canvas(canvas, placed(3, 0.2, (0.38, 0.42)), 7)
    dv.show_steps.setChecked(True)
    spin(0.5)
    save(window, "draw-small.png")
    dv.show_steps.setChecked(False)
    # scratching something out: a dense zigzag, which the input check calls "not a digit"
    zigzag = np.array([(0.35 + 0.3 * (i % 2), 0.3 + 0.4 * i / 13) for i in range(14)]) * res
    draw_on_canvas(canvas, [zigzag], 7)
    spin(0.5)
    save(window, "draw-not-a-digit.png")
    # My digits: ten digits of "our own handwriting", each labelled with its button
    for digit in range(10):
        draw_on_canvas(canvas, placed(digit, 0.6), 7)
        spin(0.05)
        dv.personal_panel.add_current(digit)
    dv.see_tabs.setCurrentWidget(dv.personal_panel)
    spin(0.5)
    save(window, "draw-my-digits.png")
    dv.see_tabs.setCurrentIndex(0)
    window.pair.set_pair(*previous_pair)

    # ---------------- Models and Evaluate (computed when first shown)
    window.show_view("models")
    spin(0.3)
    save(window, "models.png")
    window.show_view("runs")
    rv = window.runs_view
    for name in ("report-no-l2", "report-l2", "report-bn"):
        rv.set_ticked(name)
    rv.x_axis.setCurrentIndex(rv.x_axis.findData("epoch"))
    rv.smoothing.setValue(60)
    rv.list.setCurrentRow(-1)          # no selection highlight competing with the ticks
    spin(0.3)
    save(window, "runs.png")
    window.show_view("evaluate")
    ev = window.evaluate_view
    wait_until(lambda: ev.comparison is not None)
    ev.tabs.setCurrentIndex(0)
    save(window, "evaluate.png")
    ev.tabs.setCurrentIndex(1)
    spin(0.3)
    if ev.gallery.count():
        ev.gallery.setCurrentRow(0)    # the most confident mistake of A: both networks' bars
    save(window, "mistakes.png")
    # Inside > Activations: the 3 drawn above, through both networks
    ev.tabs.setCurrentWidget(ev.inside)
    inside = ev.inside
    inside.tabs.setCurrentWidget(inside.act_a.parentWidget())
    spin(0.5)
    save(window, "activations.png")
    # Inside > Weights (the first-layer tiles) and Calibration: the heatmap and plots of both themes
    inside.tabs.setCurrentIndex(0)
    spin(0.5)
    save(window, "weights.png")
    ev.tabs.setCurrentIndex(2)
    spin(0.3)
    save(window, "calibration.png")

    # ---------------- File > Export report on A and B: the PDF's first page
    report_dir = Path(_tmp) / "report"
    finished: list = []
    ev.report_finished.connect(lambda folder: finished.append(folder))
    window.export_report(str(report_dir), which="pair")
    wait_until(lambda: bool(finished), timeout=300)
    pdf = report_dir / "report.pdf"
    if not finished[0] or not pdf.is_file():
        raise RuntimeError(f"the report was not written ({finished[0]!r})")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(out / "report-pair-page1")], check=True)
        print(f"wrote {out / 'report-pair-page1.png'} (page 1 of {pdf})")
    else:
        print("pdftoppm not found (apt-get install poppler-utils): report-pair-page1.png not taken")

    # ---------------- 1920x1080: the report's four experiments, all curves and the tables
    window.resize(1920, 1080)
    window.show_view("train")
    if args.quick:
        import digitlab.gui.train_view as train_view_module

        train_view_module.EXPERIMENTS = [(label, c.replace(train_subset=5000))
                                         for label, c in train_view_module.EXPERIMENTS]
    tv.run_experiments()
    wait_until(lambda: not tv.is_training(), timeout=600)
    save(window, "main-1920.png")

    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
