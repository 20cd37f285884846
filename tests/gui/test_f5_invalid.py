"""F5 with an invalid setting says why instead of doing nothing."""

from __future__ import annotations


def test_f5_with_an_invalid_setting_says_why_in_the_status_bar(qtbot, main_window, fill_form):
    fill_form(main_window.train_view.form, {"layer_sizes": "784-x-10"})
    main_window.start_action.trigger()                 # what F5 does
    message = main_window.statusBar().currentMessage()
    assert message.startswith("Cannot start: ") and "'x' is not a whole number" in message
    assert not main_window.train_view.is_training()
