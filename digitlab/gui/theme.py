"""The app's colour theme: system, light or dark (View > Theme), applied live.

This module owns the palettes and the look of plots: :func:`apply_theme` sets the Fusion style's
standard (light) palette or a dark one on the application (for "system", the one the platform
asks for: on Qt >= 6.5 ``QStyleHints.colorScheme()`` tells dark from light). Widgets that paint
with their own colours re-read them when the palette changes: :func:`on_palette_change` calls a
view's restyle function once per change, and :func:`style_plot_widget` re-inks a pyqtgraph plot
(background, axes, titles, legends) in the current :func:`look`.

The digit pad itself (canvas.py) stays dark ink on white paper in both themes, and the Draw view's
28x28 preview stays white on black: they are the network's input picture, not decoration.
Report figures (reports/figures.py ``*_figure``) stay light too: a printed report is white paper.
"""

from __future__ import annotations

import logging
import weakref

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

from digitlab.gui.guard import guarded
from digitlab.reports import figures as F

log = logging.getLogger("digitlab.gui")

__all__ = ["THEMES", "THEME_TITLES", "SETTINGS_KEY", "apply_theme", "current_theme", "dark_palette",
           "light_palette", "is_dark", "look", "plot_background", "style_plot_widget", "on_palette_change",
           "secondary_text", "warning_text", "good_text", "error_text", "saved_theme", "css", "track"]

#: The choices of View > Theme, in menu order.
THEMES = ("system", "light", "dark")
THEME_TITLES = {"system": "&System", "light": "&Light", "dark": "&Dark"}
#: Where the choice is kept in QSettings.
SETTINGS_KEY = "view/theme"

_current = "system"
_windows: weakref.WeakSet = weakref.WeakSet()    # windows whose style sheets follow the theme
_platform_palette: QPalette | None = None     # the app's palette before any theme: "system" on light


def dark_palette() -> QPalette:
    """The common dark Fusion palette: dark grey windows, near-black bases, light text, blue accents."""
    p = QPalette()
    window, base, text = QColor(53, 53, 53), QColor(35, 35, 35), QColor(230, 230, 230)
    disabled = QColor(127, 127, 127)
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, window), (roles.WindowText, text), (roles.Base, base),
                         (roles.AlternateBase, QColor(45, 45, 45)), (roles.ToolTipBase, QColor(25, 25, 25)),
                         (roles.ToolTipText, text), (roles.Text, text), (roles.Button, window),
                         (roles.ButtonText, text), (roles.BrightText, QColor(255, 90, 90)),
                         (roles.Link, QColor(110, 170, 255)), (roles.LinkVisited, QColor(190, 140, 255)),
                         (roles.Highlight, QColor(42, 130, 218)),
                         (roles.HighlightedText, QColor(255, 255, 255)),
                         (roles.Light, QColor(80, 80, 80)), (roles.Midlight, QColor(66, 66, 66)),
                         (roles.Mid, QColor(45, 45, 45)), (roles.Dark, QColor(25, 25, 25)),
                         (roles.Shadow, QColor(10, 10, 10)), (roles.PlaceholderText, QColor(160, 160, 160))):
        p.setColor(role, colour)
    for role in (roles.WindowText, roles.Text, roles.ButtonText, roles.HighlightedText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, roles.Highlight, QColor(80, 80, 80))
    return p


def light_palette() -> QPalette:
    """The Fusion style's standard palette (the app's look before themes existed), its quieter
    text (placeholders, notes) a readable grey rather than half-transparent black."""
    style = QStyleFactory.create("Fusion")
    palette = style.standardPalette() if style is not None else QPalette()
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#5f6368"))
    return palette


def _system_is_dark() -> bool:
    """Does the platform ask for a dark look? (Qt >= 6.5 knows; before that, never.)"""
    hints = QApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is None:
        return False
    return scheme() == Qt.ColorScheme.Dark


def current_theme() -> str:
    """The theme chosen last with :func:`apply_theme` ("system", "light" or "dark")."""
    return _current


def saved_theme(settings) -> str:
    """The theme kept in ``settings`` ("system" when none or not one of :data:`THEMES`)."""
    value = str(settings.value(SETTINGS_KEY, "system")).lower()
    return value if value in THEMES else "system"


