"""The data a configuration trains on: its dataset, split the same way every time.

:func:`cached_splits` is the one cache of splits in the process: the command line, the GUI's
training worker and Evaluate view, and reports all ask it, so a dataset split once is not split
(and held in memory) again by another part of the program.
"""

from __future__ import annotations

import threading

from ..data import load_dataset, prepare_splits

SPLIT_SEED = 0   # fixed, so that runs with different seeds differ in weights and order, not data

# Full MNIST splits are about 220 MB each; two cover a training run's data and the whole-file
# split that evaluation and reports use.
CACHED_SPLITS = 2

_lock = threading.Lock()            # the GUI asks from its worker thread and from the main thread
_cache: dict[tuple, object] = {}    # key -> Splits, least recently used first


def splits_for(config, *, split_seed: int = SPLIT_SEED):
    """Load ``config.dataset`` and split it with ``config.n_validation`` and ``config.train_subset``."""
    raw = load_dataset(None if config.dataset in ("", "mnist") else config.dataset)
    return prepare_splits(raw, n_validation=config.n_validation, seed=split_seed,
                          train_subset=config.train_subset)


def splits_key(config) -> tuple:
    """What decides a configuration's splits (its seed and training settings do not)."""
    return (str(config.dataset), int(config.n_validation), config.train_subset)


def cached_splits(config):
    """:func:`splits_for` ``config``, kept for the session: the same data again comes at once.

    The arrays are shared by every caller and must be treated as read-only. Thread-safe; at most
    :data:`CACHED_SPLITS` splits are kept, the least recently used dropped first.
    """
    key = splits_key(config)
    with _lock:
        cached = _cache.pop(key, None)
        if cached is None:
            cached = splits_for(config)
        _cache[key] = cached            # most recently used last
        while len(_cache) > CACHED_SPLITS:
            _cache.pop(next(iter(_cache)))
        return cached


def is_cached(config) -> bool:
    """Whether :func:`cached_splits` has ``config``'s splits at hand (it would not load them)."""
    with _lock:
        return splits_key(config) in _cache


def cached_split_count() -> int:
    """How many splits the cache holds now (for tests and diagnostics)."""
    with _lock:
        return len(_cache)


def clear_split_cache() -> None:
    """Drop every cached split (frees the memory; the next request loads again)."""
    with _lock:
        _cache.clear()
