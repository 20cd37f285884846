"""The lambda sweep: two tiny lambdas in two processes, the same numbers as in one process."""


import numpy as np
import pytest

from digitlab.reports.sweep import parse_lambdas, run_sweep, sweep_rows, sweep_table
from digitlab.training import RunControl, TrainConfig, splits_for

TINY = TrainConfig(train_subset=1000, n_validation=1000, max_epochs=2, batch_size=64, learning_rate=0.05,
                   eval_every=1000, patience=100000, name="tiny")


def test_parse_lambdas():
    assert parse_lambdas("0,1,3, 5,10") == [0.0, 1.0, 3.0, 5.0, 10.0]
    assert parse_lambdas("5,0,5") == [0.0, 5.0]
    for bad in ("", "a", "-1", "nan"):
        with pytest.raises(ValueError):
            parse_lambdas(bad)


@pytest.mark.slow
def test_two_lambdas_in_two_processes_match_one_process():
    seen = []
    points = run_sweep(TINY, [0.0, 50.0], workers=2,
                       on_done=lambda p, done, total: seen.append((p.l2, done, total)))
    assert [p.l2 for p in points] == [0.0, 50.0]
    assert sorted(seen) == [(0.0, 1, 2), (50.0, 2, 2)] or sorted(seen) == [(0.0, 2, 2), (50.0, 1, 2)]
    for p in points:
        assert 0 <= p.test_accuracy <= 1 and p.epochs == 2 and len(p.mean_abs_weights) == 4
    # a strong L2 shrinks every layer
    assert all(b < a for a, b in zip(points[0].mean_abs_weights, points[1].mean_abs_weights))
    # runs are reproducible: the same numbers when trained here, in this process
    local = run_sweep(TINY, [0.0, 50.0], workers=1, splits=splits_for(TINY))
    for p, q in zip(points, local):
        assert p.test_accuracy == q.test_accuracy
        np.testing.assert_allclose(p.mean_abs_weights, q.mean_abs_weights, rtol=1e-6)


def test_rows_and_table_average_over_seeds():
    points = run_sweep(TINY.replace(max_epochs=1), [0.0, 3.0], seeds=(1, 2), workers=1)
    assert [(p.l2, p.seed) for p in points] == [(0.0, 1), (0.0, 2), (3.0, 1), (3.0, 2)]
    rows = sweep_rows(points)
    assert [r["Lambda"] for r in rows] == ["0", "3"]
    acc0 = [100 * p.test_accuracy for p in points[:2]]
    assert rows[0]["Test Accuracy (%)"].mean == pytest.approx(np.mean(acc0))
    assert rows[0]["Test Accuracy (%)"].std == pytest.approx(np.std(acc0, ddof=1))
    layer_2 = [p.mean_abs_weights[1] for p in points[2:]]
    assert rows[1]["Layer 2 mean |W|"].mean == pytest.approx(np.mean(layer_2))
    table = sweep_table(points)
    assert table["lambdas"].tolist() == [0.0, 3.0] and table["weights"].shape == (2, 4)


def test_cancelled_sweep_returns_what_finished():
    control = RunControl()
    done = []

    def on_done(p, n, total):
        done.append(p)
        control.cancel()

    points = run_sweep(TINY.replace(max_epochs=1), [0.0, 1.0, 2.0], workers=1, control=control,
                       on_done=on_done)
    assert len(points) == 1 and points[0].l2 == 0.0
