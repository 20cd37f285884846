"""How much on-the-fly augmentation slows an epoch, on the pad preset's setting and the report's.

    python benchmarks/augment_speed.py [--epochs 3] [--repeats 5]

The goal (issue 9): an epoch with augmentation at most 30 % slower than the same epoch without.
Each repeat trains the setting without and then with augmentation back to back, so both see about
the same load on a shared machine; an epoch's time is the median over its run's epochs. Printed:
the ratio of the best repeats (the least disturbed) and the median of the repeats' ratios,
without (the default) and with a helper thread that prepares chunks ahead. One BLAS thread, as
in train_speed.py. Also printed: the time to augment one epoch's images alone.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from digitlab.data import load_dataset, prepare_splits  # noqa: E402
from digitlab.training import (  # noqa: E402
    REPORT,
    augment,
    preset,
    train,
)
from digitlab.training.augment import CHUNK_IMAGES, Augmenter  # noqa: E402


def epoch_seconds(config, splits, epochs):
    """Median wall time of an epoch: its steps plus one validation pass (PERFORMANCE.md)."""
    marks = [time.perf_counter()]
    steps_per_epoch = -(-splits.n_train // config.batch_size)
    config = config.replace(max_epochs=epochs, patience=10**9, eval_every=steps_per_epoch,
                            schedule="constant")
    train(config, splits, on_epoch=lambda *_: marks.append(time.perf_counter()))
    return statistics.median(np.diff(marks))


def augment_only_seconds(x_bytes, fraction):
    """One epoch's images augmented chunk by chunk, as the trainer does (the bank drawn first)."""
    augmenter = Augmenter(seed=3, fraction=fraction)
    augmenter.bank(0)
    start = time.perf_counter()
    for chunk, begin in enumerate(range(0, len(x_bytes), CHUNK_IMAGES)):
        augmenter.augment(x_bytes[begin:begin + CHUNK_IMAGES], 0, chunk)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per run")
    parser.add_argument("--repeats", type=int, default=5, help="repeats (pairs of runs)")
    args = parser.parse_args(argv)

    splits = prepare_splits(load_dataset())
    pad = preset("pad")
    settings = [("pad preset (Adam, BN, batch 64)", pad.replace(augment=False)),
                ("report setting (SGD, batch 256)", REPORT.replace(augment_fraction=pad.augment_fraction))]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"augment_fraction {pad.augment_fraction:g}; {args.epochs} epochs x {args.repeats} repeats")
    default_ahead = augment.CHUNKS_AHEAD
    for label, config in settings:
        for ahead in (0, 2):
            augment.CHUNKS_AHEAD = ahead
            plain, augmented = [], []
            for _ in range(args.repeats):
                plain.append(epoch_seconds(config.replace(augment=False), splits, args.epochs))
                augmented.append(epoch_seconds(config.replace(augment=True), splits, args.epochs))
            ratio = min(augmented) / min(plain)
            paired = statistics.median(a / p for a, p in zip(augmented, plain))
            how = f"helper thread, {ahead} chunks ahead" if ahead else "no helper thread"
            print(f"{label}, {how}: best {min(plain):.3f} s/epoch without, {min(augmented):.3f} s with "
                  f"augmentation: {100 * (ratio - 1):+.0f} % (goal <= +30 %); median of the repeats' "
                  f"ratios {100 * (paired - 1):+.0f} %; each repeat, with / without: "
                  + ", ".join(f"{a / p:.2f}" for a, p in zip(augmented, plain)), flush=True)
    augment.CHUNKS_AHEAD = default_ahead
    x_bytes = splits.x_train_bytes
    for fraction in (pad.augment_fraction, 1.0):
        alone = min(augment_only_seconds(x_bytes, fraction) for _ in range(args.repeats))
        print(f"augmenting one epoch's {len(x_bytes)} images (fraction {fraction:g}) alone: {alone:.3f} s")


if __name__ == "__main__":
    main()
