"""Stepping, slowing, changing a run while it runs, and continuing a saved run bit for bit."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from digitlab.io import load_model, save_model
from digitlab.training import Change, RunControl, TrainConfig, train
from digitlab.training.continuing import continue_config, continue_problems, epochs_done

QUICK = dict(batch_size=64, eval_every=5, patience=10**6)
RATES = {"sgd": 0.05, "momentum": 0.02, "adam": 0.002}
COLUMNS = [0, 1, 2, 3, 4, 6]          # every history column but the seconds


def _same_run(a, b) -> None:
    assert a.steps == b.steps and a.epochs == b.epochs and a.best_step == b.best_step
    assert a.stop_reason == b.stop_reason
    assert a.network.params.tobytes() == b.network.params.tobytes()
    for (name, x), (_n, y) in zip(a.network.buffers(), b.network.buffers()):
        assert x.tobytes() == y.tobytes(), name
    np.testing.assert_array_equal(a.history.as_array()[:, COLUMNS], b.history.as_array()[:, COLUMNS])
    assert a.history.changes == b.history.changes
    assert a.metrics == b.metrics


@pytest.fixture
def _run_in_thread():
    """Start a run on a thread; whatever the test does, it is cancelled and joined at the end."""
    started = []

    def start(config, splits, control, **kwargs):
        out = {}
        thread = threading.Thread(target=lambda: out.setdefault(
            "result", train(config, splits, control=control, **kwargs)), daemon=True)
        thread.start()
        started.append((thread, control))
        return thread, out

    yield start
    for thread, control in started:
        control.cancel()
        thread.join(30)


# ------------------------------------------------------------------ continuing
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_train_save_continue_equals_an_uninterrupted_run_bit_for_bit(small_splits, tmp_path, optimizer,
                                                                    batch_norm):
    config = TrainConfig(optimizer=optimizer, learning_rate=RATES[optimizer], batch_norm=batch_norm,
                         max_epochs=5, **QUICK)
    uninterrupted = train(config, small_splits)
    first = train(config.replace(max_epochs=2), small_splits)
    path = save_model(tmp_path / "first.h5", first)
    saved = load_model(path)
    more = continue_config(saved.config, saved.training_state, more_epochs=3)
    assert more == config
    continued = train(more, small_splits, resume=saved.training_state, history=saved.history)
    _same_run(continued, uninterrupted)


def test_continuing_an_augmented_run_one_with_dropout_and_one_with_the_step_schedule(small_splits, tmp_path):
    for changes in (dict(augment=True, augment_fraction=0.5), dict(dropout=(0.2, 0.1, 0.0)),
                    dict(schedule="step", learning_rate=0.1)):
        config = TrainConfig(max_epochs=4, **QUICK).replace(**changes)
        uninterrupted = train(config, small_splits)
        saved = load_model(save_model(tmp_path / "a.h5", train(config.replace(max_epochs=1), small_splits)))
        continued = train(config, small_splits, resume=saved.training_state, history=saved.history)
        _same_run(continued, uninterrupted)


@pytest.mark.parametrize("dropout", [(), (0.2,)], ids=["no-dropout", "dropout"])
def test_a_run_stopped_inside_an_epoch_continues_from_the_same_batch(small_splits, tmp_path, _run_in_thread,
                                                                     dropout):
    config = TrainConfig(optimizer="adam", learning_rate=0.002, max_epochs=3, dropout=dropout, **QUICK)
    uninterrupted = train(config, small_splits)
    control = RunControl(steps=40)            # 40 steps: the 9th batch of the second epoch (32 a epoch)
    thread, out = _run_in_thread(config, small_splits, control)
    while not control.paused:
        time.sleep(0.005)
    control.cancel()
    thread.join()
    stopped = out["result"]
    assert stopped.stop_reason == "cancelled" and stopped.steps == 40
    state = stopped.training_state
    assert (state.step, state.epoch, state.batch) == (40, 1, 8)
    assert epochs_done(state) == 2
    saved = load_model(save_model(tmp_path / "stopped.h5", stopped))
    continued = train(continue_config(saved.config, saved.training_state), small_splits,
                      resume=saved.training_state, history=saved.history)
    _same_run(continued, uninterrupted)


def test_early_stopping_state_carries_over(small_splits, tmp_path):
    """Patience counted across the save: the continued run stops where the uninterrupted one does."""
    config = TrainConfig(learning_rate=0.5, max_epochs=30, batch_size=64, eval_every=5, patience=60)
    uninterrupted = train(config, small_splits)
    assert uninterrupted.stop_reason == "early_stopping"
    stop_epoch = uninterrupted.epochs
    assert stop_epoch > 2
    saved = load_model(save_model(tmp_path / "a.h5", train(config.replace(max_epochs=stop_epoch - 1),
                                                          small_splits)))
    assert saved.training_state.since_best > 0 or saved.training_state.best_step == saved.steps
    continued = train(config, small_splits, resume=saved.training_state, history=saved.history)
    _same_run(continued, uninterrupted)


def test_what_cannot_be_continued_says_what_to_do(small_splits):
    assert "fine-tune it instead" in continue_problems(None, {}, "max_epochs")[0]
    assert "diverged" in continue_problems(None, {}, "diverged")[0]
    first = train(TrainConfig(max_epochs=1, **QUICK), small_splits)
    assert "extra digits" in continue_problems(first.training_state, {"extra_data": "mine.npz"}, "")[0]
    with pytest.raises(ValueError, match="already trained 1 epoch"):
        continue_config(first.config, first.training_state)
    with pytest.raises(ValueError, match="already trained 1 epoch"):
        continue_config(first.config, first.training_state, max_epochs=1)
    assert continue_config(first.config, first.training_state, max_epochs=4).max_epochs == 4
    with pytest.raises(ValueError, match="optimiser"):
        train(first.config.replace(optimizer="adam", max_epochs=2), small_splits, resume=first.training_state)
    with pytest.raises(ValueError, match="not both"):
        train(first.config.replace(max_epochs=2), small_splits, resume=first.training_state,
              initial=first.network)


def test_a_diverged_run_keeps_no_training_state(small_splits):
    result = train(TrainConfig(learning_rate=10.0, max_epochs=3, **QUICK), small_splits)
    assert result.stop_reason == "diverged"
    assert result.training_state is None or result.training_state.arrays_finite()


# ------------------------------------------------------------------ changing a running run
@pytest.mark.parametrize("setting, start, new", [("learning_rate", 0.05, 0.01), ("l2", 0.0, 5.0)])
def test_a_change_before_the_first_step_is_the_run_with_that_setting(small_splits, setting, start, new):
    """Applied from the next step: changed at step 0, the run is the one set up with the new value."""
    config = TrainConfig(max_epochs=2, **QUICK).replace(**{setting: start})
    control = RunControl()
    control.change(setting, new)
    changed = train(config, small_splits, control=control)
    direct = train(config.replace(**{setting: new}), small_splits)
    assert changed.history.changes == [Change(0, setting, start, new)]
    assert changed.network.params.tobytes() == direct.network.params.tobytes()
    assert changed.config == config            # the settings it started with; the change is history


def test_a_change_mid_run_applies_from_the_next_step(small_splits, _run_in_thread):
    config = TrainConfig(max_epochs=2, learning_rate=0.05, **QUICK)
    control = RunControl(steps=12)
    seen = []
    def on_step(info):
        seen.append((info.step, info.learning_rate, info.changes))

    thread, out = _run_in_thread(config, small_splits, control, on_step=on_step)
    while not control.paused:
        time.sleep(0.005)
    control.change("learning_rate", 0.01)
    control.resume()
    thread.join()
    result = out["result"]
    assert [s[1] for s in seen[:12]] == [0.05] * 12
    assert seen[12][1] == 0.01 and seen[12][2] == (Change(12, "learning_rate", 0.05, 0.01),)
    assert all(rate == 0.01 for _step, rate, _c in seen[12:])
    assert result.history.changes == [Change(12, "learning_rate", 0.05, 0.01)]
    assert [c.learning_rate for c in result.history.checks[:2]] == [0.05, 0.05]
    assert all(c.learning_rate == 0.01 for c in result.history.checks[3:])
    assert result.training_state.learning_rate == 0.01


def test_run_control_refuses_what_a_run_cannot_use():
    control = RunControl()
    with pytest.raises(ValueError, match="learning rate must be > 0"):
        control.change("learning_rate", 0)
    with pytest.raises(ValueError, match="L2 lambda must be"):
        control.change("l2", -1)
    with pytest.raises(ValueError, match="only learning rate and L2 lambda"):
        control.change("batch_size", 10)
    with pytest.raises(ValueError, match="whole number >= 1"):
        control.step(0)
    with pytest.raises(ValueError, match="speed must be between"):
        control.set_speed(0)
    assert control.take_changes() == {}


# ------------------------------------------------------------------ stepping and speed
def test_steps_are_taken_exactly_then_the_run_pauses(small_splits, _run_in_thread):
    config = TrainConfig(max_epochs=3, **QUICK)
    control = RunControl(steps=0)                   # paused at step 0
    seen = []
    thread, out = _run_in_thread(config, small_splits, control, on_step=lambda info: seen.append(info.step))
    time.sleep(0.2)
    assert seen == [] and control.paused
    for n, total in ((1, 1), (1, 2), (7, 9)):
        control.step(n)
        deadline = time.time() + 10
        while not (control.paused and len(seen) == total) and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)
        assert seen == list(range(1, total + 1))
    control.resume()
    thread.join()
    assert out["result"].steps == len(seen) == 96


def test_the_speed_limit_paces_the_steps(small_splits, _run_in_thread):
    config = TrainConfig(max_epochs=1, **QUICK)
    control = RunControl()
    control.set_speed(40.0)
    times = []
    begin = time.perf_counter()
    thread, out = _run_in_thread(config, small_splits, control,
                                 on_step=lambda info: times.append(time.perf_counter()))
    while len(times) < 20:
        time.sleep(0.01)
    control.set_speed(None)
    thread.join()
    assert times[19] - begin >= 19 / 40 * 0.95        # 20 steps at 40 a second: about half a second
    assert out["result"].steps == 32
    # waits are not training time
    assert out["result"].elapsed < times[19] - begin
