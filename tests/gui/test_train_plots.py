"""The live training curves on their own: what is drawn is exactly what the checks said, the
early-stopping point is marked where the run kept its weights, earlier runs stay as faded curves
(the oldest dropped), and clearing leaves an empty plot ready for the next run."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor

from digitlab.gui.train_plots import FADED_ALPHA, FADED_COLOR, MAX_FADED_RUNS, PALETTE, TrainPlots
from digitlab.training import Check

# Eight checks of a run whose validation cost falls to its lowest at step 500, then rises again
# (over-fitting): what early stopping keeps is step 500. Values with many digits, so a rounding or
# a shifted index shows.
STEPS = [100, 200, 300, 400, 500, 600, 700, 800]
TRAIN = [2.301234, 1.402345, 0.903456, 0.654567, 0.505678, 0.416789, 0.357891, 0.308912]
VAL = [2.254321, 1.365432, 0.876543, 0.687654, 0.598765, 0.609876, 0.620987, 0.632198]
ACC = [0.1123, 0.5234, 0.7345, 0.8156, 0.8467, 0.8478, 0.8389, 0.8291]


def _checks(steps=STEPS, train=TRAIN, val=VAL, acc=ACC) -> list[Check]:
    return [Check(step=s, epoch=1 + s // 400, train_cost=t, val_cost=v, val_accuracy=a,
                  elapsed=s / 1000, learning_rate=0.009)
            for s, t, v, a in zip(steps, train, val, acc)]


@pytest.fixture
def plots(qtbot):
    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(800, 600)
    plots.show()
    return plots


def _run(plots: TrainPlots, label: str, checks: list[Check], best_step: int | None = None) -> int:
    run = plots.begin_run(label)
    for c in checks:
        plots.add_check(run, c)
    plots.flush()
    if best_step is not None:
        plots.end_run(run, best_step)
    return run


def _pen_rgba(item) -> tuple[int, int, int, int]:
    return QColor(item.opts["pen"].color()).getRgb()


def _legend_labels(plots: TrainPlots) -> list[str]:
    return [label.text for _sample, label in plots.cost_legend.items]


def test_the_curves_are_exactly_the_checks_values(plots):
    run = _run(plots, "Run 1", _checks())
    x, y = plots.series(run, "train_cost")
    np.testing.assert_array_equal(x, STEPS)
    np.testing.assert_array_equal(y, TRAIN)
    x, y = plots.series(run, "val_cost")
    np.testing.assert_array_equal(x, STEPS)
    np.testing.assert_array_equal(y, VAL)
    x, y = plots.series(run, "val_acc")
    np.testing.assert_array_equal(x, STEPS)
    np.testing.assert_array_equal(y, np.asarray(ACC) * 100.0)      # accuracy in percent
    # the run's colour, and its name in the legend (one entry: the validation curve)
    assert _pen_rgba(plots._runs[run].val_cost.item) == QColor(PALETTE[0]).getRgb()
    assert _legend_labels(plots) == ["Run 1"]


def test_checks_arriving_in_pieces_make_one_curve_in_order(plots):
    run = plots.begin_run("pieces")
    checks = _checks()
    for piece in (checks[:3], checks[3:4], checks[4:]):
        for c in piece:
            plots.add_check(run, c)
        plots.flush()
    np.testing.assert_array_equal(plots.series(run, "val_cost")[1], VAL)
    np.testing.assert_array_equal(plots.series(run, "train_cost")[0], STEPS)


def test_a_non_finite_value_leaves_a_gap_in_its_own_curve_only(plots):
    val = list(VAL)
    val[2] = float("nan")
    train = list(TRAIN)
    train[5] = float("inf")
    run = _run(plots, "gaps", _checks(train=train, val=val))
    x, y = plots.series(run, "val_cost")
    np.testing.assert_array_equal(x, [s for i, s in enumerate(STEPS) if i != 2])
    np.testing.assert_array_equal(y, [v for i, v in enumerate(VAL) if i != 2])
    x, y = plots.series(run, "train_cost")
    np.testing.assert_array_equal(x, [s for i, s in enumerate(STEPS) if i != 5])
    assert len(plots.series(run, "val_acc")[0]) == len(STEPS)


def test_the_best_point_follows_the_lowest_validation_cost_while_the_run_is_live(plots):
    run = plots.begin_run("live")
    checks = _checks()
    for c in checks[:3]:
        plots.add_check(run, c)
    plots.flush()
    assert plots.best_step(run) == 300
    assert list(plots._runs[run].best_marker.getData()[0]) == [300]
    for c in checks[3:]:
        plots.add_check(run, c)
    plots.flush()
    assert plots.best_step(run) == 500                   # the rise after 500 does not move it
    bx, by = plots._runs[run].best_marker.getData()
    assert list(bx) == [500] and list(by) == pytest.approx([VAL[4]])


def test_the_early_stopping_mark_is_at_the_step_the_run_kept(plots):
    """The trainer's best step is what counts: with a tolerance it may not be the lowest point."""
    run = _run(plots, "kept", _checks(), best_step=400)
    r = plots._runs[run]
    assert plots.best_step(run) == 400
    bx, by = r.best_marker.getData()
    assert list(bx) == [400] and list(by) == pytest.approx([VAL[3]])
    ax, ay = r.best_acc_marker.getData()                 # the same point on the accuracy plot
    assert list(ax) == [400] and list(ay) == pytest.approx([ACC[3] * 100])
    assert r.best_line.value() == 400 and r.best_line.isVisible()
    # checks after the end (none should come, but a queued one may) move nothing
    plots.add_check(run, _checks(steps=[900], train=[0.1], val=[0.01], acc=[0.99])[0])
    plots.flush()
    assert plots.best_step(run) == 400


