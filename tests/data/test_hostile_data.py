"""Hostile and broken inputs to every reader of user data: memory stays bounded, nothing blocks,
and each refusal says in words what was wrong.

The decompression bombs run in a subprocess whose address space is capped (RLIMIT_AS), so a
reader that inflated them would die with a MemoryError there instead of swapping this machine;
normal use (the bundled MNIST) is checked under the same cap.
"""

import gzip
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import digitlab.data.download as download
from digitlab.data import DatasetError, IDXError, load_dataset, read_idx, read_image_file, to_mnist
from digitlab.data.datasets import MAX_IMAGES, MNIST_FILES
from digitlab.data.idx import MAX_IDX_BYTES, payload_md5
from digitlab.data.preprocess import DECODE_MAX_SIDE, MAX_IMAGE_PIXELS

#: Address space of the capped subprocess. Importing NumPy and Qt and loading the bundled MNIST
#: peaks near 250 MB of address space; the old readers needed over 2 GB for the bombs below.
LIMIT_BYTES = 1 << 30
BOMB_ZEROS = 2 << 30  # what each bomb inflates to, twice LIMIT_BYTES
_BLOCK = 1 << 24

IDX_HEADER_10000 = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 10000, 28, 28)


def _deflated(prefix: bytes, n_zeros: int) -> bytes:
    """Raw deflate of ``prefix`` followed by ``n_zeros`` zero bytes, made without holding them.

    After a full flush the compressor keeps no history, so every 16 MB block of zeros compresses
    to the same bytes: compress one and repeat it. 2 GB of zeros come out at about 2 MB.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(_BLOCK)) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(bytes(n_zeros % _BLOCK)) + c.flush()
    return head + block * (n_zeros // _BLOCK) + tail


def _crc_with_zeros(prefix: bytes, n_zeros: int) -> int:
    crc, zeros = zlib.crc32(prefix), bytes(_BLOCK)
    for _ in range(n_zeros // _BLOCK):
        crc = zlib.crc32(zeros, crc)
    return zlib.crc32(bytes(n_zeros % _BLOCK), crc)


def _gzip_file(path, prefix: bytes, n_zeros: int = 0, *, crc: bool = True):
    """A valid gzip file of ``prefix`` plus ``n_zeros`` zeros (trailer CRC and length included)."""
    total = len(prefix) + n_zeros
    check = _crc_with_zeros(prefix, n_zeros) if crc else 0
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + _deflated(prefix, n_zeros)
                     + struct.pack("<II", check, total & 0xFFFFFFFF))
    return path


def _npy_header(shape, descr="|u1") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def _npy(array) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asarray(array))
    return out.getvalue()


def _zip_by_hand(path, entries):
    """Write a zip whose entries say whatever they are told: (name, method, crc, stored size,
    declared uncompressed size, data). zipfile itself would not write a lying entry."""
    with open(path, "wb") as fh:
        central = b""
        for name, method, crc, csize, usize, data in entries:
            offset, raw = fh.tell(), name.encode()
            fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21,
                                 crc, csize, usize, len(raw), 0) + raw + data)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21,
                                   crc, csize, usize, len(raw), 0, 0, 0, 0, 0, offset) + raw
        start = fh.tell()
        fh.write(central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                                       len(central), start, 0))
    return path


def _stored(name, data: bytes):
    return (name, zipfile.ZIP_STORED, zlib.crc32(data), len(data), len(data), data)


def _small_members(n_train=10):
    rng = np.random.default_rng(3)
    return [_stored("y_train.npy", _npy(np.arange(n_train, dtype=np.uint8) % 10)),
            _stored("x_test.npy", _npy(rng.integers(0, 256, (5, 28, 28), dtype=np.uint8))),
            _stored("y_test.npy", _npy(np.arange(5, dtype=np.uint8)))]


def _run_capped(code: str) -> dict:
    """Run ``code`` (which sets ``result``) in a Python capped at LIMIT_BYTES of address space."""
    script = (
        "import json, resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_BYTES}, {LIMIT_BYTES}))\n"
        "import numpy as np\n"
        "from digitlab.data import *\n"
        "result = {}\n"
        "try:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "except Exception as exc:\n"
        "    result = {'error': type(exc).__name__, 'message': str(exc)}\n"
        # VmHWM, not ru_maxrss: after a (v)fork + exec, ru_maxrss also counts the parent's pages.
        "status = open('/proc/self/status').read()\n"
        "result['maxrss_mb'] = int(status.split('VmHWM:')[1].split()[0]) / 1024\n"
        "print(json.dumps(result))\n"
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- under a memory cap: normal use passes, bombs are refused in words ----------------------

def test_bundled_mnist_loads_under_the_memory_cap():
    out = _run_capped("r = load_dataset()\n"
                      "result = {'shape': list(r.train_images.shape),\n"
                      "          'counts': [int(c) for c in np.bincount(r.test_labels)]}")
    assert out.get("shape") == [60000, 28, 28], out
    assert out["counts"] == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert out["maxrss_mb"] < 300


def test_gzip_idx_bomb_stops_at_the_declared_size(tmp_path):
    bomb = _gzip_file(tmp_path / "train-images-idx3-ubyte.gz", IDX_HEADER_10000, BOMB_ZEROS)
    assert bomb.stat().st_size < 3_000_000
    out = _run_capped(f"read_idx({str(bomb)!r})")
    assert out.get("error") == "IDXError", out
    assert "goes on past the 7,840,000 bytes its header declares for shape (10000, 28, 28)" in out["message"]
    assert out["maxrss_mb"] < 150  # the declared 7.8 MB, not the 2 GB the stream holds


def test_npz_member_whose_zip_entry_understates_its_stream_reads_only_the_entry(tmp_path):
    # The entry says 8 KB (header + 10 images, with their CRC); its deflate stream goes on for 2 GB.
    header = _npy_header((10, 28, 28))
    declared = header + bytes(10 * 784)
    data = _deflated(header, BOMB_ZEROS)
    bomb = ("x_train.npy", zipfile.ZIP_DEFLATED, zlib.crc32(declared), len(data), len(declared), data)
    path = _zip_by_hand(tmp_path / "bomb.npz", [bomb] + _small_members())
    out = _run_capped(f"r = load_dataset({str(path)!r})\n"
                      "result = {'shape': list(r.train_images.shape), 'sum': int(r.train_images.sum())}")
    assert out.get("shape") == [10, 28, 28], out
    assert out["sum"] == 0 and out["maxrss_mb"] < 150


def test_npz_member_whose_header_understates_its_zip_entry_is_refused(tmp_path):
    header = _npy_header((10, 28, 28))
    data = _deflated(header, BOMB_ZEROS)
    usize = len(header) + BOMB_ZEROS
    bomb = ("x_train.npy", zipfile.ZIP_DEFLATED, 0, len(data), usize, data)
    path = _zip_by_hand(tmp_path / "bomb.npz", [bomb] + _small_members())
    out = _run_capped(f"load_dataset({str(path)!r})")
    assert out.get("error") == "DatasetError", out
    assert (f"member x_train.npy is a zip entry of {usize:,} bytes but its header declares "
            "shape (10, 28, 28) of uint8 (7,968 bytes with the header); the file is damaged") \
        in out["message"]
    assert out["maxrss_mb"] < 150


@pytest.fixture(scope="module")
def png_8000(tmp_path_factory):
    from PySide6.QtGui import QImage
    img = QImage(8000, 8000, QImage.Format.Format_Grayscale8)
    img.fill(255)
    path = tmp_path_factory.mktemp("png") / "huge.png"
    assert img.save(str(path))
    return path


def test_png_declaring_8000x8000_is_refused_before_decoding(png_8000):
    assert png_8000.stat().st_size < 200_000
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"huge\.png: the image is 8000 x 8000 pixels \(64\.0 "
                                         r"megapixels\), more than the 16\.8 megapixels.*scale it down"):
        read_image_file(png_8000)
    assert time.perf_counter() - start < 0.5
    out = _run_capped(f"read_image_file({str(png_8000)!r})")
    assert out.get("error") == "ValueError", out
    assert out["maxrss_mb"] < 150


# ---- headers that declare too much are refused before anything is decompressed -------------

def _gzip_then_garbage(path, prefix: bytes):
    """gzip of ``prefix`` and 64 KB of zeros, then bytes that are not deflate: decompressing past
    the zeros fails with a gzip error, so getting the size message proves the data was not read.
    (The zeros keep zlib, which may look a little ahead, away from the garbage.)"""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + c.compress(prefix + bytes(1 << 16))
                     + c.flush(zlib.Z_SYNC_FLUSH) + b"\xff" * 5000)
    return path


def test_gzip_idx_declaring_more_than_the_cap_is_refused_unread(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2_000_000, 28, 28)
    path = _gzip_then_garbage(tmp_path / "big.gz", header)
    with pytest.raises(IDXError, match=r"big\.gz: the header declares shape \(2000000, 28, 28\) of uint8, "
                                       r"1,568,000,000 data bytes, more than the 784,000,000"):
        read_idx(path)
    assert MAX_IDX_BYTES == 784_000_000


def test_gzip_idx_declaring_more_than_deflate_can_hold_is_refused_unread(tmp_path):
    # 500,000 images are under the cap, but a 5 KB gzip file can expand to 5 MB at most.
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 500_000, 28, 28)
    path = _gzip_then_garbage(tmp_path / "cut.gz", header)
    with pytest.raises(IDXError, match=r"cut\.gz: truncated: the header declares shape \(500000, 28, 28\) "
                                       r"of uint8 \(392,000,000 data bytes\), "
                                       r"more than a 5,\d\d\d-byte gzip"):
        read_idx(path)


def test_gzip_idx_shorter_or_longer_than_declared(tmp_path):
    images = np.arange(100 * 784, dtype=np.uint64).astype(np.uint8).reshape(100, 28, 28)
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 100, 28, 28)
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(header + images[:50].tobytes()))
    with pytest.raises(IDXError, match=r"short\.gz: truncated: .*shape \(100, 28, 28\) of uint8 "
                                       r"\(78400 data bytes\) but only 39200 follow"):
        read_idx(short)
    long = tmp_path / "long.gz"
    long.write_bytes(gzip.compress(header + images.tobytes() + b"\x00"))
    with pytest.raises(IDXError, match=r"long\.gz: the data goes on past the 78,400 bytes"):
        read_idx(long)
    exact = tmp_path / "exact.gz"
    exact.write_bytes(gzip.compress(header + images.tobytes()))
    np.testing.assert_array_equal(read_idx(exact), images)
    assert payload_md5(exact) == hashlib.md5(header + images.tobytes()).hexdigest()


def _npz(path, **arrays):
    members = dict(zip(("x_train", "y_train", "x_test", "y_test"),
                       (np.zeros((10, 28, 28), np.uint8), np.arange(10) % 10,
                        np.zeros((5, 28, 28), np.uint8), np.arange(5))))
    members.update(arrays)
    with zipfile.ZipFile(path, "w") as zf:
        for key, value in members.items():
            zf.writestr(key + ".npy", value if isinstance(value, bytes) else _npy(value))
    return path


def test_npz_declaring_a_huge_shape_is_refused_from_its_header(tmp_path):
    path = _npz(tmp_path / "huge.npz", x_train=_npy_header((10**9, 28, 28)))
    with pytest.raises(DatasetError, match=r"huge\.npz: member x_train\.npy declares 1,000,000,000 rows, "
                                           r"more than the 1,000,000 digitlab reads"):
        load_dataset(path)
    assert MAX_IMAGES == 1_000_000
    # Under the row cap, but the entry does not hold the data its header promises.
    path = _npz(tmp_path / "short.npz", y_test=_npy_header((900_000,), "<i8"))
    with pytest.raises(DatasetError, match=r"member y_test\.npy is a zip entry of 128 bytes but its header "
                                           r"declares shape \(900000,\) of int64 \(7,200,128 bytes"):
        load_dataset(path)
    # int64 images under the row cap still exceed the byte cap.
    path = _npz(tmp_path / "wide.npz", x_test=_npy_header((200_000, 28, 28), "<i8"))
    with pytest.raises(DatasetError, match=r"member x_test\.npy declares shape \(200000, 28, 28\) of int64, "
                                           r"1,254,400,000 bytes.*save the images as uint8"):
        load_dataset(path)


def test_npz_with_wrong_shapes_names_the_member(tmp_path):
    path = _npz(tmp_path / "flat.npz", x_train=np.zeros((10, 784), np.uint8))
    with pytest.raises(DatasetError,
                       match=r"member x_train\.npy has shape \(10, 784\); expected \(N, 28, 28\)"):
        load_dataset(path)
    path = _npz(tmp_path / "onehot.npz", y_train=np.eye(10, dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"member y_train\.npy has shape \(10, 10\); expected \(N,\)"):
        load_dataset(path)


class _Tripwire:
    """Unpickling this creates a folder: the proof that a pickle was (or was not) executed."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_npz_with_object_arrays_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    objects = np.empty(10, dtype=object)
    objects[:] = [_Tripwire(marker)] * 10
    path = _npz(tmp_path / "pickled.npz", y_train=_npy(objects))
    with pytest.raises(DatasetError, match=r"pickled\.npz: member y_train\.npy holds Python objects "
                                           r"\(dtype object\), which would have to be unpickled"):
        load_dataset(path)
    assert not marker.exists()
    assert np.load.__defaults__[1] is False  # np.load's allow_pickle, for anyone using it directly


