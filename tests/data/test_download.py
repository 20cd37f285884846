"""MNIST download against local HTTP servers only: success, corruption, interruption, fallbacks.

Nothing here touches the internet: every mirror is a ThreadingHTTPServer on 127.0.0.1 (or a port
on 127.0.0.1 that nobody listens on). The real label files are served with their real MD5 sums;
the image files are replaced by small valid IDX files with a checksum table override, to stay fast.
"""

import functools
import hashlib
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from digitlab.data import MNIST_MD5, MNIST_MIRRORS, DownloadError, download_mnist, read_idx, write_idx
from digitlab.data.idx import read_payload
from digitlab.paths import resources_dir

LABELS = ["train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
IMAGES = ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # A proxy from the environment must not intercept 127.0.0.1.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def served(tmp_path):
    """A folder of the four files: the real label .gz files and small stand-in image files."""
    root = tmp_path / "served"
    root.mkdir()
    checksums = {}
    for name in LABELS:
        shutil.copy(resources_dir() / "mnist" / name, root / name)
        checksums[name] = MNIST_MD5[name]
    for i, name in enumerate(IMAGES):
        write_idx(root / name, np.full((3, 28, 28), i, np.uint8), compress=True)
        checksums[name] = hashlib.md5(read_payload(root / name)).hexdigest()
    return root, checksums


class _Server:
    def __init__(self, handler):
        self.requests = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = self.requests
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet:
    def log_message(self, *args):
        pass  # keep the test server quiet


def _file_handler(directory):
    class Handler(_Quiet, SimpleHTTPRequestHandler):
        def translate_path(self, path):
            self.server.requests.append(path)
            return super().translate_path(path.replace("/mnist/", "/", 1))
    return functools.partial(Handler, directory=str(directory))


class _TruncatingHandler(_Quiet, BaseHTTPRequestHandler):
    """Promises 10,000 bytes, sends 100, hangs up: an interrupted download."""

    def do_GET(self):
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + bytes(98))
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def servers():
    started = []

    def start(handler):
        server = _Server(handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def _closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_default_mirrors_are_https():
    assert MNIST_MIRRORS and all(m.startswith("https://") and m.endswith("/") for m in MNIST_MIRRORS)


def test_download_success_with_progress_and_skip(tmp_path, served, servers):
    root, checksums = served
    server = servers(_file_handler(root))
    dest = tmp_path / "dest"
    calls = []
    paths = download_mnist(dest, mirrors=[server.url], checksums=checksums, timeout=5,
                           progress=lambda *a: calls.append(a))
    assert [p.name for p in paths] == list(checksums)
    assert _listing(dest) == sorted(checksums)  # no temp files left behind
    assert read_idx(dest / "t10k-labels-idx1-ubyte.gz").shape == (10000,)
    name = "train-labels-idx1-ubyte.gz"
    assert (dest / name).read_bytes() == (root / name).read_bytes()
    size = (root / "train-labels-idx1-ubyte.gz").stat().st_size
    train_label_calls = [c for c in calls if c[0] == "train-labels-idx1-ubyte.gz"]
    assert train_label_calls[0] == ("train-labels-idx1-ubyte.gz", 0, size)
    assert train_label_calls[-1] == ("train-labels-idx1-ubyte.gz", size, size)
    assert all(b <= a for (_, b, _), (_, a, _) in zip(train_label_calls, train_label_calls[1:]))

    # Second run: every file is present with the right checksum, so nothing is fetched.
    n_requests = len(server.requests)
    assert download_mnist(dest, mirrors=[server.url], checksums=checksums, timeout=5) == paths
    assert len(server.requests) == n_requests


def test_real_label_checksums_with_default_table(tmp_path, served, servers):
    """The default MNIST_MD5 table accepts the real label files (payload MD5, not .gz MD5)."""
    root, _ = served
    server = servers(_file_handler(root))
    table = {name: MNIST_MD5[name] for name in LABELS}
    paths = download_mnist(tmp_path, mirrors=[server.url], checksums=table, timeout=5)
    assert [p.name for p in paths] == LABELS


def test_corrupted_file_is_rejected_and_not_kept(tmp_path, served, servers):
    root, checksums = served
    target = root / "t10k-labels-idx1-ubyte.gz"
    labels = read_idx(target)
    labels[0] = (labels[0] + 1) % 10  # a valid file with the wrong contents
    write_idx(target, labels, compress=True)
    server = servers(_file_handler(root))
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError) as info:
        download_mnist(dest, mirrors=[server.url], checksums=checksums, timeout=5)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and "checksum mismatch" in message
    assert MNIST_MD5["t10k-labels-idx1-ubyte.gz"] in message
    assert "t10k-labels-idx1-ubyte.gz" not in _listing(dest)
    assert not [n for n in _listing(dest) if n.startswith(".")]


