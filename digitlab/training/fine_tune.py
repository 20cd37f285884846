"""Fine-tuning: continue training a saved model, usually on its dataset plus a person's digits.

What the command line (``digitlab train --init-from``) and the Train form share: the settings a
fine-tuning run starts from, the check that the settings keep the model's architecture, and what
the new model records about where it started. The loop itself is the usual one
(``train(config, splits, initial=network)``).

Never imports Qt.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ..nn import Network
from .config import TrainConfig

# Fine-tuning defaults, applied to the starting model's own settings (its optimiser, L2, batch
# size, validation protocol): the regularisation is part of what the model is (the Draw view
# compares a regularised and an unregularised network), so it is kept; the rest is chosen for a
# short continuation rather than a fresh run.
# - A tenth of its learning rate: the optimiser starts afresh (a model file keeps no optimiser
#   state), and at the full rate its first steps move the weights far from what they learned
#   (Adam's first steps are about the learning rate for every weight, whatever the gradient).
# - A constant schedule: a cosine schedule would start over at its top rate.
# - At most FINE_TUNE_EPOCHS epochs: see the measurement in the README's fine-tuning section;
#   early stopping on the dataset's validation set still ends a run that only forgets.
FINE_TUNE_LR_FACTOR = 0.1
FINE_TUNE_EPOCHS = 5


def fine_tune_config(start: TrainConfig) -> TrainConfig:
    """The settings a fine-tuning run of a model trained with ``start`` begins from.

    Everything is the model's own except the learning rate (a tenth), the schedule (constant),
    the epochs (at most :data:`FINE_TUNE_EPOCHS`) and the name (empty: the new model's own).
    """
    return start.replace(learning_rate=start.learning_rate * FINE_TUNE_LR_FACTOR, schedule="constant",
                         max_epochs=min(start.max_epochs, FINE_TUNE_EPOCHS), name="")


def architecture_problems(network: Network, *, layer_sizes=None, batch_norm=None) -> list[str]:
    """Why the asked-for architecture conflicts with the starting ``network``; empty if it does not.

    ``layer_sizes`` and ``batch_norm`` are what the person asked for, None when not asked: the
    architecture of a fine-tuned network is always its starting network's.
    """
    p = []
    own = "-".join(map(str, network.layer_sizes))
    if layer_sizes is not None and tuple(int(s) for s in layer_sizes) != tuple(network.layer_sizes):
        p.append(f"the layers {'-'.join(map(str, layer_sizes))} differ from the starting model's {own}; "
                 f"a fine-tuned network keeps its model's layers, so leave the layer sizes out")
    if batch_norm is not None and bool(batch_norm) != bool(network.batch_norm):
        has = "has" if network.batch_norm else "has no"
        p.append(f"the starting model {has} batch normalisation, so it cannot be trained "
                 f"{'with' if batch_norm else 'without'} it; leave the batch-norm setting out")
    return p


def with_architecture(config: TrainConfig, network: Network) -> TrainConfig:
    """``config`` with ``network``'s layer sizes and batch normalisation."""
    return config.replace(layer_sizes=tuple(network.layer_sizes), batch_norm=bool(network.batch_norm))


def file_checksum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file's bytes, as ``sha256sum`` prints it."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def start_origin(name: str, path: str | os.PathLike | None) -> dict:
    """What a model records about the model it started from (docs/model-format.md)."""
    origin = {"init_from": str(name)}
    if path is not None:
        origin["init_from_checksum"] = file_checksum(path)
    return origin


def accuracy_on(network: Network, x: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``x`` (n, 784) in [0, 1] that ``network`` labels ``y``."""
    if len(y) == 0:
        raise ValueError("no digits to measure the accuracy on")
    return float(np.mean(network.predict(x) == np.asarray(y)))
