"""A report's tables, from its runs and their test-set evaluations.

Every table is a list of rows (dicts keyed by column) holding numbers, :class:`~.tables.Stat`
(mean and spread over seeds) or text; the renderers format them and ``tables/*.csv`` and
``*.json`` keep them at full precision. The summary, the report's weights table and its claims
come from :mod:`.tables`; the rest (test scores, per-class scores, confusion matrices,
calibration bins, the sweep, the settings) are made here.
"""

from __future__ import annotations

from . import tables
from .runs import RunGroups
from .tables import Stat

__all__ = ["report_tables"]


def _weights(groups: RunGroups) -> list[dict]:
    """The report's weights table (experiment 1 against 3) where both ran, else every group's
    mean |W| per layer, as deep as the shallowest network."""
    if groups.experiments and {0, 2} <= set(groups.indices):
        rows = tables.weights_rows(groups.runs)
        if rows:
            return rows
    rows = []
    for layer in range(groups.n_layers):
        row = {"Layer": f"Layer {layer + 1}"}
        for i in groups.indices:
            row[groups.label[i]] = Stat.of(r.result.network.mean_abs_weights()[layer]
                                           for r in groups.by_index[i])
        rows.append(row)
    return rows


def _test(groups: RunGroups, evals: dict) -> list[dict]:
    rows = []
    for i in groups.indices:
        ev = [evals[(r.index, r.seed)] for r in groups.by_index[i]]
        rows.append({
            "Model": groups.label[i],
            "Test cost (cross-entropy)": Stat.of(e.cross_entropy for e in ev),
            "Test accuracy (%)": Stat.of(100 * e.accuracy for e in ev),
            "ECE (%)": Stat.of(100 * e.ece for e in ev),
            "Mean confidence (%)": Stat.of(100 * e.calibration.mean_confidence for e in ev),
            "Test images": ev[0].n,
        })
    return rows


def _per_class(groups: RunGroups, evals: dict) -> list[dict]:
    """Recall, then precision, of each digit: one column per group and score."""
    first = groups.first[0]
    rows = []
    for k in range(evals[(first.index, first.seed)].n_classes):
        row = {"Digit": k}
        for score in ("recall", "precision"):
            for i in groups.indices:
                values = (100 * evals[(r.index, r.seed)].scores[score][k] for r in groups.by_index[i])
                row[f"{groups.short[i]} {score} (%)"] = Stat.of(values)
        rows.append(row)
    return rows


def _confusion(groups: RunGroups, evals: dict) -> list[dict]:
    rows = []
    for r in groups.first:
        cm = evals[(r.index, r.seed)].cm
        for t in range(cm.shape[0]):
            rows.append({"Model": r.label, "Seed": r.seed, "True digit": t,
                         **{f"Predicted {p}": int(cm[t, p]) for p in range(cm.shape[1])}})
    return rows


def _calibration(groups: RunGroups, evals: dict) -> list[dict]:
    return [{"Model": r.label, "Seed": r.seed, **row}
            for r in groups.first for row in evals[(r.index, r.seed)].calibration.rows()]


def _sweep_runs(sweep) -> list[dict]:
    return [{"Lambda": p.l2, "Seed": p.seed, "Test accuracy": p.test_accuracy, "Epochs": p.epochs,
             **{f"Layer {layer + 1} mean |W|": w for layer, w in enumerate(p.mean_abs_weights)}}
            for p in sweep]


def _settings(groups: RunGroups) -> list[dict]:
    column = "Experiment" if groups.experiments else "Model"
    return [{column: groups.label[i], "Setting": groups.by_index[i][0].result.config.describe()}
            for i in groups.indices]


def report_tables(groups: RunGroups, evals: dict, sweep=None) -> tuple[dict, list]:
    """Every table of the report, key -> rows (the key names the file under ``tables/``), and the
    report's claims (empty unless all four experiments ran). ``evals`` maps (index, seed) to the
    run's :class:`~.analysis.Evaluation` on the test set."""
    from .sweep import sweep_rows

    claims = tables.check_claims(groups.runs) if groups.full_grid else []
    data = {"summary": tables.summary_rows(groups.runs), "weights": _weights(groups),
            "test": _test(groups, evals), "per_class": _per_class(groups, evals),
            "confusion": _confusion(groups, evals), "calibration_bins": _calibration(groups, evals)}
    if claims:
        data["claims"] = [{"Claim": c.statement, "Verdict": c.verdict, "Seeds agreeing": c.agree,
                           "Seeds": c.total, "Detail": c.detail} for c in claims]
    if sweep:
        data["sweep"] = sweep_rows(sweep)
        data["sweep_runs"] = _sweep_runs(sweep)
    data["settings"] = _settings(groups)
    return data, claims
