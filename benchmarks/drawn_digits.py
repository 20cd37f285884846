"""How well the shipped models read pen-drawn digits, at two sizes and three pen widths (issue 9).

    python benchmarks/drawn_digits.py [--n 500] [--seed 0] [--models models/*.h5]

What it builds. A reproducible set of pen-drawn digits made from MNIST test digits: ``--n``
digits are picked with ``--seed`` (the same digits in every cell), each is binarised (>= 0.5),
thinned to a one-pixel skeleton (Zhang-Suen, in NumPy here), and the skeleton is redrawn as pen
strokes on a 280 x 280 canvas (ink high, paper 0): every pair of 8-neighbouring skeleton pixels
becomes a segment, drawn with a round pen by ``ink = clip(r + 0.5 - distance, 0, 1)`` (distance
from the pixel centre to the segment, r the pen radius): a union of round-capped capsules,
anti-aliased over one pixel, like the canvas's round-cap QPainter pen. This is a NumPy
rasteriser, not the app's QPainter canvas; it stands in for a person re-tracing the digit with
the mouse, without the wobble of a real hand.

The cells:
- size: the MNIST digit's ink height is scaled to 60 % ("normal") or 20 % ("small") of the
  canvas side, centred; the pen adds its own width on top, as it does for a person;
- pen diameter: thin 3 %, default 7 % (``DEFAULT_BRUSH_PERCENT`` of digitlab/gui/canvas.py) and
  thick 12 % of the canvas side.

Each canvas goes through the app's current conversion (``digitlab.data.to_mnist``,
``ink_is_dark=False``, as the Draw view calls it) and every model's ``network.predict``.

What the figures mean.
- Accuracy table: fraction of the n digits each model classifies correctly per cell. Two
  reference rows use the same n digits: "MNIST as is" (the 28 x 28 test images, /255) and
  "MNIST via to_mnist" (the 28 x 28 image put through the conversion, as ``digitlab predict``
  would). "small - normal" is the mean over the pens of small minus normal (the issue's goal is
  within 3 points).
- "pen px": the pen's true diameter in the 28 x 28 input (pen diameter * 20 / longer side of the
  canvas ink box, median over the cell); "DT px" and "area/len px": the two stroke-width
  estimates below, medians over the 28 x 28 inputs the networks receive in that row. On the drawn
  rows the true width is known, so these columns also calibrate the estimators: DT reads low
  (binarising at 0.5 and measuring between pixel centres loses about half a pixel; even widths
  lose a whole one), area/length reads high (end caps and junctions add ink but no length).
- MNIST stroke width, over all 10,000 test digits, in 28 x 28 pixels, two estimates:
  "DT": 2 * d - 1, with d the mean Euclidean distance from the skeleton pixels to the nearest
  paper pixel (pixel centres, binarised at 0.5; a stroke n pixels wide gives n);
  "area/length": total ink (sum of intensities, anti-aliasing included) / skeleton length
  (orthogonal steps 1, diagonal steps sqrt 2). Median and the 10-90 % range are printed.

Self-contained (NumPy and digitlab only), deterministic for a seed; about 15 s with the
defaults. It is a benchmark, never run as a test.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digitlab.data import load_dataset, to_mnist
from digitlab.data.pen import render_segments
from digitlab.data.thinning import skeleton_length, zhang_suen
from digitlab.io import load_model

CANVAS = 280
#: Canvas brush default (percent of the side); read from digitlab/gui/canvas.py without
#: importing Qt.
try:
    import ast

    _src = (ROOT / "digitlab" / "gui" / "canvas.py").read_text()
    DEFAULT_BRUSH_PERCENT = next(
        float(ast.literal_eval(n.value)) for n in ast.parse(_src).body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "DEFAULT_BRUSH_PERCENT"
                                             for t in n.targets))
except (OSError, StopIteration, SyntaxError, ValueError):  # pragma: no cover - fallback
    DEFAULT_BRUSH_PERCENT = 7.0

SIZES = {"normal 60%": 0.60, "small 20%": 0.20}
PENS = {"thin 3%": 3.0, f"default {DEFAULT_BRUSH_PERCENT:g}%": DEFAULT_BRUSH_PERCENT,
        "thick 12%": 12.0}


# --------------------------------------------------------------------------- drawing

def skeleton_segments(skel: np.ndarray) -> np.ndarray:
    """Segments (k, 2, 2) in (row, col) between 8-neighbouring skeleton pixels; a lone pixel is a
    zero-length segment (a dot)."""
    ys, xs = np.nonzero(skel)
    on = set(zip(ys.tolist(), xs.tolist()))
    segs = []
    for y, x in on:
        linked = False
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1), (0, -1), (-1, 0), (-1, -1), (-1, 1)):
            if (y + dy, x + dx) in on:
                linked = True
                if (dy, dx) in ((0, 1), (1, 0), (1, 1), (1, -1)):
                    segs.append(((y, x), (y + dy, x + dx)))
        if not linked:
            segs.append(((y, x), (y, x)))
    return np.asarray(sorted(segs), dtype=np.float64).reshape(-1, 2, 2)


def draw(segs: np.ndarray, radius: float, size: int = CANVAS) -> np.ndarray:
    """Rasterise capsules (segments with a round pen of ``radius`` px) anti-aliased: float32."""
    segs = np.asarray(segs, dtype=np.float64).reshape(-1, 2, 2)[:, :, ::-1]   # (y, x) -> (x, y)
    return render_segments(segs[:, 0], segs[:, 1], radius, (size, size))


def place(segs28: np.ndarray, ink_top: int, ink_bottom: int, height_frac: float,
          size: int = CANVAS) -> np.ndarray:
    """Map skeleton segments (MNIST pixel indices) to canvas coordinates: the digit's MNIST ink
    height (``ink_bottom - ink_top`` rows) becomes ``height_frac`` of the canvas, centred."""
    scale = height_frac * size / max(ink_bottom - ink_top, 1)
    pts = (segs28 + 0.5) * scale  # pixel centres
    lo, hi = pts.reshape(-1, 2).min(0), pts.reshape(-1, 2).max(0)
    return pts + (size / 2.0 - (lo + hi) / 2.0)


# --------------------------------------------------------------------------- stroke width

_IDX = np.stack(np.meshgrid(np.arange(30), np.arange(30), indexing="ij"), -1).reshape(-1, 2)
_D2 = ((_IDX[:, None, :] - _IDX[None, :, :]) ** 2).sum(-1).astype(np.float64)


def stroke_widths(images: np.ndarray, skels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-image stroke width of 28 x 28 ink-high float images in [0, 1]: (DT, area/length)."""
    binary = images >= 0.5
    if skels is None:
        skels = zhang_suen(binary)
    pb = np.pad(binary, ((0, 0), (1, 1), (1, 1))).reshape(len(images), -1)
    ps = np.pad(skels, ((0, 0), (1, 1), (1, 1))).reshape(len(images), -1)
    dt = np.full(len(images), np.nan)
    al = np.full(len(images), np.nan)
    for i in range(len(images)):
        sk = np.flatnonzero(ps[i] & pb[i])
        if sk.size:
            d = np.sqrt(_D2[np.ix_(sk, np.flatnonzero(~pb[i]))].min(axis=1))
            dt[i] = 2.0 * d.mean() - 1.0
        length = skeleton_length(skels[i])
        if images[i].sum() > 0:
            al[i] = images[i].sum() / max(length, 1.0)
    return dt, al


