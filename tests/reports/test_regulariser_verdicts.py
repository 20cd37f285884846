"""The regularisers experiment's verdicts: judged per seed from the runs' own accuracies, and the
best of the four found from the numbers, whichever it is."""

from types import SimpleNamespace

import pytest

from digitlab.reports import tables
from digitlab.training import REGULARISERS

LABELS = [label for label, _ in REGULARISERS]


def _runs(test_acc: dict[int, list[float]], train_acc: float = 0.95):
    """Runs of the four settings, ``test_acc[seed]`` their test accuracies in the set's order."""
    def result(acc):
        return SimpleNamespace(metrics={"test_accuracy": acc, "train_accuracy": train_acc})
    return [SimpleNamespace(index=i, label=LABELS[i], seed=seed, result=result(acc))
            for seed, accs in test_acc.items() for i, acc in enumerate(accs)]


def test_the_set_is_none_l2_dropout_batch_norm_on_the_reports_protocol():
    from digitlab.training import REPORT
    assert LABELS == ["No regulariser", "L2 (lambda 5)", "Dropout (0.1,0,0)", "Batch norm"]
    configs = [c for _, c in REGULARISERS]
    plain = [c.replace(name="", l2=0, dropout=(), batch_norm=False) for c in configs]
    assert plain == [REPORT.replace(name="")] * 4
    assert [(c.l2, c.dropout, c.batch_norm) for c in configs] == [
        (0, (), False), (5.0, (), False), (0, (0.1, 0.0, 0.0), False), (0, (), True)]


def test_each_regulariser_against_none_and_the_best_from_the_numbers():
    claims = tables.check_regularisers(_runs({3: [0.90, 0.89, 0.91, 0.93], 4: [0.90, 0.91, 0.89, 0.92],
                                              5: [0.90, 0.88, 0.92, 0.91]}))
    by_key = {c.key: c for c in claims}
    assert [c.statement for c in claims] == ["L2 (lambda 5) beats no regulariser",
                                             "Dropout (0.1,0,0) beats no regulariser",
                                             "Batch norm beats no regulariser",
                                             "Batch norm is the best of the four"]
    assert by_key["regulariser_1_beats_none"].verdict == "holds for 1 of 3 seeds"
    assert by_key["regulariser_2_beats_none"].verdict == "holds for 2 of 3 seeds"
    assert by_key["regulariser_3_beats_none"].verdict == "holds for all 3 seeds"
    best = by_key["best_regulariser"]
    assert (best.agree, best.total) == (2, 3)        # seed 5's best was dropout
    assert "Batch norm 92.00 ± 1.00" in best.detail and "No regulariser 90.00 ± 0.00" in best.detail
    # train 95 %: dropout's gaps 4, 6, 3 points
    detail = by_key["regulariser_2_beats_none"].detail
    assert "train minus test: 4.33 ± 1.53 against 5.00 ± 0.00 points" in detail


def test_the_best_is_whichever_the_runs_say():
    [*_, best] = tables.check_regularisers(_runs({3: [0.95, 0.90, 0.91, 0.92]}))
    assert best.statement == "No regulariser is the best of the four" and best.verdict == "holds"


def test_without_all_four_there_is_no_verdict():
    runs = [r for r in _runs({3: [0.9, 0.9, 0.9, 0.9]}) if r.index != 2]
    assert tables.check_regularisers(runs) == []


@pytest.mark.parametrize("accs", [[0.9, 0.9, 0.9, 0.9]])
def test_a_tie_with_none_does_not_count_as_beating_it(accs):
    claims = tables.check_regularisers(_runs({3: accs}))
    assert [c.verdict for c in claims[:3]] == ["does not hold"] * 3
