"""The desktop app's composition root: QApplication, names for QSettings, icon, main window.

``python main.py`` and the ``digitlab-app`` entry point both call :func:`main`.
"""

from __future__ import annotations

import logging
import os
import sys

from digitlab import __version__
from digitlab.process import install_refcount_guard, set_blas_threads

__all__ = ["main", "make_app", "make_icon", "STARTUP_PROBE_ENV"]

#: ``DIGITLAB_STARTUP_PROBE=1`` makes the app time its own start for benchmarks/startup.py.
STARTUP_PROBE_ENV = "DIGITLAB_STARTUP_PROBE"


def make_icon():
    """The app icon, drawn at run time (a handwritten-looking 7 on a blue tile): no image file."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#0072B2"))
        r = size * 0.18
        p.drawRoundedRect(QRectF(0, 0, size, size), r, r)
        pen = QPen(QColor("white"), max(1.5, size * 0.11), Qt.PenStyle.SolidLine,
                   Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        path = QPainterPath(QPointF(size * 0.27, size * 0.28))
        path.lineTo(size * 0.73, size * 0.26)
        path.quadTo(size * 0.55, size * 0.5, size * 0.45, size * 0.76)
        p.drawPath(path)
        p.drawLine(QPointF(size * 0.38, size * 0.5), QPointF(size * 0.66, size * 0.5))
        p.end()
        icon.addPixmap(pixmap)
    return icon


def make_app(argv: list[str] | None = None):
    """The QApplication (the existing one if any), named for QSettings and styled.

    An entry point for scripts and benchmarks that build their own window: it installs the
    refcount guard (once per process) before any Qt call.
    """
    install_refcount_guard()  # first: PySide6 6.12 on Python 3.11 would otherwise abort after a while
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(sys.argv if argv is None else argv))
    app.setOrganizationName("digitlab")
    app.setApplicationName("digitlab")
    app.setApplicationDisplayName("digitlab")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")  # the same look on every platform and in the screenshots
    app.setWindowIcon(make_icon())
    pg.setConfigOptions(antialias=True)
    return app


def _install_startup_probe(app, window) -> None:
    """The hook of benchmarks/startup.py, installed only when ``DIGITLAB_STARTUP_PROBE=1``.

    Prints ``startup-probe window-painted <time.time()>`` once the window's first paint is done,
    then puts a digit (a plain "1") on the Draw view's canvas, as a person's first stroke would,
    prints ``startup-probe first-prediction <time.time()>`` when the Draw view has predicted it
    and quits. Wall-clock stamps, so the benchmark measures from before it spawned the process.
    """
    import time

    import numpy as np
    from PySide6.QtCore import QEvent, QObject, QTimer

    from digitlab.gui.guard import guarded

    def stamp(what: str) -> None:
        print(f"startup-probe {what} {time.time():.6f}", flush=True)

    def predicted(network_input) -> None:
        if network_input is not None:
            stamp("first-prediction")
            QTimer.singleShot(0, app.quit)

    def draw_a_digit() -> None:
        stamp("window-painted")
        view = window.draw_view
        window.views.setCurrentWidget(view)
        view.input_changed.connect(predicted)
        digit = np.zeros((28, 28), np.float32)
        digit[4:24, 12:16] = 1.0
        view.canvas.set_image_array(digit)

    class FirstPaint(QObject):
        @guarded(default=False)
        def eventFilter(self, watched, event):  # noqa: N802 - Qt name
            if event.type() == QEvent.Type.Paint:
                watched.removeEventFilter(self)
                QTimer.singleShot(0, draw_a_digit)  # runs once this paint pass has finished
            return False

    window.installEventFilter(FirstPaint(window))


def main(argv: list[str] | None = None) -> int:
    """Start the desktop app; returns the exit code of the event loop."""
    set_blas_threads()  # first, before anything loads NumPy (see digitlab.process)
    argv = list(sys.argv if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv[1:]):
        print("usage: python main.py   (opens the digitlab window)\n"
              "The command line tools are `digitlab --help`. "
              "DIGITLAB_HOME and DIGITLAB_SETTINGS relocate the data folder and the settings file.")
        return 0
    if any(a == "--version" for a in argv[1:]):
        print(f"digitlab {__version__}")
        return 0
    from digitlab.logs import configure_logging

    configure_logging("app")        # before the window: an error while it opens is in the log too
    app = make_app(argv)
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from digitlab.gui.main_window import MainWindow

    logging.getLogger("digitlab").info("Qt %s, PySide6 %s, platform plugin %s", qVersion(), pyside_version,
                                       app.platformName())

    window = MainWindow()
    app.aboutToQuit.connect(window.shutdown)  # however the loop ends, no training thread outlives it
    if os.environ.get(STARTUP_PROBE_ENV) == "1":
        _install_startup_probe(app, window)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
