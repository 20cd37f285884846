"""How the cost of an epoch grows with the network's width, digitlab against PyTorch eager.

    python benchmarks/width_speed.py [--epochs 3] [--repeats 3] [--widths 784-20-7-5-10 ...]

PyTorch is timed only when it is installed in the interpreter running this script (it is not a
dependency of digitlab: ``pip install torch numpy h5py`` into a separate venv and run this file
with that venv's python from the checkout).

The epoch is the one of ../shared/docs/PERFORMANCE.md: the 48,000 training images in shuffled
mini-batches of 256 with plain SGD, then one forward pass over the 12,000 validation images
(cost and accuracy). One thread for both (set below, before NumPy or PyTorch load). Each repeat
times digitlab and PyTorch back to back on the same network width; an epoch's time is the median
over the run's epochs and the best repeat is reported (the least disturbed by other work on a
shared machine). The ratio, not the absolute seconds, is what carries over between runs.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from digitlab.data import load_dataset, prepare_splits  # noqa: E402
from digitlab.training import REPORT, train  # noqa: E402
from digitlab.training.naming import format_layer_sizes  # noqa: E402

try:
    import torch
except ImportError:        # PyTorch is optional: without it only digitlab is timed
    torch = None

WIDTHS = ("784-20-7-5-10", "784-100-10", "784-256-128-10", "784-1024-512-10")
BATCH = 256
LEARNING_RATE = 0.1


def digitlab_epoch_seconds(layer_sizes, splits, epochs):
    """Median wall time of one of ``epochs`` epochs of digitlab's own trainer (``train``)."""
    marks = [time.perf_counter()]
    steps_per_epoch = -(-splits.n_train // BATCH)
    config = REPORT.replace(layer_sizes=layer_sizes, batch_size=BATCH, learning_rate=LEARNING_RATE,
                            optimizer="sgd", max_epochs=epochs, patience=10**9,
                            eval_every=steps_per_epoch)
    train(config, splits, on_epoch=lambda *_: marks.append(time.perf_counter()))
    return statistics.median(np.diff(marks))


def torch_epoch_seconds(layer_sizes, splits, epochs):
    """The same epoch in PyTorch eager: ``nn.Linear`` + ReLU, cross-entropy, ``optim.SGD``.

    The images are converted to float once, up front (digitlab converts each batch's bytes as it
    goes), so PyTorch is timed on its best footing.
    """
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.from_numpy(np.ascontiguousarray(splits.x_train, dtype=np.float32))
    y = torch.from_numpy(splits.y_train.astype(np.int64))
    x_val = torch.from_numpy(np.ascontiguousarray(splits.x_val, dtype=np.float32))
    y_val = torch.from_numpy(splits.y_val.astype(np.int64))
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for begin in range(0, len(x), BATCH):
            idx = order[begin:begin + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            logits = model(x_val)
            float(loss_fn(logits, y_val))
            float((logits.argmax(1) == y_val).float().mean())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per run (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the best is reported (default 3)")
    parser.add_argument("--widths", nargs="+", default=WIDTHS, help="layer sizes, e.g. 784-100-10")
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(1)
    splits = prepare_splits(load_dataset())
    others = f"PyTorch {torch.__version__} eager" if torch is not None else "PyTorch not installed"
    print(f"numpy {np.__version__}, {others}; one thread; {splits.n_train} training images, batch {BATCH}, "
          f"SGD, one validation pass; {args.epochs} epochs x {args.repeats} repeats, best repeat\n")
    print("| layers | digitlab s/epoch | PyTorch eager s/epoch | digitlab vs PyTorch |")
    print("| --- | --- | --- | --- |")
    for text in args.widths:
        sizes = tuple(int(s) for s in text.split("-"))
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(digitlab_epoch_seconds(sizes, splits, args.epochs))
            if torch is not None:
                theirs.append(torch_epoch_seconds(sizes, splits, args.epochs))
        a = min(ours)
        if theirs:
            b = min(theirs)
            verdict = f"{b / a:.2f}x faster" if a <= b else f"{a / b:.2f}x slower"
            print(f"| {format_layer_sizes(sizes)} | {a:.3f} | {b:.3f} | {verdict} |", flush=True)
        else:
            print(f"| {format_layer_sizes(sizes)} | {a:.3f} | - | - |", flush=True)


if __name__ == "__main__":
    main()
