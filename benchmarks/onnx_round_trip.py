"""The ONNX round trip: each shipped model exported to ONNX and run in onnxruntime on all 10,000
MNIST test images, against digitlab's own probabilities.

    python benchmarks/onnx_round_trip.py [--models models/*.h5]

Prints, per model, the largest absolute difference between the two probabilities (over every
image and class) and how many images get the same class, as a Markdown table. Needs the onnx
extra and onnxruntime (both in the test extra: pip install -e '.[test]'). A few seconds; a
benchmark, never run as a test (tests/io/test_onnx_export.py asserts the same figures' bounds).
"""

from __future__ import annotations

import argparse
import glob
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from digitlab.data import load_dataset
from digitlab.io import export_weights, load_model

ROOT = Path(__file__).resolve().parents[1]


def round_trip(model_path: Path, x: np.ndarray, folder: Path) -> tuple[float, int]:
    """(max |p_onnx - p_digitlab|, images with the same predicted class) for one model file."""
    model = load_model(model_path)
    path = export_weights(model, folder / f"{model_path.stem}.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {"pixels": x})
    want = model.network.predict_proba(x)
    return float(np.abs(probabilities - want).max()), int(np.sum(probabilities.argmax(1) == want.argmax(1)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=sorted(glob.glob(str(ROOT / "models" / "*.h5"))))
    args = parser.parse_args(argv)

    raw = load_dataset()
    x = (raw.test_images.reshape(len(raw.test_images), -1) / 255).astype(np.float32)
    print(f"MNIST test, {len(x)} images; onnxruntime {ort.__version__}\n")
    print("| model | batch norm | max probability difference | same class |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            path = Path(name)
            diff, same = round_trip(path, x, Path(folder))
            bn = "yes" if load_model(path).network.batch_norm else "no"
            print(f"| {path.stem} | {bn} | {diff:.1e} | {same:,} / {len(x):,} |")


if __name__ == "__main__":
    main()
