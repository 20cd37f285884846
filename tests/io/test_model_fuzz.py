"""Byte damage to the shipped models: every variant is refused or loads the same network.

A seeded generator damages each models/*.h5 in four ways (flipped bytes, zeroed runs, truncation,
duplicated blocks). Each variant must either raise ModelFileError or load a network whose
probabilities on a fixed batch of MNIST test images equal the original's exactly: weights carry a
Fletcher-32 checksum, so damage to them cannot load silently. The batch runs in a subprocess, so
a crash or a hang inside HDF5 fails the test instead of taking pytest down.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.h5"))
VARIANTS_PER_MODEL = 100
SEED = 20261128


def _damage(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One damaged copy of ``data`` and a description of the damage."""
    n = len(data)
    kind = ("flip", "zeros", "truncate", "duplicate", "insert")[rng.integers(5)]
    out = bytearray(data)
    if kind == "flip":
        where = sorted(int(i) for i in rng.integers(0, n, rng.integers(1, 9)))
        for i in where:
            out[i] ^= int(rng.integers(1, 256))
        return f"flip {where}", bytes(out)
    if kind == "zeros":
        at, length = int(rng.integers(0, n)), int(rng.integers(1, 513))
        out[at:at + length] = bytes(len(out[at:at + length]))
        return f"zeros {at}+{length}", bytes(out)
    if kind == "truncate":
        at = int(rng.integers(0, n))
        return f"truncate {at}", bytes(out[:at])
    length = int(rng.integers(16, 4097))
    src, dst = int(rng.integers(0, n - length)), int(rng.integers(0, n - length))
    block = data[src:src + length]
    if kind == "duplicate":                                  # overwrite, same size
        out[dst:dst + length] = block
        return f"duplicate {src}+{length} over {dst}", bytes(out)
    return f"insert {src}+{length} at {dst}", bytes(out[:dst] + block + out[dst:])


def _run(n_per_model: int) -> dict:
    """Load every variant; the outcome counts and every variant that broke the rule."""
    from digitlab.data import load_dataset
    from digitlab.io import ModelFileError, load_model

    # Scaled as digitlab scales them: 784 values in [0, 1] per image.
    images = load_dataset(verify=False).test_images[:256].reshape(256, 784).astype(np.float32) / 255
    rng = np.random.default_rng(SEED)
    counts = {"refused": 0, "same": 0}
    broken = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            data = model.read_bytes()
            want = load_model(model).network.predict_proba(images)
            for i in range(n_per_model):
                what, damaged = _damage(data, rng)
                path = Path(tmp) / f"{model.stem}-{i}.h5"
                path.write_bytes(damaged)
                try:
                    got = load_model(path).network.predict_proba(images)
                except ModelFileError:
                    counts["refused"] += 1
                    continue
                except Exception as e:                      # noqa: BLE001 - the finding itself
                    broken.append(f"{model.name} {what}: {type(e).__name__}: {e}"[:300])
                    continue
                if np.array_equal(got, want):
                    counts["same"] += 1
                else:
                    broken.append(f"{model.name} {what}: loaded with different predictions")
    return {"counts": counts, "broken": broken}


@pytest.mark.slow      # a fuzzing pass over every shipped model: about 7 s
def test_damaged_shipped_models_are_refused_or_identical():
    assert len(MODELS) >= 5
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, str(VARIANTS_PER_MODEL)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])   # no crash
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    counts = report["counts"]
    assert report["broken"] == []
    assert counts["refused"] + counts["same"] == VARIANTS_PER_MODEL * len(MODELS) >= 200
    # Both outcomes happen, so neither branch of the rule is vacuous.
    assert counts["refused"] >= 50 and counts["same"] >= 10, counts
    assert seconds < 30, seconds


if __name__ == "__main__":
    print(json.dumps(_run(int(sys.argv[1]))))
