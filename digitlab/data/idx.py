"""Read and write IDX files, the format MNIST (and Fashion-MNIST, EMNIST, ...) is distributed in.

An IDX file is a 4-byte magic number followed by the dimensions and the data::

    bytes 0-1   two zero bytes
    byte  2     element type: 0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
    byte  3     number of dimensions d
    then        d big-endian uint32 sizes
    then        prod(sizes) big-endian elements, row-major (last index fastest)

Files are often gzip-compressed; that is detected from the content (the gzip magic bytes 1f 8b),
never from the file name, because renamed and re-compressed copies are common.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..atomic import write_bytes_atomic

__all__ = [
    "IDXError",
    "read_idx",
    "write_idx",
    "read_payload",
    "payload_md5",
    "parse_idx",
    "open_regular_file",
    "IDX_TYPES",
    "MAX_IDX_BYTES",
]

#: IDX type code -> big-endian NumPy dtype of one element.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Largest data section (after the header) an IDX file may declare: one million 28x28 uint8
#: images. MNIST's training images are 47 MB and EMNIST ByClass, the largest MNIST-format set in
#: common use, 547 MB; a header declaring more is refused before anything is read or allocated,
#: so a corrupt or hostile file costs at most this much memory.
MAX_IDX_BYTES = 1_000_000 * 28 * 28

# Deflate emits at least 2 bits per 258 output bytes, so a gzip file can never expand more than
# 1032-fold (zlib reaches 1028 on zeros): a header declaring more than that is a truncated file,
# refused without decompressing.
_DEFLATE_MAX_RATIO = 1032

# Decompress and hash in pieces of this size, so the only large buffer is the array itself.
_CHUNK = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"

# First bytes of files people hand us by mistake, so the error can say what the file looks like.
_FOREIGN_SIGNATURES = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"PK\x03\x04", "a zip archive (a .npz file is one; load it as .npz)"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x93NUMPY", "a .npy file"),
    (b"%PDF", "a PDF document"),
]

_FILE_KINDS = [
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


class IDXError(ValueError):
    """An IDX file could not be read; the message names the file, the problem and a remedy."""


def _describe_foreign(head: bytes) -> str:
    for signature, what in _FOREIGN_SIGNATURES:
        if head.startswith(signature):
            return f"it looks like {what}"
    sample = head[:64]
    if sample and all(32 <= b < 127 or b in b"\t\r\n" for b in sample):
        return "it looks like a text file"
    return f"it starts with bytes {head[:4].hex(' ')}"


def open_regular_file(path: str | os.PathLike, error: type[Exception] = IDXError) -> BinaryIO:
    """Open a file for binary reading, refusing anything that is not a regular file.

    A named pipe would block the reader until something writes to it, and a device such as
    /dev/zero never ends; neither is a data file. The path is checked with ``os.stat`` before it
    is opened, and opened non-blocking and checked again with ``fstat``, so a pipe swapped in
    between cannot block either. (The .npz reader uses this too, with its own error class.)

    Parameters
    ----------
    path : str or path-like
    error : exception class
        Raised, with a message naming the path, when the file cannot be used.

    Returns
    -------
    file object
        Open in ``"rb"`` mode; the caller closes it.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                return os.fdopen(fd, "rb")
            os.close(fd)
    except FileNotFoundError:
        raise error(f"{path}: no such file; check the path.") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions.") from None
    if stat.S_ISDIR(mode):
        raise error(f"{path}: is a folder, not a file; give the path of the file.")
    kind = next((what for test, what in _FILE_KINDS if test(mode)), "not a regular file")
    raise error(
        f"{path}: is {kind}, not a file on disk; digitlab reads data only from regular files. "
        "Save the data to a file and give its path."
    )


