"""The app icon: the committed PNGs are what the SVG renders to, they show the blue tile and the white
7, and the window icon is made from them."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from digitlab.desktop_entry import ICON_SIZES, icon_png
from digitlab.gui.app_icon import app_icon, render_icon


def rgba(image: QImage) -> np.ndarray:
    """An image as an (h, w, 4) uint8 RGBA array, straight (not premultiplied) alpha."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    return np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h).reshape(
        h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


@pytest.mark.parametrize("size", ICON_SIZES)
def test_the_committed_png_is_what_the_svg_renders(qapp, size):
    committed = QImage(str(icon_png(size)))
    assert committed.width() == committed.height() == size
    # a different Qt may antialias an edge pixel a step differently; nothing more
    diff = np.abs(rgba(committed).astype(int) - rgba(render_icon(size)).astype(int))
    assert diff.max() <= 8, (f"max difference {diff.max()}: run `python -m digitlab.gui.app_icon` "
                             "after editing the SVG")


def test_the_icon_is_a_white_7_on_a_blue_rounded_tile(qapp):
    pixels = rgba(QImage(str(icon_png(256))))
    blue, white = (0x00, 0x72, 0xB2, 255), (255, 255, 255, 255)

    def at(x: float, y: float) -> tuple:
        return tuple(int(v) for v in pixels[int(y * 256), int(x * 256)])

    assert at(0.0, 0.0)[3] == 0                          # the corners are rounded off
    assert at(0.1, 0.9) == blue and at(0.9, 0.5) == blue  # the tile
    assert at(0.5, 0.27) == white                         # the 7's top bar
    assert at(0.52, 0.5) == white                         # its cross bar
    assert at(0.45, 0.75) == white                        # the foot of its stem
    assert at(0.3, 0.6) == blue                           # left of the stem, below the bar: empty


def test_the_window_icon_is_made_from_the_files(qapp):
    icon = app_icon()
    sizes = sorted(s.width() for s in icon.availableSizes())
    assert sizes == sorted(ICON_SIZES)
    shown = rgba(icon.pixmap(48, 48).toImage())
    assert np.array_equal(shown, rgba(QImage(str(icon_png(48)))))


def test_the_app_sets_the_window_icon_and_its_desktop_file_name(qapp):
    from digitlab.app import make_app

    app = make_app()
    assert sorted(s.width() for s in app.windowIcon().availableSizes()) == sorted(ICON_SIZES)
    assert app.desktopFileName() == "digitlab"


def test_missing_icon_files_are_named_with_what_to_do(qapp, monkeypatch, tmp_path):
    import digitlab.desktop_entry as entry

    monkeypatch.setattr(entry, "resources_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="reinstall digitlab"):
        app_icon()
