"""How well the shipped models read MNIST test digits that are a little off, as drawn digits are.

    python benchmarks/augmented_test.py [--seed 12345] [--models models/*.h5]

Every one of the 10,000 MNIST test digits is transformed once within the augmentation's ranges
(digitlab.training.augment.DEFAULT_RANGES: shifted, rotated, scaled, sheared, thickened or
thinned, elastically deformed) with a seed no training run uses, and each model is scored on the
clean and on the transformed digits. The pad networks were trained with such transforms (of
training digits), so this shows what augmentation buys on its own terms; it is not a drawn-digit
benchmark (benchmarks/drawn_set.py is). A few seconds; a benchmark, never run as a test.
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import numpy as np

from digitlab.data import load_dataset
from digitlab.io import load_model
from digitlab.training.augment import CHUNK_IMAGES, Augmenter

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=12345, help="seed of the transforms")
    parser.add_argument("--models", nargs="+", default=sorted(glob.glob(str(ROOT / "models" / "*.h5"))))
    args = parser.parse_args(argv)

    raw = load_dataset()
    x = np.ascontiguousarray(raw.test_images.reshape(len(raw.test_images), -1))
    augmenter = Augmenter(seed=args.seed, fraction=1.0)
    transformed = np.concatenate([augmenter.augment(x[i:i + CHUNK_IMAGES], 0, i // CHUNK_IMAGES)
                                  for i in range(0, len(x), CHUNK_IMAGES)])
    print(f"MNIST test, {len(x)} digits; transformed with seed {args.seed}. Accuracy (%):\n")
    print("| model | clean | transformed |\n|---|---:|---:|")
    for path in args.models:
        net = load_model(path).network
        clean, moved = (np.mean(net.predict(d.astype(np.float32) / 255) == raw.test_labels)
                        for d in (x, transformed))
        print(f"| {Path(path).stem} | {100 * clean:.2f} | {100 * moved:.2f} |")


if __name__ == "__main__":
    main()
