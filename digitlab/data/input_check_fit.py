"""Fit the input check's reference on MNIST and write ``resources/input_check.npz``.

    python -m digitlab.data.input_check_fit --out resources/input_check.npz [--force]

Deterministic (about 6 s): the split is ``prepare_splits(mnist, seed=0)`` (48,000 training and
12,000 validation digits of MNIST's training file; the test set is never used). On the training
digits: their mean, their first ``n_components`` principal components (eigenvectors of the
covariance, float64, each signed so that its largest entry is positive) and ``n_prototypes``
k-means centres in those components (Lloyd's algorithm, ``iterations`` rounds from training
digits picked with ``seed``). On the validation digits: the limits, the ``shape_quantile``
quantile of ``shape`` and the ``texture_quantile`` quantile of ``solid``, ``wide`` and ``faint``.

The file is derived from MNIST (its licence and attribution: ``resources/mnist/README.md``).

The quantiles were chosen with ``benchmarks/input_check.py``: together with the fixed ``box`` and
``pieces`` limits they reject about 0.5 % of the validation digits, which leaves room under the
1 % goal on the test set, while ``shape`` alone does most of the work against letters and
scribbles and ``solid``/``wide``/``faint`` need only their far tail against blobs, scribbles on
their side and noise.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

from digitlab.data.datasets import RawDataset, load_dataset, prepare_splits
from digitlab.data.input_check import (
    InputCheckReference,
    _reasons,
    input_scores,
    shape_distance,
)

__all__ = ["fit_reference", "main", "save_reference"]

N_COMPONENTS = 30
N_PROTOTYPES = 256
ITERATIONS = 15
SEED = 0
SHAPE_QUANTILE = 0.996
TEXTURE_QUANTILE = 0.9995


def _principal_components(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    d = x - mean
    cov = d.T @ d / (len(x) - 1)
    _, vectors = np.linalg.eigh(cov)
    top = vectors[:, ::-1][:, :k]
    # An eigenvector's sign is arbitrary: fix it so a recomputation gives the same file.
    signs = np.sign(top[np.argmax(np.abs(top), axis=0), np.arange(k)])
    return mean, top * signs


def _nearest(z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = (centres * centres).sum(axis=1)[None, :] - 2.0 * z @ centres.T  # |z|^2 is the same for all
    return d.argmin(axis=1)


def _kmeans(z: np.ndarray, k: int, iterations: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = z[np.sort(rng.choice(len(z), size=k, replace=False))].copy()
    for _ in range(iterations):
        owner = _nearest(z, centres)
        counts = np.bincount(owner, minlength=k)
        sums = np.zeros_like(centres)
        np.add.at(sums, owner, z)
        kept = counts > 0  # a centre nobody chose stays where it was
        centres[kept] = sums[kept] / counts[kept, None]
    return centres


def fit_reference(raw: RawDataset | None = None, *, n_components: int = N_COMPONENTS,
                  n_prototypes: int = N_PROTOTYPES, iterations: int = ITERATIONS, seed: int = SEED,
                  shape_quantile: float = SHAPE_QUANTILE,
                  texture_quantile: float = TEXTURE_QUANTILE) -> InputCheckReference:
    """Fit the reference on MNIST's training file (default: the bundled MNIST); see the module."""
    raw = load_dataset() if raw is None else raw
    for name, q in (("shape_quantile", shape_quantile), ("texture_quantile", texture_quantile)):
        if not 0.5 < q < 1.0:
            raise ValueError(f"{name} must be between 0.5 and 1 (a high quantile), got {q}")
    splits = prepare_splits(raw, seed=0, dtype=np.float64)
    x_train, x_val = splits.x_train, splits.x_val
    mean, comps = _principal_components(x_train, n_components)
    prototypes = _kmeans((x_train - mean) @ comps, n_prototypes, iterations, seed)
    provisional = InputCheckReference(mean.astype(np.float32), comps.astype(np.float32),
                                      prototypes.astype(np.float32), np.inf, np.inf, np.inf, np.inf)
    scores = input_scores(x_val, provisional)
    ref = InputCheckReference(
        provisional.mean, provisional.components, provisional.prototypes,
        solid_limit=float(np.quantile(scores["solid"], texture_quantile)),
        wide_limit=float(np.quantile(scores["wide"], texture_quantile)),
        faint_limit=float(np.quantile(scores["faint"], texture_quantile)),
        shape_limit=float(np.quantile(shape_distance(x_val, provisional), shape_quantile)),
    )
    flags = _reasons(scores, np.full(len(x_val), np.nan), ref)
    rejected = float(np.logical_or.reduce(list(flags.values())).mean())
    info = {"dataset_checksum": raw.checksum, "split_seed": 0, "n_train": len(x_train),
            "n_validation": len(x_val), "n_components": n_components, "n_prototypes": n_prototypes,
            "iterations": iterations, "seed": seed, "shape_quantile": shape_quantile,
            "texture_quantile": texture_quantile, "validation_rejected": rejected}
    return InputCheckReference(ref.mean, ref.components, ref.prototypes, ref.solid_limit,
                               ref.wide_limit, ref.faint_limit, ref.shape_limit, info)


def save_reference(ref: InputCheckReference, path, *, replace: bool = False) -> Path:
    """Write ``ref`` as a compressed .npz (atomically; an existing file only with ``replace``)."""
    from digitlab.atomic import write_bytes_atomic

    buf = io.BytesIO()
    np.savez_compressed(
        buf, mean=ref.mean, components=ref.components, prototypes=ref.prototypes,
        solid_limit=np.float64(ref.solid_limit), wide_limit=np.float64(ref.wide_limit),
        faint_limit=np.float64(ref.faint_limit),
        shape_limit=np.float64(ref.shape_limit),
        **{f"info_{k}": np.asarray(v) for k, v in ref.info.items()},
    )
    return write_bytes_atomic(path, buf.getvalue(), replace=replace)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fit the input check's reference on MNIST.")
    ap.add_argument("--out", required=True, help="where to write the .npz (resources/input_check.npz)")
    ap.add_argument("--force", action="store_true", help="replace an existing file")
    args = ap.parse_args(argv)
    ref = fit_reference()
    try:
        path = save_reference(ref, args.out, replace=args.force)
    except FileExistsError as exc:
        print(f"{exc}; add --force to replace it.", file=sys.stderr)
        return 1
    except OSError as exc:  # OutputError: a sentence saying what went wrong with the output
        print(exc, file=sys.stderr)
        return 1
    print(f"wrote {path}: {ref.components.shape[1]} components, {len(ref.prototypes)} prototypes; "
          f"limits solid {ref.solid_limit:.4f}, wide {ref.wide_limit:.3f}, faint {ref.faint_limit:.4f}, "
          f"shape {ref.shape_limit:.3f}; "
          f"{100 * ref.info['validation_rejected']:.2f} % of the validation digits rejected")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
