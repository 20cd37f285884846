"""How long from a mouse event on the drawing canvas to the updated network view on screen.

    python benchmarks/network_view_latency.py [--trials 200] [--platform offscreen] [--blas-threads 1|default]

Builds the Draw view at 1280x760 with the Network tab in front (network A drawn: the bundled
pad model, 784-20-7-5-10, or a fresh network of that size when models/ has none), then, as
``benchmarks/draw_latency.py`` does for the bars:

- "first picture": the canvas is empty and idle; the clock starts just before the mouse press that
  puts the first ink down and stops when the event loop has repainted the network view (a Paint
  event reached its viewport and was handled);
- "one segment": after a pause longer than the throttle, one more segment of a drawing that
  covers most of the canvas, timed the same way;
- "with a unit off": "one segment" again with a first-layer unit of A switched off.

Each time runs until both the picture and the bars have been repainted; it also counts the
strokes for which the picture was painted in the same event-loop pass as the bars (so it costs
the bars no extra frame).

Each time covers the whole path: the canvas handler, the conversion to the 28x28 input, both
networks' bars, the network view's forward pass and item updates, and the repaint. Also printed:
the network view's own update (``NetworkView.show_input``: forward pass, node brushes, texts)
without the repaint. Prints median and 95th percentile in milliseconds; the goal (issue 12) is
one 16 ms frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    ap.add_argument("--blas-threads", default="1",
                    help="OPENBLAS_NUM_THREADS for this run ('default' leaves OpenBLAS to choose)")
    args = ap.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = args.platform
    if args.blas_threads != "default":
        os.environ["OPENBLAS_NUM_THREADS"] = args.blas_threads
        os.environ["OMP_NUM_THREADS"] = args.blas_threads
    os.environ.setdefault("DIGITLAB_HOME", tempfile.mkdtemp(prefix="digitlab-bench-"))

    import numpy as np
    from PySide6.QtCore import QEvent, QObject, QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from digitlab.gui.draw_view import PREDICT_INTERVAL_MS, DrawView
    from digitlab.library import ModelLibrary
    from digitlab.nn import Network

    try:  # the app's own QApplication setup (style, antialiasing), as `python main.py` has it
        from digitlab.app import make_app

        app = make_app([sys.argv[0]])
    except ImportError:
        app = QApplication.instance() or QApplication([])
    library = ModelLibrary()
    view = DrawView(library)
    a, b = view.models()
    if a is None or b is None:
        from digitlab.io import SavedModel
        from digitlab.training import TrainConfig

        fresh = [library.add_run(SavedModel(network=Network(seed=seed, batch_norm=bn),
                                            config=TrainConfig(seed=seed, batch_norm=bn), name=name))
                 for seed, bn, name in ((1, False, "fresh"), (2, True, "fresh BN"))]
        view.set_models(*fresh)
    which = f"A {view.models()[0].name} ({'-'.join(map(str, view.models()[0].network.layer_sizes))}), " \
            f"B {view.models()[1].name}"
    view.resize(1280, 760)
    view.show()
    view.show_network_tab()
    QTest.qWaitForWindowExposed(view)
    app.processEvents()
    nv = view.network_view

    class PaintCounter(QObject):
        def __init__(self):
            super().__init__()
            self.count = 0

        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    counter = PaintCounter()
    nv.canvas.viewport().installEventFilter(counter)
    bars_counter = PaintCounter()          # network B's bars: painted last of the two
    view.bars_b._plot.viewport().installEventFilter(bars_counter)
    same_pass: list[bool] = []             # picture painted in the same event-loop pass as the bars

    def wait_for_picture(before: int, t0: float) -> float:
        deadline = t0 + 1.0
        bars_before = bars_counter.count
        bars_pass = picture_pass = None
        passes = 0
        while counter.count == before or bars_counter.count == bars_before:
            app.processEvents()
            passes += 1
            if bars_pass is None and bars_counter.count != bars_before:
                bars_pass = passes
            if picture_pass is None and counter.count != before:
                picture_pass = passes
            if time.perf_counter() > deadline:
                raise RuntimeError("the network view and the bars were not repainted within 1 s")
        app.processEvents()   # let the paint in progress finish and the window flush
        same_pass.append(bars_pass == picture_pass)
        return (time.perf_counter() - t0) * 1000.0

    canvas = view.canvas
    r = canvas.target_rect()

    def point(fx: float, fy: float) -> QPoint:
        return QPoint(int(r.x() + fx * r.width()), int(r.y() + fy * r.height()))

    corners = [(0.15, 0.12), (0.85, 0.15), (0.2, 0.5), (0.85, 0.55), (0.15, 0.88)]

    def one_segment() -> float:
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=point(*corners[0]))
        for fx, fy in corners[1:]:
            QTest.mouseMove(canvas, point(fx, fy))
        QTest.qWait(3 * PREDICT_INTERVAL_MS)     # a pause longer than the throttle interval
        before = counter.count
        t0 = time.perf_counter()
        QTest.mouseMove(canvas, point(0.5, 0.9))
        ms = wait_for_picture(before, t0)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=point(0.5, 0.9))
        app.processEvents()
        return ms

    rng = np.random.default_rng(0)
    first, big, silenced, update = [], [], [], []
    for trial in range(args.trials):
        view.silencing.reset()
        canvas.clear()
        app.processEvents()
        QTest.qWait(PREDICT_INTERVAL_MS + 5)
        start = point(*rng.uniform(0.25, 0.75, 2))
        before = counter.count
        t0 = time.perf_counter()
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
        first.append(wait_for_picture(before, t0))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=start)
        app.processEvents()
        big.append(one_segment())
        # the view's own work for this digit, without the repaint
        x = view.current_input()
        t0 = time.perf_counter()
        nv.show_input(x)
        update.append((time.perf_counter() - t0) * 1000.0)
        view.silencing.set_silenced("A", 1, trial % nv.network().layer_sizes[1], True)
        app.processEvents()
        silenced.append(one_segment())
    view.shutdown()

    def summary(name: str, xs: list[float]) -> str:
        arr = np.asarray(xs)
        return (f"{name:16s} n={arr.size:4d}  median {np.median(arr):6.2f} ms   "
                f"p95 {np.percentile(arr, 95):6.2f} ms   max {arr.max():6.2f} ms")

    print(f"Draw view with the Network tab, {which}, window 1280x760, platform {app.platformName()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    print(summary("first picture", first))
    print(summary("one segment", big) + "   (after a pause, ink over the whole canvas)")
    print(summary("with a unit off", silenced))
    print(summary("view update", update) + "   (NetworkView.show_input alone, no repaint)")
    print(f"the picture was painted in the same event-loop pass as both networks' bars for "
          f"{sum(same_pass)} of {len(same_pass)} strokes")
    p95 = float(np.percentile(np.asarray(first + big + silenced), 95))
    print(f"goal: stroke to picture within one 16 ms frame -> {'met' if p95 < 16 else 'NOT met'} "
          f"(p95 of all {len(first) + len(big) + len(silenced)} strokes {p95:.2f} ms)")
    view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
