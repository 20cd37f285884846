"""The app icon as a QIcon, loaded from resources/icons/, and the script that renders its PNGs.

``resources/icons/digitlab.svg`` is the icon's master drawing (written by hand); the PNGs beside it,
``digitlab-<size>.png`` for each size in :data:`digitlab.desktop_entry.ICON_SIZES`, are rendered from
it here and committed, so that a desktop entry, a packager or the window can use them without
rendering anything. After editing the SVG, render them again with::

    python -m digitlab.gui.app_icon

tests/gui/test_app_icon.py checks that the committed PNGs are what the SVG renders to.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from digitlab.atomic import write_bytes_atomic
from digitlab.desktop_entry import ICON_SIZES, icon_png, icon_svg

__all__ = ["app_icon", "render_icon", "render_pngs", "main"]


def app_icon() -> QIcon:
    """The window icon: one pixmap per shipped PNG, so Qt picks a crisp one at every size."""
    missing = [str(icon_png(s)) for s in ICON_SIZES if not icon_png(s).is_file()]
    if missing:
        raise FileNotFoundError(f"digitlab's icon files are missing ({', '.join(missing)}); "
                                "reinstall digitlab or run `python -m digitlab.gui.app_icon` in a checkout.")
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(icon_png(size)), QSize(size, size))
    return icon


def render_icon(size: int) -> QImage:
    """The SVG drawn into a transparent ``size`` x ``size`` image, antialiased."""
    renderer = QSvgRenderer(str(icon_svg()))
    if not renderer.isValid():
        raise ValueError(f"{icon_svg()} is not an SVG Qt can draw; fix it and run this again.")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def _png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG (its image plugins are missing?)")
    buffer.close()
    return bytes(data.data())


def render_pngs() -> list:
    """Render every size from the SVG and write the PNGs beside it (atomically); returns their paths."""
    return [write_bytes_atomic(icon_png(size), _png_bytes(render_icon(size))) for size in ICON_SIZES]


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # nothing is shown: no display needed
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # QPainter needs one
    for path in render_pngs():
        print(path)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
