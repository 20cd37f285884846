"""IDX reading and writing: every element type and rank, gzip by content, and clear errors."""

import gzip

import numpy as np
import pytest

from digitlab.data import IDXError, read_idx, write_idx
from digitlab.paths import resources_dir

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_every_type_and_rank(tmp_path, dtype, shape, compress):
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:
        array = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    path = write_idx(tmp_path / "a.idx", array, compress=compress)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_header_layout_is_big_endian(tmp_path):
    path = write_idx(tmp_path / "x", np.array([[1, 2, 3], [4, 5, 258]], dtype=np.int16))
    data = path.read_bytes()
    assert data[:4] == bytes([0, 0, 0x0B, 2])
    assert data[4:12] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert data[-2:] == (258).to_bytes(2, "big")
    # And a hand-made file reads back as written.
    hand = tmp_path / "hand"
    hand.write_bytes(bytes([0, 0, 0x0C, 1]) + (2).to_bytes(4, "big")
                     + (7).to_bytes(4, "big") + (-1).to_bytes(4, "big", signed=True))
    np.testing.assert_array_equal(read_idx(hand), np.array([7, -1], dtype=np.int32))


def test_gzip_is_detected_by_content_not_by_name(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    gz_named_plain = write_idx(tmp_path / "plain.gz", array, compress=False)
    plain_named_gz = write_idx(tmp_path / "compressed.idx", array, compress=True)
    assert plain_named_gz.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(gz_named_plain), array)
    np.testing.assert_array_equal(read_idx(plain_named_gz), array)


def test_compressed_output_is_reproducible(tmp_path):
    a = write_idx(tmp_path / "a", np.arange(100, dtype=np.uint8), compress=True).read_bytes()
    b = write_idx(tmp_path / "b", np.arange(100, dtype=np.uint8), compress=True).read_bytes()
    assert a == b


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    write_idx(tmp_path / "a.idx", np.zeros(3, np.uint8))
    write_idx(tmp_path / "a.idx", np.ones(3, np.uint8))  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["a.idx"]
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), np.ones(3, np.uint8))


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(IDXError, match=r"cannot store dtype (int|uint)64.*convert"):
        write_idx(tmp_path / "bad", np.arange(3, dtype=np.uint64))
    assert not (tmp_path / "bad").exists()


def test_reads_real_mnist_labels():
    labels = read_idx(resources_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---- bad files: each message names the file, says what is wrong and what to do ----------------

def _valid_bytes():
    return bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6))


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", r"empty \(0 bytes\).*again"),
        (b"\x00\x00", r"only 2 bytes.*truncated"),
        (_valid_bytes()[:9], r"declares 2 dimensions.*truncated"),
        (_valid_bytes()[:-1], r"truncated.*shape \(2, 3\).*5 follow.*again"),
        (_valid_bytes() + b"\x00\x00", r"2 unexpected bytes after the data"),
        (bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 0]), r"unknown IDX element type 0x0A"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), r"not an IDX file \(it looks like a PNG image\)"),
        (b"label,pixel0,pixel1\n5,0,0\n", r"not an IDX file \(it looks like a text file\).*two zero bytes"),
        (b"PK\x03\x04" + bytes(40), r"zip archive.*npz"),
    ],
    ids=["empty", "short-header", "short-dims", "short-data", "extra-data", "bad-type",
         "png", "text", "zip"],
)
def test_bad_files_are_rejected_clearly(tmp_path, content, expected):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(IDXError, match=expected) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_absurd_dims_do_not_allocate(tmp_path):
    path = tmp_path / "huge"
    path.write_bytes(bytes([0, 0, 0x0E, 3]) + (2**32 - 1).to_bytes(4, "big") * 3)
    with pytest.raises(IDXError, match=r"declares shape \(4294967295, 4294967295, 4294967295\) "
                                       r"of float64.*more than the 784,000,000"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    # A valid IDX file (the damage must be in the gzip stream, not in the header's sizes).
    good = gzip.compress(bytes([0, 0, 0x08, 1]) + (300).to_bytes(4, "big") + bytes(range(150)) * 2,
                         mtime=0)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    (tmp_path / "flipped.gz").write_bytes(bytes(flipped))
    (tmp_path / "cut.gz").write_bytes(good[: len(good) // 2])
    for name in ("flipped.gz", "cut.gz"):
        with pytest.raises(IDXError, match=r"damaged or truncated gzip.*download it again") as info:
            read_idx(tmp_path / name)
        assert name in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(IDXError, match=r"nope\.idx: no such file"):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(IDXError, match=r"is a folder"):
        read_idx(tmp_path)


def test_idxerror_is_a_valueerror():
    assert issubclass(IDXError, ValueError)
