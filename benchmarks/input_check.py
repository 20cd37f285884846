"""How often the input check ("ok" / "too small" / "not a digit") rejects digits and non-digits.

    python benchmarks/input_check.py [--n 1000] [--seed 1] [--skip-models]

What it prints (Markdown tables, for the README):

1. False rejections on digits: MNIST validation (where the limits were set), MNIST test as is,
   MNIST test through ``to_mnist`` (the path of a loaded digit or an image file, with its
   stroke-width normalisation), and the drawn set's digits (``digitlab.data.drawn_set``: MNIST test
   skeletons and templates drawn as pen strokes at 20/60/85 % of the canvas with 3/7/12 % brushes)
   through the drawing pad's conversion with their ink extent.
2. Rejection per generated non-digit kind (:mod:`digitlab.data.non_digit_drawings`, ``--n`` of
   each, seeded), for the pad's stroke conversion (with the ink extent it reports, and from the
   28x28 input alone) and for the raster conversion of image files; split into "too small" and
   "not a digit".
3. Why the check is model-free: each shipped network's maximum softmax probability and the energy
   of its logits, thresholded to reject the same share of MNIST validation digits as the check,
   and what they reject of each kind (pad conversion, input alone).
4. The time of one ``check_input`` call.

The limits come from ``resources/input_check.npz`` (``python -m digitlab.data.input_check_fit``),
fitted on MNIST's training file only. About three minutes on a shared two-core machine (most of
it converting the raster non-digits and MNIST test through ``to_mnist``); never run as a test.
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

from digitlab.data import load_dataset, prepare_splits, to_mnist
from digitlab.data.drawn_set import plan_drawn_set
from digitlab.data.input_check import check_input, check_inputs, load_reference
from digitlab.data.non_digit_drawings import KINDS, STROKE_KINDS, non_digit_inputs
from digitlab.data.strokes import Drawing, Stroke, drawing_to_mnist_steps


def _pct(mask) -> str:
    return f"{100.0 * float(np.mean(mask)):.2f} %"


def _drawn_digits(raw, seed: int):
    plan = plan_drawn_set(raw.test_images, raw.test_labels, seed=seed, per_class=10)
    xs, extents, sizes = [], [], []
    for d in plan:
        side = 448
        strokes = tuple(Stroke(p, np.ones(len(p)), d.brush_percent / 100.0 * side) for p in d.strokes)
        steps = drawing_to_mnist_steps(Drawing(side, strokes))
        xs.append(steps["centred"])
        extents.append(steps["ink_extent"])
        sizes.append(d.size_class)
    return np.stack(xs), np.asarray(extents), np.asarray(sizes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="drawings of each non-digit kind (default 1000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the drawings (the limits are fixed)")
    ap.add_argument("--skip-models", action="store_true", help="leave out the comparison with the networks")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    ref = load_reference()
    raw = load_dataset()
    splits = prepare_splits(raw, seed=0)
    info = ref.info
    print(f"Input check: reference fitted on {info.get('n_train')} MNIST training digits, limits on "
          f"{info.get('n_validation')} validation digits ({info.get('n_components')} components, "
          f"{info.get('n_prototypes')} prototypes; shape quantile {info.get('shape_quantile')}, "
          f"solid/wide/faint quantile {info.get('texture_quantile')}).\n")

    # ---------------------------------------------------------------- digits
    x_val = splits.x_val.reshape(-1, 28, 28)
    x_test = splits.x_test.reshape(-1, 28, 28)
    t0 = time.perf_counter()
    x_test_conv = np.stack([to_mnist(img, ink_is_dark=False) for img in x_test])
    t_conv = time.perf_counter() - t0
    drawn, drawn_ext, drawn_size = _drawn_digits(raw, args.seed)
    rows = [("MNIST validation (limits set here)", check_inputs(x_val, reference=ref)),
            ("MNIST test, as is", check_inputs(x_test, reference=ref)),
            ("MNIST test through to_mnist (image files, loaded digits)",
             check_inputs(x_test_conv, reference=ref))]
    drawn_states = check_inputs(drawn, drawn_ext, reference=ref)
    for size in ("small", "normal", "large"):
        m = drawn_size == size
        rows.append((f"drawn set, {size}, pad conversion with extent ({m.sum()})", drawn_states[m]))
    print("| digits | n | rejected | too small | not a digit |")
    print("|---|---:|---:|---:|---:|")
    for name, states in rows:
        print(f"| {name} | {len(states)} | {_pct(states != 'ok')} | {_pct(states == 'too small')} | "
              f"{_pct(states == 'not a digit')} |")

    # ---------------------------------------------------------------- non-digits
    print(f"\n| non-digit ({args.n} each, seed {args.seed}) | pad, with extent | pad, input alone | "
          "pad: too small / not a digit | image file (raster) |")
    print("|---|---:|---:|---:|---:|")
    pad_inputs = {}
    for kind in KINDS:
        raster_x, _ = non_digit_inputs(kind, args.n, args.seed, "raster")
        raster = check_inputs(raster_x, reference=ref)
        if kind in STROKE_KINDS:
            x, ext = non_digit_inputs(kind, args.n, args.seed, "strokes")
            pad_inputs[kind] = x
            with_ext = check_inputs(x, ext, reference=ref)
            alone = check_inputs(x, reference=ref)
            cells = (f"{_pct(with_ext != 'ok')} | {_pct(alone != 'ok')} | "
                     f"{_pct(with_ext == 'too small')} / {_pct(with_ext == 'not a digit')}")
        else:
            cells = "(a pen cannot draw it) | | "
        print(f"| {kind} | {cells} | {_pct(raster != 'ok')} |")

    # ---------------------------------------------------------------- the networks' own scores
    if not args.skip_models:
        from digitlab.io import load_model

        target = float(np.mean(check_inputs(x_val, reference=ref) != "ok"))
        print(f"\nThe networks' own scores, thresholded to reject the same {100 * target:.2f} % of "
              "MNIST validation digits (pad conversion, input alone):\n")
        kinds = list(pad_inputs)
        print("| score | MNIST test | " + " | ".join(kinds) + " |")
        print("|---|---:|" + "---:|" * len(kinds))
        check_row = [check_inputs(x_test, reference=ref) != "ok"] + \
                    [check_inputs(pad_inputs[k], reference=ref) != "ok" for k in kinds]
        print("| this input check | " + " | ".join(_pct(r) for r in check_row) + " |")
        for path in sorted(glob.glob(str(ROOT / "models" / "*.h5"))):
            net = load_model(path).network

            def msp(x, net=net):
                return -net.predict_proba(x.reshape(-1, 784).astype(np.float32)).max(axis=1)

            def energy(x, net=net):
                z = net.logits(x.reshape(-1, 784).astype(np.float32)).astype(np.float64)
                top = z.max(axis=1)
                return -(top + np.log(np.exp(z - top[:, None]).sum(axis=1)))

            for label, score in (("max. softmax", msp), ("energy", energy)):
                limit = np.quantile(score(x_val), 1.0 - target)
                cells = [score(x_test) > limit] + [score(pad_inputs[k]) > limit for k in kinds]
                print(f"| {Path(path).stem}, {label} | " + " | ".join(_pct(c) for c in cells) + " |")

    # ---------------------------------------------------------------- speed
    one = drawn[0]
    check_input(one, 0.5, reference=ref)
    times = []
    for _ in range(300):
        t0 = time.perf_counter()
        check_input(one, 0.5, reference=ref)
        times.append(time.perf_counter() - t0)
    print(f"\ncheck_input on one input: median {1000 * np.median(times):.3f} ms, "
          f"95th percentile {1000 * np.percentile(times, 95):.3f} ms (300 calls)")
    print(f"Run time: {time.perf_counter() - t_start:.0f} s (converting MNIST test through to_mnist "
          f"{t_conv:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
