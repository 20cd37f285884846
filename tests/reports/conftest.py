"""Small, quick experiment runs shared by the report tests (never the full four experiments)."""

import pytest

from digitlab.training import EXPERIMENTS, run_experiments, splits_for

QUICK = dict(train_subset=2000, n_validation=2000, max_epochs=2, batch_size=64, learning_rate=0.05,
             eval_every=10, patience=100000)


@pytest.fixture(scope="session")
def quick_splits():
    return splits_for(EXPERIMENTS[0][1].replace(**QUICK))


@pytest.fixture(scope="session")
def quick_runs(quick_splits):
    """The report's four experiments on 2,000 images for 2 epochs, seeds 3 and 4 (about a second)."""
    experiments = [(label, config.replace(**QUICK)) for label, config in EXPERIMENTS]
    return run_experiments(quick_splits, [3, 4], experiments=experiments)
