"""Datasets for digitlab: IDX/npz readers, the bundled MNIST, splits, downloads, and the
preprocessing that turns a drawn digit (its strokes, or an image) into an MNIST-like input.

Nothing here imports Qt at import time (only :func:`read_image_file` does, inside its body).
"""

from digitlab.data.datasets import (
    MNIST_MD5,
    DatasetError,
    RawDataset,
    Splits,
    load_dataset,
    prepare_splits,
)
from digitlab.data.download import MNIST_MIRRORS, DownloadError, download_mnist
from digitlab.data.idx import IDXError, read_idx, write_idx
from digitlab.data.preprocess import read_image_file, to_mnist, to_mnist_steps
from digitlab.data.stroke_width import measure_pen_width, stroke_width
from digitlab.data.strokes import MNIST_PEN_WIDTH, Drawing, Stroke, drawing_to_mnist_steps

__all__ = [
    "read_idx",
    "write_idx",
    "IDXError",
    "load_dataset",
    "RawDataset",
    "Splits",
    "prepare_splits",
    "DatasetError",
    "MNIST_MD5",
    "download_mnist",
    "DownloadError",
    "MNIST_MIRRORS",
    "to_mnist",
    "to_mnist_steps",
    "read_image_file",
    "Stroke",
    "Drawing",
    "drawing_to_mnist_steps",
    "MNIST_PEN_WIDTH",
    "measure_pen_width",
    "stroke_width",
]
