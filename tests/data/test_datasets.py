"""Dataset loading against MNIST's published figures, other sources, validation and splits."""

import time

import numpy as np
import pytest

from digitlab.data import (
    MNIST_MD5,
    DatasetError,
    RawDataset,
    load_dataset,
    prepare_splits,
    write_idx,
)
from digitlab.data import datasets as ds
from digitlab.paths import resources_dir

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
STEMS = ds.MNIST_FILES


@pytest.fixture(scope="module")
def mnist():
    return load_dataset()


# ---- the bundled MNIST ------------------------------------------------------------------------

def test_bundled_mnist_matches_published_figures(mnist):
    assert mnist.name == "mnist"
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28) and mnist.test_images.dtype == np.uint8
    assert mnist.train_labels.shape == (60000,) and mnist.train_labels.dtype == np.uint8
    assert mnist.test_labels.shape == (10000,) and mnist.test_labels.dtype == np.uint8
    # Exact moments from the histogram of the 47M pixel values (faster than a float64 copy).
    hist = np.bincount(mnist.train_images.ravel(), minlength=256)
    values = np.arange(256.0)
    mean = hist @ values / hist.sum()
    std = np.sqrt(hist @ (values - mean) ** 2 / hist.sum())
    assert mean == pytest.approx(33.318421, abs=1e-6)
    assert std == pytest.approx(78.567490, abs=1e-6)
    assert np.bincount(mnist.train_labels).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.test_labels).tolist() == TEST_COUNTS


def test_bundled_mnist_is_cached_and_read_only(mnist):
    start = time.perf_counter()
    again = load_dataset("mnist")
    assert time.perf_counter() - start < 0.05
    assert again is mnist and load_dataset(None) is mnist
    with pytest.raises(ValueError):
        mnist.train_images[0, 0, 0] = 1  # shared by every caller: must not be writable


def test_checksum_identifies_the_data(mnist):
    assert len(mnist.checksum) == 64 and int(mnist.checksum, 16) >= 0
    assert mnist.checksum == ds.dataset_checksum(
        mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels)
    labels = mnist.test_labels.copy()
    labels[0] = (labels[0] + 1) % 10
    assert ds.dataset_checksum(mnist.train_images, mnist.train_labels,
                               mnist.test_images, labels) != mnist.checksum
    assert "checksum=" in repr(mnist) and "(60000, 28, 28)" in repr(mnist)


def test_md5_table_matches_the_shared_readme():
    assert MNIST_MD5 == {
        "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
    }


