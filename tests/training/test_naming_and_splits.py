"""One way to write layer sizes and a model's default name, and the process's one split cache."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.io.model_file import SavedModel
from digitlab.training import (
    TrainConfig,
    cached_splits,
    default_model_name,
    format_layer_sizes,
    splits,
    splits_for,
)


def test_layer_sizes_are_written_with_dashes():
    assert format_layer_sizes((784, 20, 7, 5, 10)) == "784-20-7-5-10"
    assert format_layer_sizes(np.array([784, 100, 10], dtype=np.int64)) == "784-100-10"
    assert format_layer_sizes([]) == ""


@pytest.mark.parametrize("changes, plain, with_optimizer", [
    ({}, "784-20-7-5-10", "784-20-7-5-10 sgd"),
    ({"l2": 5.0}, "784-20-7-5-10 L2 5", "784-20-7-5-10 sgd L2 5"),
    ({"batch_norm": True, "optimizer": "adam"}, "784-20-7-5-10 BN", "784-20-7-5-10 adam BN"),
    ({"l2": 0.5, "batch_norm": True, "layer_sizes": (784, 30, 10)}, "784-30-10 L2 0.5 BN",
     "784-30-10 sgd L2 0.5 BN"),
])
def test_default_model_name(changes, plain, with_optimizer):
    config = TrainConfig(**changes)
    assert default_model_name(config) == plain
    assert default_model_name(config, with_optimizer=True) == with_optimizer


def test_a_model_file_without_a_name_takes_the_default_name(small_splits):
    from digitlab.training import train
    config = TrainConfig(l2=5.0, max_epochs=1, train_subset=2000)
    result = train(config, small_splits)
    model = SavedModel.from_result(result)
    assert model.name == "784-20-7-5-10 L2 5"
    assert not model.describe().startswith(model.name + ":")     # the default name is not repeated


def test_the_split_cache_keeps_two_and_ignores_the_seed(monkeypatch):
    calls = []
    monkeypatch.setattr(splits, "splits_for", lambda config: calls.append(config.train_subset) or object())
    monkeypatch.setattr(splits, "_cache", {})
    a = cached_splits(TrainConfig(train_subset=100))
    assert cached_splits(TrainConfig(train_subset=100, seed=9, l2=5.0)) is a
    cached_splits(TrainConfig(train_subset=200))
    cached_splits(TrainConfig(train_subset=100))      # used again: now the most recent
    cached_splits(TrainConfig(train_subset=300))      # drops 200, the least recently used
    assert splits.cached_split_count() == 2
    assert cached_splits(TrainConfig(train_subset=100)) is a
    cached_splits(TrainConfig(train_subset=200))
    assert calls == [100, 200, 300, 200]
    splits.clear_split_cache()
    assert splits.cached_split_count() == 0


def test_cached_splits_are_the_splits_of_the_config(monkeypatch):
    monkeypatch.setattr(splits, "_cache", {})
    config = TrainConfig(train_subset=300, n_validation=200)
    cached, fresh = cached_splits(config), splits_for(config)
    assert cached.n_train == fresh.n_train == 300
    assert np.array_equal(cached.x_val, fresh.x_val) and np.array_equal(cached.y_test, fresh.y_test)


def test_is_cached_says_whether_the_cache_would_load(monkeypatch):
    monkeypatch.setattr(splits, "splits_for", lambda config: object())
    monkeypatch.setattr(splits, "_cache", {})
    assert not splits.is_cached(TrainConfig(train_subset=100))
    cached_splits(TrainConfig(train_subset=100))
    assert splits.is_cached(TrainConfig(train_subset=100, seed=5))
    assert not splits.is_cached(TrainConfig(train_subset=100, n_validation=500))
