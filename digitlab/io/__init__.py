"""Model files (HDF5, see docs/model-format.md), weight export (npz, JSON, CSV) and ONNX export.

Uses ``digitlab.nn`` and ``digitlab.training``; never imports Qt.
"""

from .export import FORMATS, export_weights, named_arrays
from .model_file import (
    FORMAT,
    FORMAT_VERSION,
    ModelFileError,
    SavedModel,
    check_model_file,
    load_model,
    read_model_info,
    save_model,
)
from .onnx_export import MissingExtraError

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "SavedModel", "check_model_file",
           "load_model", "read_model_info", "save_model", "FORMATS", "export_weights",
           "named_arrays", "MissingExtraError"]
