"""Step through a run, slow it down, change it while it runs, continue a saved one: the way a person
does it, with the buttons, the fields and the Models view."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitlab.io import load_model
from digitlab.training import Change, RunControl, cached_splits, train

RUN_TIMEOUT = 60_000


def _click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _steps_plotted(view) -> np.ndarray:
    view.plots.flush()
    run_ids = view.plots.run_ids()
    if not run_ids:
        return np.array([])
    return view.plots.series(run_ids[-1], "batch_cost")[0]


def _wait_steps(qtbot, view, n: int) -> None:
    qtbot.waitUntil(lambda: len(_steps_plotted(view)) >= n, timeout=RUN_TIMEOUT)


def _reference_costs(config, n: int) -> list[float]:
    """The first ``n`` mini-batch costs of ``config``'s run, from the core alone."""
    return [info.cost for info in _reference_steps(config, n)]


def _reference_steps(config, n: int) -> list:
    """The first ``n`` steps of ``config``'s run (StepInfo, with a copy of the network), from the
    core alone."""
    costs = []
    control = RunControl(steps=n)
    done = threading.Event()

    def on_step(info):
        info.network = info.network.copy()
        costs.append(info)

    thread = threading.Thread(target=lambda: (train(config, cached_splits(config), control=control,
                                                    on_step=on_step), done.set()))
    thread.start()
    while not control.paused and not done.is_set():
        time.sleep(0.01)
    control.cancel()
    thread.join()
    return costs


def test_step_takes_exactly_one_step_and_the_plot_grows_by_one_point(qtbot, train_view, fill_form,
                                                                     quick_settings):
    view = train_view
    fill_form(view.form, quick_settings)
    config = view.form.config()
    # Step with no run: a run starts, paused at step 0, and takes one step
    _click(qtbot, view.step_button)
    _wait_steps(qtbot, view, 1)
    qtbot.wait(400)                 # time for a second step, if it (wrongly) took one
    assert view.is_training() and view.is_paused()
    assert list(_steps_plotted(view)) == [1]
    assert view.pause_button.text() == "Resume"
    _click(qtbot, view.step_button)
    _wait_steps(qtbot, view, 2)
    qtbot.wait(300)
    assert list(_steps_plotted(view)) == [1, 2]
    # Step N, with N typed into its box
    view.step_count.clear()
    qtbot.keyClicks(view.step_count, "7")
    assert view.step_n_button.text() == "Step 7"
    _click(qtbot, view.step_n_button)
    _wait_steps(qtbot, view, 9)
    qtbot.wait(300)
    steps = _steps_plotted(view)
    assert list(steps) == list(range(1, 10))
    # the plotted costs are the run's own, step by step (the core run alone, same settings)
    _x, costs = view.plots.series(view.plots.run_ids()[-1], "batch_cost")
    np.testing.assert_array_equal(costs, np.asarray(_reference_costs(config, 9), dtype=np.float64))
    assert "step 9" in view.progress_label.text() and "paused" in view.progress_label.text()
    # the validation check on step 5 (eval_every 5) was drawn on the way
    assert list(view.plots.series(view.plots.run_ids()[-1], "val_cost")[0]) == [5]
    # Resume runs freely to the end
    _click(qtbot, view.pause_button)
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass
    result = view.last_result
    assert len(_steps_plotted(view)) == result.steps


def test_step_pauses_a_running_run_after_one_more_step(qtbot, train_view, fill_form, quick_settings):
    view = train_view
    fill_form(view.form, dict(quick_settings, max_epochs="50"))
    view.set_speed(20.0)                 # slow enough to catch it running
    _click(qtbot, view.start_button)
    _wait_steps(qtbot, view, 3)
    _click(qtbot, view.step_button)
    qtbot.waitUntil(lambda: view.controller.is_paused() and not view.controller.is_stepping(),
                    timeout=RUN_TIMEOUT)
    qtbot.wait(300)
    n = len(_steps_plotted(view))
    qtbot.wait(400)
    assert len(_steps_plotted(view)) == n, "a paused run took steps"
    _click(qtbot, view.stop_button)
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass


@pytest.mark.slow
def test_the_speed_box_slows_a_run_to_the_chosen_steps_per_second(qtbot, train_view, fill_form,
                                                                    quick_settings):
    view = train_view
    fill_form(view.form, dict(quick_settings, max_epochs="50"))
    index = view.speed_box.findText("10 steps/s")
    assert index >= 0
    view.speed_box.setCurrentIndex(index)
    _click(qtbot, view.start_button)
    _wait_steps(qtbot, view, 1)
    begin, first = time.perf_counter(), len(_steps_plotted(view))
    qtbot.wait(1500)
    seconds, taken = time.perf_counter() - begin, len(_steps_plotted(view)) - first
    assert taken <= 10 * seconds + 2, f"{taken} steps in {seconds:.2f} s at 10 steps/s"
    assert taken >= 5, f"only {taken} steps in {seconds:.2f} s at 10 steps/s"
    # full speed again: the rest of the run goes by at once
    view.speed_box.setCurrentIndex(view.speed_box.findText("Full speed"))
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass
    assert view.last_result.stop_reason == "max_epochs"


