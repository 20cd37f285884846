"""A drawn test set of our own (issue 9, item 4): digits drawn with the mouse on the real canvas.

    python benchmarks/drawn_set.py [--seed 0] [--per-class 10] [--models extra.h5 ...]
                                   [--conversions strokes,raster] [--out benchmarks/out/drawn_set_seed0.npz]

What it builds. ``digitlab.data.drawn_set.plan_drawn_set`` gives the strokes of ``per-class``
digits of each class from two sources: MNIST *test* digits traced from their skeletons into 1-4
pen strokes ("traced MNIST"), and hand-written-style templates with human-like variation
("templates", two styles per digit). Every one of these 200 digits (with the default 10 per class)
is drawn in three size classes (the longer side of the pen's path about 20 %, 60 % and 85 % of the
canvas side: "small", "normal", "large"), at a random position where it fits, with three brushes
(3 %, 7 % (the default) and 12 % of the side): 1,800 drawings. Each drawing is made THROUGH THE
REAL CANVAS: a ``digitlab.gui.canvas.DrawingCanvas`` at its default resolution, with
``QMouseEvent`` press, move and release events sent to it along every stroke, at uneven spacing
as a mouse reports them. Nothing uses scikit-learn's bundled digits.

Each drawing is then converted to the 28x28 input, once per ``--conversions`` (default both):
``strokes``, the stroke-aware conversion (``drawing_to_mnist_steps(canvas.drawing())``, which
redraws the strokes' centre lines with MNIST's pen), and ``raster``, the conversion of the canvas
image (``to_mnist_steps`` on ``canvas.ink_crop(margin=2)``, as for a loaded image).

What it prints. For each conversion, a Markdown table ready for the README: for every model in
models/*.h5 (and any ``--models``), its accuracy on the MNIST test set (all 10,000), on each source
and size class (each cell: 10 * per-class digits x 3 brushes), on all small and all normal drawings, and
"small - normal" in points (the issue's goal: within 3 points). A second table splits the
drawings by size and brush. The set (strokes, labels, source, style, size class, brush,
position and the 28x28 inputs) is saved to ``--out`` (default
``benchmarks/out/drawn_set_seed<seed>.npz``; ``benchmarks/out/`` is git-ignored);
``digitlab.data.drawn_set.load_drawn_set`` reads it back.

Deterministic for a seed. About 50 s of CPU (87 s wall on two shared cores), most of it the canvas
drawing 1,800 digits point by point. A benchmark, never run as a test
(tests/data/test_drawn_set.py checks its parts).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from digitlab.data import load_dataset, to_mnist_steps
from digitlab.data.drawn_set import (
    SIZE_CLASSES,
    SOURCES,
    DrawnDigit,
    plan_drawn_set,
    save_drawn_set,
)
from digitlab.data.strokes import drawing_to_mnist_steps
from digitlab.gui.canvas import DEFAULT_RESOLUTION, DrawingCanvas

SOURCE_NAMES = {"mnist": "traced MNIST", "template": "templates"}
CONVERSIONS = ("strokes", "raster")


# --------------------------------------------------------------------------- drawing

def _send(canvas: DrawingCanvas, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton,
          buttons: Qt.MouseButton) -> None:
    global_pos = QPointF(canvas.mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas, event)


def draw_on_canvas(canvas: DrawingCanvas, strokes, brush_percent: float) -> None:
    """Clear ``canvas`` and draw ``strokes`` on it with the left mouse button.

    ``strokes`` are (n, 2) arrays of (x, y) in the canvas's image pixels (0..resolution); each
    becomes a press at its first point, a move to every later point and a release at the last,
    sent to the widget as ``QMouseEvent``s at the matching widget positions (sub-pixel, as a
    high-resolution mouse or a pen reports them), so the canvas's own handlers draw the ink.
    """
    canvas.clear()
    canvas.set_brush_size(brush_percent)
    rect = canvas.target_rect()
    scale = rect.width() / canvas.resolution
    left = Qt.MouseButton.LeftButton
    none = Qt.MouseButton.NoButton
    for stroke in strokes:
        pts = [QPointF(rect.x() + float(x) * scale, rect.y() + float(y) * scale) for x, y in stroke]
        _send(canvas, QEvent.Type.MouseButtonPress, pts[0], left, left)
        for p in pts[1:]:
            _send(canvas, QEvent.Type.MouseMove, p, none, left)
        _send(canvas, QEvent.Type.MouseButtonRelease, pts[-1], left, none)


def canvas_input(canvas: DrawingCanvas, conversion: str = "strokes") -> np.ndarray:
    """The 28x28 input for what is on ``canvas`` (zeros if it is empty), by ``conversion``:
    ``"strokes"`` from the canvas's strokes, ``"raster"`` from its image."""
    if conversion == "strokes":
        x = drawing_to_mnist_steps(canvas.drawing())["centred"]
    elif conversion == "raster":
        crop = canvas.ink_crop(margin=2)
        x = None if crop is None else to_mnist_steps(crop, ink_is_dark=False)["centred"]
    else:
        raise ValueError(f"conversion must be one of {', '.join(CONVERSIONS)}, got {conversion!r}")
    return np.zeros((28, 28), np.float32) if x is None else x


