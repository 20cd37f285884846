"""The desktop app's composition root: QApplication, names for QSettings, icon, main window.

``python main.py`` and the ``digitlab-app`` entry point both call :func:`main`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from digitlab import __version__
from digitlab.desktop_entry import APP_ID
from digitlab.process import install_refcount_guard, set_blas_threads

__all__ = ["main", "make_app", "make_icon", "STARTUP_PROBE_ENV"]

#: ``DIGITLAB_STARTUP_PROBE=1`` makes the app time its own start for benchmarks/startup.py.
STARTUP_PROBE_ENV = "DIGITLAB_STARTUP_PROBE"


def make_icon():
    """The app icon, from the PNGs in resources/icons/ (rendered from digitlab.svg there)."""
    from digitlab.gui.app_icon import app_icon

    return app_icon()


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
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to digitlab.desktop by this
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


DESCRIPTION = """\
digitlab's desktop app: watch a small neural network, written from scratch in NumPy, learn the
MNIST handwritten digits (Train), draw digits and see what two networks read (Draw), keep and
compare trained models (Models), and see where a network goes wrong and what it computes inside
(Evaluate). Without options it opens the window."""

EPILOG = """\
Qt's own options (-platform offscreen, -style NAME, -reverse, ...) are passed on to Qt.
DIGITLAB_HOME and DIGITLAB_SETTINGS relocate the data folder and the settings file; the log is in
the data folder's logs/ (Help > Show log folder), DIGITLAB_LOG=off turns it off.
The command line tools (train, evaluate, predict, ...) are `digitlab --help`.

examples:
  digitlab-app                          open the window
  digitlab-app --install-desktop-entry  add digitlab to this user's applications menu (Linux)"""


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"digitlab {__version__}")
    desktop = parser.add_mutually_exclusive_group()
    desktop.add_argument("--install-desktop-entry", action="store_true",
                         help="Linux: add digitlab (menu entry and icons) to this user's applications "
                              "menu under $XDG_DATA_HOME (default ~/.local/share), running this "
                              "digitlab-app; then exit")
    desktop.add_argument("--uninstall-desktop-entry", action="store_true",
                         help="Linux: remove what --install-desktop-entry added; then exit")
    return parser


def _prog(argv0: str) -> str:
    """How this process was started, for the usage line: ``digitlab-app`` or ``python main.py``."""
    path = os.path.normpath(argv0)
    if path.endswith(os.path.join("digitlab", "app.py")):
        return "python -m digitlab.app"
    name = os.path.basename(path)
    return f"python {name}" if name.endswith(".py") else "digitlab-app"


def _desktop_entry(install: bool) -> int:
    from digitlab import desktop_entry
    from digitlab.atomic import OutputError

    try:
        if install:
            written = desktop_entry.install()
        else:
            result = desktop_entry.uninstall()
    except (desktop_entry.DesktopEntryError, OutputError) as exc:
        print(f"digitlab-app: {exc}", file=sys.stderr)
        return 2
    if install:
        print(f"Installed digitlab's desktop entry and icons ({len(written)} files):")
        print("\n".join(f"  {path}" for path in written))
        print("It may take a moment (or a new login) to appear in the menu. "
              "Remove it with: digitlab-app --uninstall-desktop-entry")
        return 0
    for path in result.removed:
        print(f"removed {path}")
    for path in result.kept:
        print(f"kept {path}: --install-desktop-entry did not write it (no {desktop_entry.MARKER_KEY} "
              "line), so it is yours to remove")
    if not result.removed and not result.kept:
        print(f"No desktop entry of digitlab's was installed under {desktop_entry.data_home()}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start the desktop app (or do what an option asks); returns the exit code."""
    set_blas_threads()  # first, before anything loads NumPy (see digitlab.process)
    argv = list(sys.argv if argv is None else argv)
    parser = _parser(_prog(argv[0] if argv else "digitlab-app"))
    args, qt_args = parser.parse_known_args(argv[1:])
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        if qt_args:
            parser.error(f"unrecognized arguments: {' '.join(qt_args)}")
        return _desktop_entry(args.install_desktop_entry)
    from digitlab.logs import configure_logging

    configure_logging("app")        # before the window: an error while it opens is in the log too
    app = make_app(argv[:1] + qt_args)
    unknown = app.arguments()[1:] if qt_args else []    # what Qt did not take as its own option
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
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
