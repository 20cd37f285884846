"""Briefly trained networks on a tiny synthetic dataset (a fraction of a second each)."""

import numpy as np
import pytest

from digitlab.data import Splits
from digitlab.training import TrainConfig, train


def make_splits(seed=0, n_train=600, n_val=200, n_test=200):
    """Random images in [0, 1] labelled by a random linear teacher, so training learns something."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((784, 10))

    def part(n):
        x = rng.random((n, 784), dtype=np.float32)
        return x, np.argmax(x @ teacher, axis=1).astype(np.int64)

    return Splits(*part(n_train), *part(n_val), *part(n_test), "synthetic", "0123abcd")


@pytest.fixture(scope="session")
def splits():
    return make_splits()


def _train(splits, **changes):
    config = TrainConfig(batch_size=64, eval_every=5, max_epochs=2, learning_rate=0.05,
                         **changes)
    return train(config, splits)


@pytest.fixture(scope="session")
def result_plain(splits):
    return _train(splits, name="plain")


@pytest.fixture(scope="session")
def result_bn(splits):
    return _train(splits, batch_norm=True, l2=5.0, optimizer="momentum", schedule="cosine",
                  name="bn")


@pytest.fixture(params=["plain", "bn"])
def result(request, result_plain, result_bn):
    return {"plain": result_plain, "bn": result_bn}[request.param]
