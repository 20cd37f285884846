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
from .naming import format_layer_sizes

# Fine-tuning defaults, applied to the starting model's own settings (its optimiser, L2, batch
# size, validation checks): the regularisation is part of what the model is (the Draw view
# compares a regularised and an unregularised network), so it is kept; the rest is chosen for a
# short continuation rather than a fresh run. Measured on 30 MNIST test digits drawn thick
# (dilated twice) mixed in at 10 %, 5 epochs, accuracy on them before -> after and on MNIST test:
# - Adam: a tenth of its learning rate. The optimiser starts afresh (a model file keeps no
#   optimiser state) and Adam's first steps move every weight by about the learning rate whatever
#   its gradient. best.h5: 0.50 -> 1.00 at a tenth (MNIST test 96.35 -> 95.98 %), 1.00 at 0.3
#   (95.52 %).
# - SGD and momentum: the model's own rate. Their steps scale with the gradient, which is small
#   at a trained minimum, so the own rate is already a gentle continuation; a tenth barely moves
#   (report-l2 0.23 -> 0.43 at a tenth, 0.80 at its own rate with MNIST test 86.83 -> 86.98 %;
#   report-no-l2 0.27 -> 0.37 and 0.77, 88.88 -> 89.50 %).
# - Patience for the whole run: the extra digits may raise the dataset's validation cost a little
#   at first, and the report's 100 steps then stop the run after 200 steps, before it learnt them
#   (report-l2 at its own rate: 0.57 instead of 0.80). The run still keeps its best weights on
#   validation at the end, so it cannot end worse on the dataset than its best check.
# - A constant schedule (a cosine one would start over at its top rate), at most
#   FINE_TUNE_EPOCHS epochs.
ADAPTIVE_LR_FACTOR = 0.1
FINE_TUNE_EPOCHS = 5
# "The whole run": 5 epochs of a million images in batches of 64 are 78,000 steps; a million
# reads as "never" in the form, where MAX_STEPS (10**9) reads as a typo.
FINE_TUNE_PATIENCE = 1_000_000


def fine_tune_config(start: TrainConfig) -> TrainConfig:
    """The settings a fine-tuning run of a model trained with ``start`` begins from.

    Everything is the model's own except the learning rate (a tenth for Adam), the schedule
    (constant), the epochs (at most :data:`FINE_TUNE_EPOCHS`), the patience (the whole run) and
    the name (empty: the new model's own).
    """
    factor = ADAPTIVE_LR_FACTOR if start.optimizer == "adam" else 1.0
    return start.replace(learning_rate=start.learning_rate * factor, schedule="constant",
                         max_epochs=min(start.max_epochs, FINE_TUNE_EPOCHS), patience=FINE_TUNE_PATIENCE,
                         name="")


def architecture_problems(network: Network, *, layer_sizes=None, batch_norm=None,
                          activation=None) -> list[str]:
    """Why the asked-for architecture conflicts with the starting ``network``; empty if it does not.

    ``layer_sizes``, ``batch_norm`` and ``activation`` are what the person asked for, None when not
    asked: the
    architecture of a fine-tuned network is always its starting network's.
    """
    p = []
    own = format_layer_sizes(network.layer_sizes)
    if layer_sizes is not None and tuple(int(s) for s in layer_sizes) != tuple(network.layer_sizes):
        p.append(f"the layers {format_layer_sizes(layer_sizes)} differ from the starting model's {own}; "
                 f"a fine-tuned network keeps its model's layers, so leave the layer sizes out")
    if batch_norm is not None and bool(batch_norm) != bool(network.batch_norm):
        has = "has" if network.batch_norm else "has no"
        p.append(f"the starting model {has} batch normalisation, so it cannot be trained "
                 f"{'with' if batch_norm else 'without'} it; leave the batch-norm setting out")
    if activation is not None and activation != network.activation:
        p.append(f"the starting model's hidden layers use {network.activation}, so they cannot be trained "
                 f"as {activation}; leave the activation setting out")
    return p


def with_architecture(config: TrainConfig, network: Network) -> TrainConfig:
    """``config`` with ``network``'s layer sizes, batch normalisation and activation."""
    return config.replace(layer_sizes=tuple(network.layer_sizes), batch_norm=bool(network.batch_norm),
                          activation=network.activation)


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