def draw_set(plan: list[DrawnDigit], conversions: tuple[str, ...] = ("strokes",),
             progress: bool = False) -> dict[str, np.ndarray]:
    """Draw every planned digit on one canvas; the (n, 28, 28) inputs by conversion, in plan order."""
    canvas = DrawingCanvas()
    canvas.resize(canvas.resolution, canvas.resolution)
    inputs = {c: np.zeros((len(plan), 28, 28), np.float32) for c in conversions}
    for i, d in enumerate(plan):
        draw_on_canvas(canvas, d.strokes, d.brush_percent)
        for c in conversions:
            inputs[c][i] = canvas_input(canvas, c)
        if progress and (i + 1) % 300 == 0:
            print(f"  drawn {i + 1} / {len(plan)}", file=sys.stderr, flush=True)
    canvas.deleteLater()
    return inputs


# --------------------------------------------------------------------------- tables

def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}"


def accuracy_table(names: list[str], mnist_acc: dict[str, float], correct: dict[str, np.ndarray],
                   plan: list[DrawnDigit], sizes: list[str]) -> str:
    """Markdown: per model, MNIST test, each source x size class, all small, all normal, small -
    normal (percent; the difference in points)."""
    source = np.array([d.source for d in plan])
    size = np.array([d.size_class for d in plan])
    head = ["model", "MNIST test"]
    head += [f"{SOURCE_NAMES[s]}, {z}" for s in SOURCES for z in sizes]
    both = "small" in sizes and "normal" in sizes
    if both:
        head += ["all small", "all normal", "small - normal"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for n in names:
        ok = correct[n]
        row = [n, _pct(mnist_acc[n])]
        row += [_pct(ok[(source == s) & (size == z)].mean()) for s in SOURCES for z in sizes]
        if both:
            small, normal = ok[size == "small"].mean(), ok[size == "normal"].mean()
            row += [_pct(small), _pct(normal), f"{100.0 * (small - normal):+.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def brush_table(names: list[str], correct: dict[str, np.ndarray], plan: list[DrawnDigit],
                sizes: list[str]) -> str:
    """Markdown: per model, accuracy in every size class x brush cell (both sources)."""
    size = np.array([d.size_class for d in plan])
    brush = np.array([d.brush_percent for d in plan])
    brushes = sorted(set(brush.tolist()))
    head = ["model"] + [f"{z}, {b:g} %" for z in sizes for b in brushes]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for n in names:
        ok = correct[n]
        lines.append("| " + " | ".join([n] + [_pct(ok[(size == z) & (brush == b)].mean())
                                              for z in sizes for b in brushes]) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-class", type=int, default=10,
                    help="digits per class and source (default 10: 200 digits, 1,800 drawings)")
    ap.add_argument("--sizes", default=",".join(SIZE_CLASSES),
                    help=f"size classes to draw, comma-separated (default {','.join(SIZE_CLASSES)})")
    ap.add_argument("--models", nargs="*", default=[],
                    help="model files to evaluate besides models/*.h5")
    ap.add_argument("--conversions", default=",".join(CONVERSIONS),
                    help=f"conversions to the 28x28 input, comma-separated (default "
                         f"{','.join(CONVERSIONS)}; the first is saved as the set's x)")
    ap.add_argument("--out", type=Path, default=None,
                    help="where to save the set (default benchmarks/out/drawn_set_seed<seed>.npz)")
    args = ap.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZE_CLASSES]
    if unknown or not sizes:
        ap.error(f"--sizes: unknown size class {', '.join(unknown) or '(none)'}; "
                 f"choose from {', '.join(SIZE_CLASSES)}")
    conversions = tuple(c.strip() for c in args.conversions.split(",") if c.strip())
    if not conversions or set(conversions) - set(CONVERSIONS):
        ap.error(f"--conversions: choose from {', '.join(CONVERSIONS)}, got {args.conversions!r}")
    out = args.out or ROOT / "benchmarks" / "out" / f"drawn_set_seed{args.seed}.npz"

    from digitlab.io import load_model
    from digitlab.process import install_refcount_guard

    install_refcount_guard()  # hundreds of thousands of Qt calls: see digitlab/process.py
    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 - kept alive

    paths = sorted(glob.glob(str(ROOT / "models" / "*.h5"))) + [str(p) for p in args.models]
    if not paths:
        print("no models to evaluate: models/*.h5 is empty and no --models were given; run "
              "`digitlab build-models --dir models` or pass --models", file=sys.stderr)
        return 1
    nets = {}
    paths = list(dict.fromkeys(str(Path(p).resolve()) for p in paths))   # each file once
    for p in paths:
        # a file's stem names its row; two files with the same stem are told apart by their path
        name = Path(p).stem if Path(p).stem not in nets else str(p)
        nets[name] = load_model(p).network
    names = list(nets)

    t0 = time.perf_counter()
    data = load_dataset()
    plan = plan_drawn_set(data.test_images, data.test_labels, seed=args.seed,
                          per_class=args.per_class, canvas_side=DEFAULT_RESOLUTION,
                          sizes={s: SIZE_CLASSES[s] for s in sizes})
    t_plan = time.perf_counter() - t0
    t0 = time.perf_counter()
    inputs = draw_set(plan, conversions, progress=True)
    t_draw = time.perf_counter() - t0
    save_drawn_set(out, plan, canvas_side=DEFAULT_RESOLUTION, inputs=inputs, seed=args.seed)

    y = np.array([d.label for d in plan])
    x_test = data.test_images.reshape(len(data.test_images), -1).astype(np.float32) / 255.0
    mnist_acc = {n: float(np.mean(net.predict(x_test) == data.test_labels)) for n, net in nets.items()}
    strokes = np.array([len(d.strokes) for d in plan])
    print(f"Drawn set: {len(plan)} drawings (seed {args.seed}, {args.per_class} digits per class "
          f"and source, each in {len(sizes)} size classes x {len({d.brush_percent for d in plan})} "
          f"brushes) with the mouse on the real canvas ({DEFAULT_RESOLUTION} px); strokes per "
          f"drawing {strokes.min()}-{strokes.max()} (mean {strokes.mean():.2f}); saved to {out}")
    for c in conversions:
        flat = inputs[c].reshape(len(plan), -1)
        correct = {n: net.predict(flat) == y for n, net in nets.items()}
        print(f"\nConversion: {c}. Accuracy (%):\n")
        print(accuracy_table(names, mnist_acc, correct, plan, sizes))
        print(f"\nConversion: {c}. Accuracy (%) by size and brush, both sources:\n")
        print(brush_table(names, correct, plan, sizes))
    print(f"\nRun time: plan {t_plan:.1f} s, drawing and {len(conversions)} conversion(s) {t_draw:.1f} s "
          f"({1000.0 * t_draw / len(plan):.1f} ms a drawing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
