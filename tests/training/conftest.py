import pytest

from digitlab.data import load_dataset, prepare_splits


@pytest.fixture(scope="session")
def mnist():
    return load_dataset()


@pytest.fixture(scope="session")
def small_splits(mnist):
    """2,000 training and 500 validation images of the real MNIST: runs take well under a second."""
    return prepare_splits(mnist, seed=0, train_subset=2000)


@pytest.fixture(scope="session")
def full_splits(mnist):
    return prepare_splits(mnist, seed=0)
