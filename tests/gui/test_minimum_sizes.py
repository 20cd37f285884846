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
    hint = main_window.minimumSizeHint()
    print(f"  window    minimum {hint.width()}x{hint.height()}")
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


def _compare_in_evaluate(qtbot, window):
    """Models A and B chosen, Evaluate shown and computed (the headline at its longest)."""
    lib = window.library
    window.pair.set_pair(lib.get("report-no-l2"), lib.get("report-l2"))
    window.show_view("evaluate")
    ev = window.evaluate_view
    qtbot.waitUntil(lambda: ev.comparison is not None, timeout=60000)
    qtbot.wait(50)
    return ev


def test_the_window_fits_a_1024x700_projector_with_every_view(qtbot, main_window):
    window = main_window
    window.train_view.tables.show()
    _compare_in_evaluate(qtbot, window)
    hint = window.minimumSizeHint()
    assert hint.width() <= SCREEN_WIDTH and hint.height() <= SCREEN_HEIGHT, hint
    width, height = room_for_a_view(window)
    views = window.views
    for i in range(views.count()):
        view_hint = views.widget(i).minimumSizeHint()
        assert view_hint.width() <= width and view_hint.height() <= height, (views.tabText(i), view_hint)
    inside = window.evaluate_view.inside
    for i in range(inside.tabs.count()):
        inside.tabs.setCurrentIndex(i)
        inside_hint = inside.minimumSizeHint()
        assert inside_hint.width() <= width and inside_hint.height() <= height, \
            (inside.tabs.tabText(i), inside_hint)


def _fully_inside(widget, ancestor) -> bool:
    """Is the whole widget within ``ancestor``'s rectangle (not clipped at its edges)?"""
    top_left = widget.mapTo(ancestor, widget.rect().topLeft())
    bottom_right = widget.mapTo(ancestor, widget.rect().bottomRight())
    return ancestor.rect().contains(top_left) and ancestor.rect().contains(bottom_right)


def test_evaluate_is_usable_in_a_1024x700_window(qtbot, main_window):
    window = main_window
    ev = _compare_in_evaluate(qtbot, window)
    window.resize(SCREEN_WIDTH, SCREEN_HEIGHT)
    qtbot.waitUntil(lambda: window.width() == SCREEN_WIDTH and window.height() == SCREEN_HEIGHT, timeout=2000)
    # the choices and Export report with its "on ..." box: shown whole, not squeezed
    for w in (ev.chooser_a, ev.chooser_b, ev.set_combo, ev.export_button, ev.report_on):
        assert w.isVisible() and _fully_inside(w, ev), w
        assert w.width() >= w.minimumSizeHint().width(), w
    assert ev.report_on.width() >= ev.report_on.sizeHint().width() - 1   # "on the four experiments" readable
    assert ev.headline.height() >= ev.headline.heightForWidth(ev.headline.width()) - 1   # no line clipped
    # Scores: both matrices and the whole per-class table
    ev.tabs.setCurrentIndex(0)
    qtbot.wait(50)
    assert ev.cm_a.width() >= 200 and ev.cm_a.height() >= 200 and ev.cm_b.isVisible()
    table = ev.class_table
    assert table.horizontalScrollBar().maximum() == 0, "the per-class table is cut off"
    # Mistakes: the gallery and both models' probability bars with their plots
    ev.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    assert ev.gallery.width() >= 200 and ev.gallery.height() >= 150
    for bars in (ev.bars_a, ev.bars_b):
        assert bars.isVisible() and bars.height() >= bars.minimumSizeHint().height()
        assert bars.width() >= bars.minimumSizeHint().width()
    assert ev.send_button.isVisible() and _fully_inside(ev.send_button, ev)
    # Inside, every part of it
    ev.tabs.setCurrentWidget(ev.inside)
    inside = ev.inside
    for i in range(inside.tabs.count()):
        inside.tabs.setCurrentIndex(i)
        qtbot.wait(30)
        page = inside.tabs.currentWidget()
        page_hint = page.minimumSizeHint()
        assert page.width() >= page_hint.width() and page.height() >= page_hint.height(), \
            inside.tabs.tabText(i)
    for w in (inside.lambdas_edit, inside.sweep_button, inside.cancel_button, inside.quick_box):
        inside.tabs.setCurrentWidget(inside.sweep_button.parentWidget())
        assert _fully_inside(w, ev), w
