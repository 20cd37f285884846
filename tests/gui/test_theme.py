"""View > Theme: dark and light applied live to the palette, every plot, heatmap, tile and bar; the
choice remembered in QSettings."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from digitlab.gui import theme
from digitlab.gui.main_window import MainWindow
from digitlab.reports import figures as F


@pytest.fixture(autouse=True)
def back_to_the_default_theme(qtbot):
    """The palette is the application's: whatever a test chose, the next test starts as usual
    (reset while the test's windows are still open: qtbot closes them after this)."""
    yield
    theme.apply_theme("system")


def _theme_action(window, title: str):
    """The View > Theme menu's action called ``title``, as a person finds it."""
    view_menu = window.menus["View"]
    theme_menu = next(a.menu() for a in view_menu.actions() if a.menu() is not None
                      and a.text().replace("&", "") == "Theme")
    return next(a for a in theme_menu.actions() if a.text().replace("&", "") == title)


def _plots(window) -> list:
    """Every pyqtgraph view in the window (PlotWidget, GraphicsLayoutWidget), shown or not."""
    return window.findChildren(pg.GraphicsView)


def _background_lightness(view) -> int:
    """What is behind a plot's data: its background brush, or (transparent) the palette's window."""
    brush = view.backgroundBrush()
    if brush.style() == brush.style().NoBrush:
        return view.palette().color(QPalette.ColorRole.Window).lightness()
    return brush.color().lightness()


def _axis_text_lightness(window) -> list[int]:
    values = []
    for view in _plots(window):
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem) and item.isVisible():
                values.append(item.textPen().color().lightness())
    return values


def make_settings_value(window):
    return window.settings.value(theme.SETTINGS_KEY)


def _grab(widget) -> np.ndarray:
    """The widget as drawn, as lightness 0-255 per pixel."""
    image = widget.grab().toImage()
    lightness = np.array([[image.pixelColor(x, y).lightness() for x in range(0, image.width(), 4)]
                          for y in range(0, image.height(), 4)])
    return lightness


def _show_tiles(window, qtbot):
    lib = window.library
    window.pair.set_pair(lib.get("report-no-l2"), lib.get("report-l2"))
    window.show_view("evaluate")
    inside = window.evaluate_view.inside
    window.evaluate_view.tabs.setCurrentWidget(inside)
    inside.tabs.setCurrentIndex(0)                     # Weights: the first-layer tiles
    qtbot.waitUntil(lambda: not inside._stale and inside.tiles_a.isVisible(), timeout=10_000)
    return inside


def test_dark_then_light_from_the_menu_restyles_every_plot_tile_and_bar(qtbot, main_window):
    inside = _show_tiles(main_window, qtbot)
    plots = _plots(main_window)
    assert len(plots) >= 14            # Train 2, Draw's bars, Evaluate 4 + 2 bars, Inside 8
    assert all(_background_lightness(v) > 200 for v in plots)
    light_tiles = _grab(inside.tiles_a)
    assert light_tiles[2, 2] > 240 and np.median(light_tiles) > 200     # white around and between

    _theme_action(main_window, "Dark").trigger()
    assert QApplication.palette().color(QPalette.ColorRole.Text).lightness() > 200
    # widgets take the application's palette from the event loop
    qtbot.waitUntil(lambda: main_window.palette().color(QPalette.ColorRole.Window).lightness() < 80,
                    timeout=5000)
    qtbot.waitUntil(lambda: all(_background_lightness(v) < 60 for v in _plots(main_window)), timeout=5000)
    assert min(_axis_text_lightness(main_window)) > 180         # light tick labels on the dark ground
    dark_tiles = _grab(inside.tiles_a)
    assert dark_tiles[2, 2] < 60 and np.median(dark_tiles) < 90         # the tiles redrawn on dark
    # Draw's probability bars sit on the window colour, their axes in the text colour
    bars = main_window.draw_view.findChildren(pg.PlotWidget)[0]
    assert _background_lightness(bars) < 80
    drawn = _grab(bars)
    assert drawn[1, -2] < 80 and np.median(drawn) < 80                 # as painted, not only as set
    assert theme.current_theme() == "dark" and _theme_action(main_window, "Dark").isChecked()

    _theme_action(main_window, "Light").trigger()
    qtbot.waitUntil(lambda: all(_background_lightness(v) > 200 for v in _plots(main_window)), timeout=5000)
    assert max(_axis_text_lightness(main_window)) < 100
    assert main_window.palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert theme.current_theme() == "light" and make_settings_value(main_window) == "light"
    again = _grab(inside.tiles_a)
    assert again[2, 2] > 240 and np.median(again) > 200


