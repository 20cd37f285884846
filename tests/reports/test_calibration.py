"""Calibration numbers checked against hand computations."""

import numpy as np
import pytest

from digitlab.reports.calibration import expected_calibration_error, reliability


def two_class(conf_of_class0):
    p = np.asarray(conf_of_class0, dtype=float)
    return np.column_stack([p, 1 - p])


def test_ece_by_hand():
    # five bins of width 0.2; predicted class 0 for all four (p0 > 0.5)
    proba = two_class([0.9, 0.9, 0.7, 0.55])
    y = np.array([0, 1, 0, 0])            # the second is a confident mistake
    r = reliability(proba, y, n_bins=5)
    # (0.8, 1.0]: conf 0.9, acc 1/2 -> 2/4 * 0.4 = 0.2
    # (0.6, 0.8]: conf 0.7, acc 1   -> 1/4 * 0.3 = 0.075
    # (0.4, 0.6]: conf 0.55, acc 1  -> 1/4 * 0.45 = 0.1125
    assert r.ece == pytest.approx(0.2 + 0.075 + 0.1125)
    assert r.counts.tolist() == [0, 0, 1, 1, 2]
    assert r.accuracy[4] == 0.5 and r.confidence[4] == pytest.approx(0.9)
    assert np.isnan(r.accuracy[0]) and np.isnan(r.confidence[1])
    assert r.mce == pytest.approx(0.45)
    assert r.accuracy_overall == 0.75
    assert r.mean_confidence == pytest.approx((0.9 + 0.9 + 0.7 + 0.55) / 4)
    assert expected_calibration_error(proba, y, n_bins=5) == pytest.approx(0.3875)


def test_bin_edges_are_right_closed():
    # 0.6 belongs to (0.4, 0.6], 1.0 to the last bin
    r = reliability(two_class([0.6, 1.0]), np.array([0, 0]), n_bins=5)
    assert r.counts.tolist() == [0, 0, 1, 0, 1]
    assert r.ece == pytest.approx(0.5 * 0.4 + 0.5 * 0.0)


def test_perfectly_calibrated_is_zero_and_rows():
    # ten predictions at 0.8 of which eight are right
    proba = two_class([0.8] * 10)
    y = np.array([0] * 8 + [1] * 2)
    r = reliability(proba, y, n_bins=10)
    assert r.ece == pytest.approx(0.0, abs=1e-12)
    rows = r.rows()
    assert len(rows) == 10 and sum(row["Count"] for row in rows) == 10
    assert rows[7]["Bin"] == "0.70-0.80" and rows[7]["Accuracy"] == pytest.approx(0.8)
    assert rows[0]["Accuracy"] is None


def test_ece_is_confidence_minus_accuracy_with_one_bin():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(10), size=500)
    y = rng.integers(0, 10, 500)
    r = reliability(proba, y, n_bins=1)
    assert r.ece == pytest.approx(abs(proba.max(axis=1).mean() - np.mean(proba.argmax(axis=1) == y)))


def test_bad_input():
    with pytest.raises(ValueError, match="n_bins"):
        reliability(two_class([0.9]), [0], n_bins=0)
    with pytest.raises(ValueError, match="labels"):
        reliability(two_class([0.9, 0.8]), [0])
