"""The data a configuration trains on: its dataset, split the same way every time."""

from __future__ import annotations

from ..data import load_dataset, prepare_splits

SPLIT_SEED = 0   # fixed, so that runs with different seeds differ in weights and order, not data


def splits_for(config, *, split_seed: int = SPLIT_SEED):
    """Load ``config.dataset`` and split it with ``config.n_validation`` and ``config.train_subset``."""
    raw = load_dataset(None if config.dataset in ("", "mnist") else config.dataset)
    return prepare_splits(raw, n_validation=config.n_validation, seed=split_seed,
                          train_subset=config.train_subset)