def test_a_learning_rate_change_during_a_run_is_marked_and_saved_in_its_history(
        qtbot, train_view, fill_form, quick_settings, tmp_path):
    view = train_view
    fill_form(view.form, quick_settings)               # learning rate 0.05
    view.step_count.setValue(12)
    _click(qtbot, view.step_n_button)
    _wait_steps(qtbot, view, 12)
    qtbot.waitUntil(lambda: not view.controller.is_stepping(), timeout=RUN_TIMEOUT)
    assert view.change_box.isEnabled() and view.run_lr.text() == "0.05"
    view.run_lr.clear()
    qtbot.keyClicks(view.run_lr, "0.01")
    _click(qtbot, view.apply_button)
    _click(qtbot, view.pause_button)                     # Resume
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass
    result = view.last_result
    assert result.history.changes == [Change(12, "learning_rate", 0.05, 0.01)]
    run_id = view.plots.run_ids()[-1]
    assert view.plots.change_marks(run_id) == [(12, "lr 0.01")]
    # the checks before the change trained at 0.05, those after at 0.01
    rates = {c.step: c.learning_rate for c in result.history.checks}
    assert rates[10] == 0.05 and rates[15] == 0.01 and rates[max(rates)] == 0.01
    path = view.save_model(tmp_path / "changed.h5")
    saved = load_model(path)
    assert saved.history.changes == [Change(12, "learning_rate", 0.05, 0.01)]


def test_an_impossible_value_is_refused_with_a_reason_and_nothing_changes(qtbot, train_view, fill_form,
                                                                           quick_settings):
    view = train_view
    fill_form(view.form, quick_settings)
    _click(qtbot, view.step_button)
    _wait_steps(qtbot, view, 1)
    view.run_l2.clear()
    qtbot.keyClicks(view.run_l2, "-3")
    _click(qtbot, view.apply_button)
    assert "L2 lambda must be >= 0" in view.message_label.text()
    assert "background" in view.run_l2.styleSheet()
    _click(qtbot, view.stop_button)
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass
    assert view.last_result.history.changes == []


@pytest.mark.parametrize("optimizer, lr", [("sgd", "0.05"), ("adam", "0.002")])
def test_continuing_a_saved_run_from_the_models_view_equals_an_uninterrupted_run(
        qtbot, main_window, fill_form, quick_settings, tmp_path, optimizer, lr):
    window = main_window
    view = window.train_view
    settings = dict(quick_settings, max_epochs="2", learning_rate=lr)
    fill_form(view.form, settings)
    view.form.optimizer.setCurrentIndex(view.form.optimizer.findData(optimizer))
    config = view.form.config()
    assert config.optimizer == optimizer
    _click(qtbot, view.start_button)
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass
    path = view.save_model()            # into the library, where the Models view lists it
    models = window.models_view
    window.show_view("models")
    models.select(str(path))
    models.ask_more_epochs = lambda _name: 3
    _click(qtbot, models.continue_button)
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass
    continued = view.last_result
    uninterrupted = train(config.replace(max_epochs=5), cached_splits(config))
    assert continued.steps == uninterrupted.steps and continued.epochs == 5
    assert continued.network.params.tobytes() == uninterrupted.network.params.tobytes()
    columns = [0, 1, 2, 3, 4, 6]        # every column but the seconds
    np.testing.assert_array_equal(continued.history.as_array()[:, columns],
                                  uninterrupted.history.as_array()[:, columns])
    # the plot shows the whole run: the saved checks, then the new ones
    run_id = view.plots.run_ids()[-1]
    assert list(view.plots.series(run_id, "val_cost")[0]) == [c.step for c in uninterrupted.history.checks]


def test_inside_shows_the_training_network_after_each_step(qtbot, main_window, fill_form, quick_settings):
    window = main_window
    view, ev = window.train_view, window.evaluate_view
    fill_form(view.form, quick_settings)
    config = view.form.config()
    window.show_view("evaluate")
    ev.tabs.setCurrentWidget(ev.inside)
    inside = ev.inside
    qtbot.mouseClick(inside.follow_box, Qt.MouseButton.LeftButton)
    assert inside.follow_box.isChecked()
    reference = _reference_steps(config, 4)
    for step in (1, 2, 3, 4):
        view.step(1)
        qtbot.waitUntil(lambda step=step: f"training run, step {step} " in inside.models_label.text() + " ",
                        timeout=RUN_TIMEOUT)
        name, network = inside._named_networks()[0]
        assert name == f"training run, step {step}"
        assert network.params.tobytes() == reference[step - 1].network.params.tobytes()
        assert inside.tiles_a.getPlotItem().titleLabel.text == name
        assert inside.weights_table.item(0, 1).text() == f"{network.mean_abs_weights()[0]:.5f}"
    view.stop()
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        pass