def test_the_choice_is_kept_for_the_next_window(qtbot, make_settings):
    first = MainWindow(settings=make_settings())
    first.confirm_close = lambda: True
    qtbot.addWidget(first)
    assert _theme_action(first, "System").isChecked()
    _theme_action(first, "Dark").trigger()
    assert make_settings().value(theme.SETTINGS_KEY) == "dark"
    first.close()
    theme.apply_theme("light")          # as a new process would start: nothing dark left over
    second = MainWindow(settings=make_settings())
    second.confirm_close = lambda: True
    qtbot.addWidget(second)
    assert _theme_action(second, "Dark").isChecked()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
    # plots made in the dark theme start dark, before any change event is handled
    assert all(_background_lightness(v) < 60 for v in _plots(second))
    second.close()


def test_a_bad_saved_theme_falls_back_to_system(make_settings):
    settings = make_settings()
    settings.setValue(theme.SETTINGS_KEY, "purple")
    assert theme.saved_theme(settings) == "system"
    with pytest.raises(ValueError, match="system, light, dark"):
        theme.apply_theme("purple")


def test_heatmaps_run_from_the_background_in_both_looks():
    cm = np.array([[90, 0], [3, 80]])
    for look in (F.LIGHT, F.DARK):
        rgba = F._confusion_colors(cm, look)
        assert tuple(rgba[0, 1, :3]) == look.background          # nothing: the plot's own ground
        assert tuple(rgba[0, 0, :3]) == look.heat_high           # the largest count
    # "more" stands out against the ground either way: darker on white, lighter on dark
    light, dark = F._confusion_colors(cm, F.LIGHT), F._confusion_colors(cm, F.DARK)
    assert light[0, 0, :3].mean() < light[0, 1, :3].mean()
    assert dark[0, 0, :3].mean() > dark[0, 1, :3].mean()
    tiles = F._diverging_rgba(np.array([[np.nan, 0.0, 1.0, -1.0]]), F.DARK)
    assert tuple(tiles[0, 0, :3]) == F.DARK.gap and tuple(tiles[0, 1, :3]) == F.DARK.background
    assert tuple(tiles[0, 2, :3]) == F.DARK.positive and tuple(tiles[0, 3, :3]) == F.DARK.negative


def test_an_invalid_field_and_notes_stay_readable_in_both_themes(qtbot, main_window):
    """Style-sheet colours follow the theme: an invalid field's pink turns deep red on dark (light
    text on pink was unreadable), and back; quieter notes take the palette's placeholder grey."""
    field = main_window.train_view.form.field("learning_rate")
    field.clear()
    qtbot.keyClicks(field, "fast")
    qtbot.waitUntil(lambda: "#ffe4e4" in field.styleSheet(), timeout=3000)
    _theme_action(main_window, "Dark").trigger()
    assert "#5a2a2a" in field.styleSheet() and "#ffe4e4" not in field.styleSheet()
    qtbot.waitUntil(lambda: field.palette().color(QPalette.ColorRole.Text).lightness() > 200, timeout=5000)
    _theme_action(main_window, "Light").trigger()
    assert "#ffe4e4" in field.styleSheet()
    hint = main_window.train_view.tables_hint
    assert "placeholder-text" in hint.styleSheet()
