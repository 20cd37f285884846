"""The early-stopping rule on scripted validation costs, and the stop reasons the files store."""

import json
import math

import numpy as np
import pytest

from digitlab.nn import Network
from digitlab.training import STOP_REASONS, TrainConfig, train
from digitlab.training.early_stopping import EarlyStopping
from digitlab.training.stop_reasons import StopReason


def run_rule(rule: EarlyStopping, costs, eval_every: int):
    """Feed ``costs`` as checks every ``eval_every`` steps; the step it stops at (None if it does not)
    and the steps whose weights were copied (the snapshot is the step, to see which one is kept)."""
    copied = []
    for i, cost in enumerate(costs, start=1):
        step = i * eval_every
        if rule.update(step, cost, lambda step=step: copied.append(step) or {"step": step}):
            return step, copied
    return None, copied


def test_patience_is_counted_in_steps_from_the_best_check():
    rule = EarlyStopping(patience=30, tol=0.0, eval_every=10)
    # Best at step 20 (1.5); 1.6 and 1.55 are worse: 10, 20 steps; 1.7 makes 30 -> stop at 50.
    stop, copied = run_rule(rule, [2.0, 1.5, 1.6, 1.55, 1.7, 0.1], eval_every=10)
    assert stop == 50
    assert rule.best_step == 20 and rule.best_cost == 1.5 and rule.best_state == {"step": 20}
    assert rule.since_best == 30
    assert copied == [10, 20]              # the weights are copied only when a check improves


def test_an_improvement_sets_the_count_back_to_zero():
    rule = EarlyStopping(patience=30, tol=0.0, eval_every=10)
    stop, copied = run_rule(rule, [2.0, 2.1, 2.2, 1.9, 2.0, 2.0], eval_every=10)
    assert stop is None                    # 20 steps, then a new best, then 20 again: never 30
    assert rule.best_step == 40 and rule.since_best == 20 and copied == [10, 40]


def test_a_cost_within_the_tolerance_is_not_an_improvement():
    rule = EarlyStopping(patience=20, tol=0.05, eval_every=10)
    # 1.96 is lower than 2.0 but by less than 0.05; 1.94 is lower by more (against 2.0, the best).
    stop, copied = run_rule(rule, [2.0, 1.96, 1.94, 1.93, 1.92], eval_every=10)
    assert copied == [10, 30]
    assert stop == 50 and rule.best_step == 30 and rule.best_cost == 1.94


def test_the_reports_protocol_stops_at_the_first_check_without_improvement():
    rule = EarlyStopping(patience=100, tol=0.0, eval_every=100)
    stop, _ = run_rule(rule, [2.3, 1.2, 0.9, 0.9], eval_every=100)
    assert stop == 400 and rule.best_step == 300    # an equal cost is not lower: no improvement


def test_a_patience_between_checks_waits_for_the_next_check():
    rule = EarlyStopping(patience=35, tol=10.0, eval_every=10)   # nothing improves after the first
    stop, _ = run_rule(rule, [2.0, 1.0, 0.5, 0.2, 0.1], eval_every=10)
    assert stop == 50 and rule.since_best == 40 and rule.best_step == 10


def test_nan_never_improves_and_infinity_is_no_best():
    rule = EarlyStopping(patience=10, tol=0.0, eval_every=10)
    assert not rule.improves(math.nan) and not rule.improves(math.inf)
    assert rule.improves(1e300) and not rule.has_best
    assert rule.update(10, math.nan, dict) and rule.best_step == 0 and not rule.has_best


def small_network(seed):
    return Network((6, 4, 3), seed=seed)


def assert_same_state(network, state):
    assert network.state().keys() == state.keys()
    for name, value in network.state().items():
        np.testing.assert_array_equal(value, state[name])


def test_restore_best_puts_the_best_weights_back():
    network = small_network(seed=1)
    rule = EarlyStopping(patience=10, tol=0.0, eval_every=5)
    rule.update(5, 1.0, network.state)
    best = network.state()
    network.load_state(small_network(seed=2).state())          # training moved on
    assert not np.array_equal(network.state()["W1"], best["W1"])
    rule.restore_best(network)
    assert_same_state(network, best)


def test_keep_better_keeps_the_last_weights_only_when_they_improve():
    network = small_network(seed=1)
    rule = EarlyStopping(patience=10, tol=0.1, eval_every=5)
    rule.update(5, 1.0, network.state)
    best = network.state()
    later = small_network(seed=2).state()
    network.load_state(later)
    rule.keep_better(network, 0.95, step=40)          # lower, but within the tolerance: back to the best
    assert rule.best_step == 5 and rule.best_cost == 1.0
    assert_same_state(network, best)
    network.load_state(later)
    rule.keep_better(network, 0.8, step=40)           # better by more than the tolerance: kept
    assert rule.best_step == 40 and rule.best_cost == 0.8
    assert_same_state(network, later)


def test_restoring_before_any_improvement_says_what_to_do():
    with pytest.raises(RuntimeError, match="no check has improved yet.*has_best"):
        EarlyStopping(patience=10, tol=0.0, eval_every=5).restore_best(small_network(seed=1))


def test_stop_reasons_are_the_strings_the_model_files_store():
    assert STOP_REASONS == ("early_stopping", "max_epochs", "cancelled", "diverged", "not_learning")
    assert tuple(StopReason) == STOP_REASONS
    for reason in StopReason:
        assert str(reason) == reason.value and f"{reason}" == reason.value
        assert json.dumps(reason) == json.dumps(reason.value)
        assert {reason.value: 1}[reason] == 1              # looked up as its string (the GUI's tables)
    assert StopReason("diverged") is StopReason.DIVERGED


def test_a_run_ends_with_a_stop_reason_member(small_splits):
    config = TrainConfig(max_epochs=50, eval_every=10, patience=20, tol=10.0, batch_size=64,
                         optimizer="adam", learning_rate=0.01)
    result = train(config, small_splits)
    assert result.stop_reason is StopReason.EARLY_STOPPING and result.stop_reason == "early_stopping"
    assert result.steps == 30 and result.best_step == 10