def test_bad_existing_file_is_replaced(tmp_path, served, servers):
    root, checksums = served
    server = servers(_file_handler(root))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    download_mnist(dest, mirrors=[server.url], checksums=checksums, timeout=5)
    assert read_idx(dest / "train-labels-idx1-ubyte.gz").shape == (60000,)


def test_interrupted_download_leaves_nothing(tmp_path, servers):
    server = servers(_TruncatingHandler)
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match=r"interrupted: got 100 of 10000 bytes") as info:
        download_mnist(dest, mirrors=[server.url], checksums={"t10k-labels-idx1-ubyte.gz": "0" * 32},
                       timeout=5)
    assert "bundled copy" in str(info.value)
    assert _listing(dest) == []


def test_first_mirror_404_second_works(tmp_path, served, servers):
    root, checksums = served
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = servers(_file_handler(empty))
    good = servers(_file_handler(root))
    dest = tmp_path / "dest"
    download_mnist(dest, mirrors=[missing.url, good.url], checksums=checksums, timeout=5)
    assert _listing(dest) == sorted(checksums)
    assert len(missing.requests) == 4 and len(good.requests) == 4


def test_unreachable_first_mirror_falls_through(tmp_path, served, servers):
    root, checksums = served
    good = servers(_file_handler(root))
    dest = tmp_path / "dest"
    download_mnist(dest, mirrors=[_closed_port_url(), good.url], checksums=checksums, timeout=5)
    assert _listing(dest) == sorted(checksums)


def test_all_mirrors_unreachable(tmp_path):
    dest = tmp_path / "dest"
    urls = [_closed_port_url(), _closed_port_url()]
    with pytest.raises(DownloadError) as info:
        download_mnist(dest, mirrors=urls, timeout=5)
    message = str(info.value)
    assert message.startswith("could not reach any MNIST mirror (")
    assert urls[0] in message and urls[1] in message
    assert "check your network connection" in message and "bundled copy" in message
    assert _listing(dest) == []


def test_all_mirrors_404_is_not_called_a_network_problem(tmp_path, servers):
    empty = tmp_path / "empty"
    empty.mkdir()
    server = servers(_file_handler(empty))
    with pytest.raises(DownloadError, match=r"could not download train-images.*HTTP 404") as info:
        download_mnist(tmp_path / "dest", mirrors=server.url, timeout=5)
    assert "network connection" not in str(info.value)


def test_progress_exception_cancels_cleanly(tmp_path, served, servers):
    root, checksums = served
    server = servers(_file_handler(root))
    dest = tmp_path / "dest"

    def cancel(name, done, total):
        if done > 0:
            raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt):
        download_mnist(dest, mirrors=[server.url], checksums=checksums, progress=cancel, timeout=5)
    assert _listing(dest) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="mirrors must list at least one"):
        download_mnist(tmp_path, mirrors=[])
    with pytest.raises(ValueError, match=r"timeout must be > 0, got 0"):
        download_mnist(tmp_path, timeout=0)
