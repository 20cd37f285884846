"""The model library: where models are listed, found, loaded and kept (no Qt).

- :mod:`.entry`: :class:`ModelEntry`, the one model type above this package (a file's typed facts
  from ``read_model_info``, its ``SavedModel`` loaded on first use, a display name unique in the
  library), and :class:`ModelInfo`;
- :mod:`.library`: :class:`ModelLibrary`, the bundled and user folders plus finished runs not
  saved yet, one entry per file, with rename/delete/save-copy/export that never replace a file
  they did not mean to.

Dependencies point down: ``library`` uses ``io``, ``training``, ``nn``, ``atomic`` and ``paths``;
the GUI (through ``gui/library_events.py``) and the command line use ``library``. ``reports`` do
not: they take ``SavedModel`` (an entry's ``model``), so the two stay independent siblings.
"""

from .entry import BUNDLED, UNSAVED, USER, ModelEntry, ModelInfo
from .library import DEFAULT_PAIR_NAMES, EXPORT_FORMATS, LibraryError, ModelLibrary, safe_file_stem

__all__ = ["ModelEntry", "ModelInfo", "ModelLibrary", "LibraryError", "BUNDLED", "USER", "UNSAVED",
           "DEFAULT_PAIR_NAMES", "EXPORT_FORMATS", "safe_file_stem"]
