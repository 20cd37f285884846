"""Text from outside (a model's name, a file or dataset name) made safe to print on a terminal."""

from __future__ import annotations

import unicodedata

MAX_SHOWN = 80


def printable(text, limit: int = MAX_SHOWN) -> str:
    """``text`` with every control character shown as ``?`` and cut to ``limit`` characters + '…'.

    A model file is written by anyone: a name holding ESC sequences could recolour, clear or
    retitle the terminal, and a 50 MB name would flood it. Letters of every script stay as they are.
    """
    text = str(text)
    cut = len(text) > limit
    text = text[:limit]
    # Category C: controls (ESC, CR, BEL, DEL, C1 such as CSI U+009B), format characters (bidi
    # overrides that reorder what is shown), surrogates, private use and unassigned code points.
    text = "".join("?" if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return text + "…" if cut else text