def _summary(w: np.ndarray) -> str:
    w = w[np.isfinite(w)]
    p10, p50, p90 = np.percentile(w, [10, 50, 90])
    return f"median {p50:.2f} px, 10-90 % {p10:.2f}-{p90:.2f} px"


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="digits per cell (default 500)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", nargs="*", default=None,
                    help="model files (default: models/*.h5)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    paths = [Path(p) for p in (args.models or sorted(glob.glob(str(ROOT / "models" / "*.h5"))))]
    nets = {p.stem: load_model(p).network for p in paths}
    if not nets:
        print("no models found", file=sys.stderr)
        return 1

    data = load_dataset()
    x_all = data.test_images.astype(np.float64) / 255.0
    y_all = data.test_labels.astype(int)

    # MNIST's own stroke width, over the whole test set.
    t0 = time.perf_counter()
    skel_all = zhang_suen(x_all >= 0.5)
    dt_w, al_w = stroke_widths(x_all, skel_all)
    t_width = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(x_all), size=min(args.n, len(x_all)), replace=False))
    x, y, skels = x_all[pick], y_all[pick], skel_all[pick]
    segs28 = [skeleton_segments(s) for s in skels]
    rows_ink = [np.flatnonzero((img > 0).any(axis=1)) for img in x]

    def accuracies(inputs: np.ndarray) -> dict[str, float]:
        flat = inputs.reshape(len(inputs), -1)
        return {k: float(np.mean(net.predict(flat) == y)) for k, net in nets.items()}

    def widths(inputs: np.ndarray) -> tuple[float, float]:
        dt, al = stroke_widths(inputs)
        return float(np.nanmedian(dt)), float(np.nanmedian(al))

    # (label, accuracies, (DT, area/length) medians, true pen width at 28x28 or nan)
    table: list[tuple[str, dict[str, float], tuple[float, float], float]] = []
    direct = x.astype(np.float32)
    table.append(("MNIST as is", accuracies(direct), widths(direct), np.nan))
    via = np.stack([to_mnist(img, ink_is_dark=False) for img in x])
    table.append(("MNIST via to_mnist", accuracies(via), widths(via), np.nan))

    t0 = time.perf_counter()
    cells: dict[tuple[str, str], dict[str, float]] = {}
    for size_name, frac in SIZES.items():
        for pen_name, pct in PENS.items():
            radius = pct / 100.0 * CANVAS / 2.0
            inputs = np.empty((len(x), 28, 28), np.float32)
            true_w = np.empty(len(x))
            for i, (sg, r) in enumerate(zip(segs28, rows_ink)):
                canvas = draw(place(sg, r[0], r[-1] + 1, frac), radius)
                out = to_mnist(canvas, ink_is_dark=False)
                inputs[i] = 0.0 if out is None else out
                # The pen's diameter after the conversion's scaling (ink box -> 20 px).
                m = canvas > 0.05 * canvas.max()
                side = max(np.ptp(np.flatnonzero(m.any(1))), np.ptp(np.flatnonzero(m.any(0)))) + 1
                true_w[i] = 2.0 * radius * 20.0 / side
            acc = accuracies(inputs)
            cells[(size_name, pen_name)] = acc
            table.append((f"{size_name}, {pen_name}", acc, widths(inputs),
                          float(np.median(true_w))))
    t_draw = time.perf_counter() - t0

    # Print.
    names = list(nets)
    cw = {n: max(len(n), 8) for n in names}
    w0 = max(max(len(r[0]) for r in table), len("small - normal (mean of pens)"))
    print(f"Drawn digits: {len(x)} MNIST test digits per cell (seed {args.seed}), "
          f"{CANVAS}x{CANVAS} canvas, converted by digitlab.data.to_mnist\n")
    print(f"| {'cell'.ljust(w0)} | " + " | ".join(n.rjust(cw[n]) for n in names)
          + " | pen px | DT px | area/len px |")
    print(f"|{'-' * (w0 + 2)}|" + "|".join("-" * (cw[n] + 1) + ":" for n in names)
          + "|-------:|------:|------------:|")
    for label, acc, (dt, al), pen in table:
        pen_s = "" if np.isnan(pen) else f"{pen:.2f}"
        print(f"| {label.ljust(w0)} | " + " | ".join(f"{acc[n]:.3f}".rjust(cw[n]) for n in names)
              + f" | {pen_s:>6} | {dt:5.2f} | {al:11.2f} |")
    sz = list(SIZES)
    diff = {n: np.mean([cells[(sz[1], p)][n] - cells[(sz[0], p)][n] for p in PENS]) for n in names}
    print(f"| {'small - normal (mean of pens)'.ljust(w0)} | "
          + " | ".join(f"{100 * diff[n]:+.1f} pt".rjust(cw[n]) for n in names) + " | | | |")
    means = {n: np.mean([cells[c][n] for c in cells]) for n in names}
    print(f"| {'all drawn cells (mean)'.ljust(w0)} | "
          + " | ".join(f"{means[n]:.3f}".rjust(cw[n]) for n in names) + " | | | |")

    print("\npen px: the pen's true diameter in the 28x28 input (median); DT px and area/len px:"
          "\nthe two stroke-width estimates (medians) measured on the 28x28 inputs of that row.")
    print(f"\nMNIST stroke width (all {len(x_all)} test digits, 28x28 px):")
    print(f"  DT (2 * mean distance on skeleton - 1): {_summary(dt_w)}")
    print(f"  area / skeleton length:                 {_summary(al_w)}")
    total = time.perf_counter() - t_start
    print(f"\nRun time: {total:.1f} s (stroke widths {t_width:.1f} s, drawing + conversion "
          f"{t_draw:.1f} s for {len(x) * len(SIZES) * len(PENS)} canvases)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
