"""The lambda sweep says what it will do before it starts, and the window says it is running.

Before: the progress bar read "0 of 100 runs" with five lambdas in the box (a QProgressBar's
default range), and the status bar's state stayed "Idle" for the minutes a sweep trains.
"""

from __future__ import annotations

import pytest

from digitlab.training import TrainConfig

TINY = TrainConfig(train_subset=300, n_validation=500, max_epochs=1, batch_size=64, learning_rate=0.05,
                   eval_every=10, patience=100000)


def test_the_progress_counts_the_runs_the_lambdas_box_asks_for(qtbot, tmp_path):
    from digitlab.gui.inside_view import InsideView
    from digitlab.gui.model_pair import ModelPair
    from digitlab.library import ModelLibrary
    library = ModelLibrary(bundled_dir=tmp_path / "none", user_dir=tmp_path / "mine")
    inside = InsideView(library, ModelPair(library))
    qtbot.addWidget(inside)
    inside.show()
    assert inside.lambdas_edit.text() == "0,1,3,5,10"
    assert inside.progress.text() == "0 of 5 runs"
    inside.lambdas_edit.clear()
    qtbot.keyClicks(inside.lambdas_edit, "0, 2")
    assert inside.progress.text() == "0 of 2 runs"
    assert inside.shutdown(30000)


@pytest.mark.slow
def test_the_status_bar_says_a_sweep_is_running(qtbot, main_window):
    window = main_window
    window.show_view("evaluate")
    inside = window.evaluate_view.inside
    inside.tabs.setCurrentIndex(inside.tabs.indexOf(inside.sweep_acc.parentWidget()))
    assert window.state_label.text() == "Idle"
    seen, messages = [], []
    # each finished run: what the status bar says at that moment (in the GUI thread)
    inside.status_message.connect(lambda _text: seen.append(window.state_label.text()))
    inside.status_message.connect(lambda _text: messages.append(window.statusBar().currentMessage()))
    with qtbot.waitSignal(inside.sweep_finished, timeout=120000):
        assert inside.start_sweep([0.0, 1.0], config=TINY, workers=1)
        seen.append(window.state_label.text())
    assert len(seen) == 3 and all("sweep" in text.lower() for text in seen), seen
    assert "2 of 2 runs" in messages[-1], messages
    assert window.state_label.text() == "Idle"
    assert window.evaluate_view.sweep_running() is False