def test_npz_with_a_damaged_member_names_it(tmp_path):
    path = _npz(tmp_path / "junk.npz", x_test=b"not an array at all")
    with pytest.raises(DatasetError, match=r"junk\.npz: member x_test\.npy is not a readable \.npy array"):
        load_dataset(path)


# ---- large but allowed images are scaled while decoding; normal ones are untouched ------------

def _save_gray_png(path, gray):
    from PySide6.QtGui import QImage
    h, w = gray.shape
    gray = np.ascontiguousarray(gray)
    assert QImage(gray.data, w, h, w, QImage.Format.Format_Grayscale8).save(str(path))
    return path


def _digit(h, w):
    """Dark ring with a stroke, on white paper, drawn at full resolution."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    r = np.hypot(yy - h / max(h, w) / 2, xx - w / max(h, w) / 2)
    ink = (np.abs(r - 0.2) < 0.03) | ((np.abs(xx - w / max(h, w) / 2) < 0.02) & (r < 0.2))
    return np.where(ink, 0, 255).astype(np.uint8)


def test_images_up_to_the_decode_side_are_read_pixel_for_pixel(tmp_path):
    gray = np.random.default_rng(5).integers(0, 256, (1000, DECODE_MAX_SIDE), dtype=np.uint8)
    got = read_image_file(_save_gray_png(tmp_path / "wide.png", gray))
    # The same arithmetic on the file's exact pixels, as an opaque RGBA8888 image.
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)]).astype(np.float32) / 255.0
    expected = np.clip(rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32), 0.0, 1.0)
    assert got.shape == (1000, DECODE_MAX_SIDE)
    np.testing.assert_array_equal(got, expected)


def test_larger_images_are_scaled_down_while_decoding_to_the_same_input(tmp_path):
    gray = _digit(3072, 4096)  # 12.6 MP, a phone photo's size
    start = time.perf_counter()
    got = read_image_file(_save_gray_png(tmp_path / "photo.png", gray))
    assert time.perf_counter() - start < 3
    assert got.shape == (1536, 2048)
    full = to_mnist(gray)
    scaled = to_mnist(got)
    assert full is not None and scaled is not None
    assert np.abs(scaled - full).max() < 0.1
    assert np.abs(scaled - full).mean() < 0.01
    assert MAX_IMAGE_PIXELS == 4096 * 4096


# ---- a named pipe never blocks a reader ---------------------------------------------------------

def _make_fifo(path):
    os.mkfifo(path)
    return path


def _fifo_cases(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for stem in MNIST_FILES:
        _make_fifo(folder / (stem + ".gz"))
    return {
        "read_idx": (lambda: read_idx(_make_fifo(tmp_path / "a-idx3-ubyte.gz")),
                     IDXError, r"a-idx3-ubyte\.gz: is a named pipe \(FIFO\), not a file on disk"),
        "payload_md5": (lambda: payload_md5(_make_fifo(tmp_path / "b.gz")),
                        IDXError, r"b\.gz: is a named pipe"),
        "idx-folder": (lambda: load_dataset(folder),
                       DatasetError, r"train-images-idx3-ubyte\.gz: is a named pipe.*Check the folder"),
        "npz": (lambda: load_dataset(_make_fifo(tmp_path / "c.npz")),
                DatasetError, r"c\.npz: is a named pipe \(FIFO\), not a file on disk"),
        "image": (lambda: read_image_file(_make_fifo(tmp_path / "d.png")),
                  ValueError, r"d\.png: is not a file on disk \(a named pipe"),
    }


@pytest.mark.parametrize("case", ["read_idx", "payload_md5", "idx-folder", "npz", "image"])
def test_named_pipes_are_refused_without_blocking(tmp_path, case):
    call, error, message = _fifo_cases(tmp_path)[case]
    outcome = {}

    def run():
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - handed to the main thread to check
            outcome["exc"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=5)
    if thread.is_alive():  # unblock the reader so the test run can finish, then fail
        for fifo in tmp_path.rglob("*"):
            if fifo.is_fifo():
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:  # no reader waiting on this one
                    pass  # nothing to unblock
        pytest.fail(f"{case}: reading a named pipe blocked")
    assert isinstance(outcome.get("exc"), error), outcome
    assert re.search(message, str(outcome["exc"])), str(outcome["exc"])


# ---- a mirror cannot fill the disk ----------------------------------------------------------------

class _EndlessHandler(BaseHTTPRequestHandler):
    """Serves zeros without end (and without a Content-Length) or, for /big/, announces 10 GB."""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        if "/big/" in self.path:
            self.send_header("Content-Length", str(10 << 30))
            self.end_headers()
            return
        self.end_headers()
        try:
            while True:
                self.wfile.write(bytes(1 << 16))
        except OSError:  # the client hung up, as it should
            pass  # nothing more to send

    def log_message(self, *args):
        pass  # keep the test server quiet


@pytest.mark.parametrize("where, message", [
    ("endless", r"sent more than 1,048,576 bytes.*download was stopped"),
    ("big", r"offers 10,737,418,240 bytes.*nothing was downloaded"),
])
def test_download_is_cut_off_at_the_size_cap(tmp_path, monkeypatch, where, message):
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 1 << 20)
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _EndlessHandler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        with pytest.raises(download.DownloadError, match=message):
            download.download_mnist(tmp_path / "dest",
                                    mirrors=[f"http://127.0.0.1:{httpd.server_address[1]}/{where}/"],
                                    checksums={"t10k-labels-idx1-ubyte.gz": "0" * 32}, timeout=5)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert list((tmp_path / "dest").iterdir()) == []  # the partial file is gone
