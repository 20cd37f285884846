"""The report's tables as the Train view shows them, and how a report's runs group."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from digitlab.nn import Network
from digitlab.reports import tables
from digitlab.reports.runs import RunGroups, runs_from_models


def _result(**metrics):
    return SimpleNamespace(metrics=metrics, elapsed=12.345, epochs=7, steps=1234)


def test_run_summary_rows_take_each_number_from_the_run():
    result = _result(train_cost=0.25, val_cost=0.5, test_cost=0.75, train_accuracy=0.9123,
                     val_accuracy=0.9, test_accuracy=0.95)
    [row] = tables.run_summary_rows([("Experiment 1", result)])
    assert list(row) == tables.SUMMARY_COLUMNS
    assert row["Experiment"] == "Experiment 1"
    assert row["Training Cost"] == 0.25 and row["Test Cost"] == 0.75
    assert row["Train Accuracy (%)"] == 0.9123 * 100 and row["Test Accuracy (%)"] == 95.0
    assert row["Training Time (s)"] == 12.345 and row["Epochs"] == 7 and row["Iterations"] == 1234


def test_screen_text_as_the_train_view_shows_it():
    result = _result(train_cost=0.25, val_cost=float("nan"), train_accuracy=0.91234, val_accuracy=0.9)
    row = tables.run_summary_rows([("Experiment 2", result)])[0]
    shown = [tables.screen_text(c, v) for c, v in row.items()]
    # a missing test cost / accuracy and a diverged (NaN) validation cost read "—"
    assert shown == ["Experiment 2", "0.2500", "—", "—", "91.23 %", "90.00 %", "—", "12.3", "7", "1234"]
    assert [tables.SCREEN_HEADERS[c] for c in row] == ["Experiment", "Train cost", "Val cost", "Test cost",
                                                       "Train acc", "Val acc", "Test acc", "Time (s)",
                                                       "Epochs", "Iterations"]


def test_summary_rows_over_seeds_are_stats():
    runs = [SimpleNamespace(index=0, label="Exp", seed=s,
                            result=_result(train_cost=c, val_cost=c, test_cost=c, train_accuracy=0.5,
                                           val_accuracy=0.5, test_accuracy=a))
            for s, c, a in ((3, 0.2, 0.9), (4, 0.4, 0.8))]
    [row] = tables.summary_rows(runs)
    assert row["Training Cost"].mean == pytest.approx(0.3) and row["Training Cost"].n == 2
    assert row["Test Accuracy (%)"].mean == pytest.approx(85.0)
    assert row["Test Accuracy (%)"].std == pytest.approx(np.std([90.0, 80.0], ddof=1))


def test_layer_weights_rows():
    deep = Network([784, 20, 7, 5, 10], seed=1)
    shallow = Network([784, 16, 10], seed=2)
    rows = tables.layer_weights_rows([("1: no L2, no BN", deep), ("2: L2, BN", shallow)])
    assert [r["Layer"] for r in rows] == ["W1  (784 → 20)", "W2  (20 → 7)", "W3  (7 → 5)", "W4  (5 → 10)"]
    assert [r["1: no L2, no BN"] for r in rows] == list(deep.mean_abs_weights())
    assert [r["2: L2, BN"] for r in rows] == list(shallow.mean_abs_weights()) + [None, None]
    assert tables.screen_text("2: L2, BN", rows[0]["2: L2, BN"]) == f"{shallow.mean_abs_weights()[0]:.4f}"
    assert tables.screen_text("2: L2, BN", rows[3]["2: L2, BN"]) == "—"
    assert tables.layer_weights_rows([]) == []
    with pytest.raises(ValueError, match="share a column name"):
        tables.layer_weights_rows([("same", deep), ("same", shallow)])


def test_run_groups_of_the_four_experiments(quick_runs):
    groups = RunGroups.of(quick_runs)
    assert groups.indices == [0, 1, 2, 3] and groups.seeds == [3, 4]
    assert groups.experiments and groups.full_grid
    assert [(r.index, r.seed) for r in groups.first] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert [len(groups.by_index[i]) for i in groups.indices] == [2, 2, 2, 2]
    assert groups.short == {0: "Exp 1", 1: "Exp 2", 2: "Exp 3", 3: "Exp 4"}
    assert groups.label[1] == quick_runs[1].label and groups.n_layers == 4


def test_run_groups_of_chosen_models(quick_runs):
    mine = dataclasses.replace(quick_runs[0].result, config=quick_runs[0].result.config.replace(name="mine"))
    groups = RunGroups.of(runs_from_models([mine, quick_runs[2].result, mine]))
    assert groups.indices == [0, 1, 2] and not groups.experiments and not groups.full_grid
    assert groups.label == {0: "mine", 1: "report-l2", 2: "mine (2)"} and groups.short == groups.label
    assert [r.index for r in groups.first] == [0, 1, 2]

