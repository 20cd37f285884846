"""Fetch the four MNIST files from public mirrors, only when the user asks for it.

digitlab works offline with its bundled copy; this module exists so a user can replace a damaged
copy (``digitlab data download``). Every file is streamed into a temporary file next to its final
name, checked against the published MD5 of its uncompressed payload, and only then moved into
place with ``os.replace``, so an interrupted or corrupted download never leaves a partial or wrong
file under the real name.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from digitlab.data.datasets import MNIST_MD5
from digitlab.data.idx import IDXError, payload_md5

__all__ = ["MNIST_MIRRORS", "DownloadError", "download_mnist", "ProgressCallback"]

#: Base URLs tried in order; each serves the four original ``*.gz`` files.
MNIST_MIRRORS: list[str] = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
]

#: ``progress(filename, bytes_done, bytes_total_or_None)``
ProgressCallback = Callable[[str, int, "int | None"], None]

_CHUNK = 64 * 1024

#: A mirror sending more than this for one file is cut off: the largest MNIST file
#: (train-images-idx3-ubyte.gz) is 9.9 MB, and nothing may fill the user's disk.
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class DownloadError(RuntimeError):
    """A download failed; the message says what was tried and what to do."""


class _Unreachable(Exception):
    """The mirror could not be contacted at all (DNS, refused, timeout while connecting)."""


class _BadFile(Exception):
    """The mirror answered but the file was missing, short or wrong."""


def _has_checksum(path: Path, expected: str) -> bool:
    if not path.is_file():
        return False
    try:
        return payload_md5(path) == expected
    except IDXError:
        return False


def _fetch(opener, url: str, tmp: Path, name: str, timeout: float,
           progress: ProgressCallback | None) -> None:
    """Stream ``url`` into ``tmp``; raise _Unreachable or _BadFile on failure."""
    try:
        response = opener.open(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise _BadFile(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Unreachable(str(reason)) from None
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > MAX_DOWNLOAD_BYTES:
            raise _BadFile(f"the server offers {total:,} bytes, more than the "
                           f"{MAX_DOWNLOAD_BYTES:,} an MNIST file can be; nothing was downloaded")
        done = 0
        if progress is not None:
            progress(name, 0, total)
        try:
            with open(tmp, "wb") as fh:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    done += len(chunk)
                    if done > MAX_DOWNLOAD_BYTES:
                        raise _BadFile(f"the server sent more than {MAX_DOWNLOAD_BYTES:,} bytes, "
                                       "more than an MNIST file can be; the download was stopped")
                    if progress is not None:
                        progress(name, done, total)
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise _BadFile(f"connection lost after {done} bytes ({exc})") from None
    # http.client returns b"" at a premature EOF instead of raising, so compare with the header.
    if total is not None and done != total:
        raise _BadFile(f"download interrupted: got {done} of {total} bytes")
    if done == 0:
        raise _BadFile("the server sent an empty file")


def download_mnist(
    dest_dir: str | os.PathLike,
    *,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    progress: ProgressCallback | None = None,
    timeout: float = 30.0,
    checksums: dict[str, str] | None = None,
) -> list[Path]:
    """Download the four MNIST ``.gz`` files into ``dest_dir``, verified and atomically.

    Parameters
    ----------
    dest_dir : str or path-like
        Target folder, created if needed (the app uses
        :func:`digitlab.data.datasets.user_mnist_dir`, which :func:`load_dataset` falls back to
        when the bundled copy is damaged).
    mirrors : sequence of str
        Base URLs, tried in order for each file until one gives a file with the right checksum.
    progress : callable, optional
        ``progress(filename, bytes_done, bytes_total_or_None)``, called as data arrives (in the
        calling thread). An exception raised by it aborts the download, removes the partial file
        and propagates: that is how a GUI cancels.
    timeout : float
        Seconds to wait for a connection or for the next block of data.
    checksums : dict, optional
        ``{filename: md5 of the uncompressed payload}`` replacing :data:`MNIST_MD5` (tests use it to
        serve small stand-in files). Its keys are the files to fetch.

    Returns
    -------
    list of pathlib.Path
        The final paths of the files, in the order of the checksum table. Files already present
        with the right checksum are not downloaded again.

    Raises
    ------
    DownloadError
        If no mirror could be reached ("check your network connection"), or none delivered a
        correct file; the message lists what each mirror did.
    """
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    if not mirrors:
        raise ValueError("mirrors must list at least one base URL, got none")
    if timeout <= 0:
        raise ValueError(f"timeout must be > 0, got {timeout}")
    table = dict(MNIST_MD5 if checksums is None else checksums)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    # A fresh opener per call reads the proxy settings from the environment as they are now.
    opener = urllib.request.build_opener()

    results = []
    for name, expected in table.items():
        final = dest / name
        if _has_checksum(final, expected):
            size = final.stat().st_size
            if progress is not None:
                progress(name, size, size)
            results.append(final)
            continue

        failures: list[tuple[str, str]] = []
        unreachable = True
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                _fetch(opener, url, tmp, name, timeout, progress)
                try:
                    digest = payload_md5(tmp)
                except IDXError as exc:
                    raise _BadFile(f"damaged file ({exc})") from None
                if digest != expected:
                    raise _BadFile(
                        f"checksum mismatch (MD5 of the uncompressed data is {digest}, "
                        f"expected {expected}); the file was discarded"
                    )
                os.replace(tmp, final)
                results.append(final)
                break
            except _Unreachable as exc:
                failures.append((url, f"unreachable: {exc}"))
            except _BadFile as exc:
                unreachable = False
                failures.append((url, str(exc)))
            finally:
                tmp.unlink(missing_ok=True)  # no-op after a successful os.replace
        else:
            tried = "; ".join(f"{url}: {why}" for url, why in failures)
            if unreachable:
                raise DownloadError(
                    f"could not reach any MNIST mirror ({tried}): check your network connection; "
                    "digitlab keeps working with its bundled copy."
                )
            raise DownloadError(
                f"could not download {name} ({tried}). {final} was left as it was; try again "
                "later or another mirror; digitlab keeps working with its bundled copy."
            )
    return results