def apply_theme(name: str, app: QApplication | None = None) -> None:
    """Apply the theme ``name`` ("system", "light" or "dark") to the running app, live.

    Every widget receives a palette change; views that paint with colours of their own restyle
    (see :func:`on_palette_change`). Plots made afterwards start in the right colours too.
    """
    global _current
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}: use one of {', '.join(THEMES)}")
    app = app or QApplication.instance()
    if app is None:
        raise RuntimeError("apply_theme needs a QApplication")
    global _platform_palette
    if _platform_palette is None:
        _platform_palette = QPalette(app.palette())
    _current = name
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")      # a dark palette under another style is half dark
    if name == "dark" or (name == "system" and _system_is_dark()):
        app.setPalette(dark_palette())
    elif name == "light":
        app.setPalette(light_palette())
    else:                           # the platform's own (on a desktop without a scheme: Fusion's)
        app.setPalette(_platform_palette)
    # A widget under a style sheet (the window's tab bar has one, and so do a few labels) keeps the
    # palette it was polished with: setting the sheet again re-polishes it, and everything inside
    # it, with the new palette; its own colours are swapped for the theme's (see css). Only in the
    # windows given to track() and on screen: walking QApplication.allWidgets() or
    # topLevelWidgets() crashed PySide6 6.12 in the test session (widgets of closed windows).
    # Parents first, so that a child is not polished twice in vain.
    for window in list(_windows):
        if not shiboken6.isValid(window) or not window.isVisible():
            continue
        sheets = [w for w in [window, *window.findChildren(QWidget)] if w.styleSheet()]
        for widget in sorted(sheets, key=_depth):
            widget.setStyleSheet(css(widget.styleSheet()))
    pg.setConfigOptions(background=plot_background(), foreground=look().text)
    _follow_system(app)


def _depth(widget: QWidget) -> int:
    depth = 0
    while (widget := widget.parentWidget()) is not None:
        depth += 1
    return depth


_following_system = False


def _follow_system(app: QApplication) -> None:
    """With "system" chosen, a change of the platform's colour scheme changes the app's (once wired)."""
    global _following_system
    hints = app.styleHints()
    if _following_system or not hasattr(hints, "colorSchemeChanged"):
        return
    _following_system = True
    hints.colorSchemeChanged.connect(lambda _scheme: _current == "system" and apply_theme("system"))


def track(window: QWidget) -> None:
    """Let ``window``'s style sheets follow theme changes (the main window does this)."""
    _windows.add(window)


def is_dark(palette: QPalette | None = None) -> bool:
    """Is the palette (the application's by default) a dark one? Its window colour decides."""
    if palette is None:
        palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def look(palette: QPalette | None = None) -> F.Look:
    """The colours plots are drawn in: ``figures.DARK`` on a dark palette, ``figures.LIGHT`` else."""
    return F.DARK if is_dark(palette) else F.LIGHT


def plot_background(palette: QPalette | None = None) -> QColor:
    """A plot's background: the palette's base colour (white, or near-black in the dark theme)."""
    if palette is None:
        palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Base)


def secondary_text(palette: QPalette | None = None) -> str:
    """A quieter text colour than the normal one that stays readable: for notes and hints."""
    return "#a8adb3" if is_dark(palette) else "#5f6368"


def warning_text(palette: QPalette | None = None) -> str:
    """The colour of a warning (a damaged file, two networks that disagree): orange-brown on
    light, a light orange on dark."""
    return "#f0a060" if is_dark(palette) else "#b3541e"


def good_text(palette: QPalette | None = None) -> str:
    """The colour of good news (the networks agree): a deep green on light, a light one on dark."""
    return "#6fd08c" if is_dark(palette) else "#1b7f3b"


def error_text(palette: QPalette | None = None) -> str:
    """The colour of an error message: a deep red on light, a light red on dark."""
    return "#ff8a80" if is_dark(palette) else "#b00020"


# The colours style sheets use, as (on light, on dark): errors, warnings, an invalid field's
# background and border. Text that is merely quieter uses ``palette(placeholder-text)`` instead.
_SHEET_COLOURS = (("#b00020", "#ff8a80"), ("#b3261e", "#ff8a80"), ("#b3541e", "#f0a060"),
                  ("#ffe4e4", "#5a2a2a"), ("#d03030", "#e06060"))


def css(sheet: str, palette: QPalette | None = None) -> str:
    """``sheet`` (written with the light colours above) in the current theme's colours; a sheet in
    the other theme's colours is turned back. Style sheets with colours go through here."""
    dark = is_dark(palette)
    for light_colour, dark_colour in _SHEET_COLOURS:
        old, new = (light_colour, dark_colour) if dark else (dark_colour, light_colour)
        sheet = sheet.replace(old, new)
    return sheet


def style_plot_widget(widget) -> None:
    """Re-ink a pyqtgraph ``PlotWidget`` or ``GraphicsLayoutWidget`` in the current look: its
    background and every plot in it (axes, titles, labels, legends; not the data)."""
    widget.setBackground(plot_background())
    current = look()
    for item in widget.scene().items():
        if isinstance(item, pg.PlotItem):
            F.restyle_plot(item, current)


class _PaletteWatcher(QObject):
    """Calls ``restyle`` once after the palette of ``widget`` changed (several changes in one pass
    of the event loop, as when the app's palette is set, are one call)."""

    def __init__(self, widget: QWidget, restyle) -> None:
        super().__init__(widget)
        self._restyle = restyle
        self._queued = False
        widget.installEventFilter(self)

    @guarded(default=False)
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt name
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and not self._queued:
            self._queued = True
            QTimer.singleShot(0, self._run)
        return False

    @guarded
    def _run(self) -> None:
        self._queued = False
        self._restyle()


def on_palette_change(widget: QWidget, restyle) -> None:
    """Call ``restyle()`` whenever ``widget``'s palette changes (the theme was switched); the call
    comes from the event loop, once per change, while ``widget`` lives."""
    _PaletteWatcher(widget, restyle)
