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
import os
import zlib
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic

__all__ = ["IDXError", "read_idx", "write_idx", "read_payload", "parse_idx", "IDX_TYPES"]

#: IDX type code -> big-endian NumPy dtype of one element.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

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


def read_payload(path: str | os.PathLike) -> bytes:
    """Return the uncompressed bytes of a file, gunzipping it if it is gzip-compressed.

    Parameters
    ----------
    path : str or path-like
        A raw or gzip-compressed file (detected by the magic bytes 1f 8b, not by name).

    Returns
    -------
    bytes
        The file's contents after decompression. This is what the published MNIST MD5 sums cover.

    Raises
    ------
    IDXError
        If the file is missing, unreadable, or a damaged gzip stream.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IDXError(f"{path}: no such file; check the path.") from None
    except IsADirectoryError:
        raise IDXError(f"{path}: is a folder, not an IDX file; give the path of the file.") from None
    except OSError as exc:
        raise IDXError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions.") from None
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        # wbits=31: gzip container. zlib.decompress is faster than gzip.decompress on one member;
        # fall back to gzip for the rare multi-member file (e.g. made with `cat a.gz b.gz`).
        dobj = zlib.decompressobj(wbits=31)
        out = dobj.decompress(data)
        if not dobj.eof:
            raise EOFError("compressed data ends before the end-of-stream marker")
        if dobj.unused_data:
            out = gzip.decompress(data)
        return out
    except (zlib.error, EOFError, gzip.BadGzipFile, OSError) as exc:
        raise IDXError(
            f"{path}: is a damaged or truncated gzip file ({exc}); download it again."
        ) from None


def parse_idx(data: bytes, source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into an array.

    Parameters
    ----------
    data : bytes
        The whole uncompressed IDX file.
    source : str or path-like
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        Array of shape ``dims`` in native byte order, writable, with the dtype of the type code
        (uint8, int8, int16, int32, float32 or float64).

    Raises
    ------
    IDXError
        For an empty, foreign, truncated or inconsistent file.
    """
    name = str(source)
    size = len(data)
    if size == 0:
        raise IDXError(f"{name}: the file is empty (0 bytes); download or copy it again.")
    if size < 4:
        raise IDXError(
            f"{name}: only {size} bytes, too short for the 4-byte IDX header; "
            "the file is truncated, download or copy it again."
        )
    if data[:2] == _GZIP_MAGIC:
        raise IDXError(f"{name}: still gzip-compressed; read it with read_idx, which gunzips it.")
    if data[0] != 0 or data[1] != 0:
        raise IDXError(
            f"{name}: not an IDX file ({_describe_foreign(data)}); an IDX file starts with two "
            "zero bytes. Check that this is the right file."
        )
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise IDXError(
            f"{name}: unknown IDX element type 0x{type_code:02X} (known: {known}); "
            "the file is corrupt or not an IDX file."
        )
    header_size = 4 + 4 * ndim
    if size < header_size:
        raise IDXError(
            f"{name}: the header declares {ndim} dimensions ({header_size} header bytes) but the "
            f"file has only {size} bytes; it is truncated, download or copy it again."
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[type_code]
    # Python ints: no overflow for absurd dims in a corrupt header.
    count = 1
    for d in dims:
        count *= d
    expected = header_size + count * dtype.itemsize
    if size < expected:
        raise IDXError(
            f"{name}: truncated: the header promises shape {dims} of {dtype.name} "
            f"({expected - header_size} data bytes) but only {size - header_size} follow; "
            "download or copy the file again."
        )
    if size > expected:
        raise IDXError(
            f"{name}: {size - expected} unexpected bytes after the data for shape {dims}; "
            "the file is corrupt or its header is wrong, download or copy it again."
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=header_size)
    # astype makes a native-endian, writable copy (frombuffer on bytes is read-only).
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed.

    Parameters
    ----------
    path : str or path-like
        The file. Compression is detected from the content, not from the name.

    Returns
    -------
    numpy.ndarray
        Array of the shape stored in the header, e.g. ``(60000, 28, 28)`` uint8 for
        ``train-images-idx3-ubyte`` or ``(60000,)`` uint8 for the labels; native byte order.

    Raises
    ------
    IDXError
        If the file is missing, empty, truncated, not IDX, or a damaged gzip stream. The message
        names the file, the problem and what to do.

    Examples
    --------
    >>> images = read_idx("resources/mnist/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype                                       # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'))
    """
    return parse_idx(read_payload(path), path)


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
