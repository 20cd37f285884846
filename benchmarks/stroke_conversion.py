"""What the stroke-aware conversion and the raster stroke-width normalisation do to accuracy (issue 9).

    python benchmarks/stroke_conversion.py [--n 1000] [--seed 0] [--pen-widths 2.0,2.5,3.0]

Three measurements on the same ``--n`` MNIST test digits (picked with ``--seed``), for every model
in models/:

1. MNIST's own digits through ``to_mnist`` with and without ``normalise_width`` (and as is): the
   normalisation should change nothing here; the share of digits it redraws is printed.
2. Pen-drawn rasters: each digit's skeleton (Zhang-Suen) redrawn with a round pen on a 280 x 280
   canvas (``benchmarks/drawn_digits.py``'s ``draw`` and ``place``) at two sizes (60 % and 20 % of
   the canvas) and three pen diameters (3, 7, 12 % of the side), then ``to_mnist`` without and
   with ``normalise_width``: what the normalisation recovers for thick pens.
3. The same skeletons as pen strokes (one two-point ``Stroke`` per skeleton link, canvas
   coordinates, the pen diameters above) through ``drawing_to_mnist_steps``, once per MNIST pen
   width in ``--pen-widths`` (the module constant is set for the run): the input does not depend on
   the person's pen or the size, so one row per pen width.

A benchmark, never run as a test. Deterministic for a seed.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from drawn_digits import CANVAS, draw, place  # noqa: E402

import digitlab.data.strokes as strokes_module  # noqa: E402
from digitlab.data import Drawing, Stroke, drawing_to_mnist_steps, load_dataset, to_mnist_steps  # noqa: E402
from digitlab.data.pen import skeleton_segments  # noqa: E402
from digitlab.data.thinning import zhang_suen  # noqa: E402
from digitlab.io import load_model  # noqa: E402

SIZES = {"normal 60%": 0.60, "small 20%": 0.20}
PENS = {"thin 3%": 3.0, "default 7%": 7.0, "thick 12%": 12.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pen-widths", default="2.0,2.5,3.0")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    nets = {Path(p).stem: load_model(p).network for p in sorted(glob.glob(str(ROOT / "models" / "*.h5")))}
    data = load_dataset()
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(data.test_labels), size=min(args.n, len(data.test_labels)), replace=False))
    x = data.test_images[pick].astype(np.float64) / 255.0
    y = data.test_labels[pick].astype(int)
    skels = zhang_suen(x >= 0.5)
    segs28 = [skeleton_segments(s) for s in skels]        # (x, y) pixel centres
    rows_ink = [np.flatnonzero((img > 0).any(axis=1)) for img in x]

    rows: list[tuple[str, dict[str, float], str]] = []

    def acc(inputs: np.ndarray) -> dict[str, float]:
        flat = inputs.reshape(len(inputs), -1).astype(np.float32)
        return {k: float(np.mean(net.predict(flat) == y)) for k, net in nets.items()}

    def convert(images, **kw) -> tuple[np.ndarray, float]:
        out, redrawn = np.zeros((len(images), 28, 28), np.float32), 0
        for i, img in enumerate(images):
            s = to_mnist_steps(img, ink_is_dark=False, **kw)
            if s["centred"] is not None:
                out[i] = s["centred"]
            redrawn += s.get("redrawn") is not None
        return out, redrawn / len(images)

    rows.append(("MNIST as is", acc(x), ""))
    old, _ = convert(x, normalise_width=False)
    rows.append(("MNIST, to_mnist without normalise_width", acc(old), ""))
    new, share = convert(x, normalise_width=True)
    rows.append(("MNIST, to_mnist with normalise_width", acc(new), f"{100 * share:.1f} % redrawn"))

    # place() works in (row, col); skeleton_segments gives (x, y) pixel centres
    segs_rc = [s[:, :, ::-1] - 0.5 for s in segs28]
    for size_name, frac in SIZES.items():
        for pen_name, pct in PENS.items():
            radius = pct / 100.0 * CANVAS / 2.0
            canvases = [draw(place(sg, r[0], r[-1] + 1, frac), radius) for sg, r in zip(segs_rc, rows_ink)]
            old, _ = convert(canvases, normalise_width=False)
            new, share = convert(canvases, normalise_width=True)
            a_old, a_new = acc(old), acc(new)
            rows.append((f"raster {size_name}, {pen_name}: without", a_old, ""))
            rows.append((f"raster {size_name}, {pen_name}: with", a_new, f"{100 * share:.1f} % redrawn"))

    default_width = strokes_module.MNIST_PEN_WIDTH
    t_strokes, n_strokes = 0.0, 0
    for width in [float(w) for w in args.pen_widths.split(",")]:
        strokes_module.MNIST_PEN_WIDTH = width
        for size_name, frac in SIZES.items():
            inputs = np.zeros((len(x), 28, 28), np.float32)
            for i, (sg, r) in enumerate(zip(segs_rc, rows_ink)):
                canvas_rc = place(sg, r[0], r[-1] + 1, frac)
                pts = canvas_rc[:, :, ::-1]                 # back to (x, y)
                d = Drawing(CANVAS, tuple(Stroke(p, np.ones(len(p)), 0.07 * CANVAS) for p in pts))
                t0 = time.perf_counter()
                out = drawing_to_mnist_steps(d)["centred"]
                t_strokes += time.perf_counter() - t0
                n_strokes += 1
                if out is not None:
                    inputs[i] = out
            rows.append((f"strokes, MNIST pen {width:g} px, {size_name}", acc(inputs), ""))
    strokes_module.MNIST_PEN_WIDTH = default_width

    names = list(nets)
    w0 = max(len(r[0]) for r in rows)
    print(f"{len(x)} MNIST test digits (seed {args.seed}); accuracy per model\n")
    print(f"| {'input'.ljust(w0)} | " + " | ".join(names) + " | note |")
    print(f"|{'-' * (w0 + 2)}|" + "|".join("-" * (len(n) + 1) + ":" for n in names) + "|---|")
    for label, a, note in rows:
        print(f"| {label.ljust(w0)} | " + " | ".join(f"{a[n]:.3f}".rjust(len(n)) for n in names)
              + f" | {note} |")
    print(f"\nstroke conversion: {1000 * t_strokes / max(n_strokes, 1):.2f} ms per digit "
          f"(skeleton links as strokes, ~40-80 two-point strokes each)")
    print(f"run time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
