"""The Train view used the way a person does: fill the form, train, pause, stop, compare runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

import digitlab.gui.train_view as train_view_module
from digitlab.gui.settings_form import SettingsForm, parse_layer_sizes
from digitlab.gui.stall_meter import StallMeter
from digitlab.gui.train_plots import GrowingBuffer, TrainPlots
from digitlab.training import BEST, EXPERIMENTS, PRESETS, Check, TrainConfig

RUN_TIMEOUT = 60_000


def _same_settings(a: TrainConfig, b: TrainConfig) -> bool:
    return a.replace(name="") == b.replace(name="")


def _wait_for_checks(qtbot, view, n: int) -> None:
    seen = []
    view.controller.check.connect(lambda _i, c: seen.append(c))
    qtbot.waitUntil(lambda: len(seen) >= n, timeout=RUN_TIMEOUT)


# ------------------------------------------------------------------ the form
def test_form_defaults_to_the_report_setting(qtbot):
    form = SettingsForm()
    qtbot.addWidget(form)
    assert form.is_valid()
    assert _same_settings(form.config(), PRESETS["report"])
    assert form.field("layer_sizes").text() == "784-20-7-5-10"


def test_best_preset_is_one_click_away(qtbot):
    form = SettingsForm()
    qtbot.addWidget(form)
    qtbot.mouseClick(form.preset_buttons["best"], Qt.MouseButton.LeftButton)
    assert _same_settings(form.config(), BEST)
    qtbot.mouseClick(form.preset_buttons["report"], Qt.MouseButton.LeftButton)
    assert _same_settings(form.config(), PRESETS["report"])


def test_form_covers_every_training_setting(qtbot):
    form = SettingsForm()
    qtbot.addWidget(form)
    form.set_config(TrainConfig(layer_sizes=(784, 32, 10), init="normal", init_std=0.05, seed=11,
                                batch_norm=True, l2=2.5, optimizer="momentum", learning_rate=0.02,
                                momentum=0.8, schedule="cosine", batch_size=32, eval_every=50,
                                patience=400, tol=0.001, max_epochs=7, dataset="fashion-mnist",
                                n_validation=6000, train_subset=5000))
    config = form.config()
    expected = TrainConfig(layer_sizes=(784, 32, 10), init="normal", init_std=0.05, seed=11,
                           batch_norm=True, l2=2.5, optimizer="momentum", learning_rate=0.02,
                           momentum=0.8, schedule="cosine", batch_size=32, eval_every=50,
                           patience=400, tol=0.001, max_epochs=7, dataset="fashion-mnist",
                           n_validation=6000, train_subset=5000)
    assert _same_settings(config, expected)
    # fields that do not apply to the chosen options are greyed out, not hidden
    assert form.field("init_std").isEnabled() and form.field("momentum").isEnabled()
    form.set_config(PRESETS["report"])
    assert not form.field("init_std").isEnabled() and not form.field("momentum").isEnabled()


@pytest.mark.parametrize("key, text, reason", [
    ("learning_rate", "abc", "learning rate must be a number"),
    ("learning_rate", "-0.1", "learning rate must be > 0"),
    ("batch_size", "0", "batch size must be >= 1"),
    ("layer_sizes", "784-20-x-10", "'x' is not a whole number"),
    ("layer_sizes", "100-20-10", "input layer must have 784 units"),
    ("momentum", "1.5", "momentum must be <= 0.9999"),
    ("train_subset", "12.5", "training subset must be a whole number"),
])
def test_invalid_input_disables_start_with_a_reason(qtbot, train_view, fill_form, key, text, reason):
    form = train_view.form
    if key == "momentum":
        form.apply_preset("report")
        form.optimizer.setCurrentIndex(form.optimizer.findData("momentum"))
    assert train_view.start_button.isEnabled()
    fill_form(form, {key: text})
    assert not train_view.start_button.isEnabled()
    edit = form.field(key)
    assert "d03030" in edit.styleSheet()                 # marked red
    assert reason in edit.toolTip()                       # the reason, where the field is
    assert form.problem.isVisible() and reason in form.problem.text()
    assert reason in train_view.start_button.toolTip()
    assert train_view.start() is False                    # F5 cannot bypass it either
    # fixing the field brings Start back
    form.apply_preset("report")
    assert train_view.start_button.isEnabled()
    assert edit.styleSheet() == "" and not form.problem.isVisible()


def test_rules_across_fields_come_from_the_core(qtbot, fill_form):
    form = SettingsForm()
    qtbot.addWidget(form)
    fill_form(form, {"max_epochs": "0"})
    assert not form.is_valid()
    fill_form(form, {"max_epochs": "5", "n_validation": "0"})
    assert not form.is_valid()
    assert "validation size must be >= 1" in form.problem.text()


def test_parse_layer_sizes():
    assert parse_layer_sizes("784-20-7-5-10") == (784, 20, 7, 5, 10)
    assert parse_layer_sizes(" 784 - 64 - 10 ") == (784, 64, 10)
    with pytest.raises(ValueError, match="output layer must have 10"):
        parse_layer_sizes("784-20-7")
    with pytest.raises(ValueError, match="at least an input and an output"):
        parse_layer_sizes("784")


# ------------------------------------------------------------------ the plots, synthetic data
def _check(step: int, cost: float) -> Check:
    return Check(step=step, epoch=1, train_cost=cost * 1.1, val_cost=cost, val_accuracy=1 - cost / 3,
                 elapsed=step / 1000, learning_rate=0.009)


def test_growing_buffer_doubles_and_views_without_copy():
    buf = GrowingBuffer(capacity=4)
    buf.extend([1, 2, 3])
    assert buf.capacity == 4 and list(buf.view()) == [1, 2, 3]
    buf.extend(np.arange(10))
    assert len(buf) == 13 and buf.capacity >= 13
    view = buf.view()
    assert np.shares_memory(view, buf._data)


def test_plots_buffer_checks_and_flush_on_the_timer(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    run = plots.begin_run("synthetic")
    curve = plots._runs[run].val_cost.item
    for step in range(1, 501):
        plots.add_check(run, _check(step, 2.3 * math.exp(-step / 100) + 0.2))
    # nothing is drawn per check: the curves change only when the timer flushes
    assert len(plots.series(run, "val_cost")[0]) == 0
    with qtbot.waitSignal(plots.flushed, timeout=2000):
        pass  # only waiting for the flush
    x, y = plots.series(run, "val_cost")
    assert len(x) == 500 and x[-1] == 500
    assert plots.best_step(run) == 500
    item_before = curve
    for step in range(501, 1001):
        plots.add_check(run, _check(step, 0.3 + (step - 500) / 1000))  # the cost rises again
    plots.flush()
    assert plots._runs[run].val_cost.item is item_before        # same curve, setData on it
    assert len(plots.series(run, "val_cost")[0]) == 1000
    assert plots.best_step(run) == 500                           # the best point stays marked
    best_x, best_y = plots._runs[run].best_marker.getData()
    assert list(best_x) == [500]
    acc_x, acc_y = plots.series(run, "val_acc")
    assert 0 <= acc_y.min() and acc_y.max() <= 100               # accuracy plotted in percent


def test_plots_flush_at_most_about_20_times_a_second(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    run = plots.begin_run("fast")
    step = [0]

    def feed():
        step[0] += 1
        plots.add_check(run, _check(step[0], 1.0))

    from PySide6.QtCore import QTimer
    feeder = QTimer()
    feeder.setInterval(1)
    feeder.timeout.connect(feed)
    feeder.start()
    qtbot.wait(1000)
    feeder.stop()
    assert step[0] > 100                 # many more checks than redraws
    assert plots.flush_count <= 24, plots.flush_count


def test_earlier_runs_are_kept_faded_and_nan_is_not_drawn(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    first = plots.begin_run("Run 1")
    for s in range(1, 20):
        plots.add_check(first, _check(s, 1.0 / s))
    plots.end_run(first, best_step=19)
    plots.fade_previous()
    second = plots.begin_run("Run 2")
    plots.add_check(second, _check(1, 1.0))
    plots.add_check(second, _check(2, float("nan")))
    plots.add_check(second, _check(3, float("inf")))
    plots.flush()
    assert plots.is_faded(first) and not plots.is_faded(second)
    assert len(plots.series(first, "val_cost")[0]) == 19            # still there to compare
    assert plots._runs[first].val_cost.item.opts["pen"].color().alpha() < 255
    x, y = plots.series(second, "val_cost")
    assert list(x) == [1] and np.isfinite(y).all()


# ------------------------------------------------------------------ training through the worker thread
def test_short_run_plots_grow_and_the_reason_is_shown(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "max_epochs": "25"})   # about a second
    sizes = []
    train_view.plots.flushed.connect(
        lambda: sizes.append(sum(len(train_view.plots.series(r, "val_cost")[0])
                                 for r in train_view.plots.run_ids())))
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(train_view.start_button, Qt.MouseButton.LeftButton)
        assert not train_view.start_button.isEnabled() and train_view.stop_button.isEnabled()
        assert not train_view.form.isEnabled()
    results = blocker.args[0]
    assert len(results) == 1
    result = results[0]
    assert result.stop_reason == "max_epochs"
    assert len(sizes) >= 2 and sizes == sorted(sizes) and sizes[-1] > sizes[0]   # the plot grew
    run = train_view.plots.run_ids()[-1]
    steps, costs = train_view.plots.series(run, "val_cost")
    assert len(steps) == len(result.history.checks) and np.all(np.diff(steps) > 0)
    assert result.message in train_view.message_label.text()          # the core's words
    assert "Finished" in train_view.message_label.text()
    assert "Test accuracy" in train_view.message_label.text()
    assert train_view.progress.value() == 1000
    assert "Epoch 25 / 25" in train_view.progress_label.text()
    print(f"\n{len(result.history.checks)} checks drawn in {len(sizes)} updates, run {result.elapsed:.2f} s")
    assert train_view.start_button.isEnabled() and not train_view.stop_button.isEnabled()
    assert train_view.save_button.isEnabled()
    assert train_view.plots.best_step(run) == result.best_step
    assert not train_view.tables.isVisible()            # the experiments' tables only when they run


def test_pause_and_resume(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "max_epochs": "500"})
    checks = []
    train_view.controller.check.connect(lambda _i, c: checks.append(c.step))
    qtbot.mouseClick(train_view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(checks) >= 3, timeout=RUN_TIMEOUT)
    qtbot.mouseClick(train_view.pause_button, Qt.MouseButton.LeftButton)
    assert train_view.pause_button.text() == "Resume"
    assert "paused" in train_view.progress_label.text()
    qtbot.wait(150)                      # checks already queued when pausing may still arrive
    frozen = len(checks)
    qtbot.wait(400)
    assert len(checks) == frozen         # nothing trains while paused
    qtbot.mouseClick(train_view.pause_button, Qt.MouseButton.LeftButton)
    assert train_view.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: len(checks) > frozen + 2, timeout=RUN_TIMEOUT)
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(train_view.stop_button, Qt.MouseButton.LeftButton)


def test_stop_midway_keeps_what_it_learned(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "max_epochs": "1000"})
    qtbot.mouseClick(train_view.start_button, Qt.MouseButton.LeftButton)
    _wait_for_checks(qtbot, train_view, 20)
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(train_view.stop_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0][0]
    assert result.stop_reason == "cancelled"
    assert result.epochs < 1000
    # it keeps what it learned: trained weights, evaluated, better than where it started
    first = result.history.checks[0]
    assert result.network is not None and set(result.metrics) >= {"test_accuracy", "val_cost"}
    assert result.metrics["val_cost"] <= first.val_cost + 1e-6
    message = train_view.message_label.text()
    assert "Cancelled" in message and result.message in message
    assert not train_view.controller.is_running()
    assert train_view.save_button.isEnabled()


def test_a_paused_run_can_be_stopped(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "max_epochs": "1000"})
    qtbot.mouseClick(train_view.start_button, Qt.MouseButton.LeftButton)
    _wait_for_checks(qtbot, train_view, 2)
    train_view.toggle_pause()
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        train_view.stop()
    assert blocker.args[0][0].stop_reason == "cancelled"


def test_a_learning_rate_past_the_limit_cannot_be_started(train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "learning_rate": "1000"})
    assert not train_view.form.is_valid()
    assert "learning_rate must be at most 10, got 1000" in " ".join(train_view.form.problems())
    assert not train_view.start_button.isEnabled()


def test_diverged_run_shows_the_message_not_nan(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "learning_rate": "10"})
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        train_view.start()
    result = blocker.args[0][0]
    assert result.stop_reason == "diverged"
    text = train_view.message_label.text()
    assert "Diverged" in text and result.message in text
    assert "nan" not in text.lower().replace(result.message.lower(), "")
    assert "b00020" in train_view.message_label.styleSheet()        # shown as a problem
    assert train_view.plots.message.isVisible()
    for run in train_view.plots.run_ids():
        for name in ("train_cost", "val_cost", "val_acc"):
            assert np.isfinite(train_view.plots.series(run, name)[1]).all()


def test_second_run_fades_the_first(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "max_epochs": "1"})
    for _ in range(2):
        with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT):
            train_view.start()
    first, second = train_view.plots.run_ids()
    assert train_view.plots.is_faded(first) and not train_view.plots.is_faded(second)
    assert len(train_view.results) == 2


def test_the_reports_four_experiments(qtbot, train_view, monkeypatch):
    quick = [(label, config.replace(train_subset=1500, batch_size=64, eval_every=5, max_epochs=2))
             for label, config in EXPERIMENTS]
    monkeypatch.setattr(train_view_module, "EXPERIMENTS", quick)
    started = []
    train_view.controller.run_started.connect(lambda i, label, c: started.append(label))
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT * 2) as blocker:
        qtbot.mouseClick(train_view.experiments_button, Qt.MouseButton.LeftButton)
    results = blocker.args[0]
    assert started == [label for label, _ in EXPERIMENTS] and len(results) == 4
    plots = train_view.plots
    runs = plots.run_ids()[-4:]
    colours = {plots._runs[r].color for r in runs}
    assert len(colours) == 4 and not any(plots.is_faded(r) for r in runs)     # all four live, distinct
    assert len(plots.cost_legend.items) == 4
    assert train_view.tables.isVisible()
    assert "4 of 4 experiments" in train_view.progress_label.text()
    table = train_view.summary_table
    assert table.rowCount() == 4
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Experiment", "Train cost", "Val cost", "Test cost", "Train acc", "Val acc",
                       "Test acc", "Time (s)", "Epochs", "Iterations"]
    assert table.item(0, 0).text() == EXPERIMENTS[0][0]
    assert table.item(2, 8).text() == str(results[2].epochs)
    assert table.item(2, 9).text() == str(results[2].steps)
    assert table.item(3, 6).text() == f"{results[3].metrics['test_accuracy'] * 100:.2f} %"
    weights = train_view.weights_table
    assert weights.rowCount() == 4 and weights.columnCount() == 5    # W1..W4 x (layer + 4 runs)
    assert weights.item(0, 0).text().startswith("W1")
    expected = results[2].network.mean_abs_weights()[1]
    assert float(weights.item(1, 3).text()) == pytest.approx(expected, abs=1e-4)


def test_stopping_the_experiments_stops_the_sequence(qtbot, train_view, monkeypatch):
    slow = [(label, config.replace(train_subset=2000, batch_size=64, eval_every=5, max_epochs=1000))
            for label, config in EXPERIMENTS]
    monkeypatch.setattr(train_view_module, "EXPERIMENTS", slow)
    train_view.run_experiments()
    _wait_for_checks(qtbot, train_view, 3)
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        train_view.stop()
    assert [r.stop_reason for r in blocker.args[0]] == ["cancelled"]
    assert train_view.summary_table.rowCount() == 1


def test_a_failing_run_reports_the_error(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, quick_settings)

    def broken(config):
        raise RuntimeError("the data folder vanished")

    train_view.splits_for = broken
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        train_view.start()
    assert blocker.args[0] == []
    assert "the data folder vanished" in train_view.message_label.text()
    assert train_view.headline.text() == "Training failed"
    assert train_view.start_button.isEnabled()


def test_save_the_trained_model_into_the_library(qtbot, train_view, fill_form, quick_settings, isolated_home,
                                                 tmp_path):
    from digitlab import io
    from digitlab.library import ModelLibrary

    library = ModelLibrary(bundled_dir=tmp_path / "no-bundled-models")
    train_view.library = library
    fill_form(train_view.form, {**quick_settings, "max_epochs": "1"})
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT):
        train_view.start()
    with qtbot.waitSignal(train_view.model_saved, timeout=5000) as blocker:
        qtbot.mouseClick(train_view.save_button, Qt.MouseButton.LeftButton)
    path = blocker.args[0]
    assert path.startswith(str(isolated_home)) and path.endswith(".h5")
    assert [entry.path for entry in library.entries() if entry.path is not None] == [Path(path)]
    loaded = io.load_model(path)
    x = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    np.testing.assert_allclose(loaded.network.predict_proba(x),
                               train_view.last_result.network.predict_proba(x), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ responsiveness
@pytest.mark.slow
def test_event_loop_never_stalls_while_training(qtbot, train_view, fill_form):
    """The issue asks for no stall over 50 ms; the assertion is generous for loaded CI machines."""
    fill_form(train_view.form, {"max_epochs": "1000"})       # the report's setting, full data
    meter = StallMeter(interval_ms=5)
    checks = []
    train_view.controller.check.connect(lambda _i, c: checks.append(c))
    qtbot.mouseClick(train_view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(checks) >= 1, timeout=RUN_TIMEOUT)   # data loaded, training going
    meter.start()
    qtbot.wait(2500)
    meter.stop()
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT):
        train_view.stop()
    print(f"\nwhile training the report's setting: {meter.summary()}, {len(checks)} checks")
    assert len(checks) >= 3
    assert meter.ticks > 100
    assert meter.max_ms < 150, meter.summary()      # measured 13 ms max, p99 9 ms on 2 CPUs


def test_a_dataset_folder_can_be_chosen_and_is_remembered(qtbot, tmp_path):
    form = SettingsForm()
    qtbot.addWidget(form)
    folder = str(tmp_path / "my-digits")
    form.ask_folder = lambda: folder
    folder_index = form.dataset.count() - 1
    form.dataset.setCurrentIndex(folder_index)
    form.dataset.activated.emit(folder_index)           # what a click on "Folder…" sends
    assert form.dataset_source() == folder and form.config().dataset == folder
    assert folder in form.dataset.currentText()
    again = SettingsForm()
    qtbot.addWidget(again)
    again.set_values(form.values())
    assert again.config().dataset == folder
    # cancelling the folder dialog on a fresh form falls back to MNIST
    fresh = SettingsForm()
    qtbot.addWidget(fresh)
    fresh.ask_folder = lambda: ""
    fresh.dataset.setCurrentIndex(folder_index)
    fresh.dataset.activated.emit(folder_index)
    assert fresh.dataset_source() == "mnist"


def test_the_view_follows_the_curves_in_coarse_steps(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    vb = plots.cost_plot.getPlotItem().getViewBox()
    run = plots.begin_run("follow")
    ranges = []
    for step in range(100, 20001, 100):
        plots.add_check(run, _check(step, 2.3 * math.exp(-step / 4000) + 0.1))
        plots.flush()
        ranges.append(tuple(vb.viewRange()[0]))
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x0 == 0 and 20000 <= x1 <= 30000 and y0 == 0 and 2.3 <= y1 <= 3
    assert len(set(ranges)) <= 30                  # a few coarse steps per decade, not 200 times
    assert TrainPlots._nice_ceiling(0.93) == 1 and TrainPlots._nice_ceiling(2301) == 2500
    # once the person zooms, the plot stops moving under them until the next run
    vb.sigRangeChangedManually.emit([True, True])
    vb.setRange(xRange=(500, 900), padding=0)
    plots.add_check(run, _check(30000, 0.1))
    plots.flush()
    assert vb.viewRange()[0] == [500, 900]
    plots.begin_run("next")
    plots.add_check(plots.run_ids()[-1], _check(100, 2.0))
    plots.flush()
    assert vb.viewRange()[0][1] >= 30000


def test_splits_come_from_the_core_and_are_cached(monkeypatch):
    import digitlab.gui.train_worker as tw
    import digitlab.training.splits as splits

    calls = []
    monkeypatch.setattr(splits, "splits_for", lambda config: calls.append(config.train_subset) or object())
    monkeypatch.setattr(splits, "_cache", {})
    a = tw.load_splits(TrainConfig(train_subset=100))
    assert tw.load_splits(TrainConfig(train_subset=100, seed=9)) is a       # the network seed does not matter
    tw.load_splits(TrainConfig(train_subset=200))
    tw.load_splits(TrainConfig(train_subset=300))
    assert splits.cached_split_count() == 2                                 # bounded: ~220 MB per full split
    tw.load_splits(TrainConfig(train_subset=100))
    assert calls == [100, 200, 300, 100]


def test_a_run_that_does_not_learn_says_so(qtbot, train_view, fill_form, quick_settings):
    fill_form(train_view.form, {**quick_settings, "learning_rate": "3"})   # SGD at 3 kills the ReLUs
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        train_view.start()
    result = blocker.args[0][0]
    assert result.stop_reason == "not_learning"
    text = train_view.message_label.text()
    assert "Not learning" in text and "learning rate" in result.message
    assert "Test accuracy" not in text                               # no score for a failed run
    assert "b00020" in train_view.message_label.styleSheet()        # shown as a problem
    assert train_view.plots.message.isVisible()
    assert train_view.headline.text() == "Not learning"


# ------------------------------------------------------------------ issue 8: what a person met
# The Best preset's first check comes after 750 steps: its training cost is the mean of those
# steps (0.8, with the early, poorly fitted batches), the validation cost already 0.3.
BEST_LIKE_CHECKS = [  # (step, train cost, validation cost)
    (750, 0.80, 0.30), (1500, 0.30, 0.24), (2250, 0.24, 0.21), (3000, 0.21, 0.19),
    (3750, 0.19, 0.18), (4500, 0.18, 0.17),
]


def test_the_cost_axis_has_no_unit_prefix_and_the_first_point_is_in_view(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(800, 500)
    plots.show()
    run = plots.begin_run("best")
    for step, train, val in BEST_LIKE_CHECKS:
        plots.add_check(run, Check(step=step, epoch=1, train_cost=train, val_cost=val, val_accuracy=0.95,
                                   elapsed=1.0, learning_rate=0.003))
    plots.flush()
    qtbot.wait(20)
    cost_axis = plots.cost_plot.getPlotItem().getAxis("left")
    assert cost_axis.autoSIPrefixScale == 1.0
    assert cost_axis.labelString().count("cross-entropy") == 1
    assert "x0.001" not in cost_axis.labelString() and "(" not in cost_axis.labelString()
    (x0, x1), (y0, y1) = plots.cost_plot.getPlotItem().getViewBox().viewRange()
    ticks = [v for _spacing, values in cost_axis.tickValues(y0, y1, 400) for v in values]
    assert ticks and max(ticks) <= 1.0                       # 0.2, 0.4 ... not 200, 400 ...
    # every point, the first training cost included, is inside the view
    for step, train, val in BEST_LIKE_CHECKS:
        assert x0 < step < x1 and y0 < train < y1 and y0 < val < y1
    # the step axis counts steps, not thousands of steps
    step_axis = plots.cost_plot.getPlotItem().getAxis("bottom")
    run2 = plots.begin_run("long")
    plots.add_check(run2, _check(45000, 0.2))
    plots.flush()
    assert step_axis.autoSIPrefixScale == 1.0 and "(" not in step_axis.labelString()
    # a wild first batch (a huge learning rate) still does not flatten every curve
    plots.clear()
    run3 = plots.begin_run("wild")
    plots.add_check(run3, Check(step=10, epoch=1, train_cost=40.0, val_cost=0.9, val_accuracy=0.5,
                                elapsed=1.0, learning_rate=5.0))
    plots.flush()
    assert plots.cost_plot.getPlotItem().getViewBox().viewRange()[1][1] <= 3.0


def test_the_experiment_headline_says_which_experiment_once(qtbot, train_view, monkeypatch):
    quick = [(label, config.replace(train_subset=500, batch_size=100, eval_every=5, max_epochs=1))
             for label, config in EXPERIMENTS]
    monkeypatch.setattr(train_view_module, "EXPERIMENTS", quick)
    headlines = []
    # connected after the view's own slot: sees the headline the view has just set
    train_view.controller.run_started.connect(
        lambda i, label, c: headlines.append(train_view.headline.text()))
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT * 2):
        qtbot.mouseClick(train_view.experiments_button, Qt.MouseButton.LeftButton)
    assert EXPERIMENTS[0][0] == "Experiment 1: Without L2, Without Batch Norm"   # the core's label
    assert headlines == [
        "Experiment 1 of 4: Without L2, Without Batch Norm",
        "Experiment 2 of 4: With Batch Norm, No L2",
        "Experiment 3 of 4: With L2, Without Batch Norm",
        "Experiment 4 of 4: With L2 and Batch Norm",
    ]


def test_an_invalid_setting_is_named_in_the_headline_and_start_says_why(qtbot, train_view, fill_form):
    assert train_view.headline.text().startswith("Ready to train")
    fill_form(train_view.form, {"layer_sizes": "784-x-10"})
    reason = "'x' is not a whole number"
    assert train_view.headline.text().startswith("Cannot train yet: ")
    assert reason in train_view.headline.text() and reason in train_view.headline.toolTip()
    # Start (F5) does not do nothing silently: the reason is shown and sent to the status bar
    statuses = []
    train_view.status_message.connect(statuses.append)
    train_view.message_label.setText("")
    assert train_view.start() is False
    assert reason in train_view.message_label.text() and "b00020" in train_view.message_label.styleSheet()
    assert len(statuses) == 1 and statuses[0].startswith("Cannot start: ") and reason in statuses[0]
    assert not train_view.is_training()
    # fixed: ready again
    fill_form(train_view.form, {"layer_sizes": "784-20-10"})
    assert train_view.headline.text().startswith("Ready to train")
    assert train_view.headline.toolTip() == ""