@pytest.fixture
def damaged_bundle(tmp_path, monkeypatch, mnist):
    """A copy of the bundle whose test labels are a valid IDX file with one label changed."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    real = ds.bundled_mnist_dir()
    for stem in STEMS[:3]:
        (bundle / f"{stem}.gz").symlink_to(real / f"{stem}.gz")
    labels = mnist.test_labels.copy()
    labels[0] = (labels[0] + 1) % 10
    write_idx(bundle / "t10k-labels-idx1-ubyte.gz", labels, compress=True)
    monkeypatch.setattr(ds, "bundled_mnist_dir", lambda: bundle)
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    return bundle


def test_damaged_bundle_names_the_file_and_suggests_download(damaged_bundle):
    with pytest.raises(DatasetError) as info:
        load_dataset()
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "checksum mismatch" in message and MNIST_MD5["t10k-labels-idx1-ubyte.gz"] in message
    assert "digitlab data download" in message


def test_damaged_bundle_falls_back_to_a_downloaded_copy(damaged_bundle, tmp_path):
    user_copy = tmp_path / "home" / "mnist"
    user_copy.mkdir(parents=True)
    for stem in STEMS:
        (user_copy / f"{stem}.gz").symlink_to(resources_dir() / "mnist" / f"{stem}.gz")
    raw = load_dataset()
    assert np.bincount(raw.test_labels).tolist() == TEST_COUNTS


def test_verify_false_skips_md5(damaged_bundle, mnist):
    raw = load_dataset(verify=False)
    assert raw.test_labels[0] == (mnist.test_labels[0] + 1) % 10
    assert raw.checksum != mnist.checksum


# ---- Fashion-MNIST ----------------------------------------------------------------------------

@pytest.mark.skipif(not ds.FASHION_MNIST_DIR.is_dir(),
                    reason=f"{ds.FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist(mnist):
    raw = load_dataset("fashion-mnist")
    assert raw.name == "fashion-mnist"
    assert raw.train_images.shape == (60000, 28, 28) and raw.test_images.shape == (10000, 28, 28)
    assert np.bincount(raw.train_labels).tolist() == [6000] * 10  # Fashion-MNIST is balanced
    assert np.bincount(raw.test_labels).tolist() == [1000] * 10
    assert raw.checksum != mnist.checksum
    assert load_dataset("fashion-mnist") is raw


def test_fashion_mnist_absent_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(ds, "FASHION_MNIST_DIR", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


# ---- folders and .npz -------------------------------------------------------------------------

def _small(n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            (np.arange(n_train) % 10).astype(np.uint8),
            rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            (np.arange(n_test) % 10).astype(np.uint8))


def _write_folder(folder, arrays, compress):
    folder.mkdir(exist_ok=True)
    for stem, array in zip(STEMS, arrays):
        write_idx(folder / (stem + (".gz" if compress else "")), array, compress=compress)
    return folder


@pytest.mark.parametrize("compress", [False, True])
def test_folder_of_idx_files(tmp_path, compress):
    arrays = _small()
    raw = load_dataset(_write_folder(tmp_path / "set", arrays, compress))
    assert isinstance(raw, RawDataset)
    for got, want in zip((raw.train_images, raw.train_labels, raw.test_images, raw.test_labels), arrays):
        np.testing.assert_array_equal(got, want)
    assert raw.name == str(tmp_path / "set")


def test_npz_round_trip_matches_folder(tmp_path):
    arrays = _small()
    npz = tmp_path / "set.npz"
    np.savez(npz, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    from_npz = load_dataset(npz)
    from_folder = load_dataset(_write_folder(tmp_path / "set", arrays, False))
    np.testing.assert_array_equal(from_npz.train_images, arrays[0])
    np.testing.assert_array_equal(from_npz.test_labels, arrays[3])
    assert from_npz.checksum == from_folder.checksum
    assert from_npz.train_labels.dtype == np.uint8


def test_npz_with_int64_labels_and_column_vectors_is_accepted(tmp_path):
    x, y, xt, yt = _small()
    np.savez(tmp_path / "k.npz", x_train=x, y_train=y.astype(np.int64)[:, None],
             x_test=xt.astype(np.int32), y_test=yt.astype(np.int64))
    raw = load_dataset(str(tmp_path / "k.npz"))
    assert raw.train_labels.dtype == np.uint8 and raw.train_labels.shape == (30,)
    assert raw.test_images.dtype == np.uint8


def test_npz_errors(tmp_path):
    x, y, xt, yt = _small()
    np.savez(tmp_path / "partial.npz", x_train=x, y_train=y, x_test=xt)
    with pytest.raises(DatasetError,
                       match=r"partial\.npz: missing keys y_test.*x_train, y_train, x_test, y_test"):
        load_dataset(tmp_path / "partial.npz")
    (tmp_path / "fake.npz").write_text("not a zip")
    with pytest.raises(DatasetError, match=r"fake\.npz: not a readable \.npz"):
        load_dataset(tmp_path / "fake.npz")
    np.savez(tmp_path / "float.npz", x_train=x / 255.0, y_train=y, x_test=xt, y_test=yt)
    with pytest.raises(DatasetError, match=r"training images have dtype float64; expected integers 0\.\.255"):
        load_dataset(tmp_path / "float.npz")


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda a: (a[0][:, :20, :20], *a[1:]),
         r"training images have shape \(30, 20, 20\); expected \(N, 28, 28\)"),
        (lambda a: (a[0], a[1][:-1], *a[2:]), r"30 training images but 29 training labels"),
        (lambda a: (*a[:3], a[3] + 5), r"test labels range over 5\.\.14; expected classes 0\.\.9"),
        (lambda a: (a[0], np.eye(10, dtype=np.uint8)[a[1]], *a[2:]),
         r"training labels have shape \(30, 10\).*one-hot"),
        (lambda a: (*a[:2], a[2][:0], a[3][:0]), r"the test set holds no images"),
    ],
    ids=["image-shape", "lengths", "label-range", "one-hot", "empty"],
)
def test_invalid_contents_are_rejected_clearly(tmp_path, mutate, expected):
    arrays = mutate(_small())
    with pytest.raises(DatasetError, match=expected) as info:
        load_dataset(_write_folder(tmp_path / "bad", arrays, False))
    assert str(tmp_path / "bad") in str(info.value)


def test_folder_missing_a_file(tmp_path):
    folder = _write_folder(tmp_path / "set", _small(), True)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match=r"missing t10k-images-idx3-ubyte\.gz"):
        load_dataset(folder)


def test_folder_with_a_corrupt_file_names_it(tmp_path):
    folder = _write_folder(tmp_path / "set", _small(), False)
    (folder / "train-labels-idx1-ubyte").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte: not an IDX file.*PNG"):
        load_dataset(folder)


def test_unknown_source(tmp_path):
    with pytest.raises(DatasetError, match=r"'mnist', 'fashion-mnist', a folder.*\.npz"):
        load_dataset("emnist")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(DatasetError, match=r"x\.csv: a dataset is a folder"):
        load_dataset(tmp_path / "x.csv")


# ---- splits -----------------------------------------------------------------------------------

def test_default_splits_of_mnist(mnist):
    s = prepare_splits(mnist)
    assert (s.n_train, s.n_val, s.n_test, s.n_features, s.n_classes) == (48000, 12000, 10000, 784, 10)
    assert s.x_train.dtype == np.float32 and s.x_train.shape == (48000, 784)
    assert s.y_train.dtype == np.int64
    assert 0.0 <= s.x_train.min() and s.x_train.max() == 1.0
    # Train and validation together are exactly the training file.
    counts = np.bincount(s.y_train, minlength=10) + np.bincount(s.y_val, minlength=10)
    assert counts.tolist() == TRAIN_COUNTS
    assert np.bincount(s.y_test).tolist() == TEST_COUNTS
    np.testing.assert_array_equal(s.x_test[0], mnist.test_images[0].reshape(-1) / np.float32(255))
    assert s.name == "mnist" and s.checksum == mnist.checksum


def _indexed_raw(n=100):
    """Images that carry their own index, so a split can be traced back to the training file."""
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 0, 0] = np.arange(n)
    labels = (np.arange(n) % 10).astype(np.uint8)
    arrays = (images, labels, images[:10].copy(), labels[:10].copy())
    return RawDataset("indexed", *arrays, checksum=ds.dataset_checksum(*arrays))


def _indices(x):
    return np.rint(x[:, 0] * 255).astype(int)


def test_split_is_a_seeded_partition():
    raw = _indexed_raw()
    a = prepare_splits(raw, n_validation=20, seed=3)
    b = prepare_splits(raw, n_validation=20, seed=3)
    c = prepare_splits(raw, n_validation=20, seed=4)
    train, val = _indices(a.x_train), _indices(a.x_val)
    assert len(train) == 80 and len(val) == 20
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(a.y_train, raw.train_labels[train])
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert set(_indices(c.x_val)) != set(val)


def test_train_subset_keeps_the_first_of_the_split():
    raw = _indexed_raw()
    full = prepare_splits(raw, n_validation=20, seed=1)
    sub = prepare_splits(raw, n_validation=20, seed=1, train_subset=40)
    assert sub.n_train == 40 and sub.n_val == 10 and sub.n_test == 10
    np.testing.assert_array_equal(sub.x_train, full.x_train[:40])
    np.testing.assert_array_equal(sub.x_val, full.x_val[:10])
    assert prepare_splits(raw, n_validation=20, train_subset=1).n_val == 1


def test_train_subset_on_mnist(mnist):
    s = prepare_splits(mnist, train_subset=1000)
    assert (s.n_train, s.n_val, s.n_test) == (1000, 250, 10000)


def test_float64_splits():
    s = prepare_splits(_indexed_raw(), n_validation=10, dtype=np.float64)
    assert s.x_train.dtype == s.x_val.dtype == s.x_test.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"n_validation": 0}, r"n_validation must be between 1 and 99 \(N-1\), got 0"),
        ({"n_validation": 100}, r"n_validation must be between 1 and 99 \(N-1\), got 100"),
        ({"n_validation": 2.5}, r"n_validation must be an integer, got 2\.5"),
        ({"n_validation": 20, "train_subset": 0}, r"train_subset must be between 1 and 80.*got 0"),
        ({"n_validation": 20, "train_subset": 81}, r"train_subset must be between 1 and 80.*got 81"),
        ({"n_validation": 10, "dtype": np.int32}, r"dtype must be a floating type.*got int32"),
    ],
)
def test_bad_split_arguments(kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        prepare_splits(_indexed_raw(), **kwargs)