def test_no_mark_before_the_first_finite_check(plots):
    run = _run(plots, "diverged", _checks(steps=[100, 200], train=[float("nan")] * 2,
                                          val=[float("nan")] * 2, acc=[0.1, 0.1]))
    assert plots.best_step(run) is None
    assert len(plots._runs[run].best_marker.getData()[0]) == 0
    assert not plots._runs[run].best_line.isVisible()


def test_earlier_runs_are_faded_and_kept_to_compare(plots):
    first = _run(plots, "Run 1", _checks(), best_step=500)
    plots.fade_previous()
    second = _run(plots, "Run 2", _checks(val=[v * 0.9 for v in VAL]))
    assert plots.is_faded(first) and not plots.is_faded(second)
    faded = QColor(FADED_COLOR)
    faded.setAlpha(FADED_ALPHA)
    r1, r2 = plots._runs[first], plots._runs[second]
    for series in (r1.train_cost, r1.val_cost, r1.val_acc):
        assert _pen_rgba(series.item) == faded.getRgb()
    assert _pen_rgba(r2.val_cost.item) == QColor(PALETTE[1]).getRgb()   # the live run keeps a colour
    assert not r1.best_line.isVisible() and r2.best_line.isVisible()
    assert list(r1.best_marker.getData()[0]) == [500]                # its mark stays, greyed
    np.testing.assert_array_equal(plots.series(first, "val_cost")[1], VAL)   # the data is untouched
    assert _legend_labels(plots) == ["Run 2"]                       # only the live run is named


def test_only_the_latest_faded_runs_are_kept(plots):
    ids = []
    for n in range(MAX_FADED_RUNS + 3):
        plots.fade_previous()
        ids.append(_run(plots, f"Run {n + 1}", _checks(), best_step=500))
    plots.fade_previous()
    assert plots.run_ids() == ids[-MAX_FADED_RUNS:]
    assert all(plots.is_faded(r) for r in plots.run_ids())
    drawn = plots.cost_plot.getPlotItem().listDataItems()
    # training, validation and every step's mini-batch cost curves, best mark per run
    assert len(drawn) == 4 * MAX_FADED_RUNS


def test_clearing_leaves_an_empty_plot_for_the_next_run(plots):
    first = _run(plots, "Run 1", _checks(), best_step=500)
    plots.fade_previous()
    _run(plots, "Run 2", _checks())
    plots.show_message("The run diverged")
    plots.clear()
    assert plots.run_ids() == []
    assert plots.cost_plot.getPlotItem().listDataItems() == []
    assert plots.acc_plot.getPlotItem().listDataItems() == []
    cost_items = plots.cost_plot.getPlotItem().items
    assert not any(isinstance(i, (pg.ScatterPlotItem, pg.InfiniteLine)) for i in cost_items)
    assert not plots.message.isVisible() and not plots.cost_legend.isVisible()
    plots.add_check(first, _checks()[0])            # a late check of a cleared run is dropped
    plots.flush()
    assert plots.run_ids() == []
    third = _run(plots, "Run 3", _checks()[:2])
    np.testing.assert_array_equal(plots.series(third, "val_cost")[1], VAL[:2])
    assert _legend_labels(plots) == ["Run 3"] and plots.cost_legend.isVisible()
