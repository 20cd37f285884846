"""The window must fit a 1024x700 projector: what each view needs at least, and the Train view fits.

``python -m pytest tests/gui/test_minimum_sizes.py -s`` prints every view's minimum size hint, so
whoever makes a view smaller sees which one still holds the window back.
"""

from __future__ import annotations

from digitlab.gui.canvas import DrawingCanvas

SCREEN_WIDTH, SCREEN_HEIGHT = 1024, 700


def room_for_a_view(window) -> tuple[int, int]:
    """Width and height left for a view in a 1024x700 window: the menu bar, the tab bar and the
    status bar take their share of the height."""
    chrome = (window.menuBar().sizeHint().height() + window.statusBar().sizeHint().height()
              + window.views.tabBar().sizeHint().height())
    return SCREEN_WIDTH, SCREEN_HEIGHT - chrome


def test_report_each_views_minimum_size_and_the_train_view_fits(main_window):
    width, height = room_for_a_view(main_window)
    assert 550 < height < 700
    views = main_window.views
    print(f"\nroom for a view in a {SCREEN_WIDTH}x{SCREEN_HEIGHT} window: {width}x{height}")
    for i in range(views.count()):
        hint = views.widget(i).minimumSizeHint()
        fits = hint.width() <= width and hint.height() <= height
        print(f"  {views.tabText(i):<9} minimum {hint.width()}x{hint.height()}"
              f"  {'fits' if fits else 'TOO BIG'}")
    print(f"  window    minimum {main_window.minimumSizeHint().width()}x{main_window.minimumSizeHint().height()}")
    train = main_window.train_view
    train.tables.show()                    # the report's experiments show their tables too
    hint = train.minimumSizeHint()
    assert hint.width() <= width and hint.height() <= height, hint


def test_the_train_view_is_usable_in_a_1024x700_window(qtbot, main_window):
    width, height = room_for_a_view(main_window)
    train = main_window.train_view
    main_window.views.setCurrentWidget(train)
    train.tables.show()
    train.setParent(None)                  # measured alone, at exactly the room it gets
    qtbot.addWidget(train)
    train.resize(width, height)
    train.show()
    qtbot.wait(50)
    assert train.size().width() == width and train.size().height() == height
    plots = train.plots
    assert plots.cost_plot.height() >= 160 and plots.acc_plot.height() >= 160
    for button in (train.start_button, train.pause_button, train.stop_button, train.experiments_button,
                   train.save_button, train.clear_button):
        assert button.isVisible() and button.width() >= button.minimumSizeHint().width()
    assert train.form_scroll.viewport().height() >= 200    # the form scrolls, it is not cut off
    assert train.tables.height() >= train.tables.minimumSizeHint().height()
    form = train.form_scroll.widget()                       # no field cut off at the side
    assert form.width() >= form.minimumSizeHint().width()


def test_the_canvas_fits_with_room_to_spare(qtbot):
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    hint = canvas.minimumSizeHint()
    assert hint.width() <= 320 and hint.height() <= 320