def _read_upto(stream: BinaryIO, n: int) -> bytes:
    """Read n bytes, or fewer only at the end of the stream."""
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_header(stream: BinaryIO, name: str, *, gunzipped: bool) -> tuple[np.dtype, tuple[int, ...], bytes]:
    """Read and check the magic number and dimensions; return (dtype, dims, header bytes)."""
    head = _read_upto(stream, 4)
    size = len(head)
    if size == 0:
        raise IDXError(f"{name}: the file is empty (0 bytes); download or copy it again.")
    if size < 4:
        raise IDXError(
            f"{name}: only {size} bytes, too short for the 4-byte IDX header; "
            "the file is truncated, download or copy it again."
        )
    if head[:2] == _GZIP_MAGIC:
        if gunzipped:
            raise IDXError(
                f"{name}: gzip-compressed twice; decompress it once (gunzip) and read the result."
            )
        raise IDXError(f"{name}: still gzip-compressed; read it with read_idx, which gunzips it.")
    if head[0] != 0 or head[1] != 0:
        head += _read_upto(stream, 60)  # enough for _describe_foreign to recognise text
        raise IDXError(
            f"{name}: not an IDX file ({_describe_foreign(head)}); an IDX file starts with two "
            "zero bytes. Check that this is the right file."
        )
    type_code, ndim = head[2], head[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise IDXError(
            f"{name}: unknown IDX element type 0x{type_code:02X} (known: {known}); "
            "the file is corrupt or not an IDX file."
        )
    header_size = 4 + 4 * ndim
    dims_bytes = _read_upto(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise IDXError(
            f"{name}: the header declares {ndim} dimensions ({header_size} header bytes) but the "
            f"file has only {4 + len(dims_bytes)} bytes; it is truncated, download or copy it again."
        )
    dims = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
    return IDX_TYPES[type_code], dims, head + dims_bytes


def _data_bytes(name: str, dtype: np.dtype, dims: tuple[int, ...]) -> int:
    """Bytes of data the header declares, refused above MAX_IDX_BYTES before anything is allocated."""
    count = 1
    for d in dims:  # Python ints: no overflow for absurd dims in a corrupt header
        count *= d
    nbytes = count * dtype.itemsize
    if nbytes > MAX_IDX_BYTES:
        raise IDXError(
            f"{name}: the header declares shape {dims} of {dtype.name}, {nbytes:,} data bytes, "
            f"more than the {MAX_IDX_BYTES:,} (one million 28x28 images) digitlab reads from one "
            "IDX file; the header is corrupt, or the data set is too large to hold in memory."
        )
    return nbytes


def _read_stream(
    stream: BinaryIO,
    name: str,
    *,
    file_size: int,
    gunzipped: bool,
    keep: bool,
) -> tuple[np.ndarray | None, str]:
    """Read one IDX file from ``stream``; return (array or None, MD5 of the uncompressed bytes).

    ``file_size`` is the size of the file on disk (compressed, if ``gunzipped``). At most the
    declared number of bytes is ever decompressed, plus one to tell that more follow, so memory is
    bounded by the header (itself capped by :data:`MAX_IDX_BYTES`) whatever the stream holds.
    With ``keep=False`` only the MD5 is computed, in chunks, and nothing large is allocated.
    """
    dtype, dims, header = _read_header(stream, name, gunzipped=gunzipped)
    nbytes = _data_bytes(name, dtype, dims)
    header_size = len(header)
    if gunzipped:
        if header_size + nbytes > _DEFLATE_MAX_RATIO * file_size:
            raise IDXError(
                f"{name}: truncated: the header declares shape {dims} of {dtype.name} "
                f"({nbytes:,} data bytes), more than a {file_size:,}-byte gzip file can hold; "
                "download or copy the file again."
            )
    else:
        expected = header_size + nbytes
        if file_size < expected:
            raise IDXError(
                f"{name}: truncated: the header promises shape {dims} of {dtype.name} "
                f"({nbytes} data bytes) but only {file_size - header_size} follow; "
                "download or copy the file again."
            )
        if file_size > expected:
            raise IDXError(
                f"{name}: {file_size - expected} unexpected bytes after the data for shape {dims}; "
                "the file is corrupt or its header is wrong, download or copy it again."
            )

    digest = hashlib.md5(header)
    if keep:
        flat = np.empty(nbytes // dtype.itemsize, dtype=dtype)
        target = memoryview(flat).cast("B")
    else:
        flat, target = None, memoryview(bytearray(min(_CHUNK, nbytes)))
    done = 0
    while done < nbytes:
        n = min(_CHUNK, nbytes - done)
        piece = target[done:done + n] if keep else target[:n]
        got = stream.readinto(piece)
        if not got:
            raise IDXError(
                f"{name}: truncated: the header promises shape {dims} of {dtype.name} "
                f"({nbytes} data bytes) but only {done} follow; download or copy the file again."
            )
        digest.update(piece[:got])
        done += got
    if stream.read(1):
        raise IDXError(
            f"{name}: the data goes on past the {nbytes:,} bytes its header declares for shape "
            f"{dims}; reading stopped there. The file is corrupt or its header is wrong, "
            "download or copy it again."
        )
    if flat is not None:
        if not dtype.isnative:
            flat.byteswap(inplace=True)
            flat = flat.view(dtype.newbyteorder("="))
        flat = flat.reshape(dims)
    return flat, digest.hexdigest()


def _read_file(path: str | os.PathLike, *, keep: bool) -> tuple[np.ndarray | None, str]:
    """Open ``path`` (regular files only), gunzip it if its content is gzip, and read it."""
    name = str(path)
    with open_regular_file(path) as raw:
        file_size = os.fstat(raw.fileno()).st_size
        gunzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gunzipped:
            try:
                return _read_stream(raw, name, file_size=file_size, gunzipped=False, keep=keep)
            except OSError as exc:
                raise IDXError(f"{name}: cannot be read ({exc.strerror or exc}).") from None
        # GzipFile decompresses only as much as is asked of it (zlib's max_length), and handles
        # multi-member files (`cat a.gz b.gz`).
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream, name, file_size=file_size, gunzipped=True, keep=keep)
        except (zlib.error, EOFError, OSError) as exc:  # gzip.BadGzipFile is an OSError
            raise IDXError(
                f"{name}: is a damaged or truncated gzip file ({exc}); download it again."
            ) from None


def read_payload(path: str | os.PathLike) -> bytes:
    """Return the uncompressed bytes of an IDX file, gunzipping it if it is gzip-compressed.

    Parameters
    ----------
    path : str or path-like
        A raw or gzip-compressed IDX file (detected by the magic bytes 1f 8b, not by name).

    Returns
    -------
    bytes
        The file's contents after decompression (header and data), exactly as long as the header
        declares. This is what the published MNIST MD5 sums cover.

    Raises
    ------
    IDXError
        As :func:`read_idx`.
    """
    array, _ = _read_file(path, keep=True)
    data = array.astype(array.dtype.newbyteorder(">"), copy=False)
    header = bytes([0, 0, _dtype_to_code(array.dtype), array.ndim])
    return header + np.asarray(array.shape, dtype=">u4").tobytes() + data.tobytes()


def payload_md5(path: str | os.PathLike) -> str:
    """MD5 (hex) of the uncompressed bytes of an IDX file, computed in chunks.

    Checked exactly as :func:`read_idx` checks the file, but without holding its data in memory.
    This is the digest :data:`digitlab.data.datasets.MNIST_MD5` lists.

    Raises
    ------
    IDXError
        As :func:`read_idx`.
    """
    return _read_file(path, keep=False)[1]


def parse_idx(data: bytes, source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into an array.

    Parameters
    ----------
    data : bytes-like
        The whole uncompressed IDX file.
    source : str or path-like
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        Array of shape ``dims`` in native byte order, writable, with the dtype of the type code
        (uint8, int8, int16, int32, float32 or float64). It is a copy; ``data`` is not kept.

    Raises
    ------
    IDXError
        For an empty, foreign, truncated or inconsistent file.
    """
    view = memoryview(data).cast("B")
    array, _ = _read_stream(
        io.BytesIO(view), str(source), file_size=len(view), gunzipped=False, keep=True
    )
    return array


def read_idx(path: str | os.PathLike, *, md5: str | None = None) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed.

    The header is checked before anything else is read: a declared size above
    :data:`MAX_IDX_BYTES` is refused, and no more than the declared size is ever decompressed, so
    memory is bounded by the header whatever the file holds (a gzip "bomb" stops at the declared
    size and is refused). Only regular files are read; a named pipe or device is refused.

    Parameters
    ----------
    path : str or path-like
        The file. Compression is detected from the content, not from the name.
    md5 : str, optional
        The MD5 (hex) the uncompressed file must have, e.g. from
        :data:`digitlab.data.datasets.MNIST_MD5`; computed while reading, at no extra pass.

    Returns
    -------
    numpy.ndarray
        Array of the shape stored in the header, e.g. ``(60000, 28, 28)`` uint8 for
        ``train-images-idx3-ubyte`` or ``(60000,)`` uint8 for the labels; native byte order.

    Raises
    ------
    IDXError
        If the file is missing, not a regular file, empty, truncated, too long for its header,
        larger than the cap, not IDX, a damaged gzip stream, or fails the MD5 check. The message
        names the file, the problem and what to do.

    Examples
    --------
    >>> images = read_idx("resources/mnist/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype                                       # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'))
    """
    array, digest = _read_file(path, keep=True)
    if md5 is not None and digest != md5.lower():
        raise IDXError(
            f"{path}: checksum mismatch (MD5 of the uncompressed data is {digest}, "
            f"expected {md5}); the file is damaged or not the original."
        )
    return array


def _dtype_to_code(dtype: np.dtype) -> int:
    for code, idx_dtype in IDX_TYPES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    raise TypeError


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool = False) -> Path:
    """Write an array as an IDX file, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination. It is written to a temporary file in the same folder and then moved into
        place, so a crash never leaves a half-written file under this name.
    array : array_like
        Any shape (up to 255 dimensions, each < 2**32) with dtype uint8, int8, int16, int32,
        float32 or float64.
    compress : bool
        Gzip the file (with a zero timestamp, so equal arrays give equal bytes).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    IDXError
        If the dtype or shape cannot be stored in IDX.
    """
    path = Path(path)
    array = np.asarray(array)
    try:
        code = _dtype_to_code(array.dtype)
    except TypeError:
        raise IDXError(
            f"{path}: IDX cannot store dtype {array.dtype}; convert the array to one of "
            "uint8, int8, int16, int32, float32, float64 first."
        ) from None
    if array.ndim > 255 or any(d >= 2**32 for d in array.shape):
        raise IDXError(f"{path}: shape {array.shape} does not fit an IDX header.")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    data = header + body
    if compress:
        data = gzip.compress(data, mtime=0)
    return write_bytes_atomic(path, data)
