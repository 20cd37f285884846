"""How fast digitlab trains and predicts, against the textbook NumPy version in the same run.

    python benchmarks/train_speed.py [--epochs 5] [--repeats 3] [--skip-experiments]

One BLAS thread (set below, before NumPy loads). Shared machines drift, so the figure to compare
across runs is the ratio to the textbook version timed here, not the absolute seconds. Each repeat
times digitlab and the textbook version back to back; an epoch's time is the median over its run's
epochs, and the best repeat of each is reported (the least disturbed by other work on the machine).
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import textbook  # noqa: E402

from digitlab.data import load_dataset, prepare_splits  # noqa: E402
from digitlab.training import EXPERIMENTS, REPORT, REPORT_LAMBDA, train  # noqa: E402


def digitlab_epoch_seconds(config, splits, epochs):
    """Median wall time of one epoch over ``epochs`` epochs.

    An epoch is defined as in ../shared/docs/PERFORMANCE.md: 188 steps plus one forward pass over
    the 12,000 validation images (one validation check at the end of each epoch).
    """
    marks = [time.perf_counter()]
    steps_per_epoch = -(-splits.n_train // config.batch_size)
    config = config.replace(max_epochs=epochs, patience=10**9, eval_every=steps_per_epoch)
    train(config, splits, on_epoch=lambda *_: marks.append(time.perf_counter()))
    return statistics.median(np.diff(marks))


def textbook_epoch_seconds(splits, epochs, use_batchnorm, lambd=0.0):
    rng = np.random.default_rng(0)
    X = splits.x_train.T.astype(np.float64)
    Y = np.eye(10)[splits.y_train].T
    Xv = splits.x_val.T.astype(np.float64)
    Yv = np.eye(10)[splits.y_val].T
    params = textbook.initialize([784, 20, 7, 5, 10], rng)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        params = textbook.epoch(X, Y, params, rng, lambd=lambd, use_batchnorm=use_batchnorm)
        textbook.validation_cost(Xv, Yv, params, use_batchnorm)   # one validation pass an epoch
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def predict_one_seconds(network, x, repeats=20000):
    for _ in range(200):
        network.predict_one(x)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats // 5):
            network.predict_one(x)
        samples.append((time.perf_counter() - start) / (repeats // 5))
    return statistics.median(samples)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="epochs timed per configuration")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the best is reported")
    parser.add_argument("--skip-experiments", action="store_true", help="do not time the four experiments")
    args = parser.parse_args(argv)

    splits = prepare_splits(load_dataset())
    print(f"numpy {np.__version__}, one BLAS thread, {args.epochs} epochs x {args.repeats} repeats, "
          f"{splits.n_train} training images, batch {REPORT.batch_size}\n")
    rows = [
        ("report setting (SGD, no BN)", REPORT, False, 0.0),
        ("with batch normalisation", REPORT.replace(batch_norm=True), True, 0.0),
        ("with L2", REPORT.replace(l2=REPORT_LAMBDA), False, REPORT_LAMBDA),
    ]
    print(f"{'setting':32s} {'digitlab s/epoch':>17s} {'textbook s/epoch':>17s} {'ratio':>7s}")
    for label, config, bn, lambd in rows:
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(digitlab_epoch_seconds(config, splits, args.epochs))
            theirs.append(textbook_epoch_seconds(splits, max(2, args.epochs // 2), bn, lambd))
        a, b = min(ours), min(theirs)
        print(f"{label:32s} {a:17.4f} {b:17.4f} {a / b:7.2f}")

    if not args.skip_experiments:
        start = time.perf_counter()
        for label, config in EXPERIMENTS:
            result = train(config, splits)
            print(f"  {label}: {result.epochs} epochs, {result.steps} steps, {result.elapsed:.1f} s, "
                  f"test accuracy {result.metrics['test_accuracy']:.4f}")
        print(f"all four experiments, one seed: {time.perf_counter() - start:.1f} s")

    x = splits.x_test[0]
    for bn in (False, True):
        net = train(REPORT.replace(batch_norm=bn, max_epochs=1), splits).network
        print(f"predict one image ({'BN' if bn else 'no BN'}): "
              f"{predict_one_seconds(net, x) * 1e6:.1f} microseconds")


if __name__ == "__main__":
    main()
