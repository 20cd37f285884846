"""The report's tables from experiment runs: summary, weights per layer, and its three claims.

Pure Python and NumPy: the CLI prints these, the GUI shows them, the report writers embed them.
Every table is a list of rows (dicts keyed by column name) holding numbers; formatting happens
only in the ``to_*`` functions and :func:`screen_text`, so CSV and JSON keep full precision.

The Train view shows the summary and the weights while the four experiments run, one run each so
far (:func:`run_summary_rows`, :func:`layer_weights_rows`), in its own shorter headers and
decimals (:data:`SCREEN_HEADERS`, :func:`screen_text`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass

import numpy as np

SUMMARY_COLUMNS = [
    "Experiment", "Training Cost", "Validation Cost", "Test Cost", "Train Accuracy (%)",
    "Validation Accuracy (%)", "Test Accuracy (%)", "Training Time (s)", "Epochs", "Iterations",
]
_SUMMARY_SOURCES = {
    "Training Cost": ("metric", "train_cost", 1), "Validation Cost": ("metric", "val_cost", 1),
    "Test Cost": ("metric", "test_cost", 1), "Train Accuracy (%)": ("metric", "train_accuracy", 100),
    "Validation Accuracy (%)": ("metric", "val_accuracy", 100),
    "Test Accuracy (%)": ("metric", "test_accuracy", 100),
    "Training Time (s)": ("attr", "elapsed", 1), "Epochs": ("attr", "epochs", 1),
    "Iterations": ("attr", "steps", 1),
}


@dataclass
class Stat:
    """A value over seeds: mean, sample standard deviation (0 for one seed) and count."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values) -> Stat:
        arr = np.asarray(list(values), dtype=float)
        return cls(float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, len(arr))

    def format(self, digits: int) -> str:
        text = f"{self.mean:.{digits}f}"
        return text + (f" ± {self.std:.{digits}f}" if self.n > 1 else "")


def _by_experiment(runs):
    groups: dict[int, list] = {}
    for run in runs:
        groups.setdefault(run.index, []).append(run)
    return dict(sorted(groups.items()))


def _summary_value(result, column: str):
    """The number ``result`` (a TrainResult or SavedModel) has in a summary column, or None."""
    kind, key, scale = _SUMMARY_SOURCES[column]
    value = result.metrics.get(key) if kind == "metric" else getattr(result, key, None)
    return None if value is None else value * scale


def summary_rows(runs) -> list[dict]:
    """One row per experiment in the report's columns (plus test cost), each cell a :class:`Stat`."""
    rows = []
    for group in _by_experiment(runs).values():
        row = {"Experiment": group[0].label}
        for column in _SUMMARY_SOURCES:
            row[column] = Stat.of(_summary_value(r.result, column) for r in group)
        rows.append(row)
    return rows


def run_summary_rows(results) -> list[dict]:
    """The summary of single runs, ``results`` being (label, TrainResult) pairs: one row each in
    the report's columns, a plain number per cell (None where the run has none)."""
    rows = []
    for label, result in results:
        row = {"Experiment": label}
        for column in _SUMMARY_SOURCES:
            row[column] = _summary_value(result, column)
        rows.append(row)
    return rows


def layer_weights_rows(networks) -> list[dict]:
    """Mean absolute weight of each weight matrix, one column per network: ``networks`` is
    (column name, Network) pairs. A row is named after its matrix and shape, "W1  (784 → 20)" (the
    first network's sizes); a network with fewer layers has None there. The names must differ."""
    names = [name for name, _network in networks]
    if len(set(names)) != len(names):
        raise ValueError(f"two networks share a column name in {names}; give each its own")
    matrices = [(name, _weight_matrices(network)) for name, network in networks]
    first = matrices[0][1] if matrices else []
    rows = []
    for layer in range(max((len(m) for _n, m in matrices), default=0)):
        row = {"Layer": f"{first[layer].name}  ({first[layer].shape[0]} → {first[layer].shape[1]})"
               if layer < len(first) else f"W{layer + 1}"}
        for name, m in matrices:
            row[name] = float(np.mean(np.abs(m[layer].array))) if layer < len(m) else None
        rows.append(row)
    return rows


def _weight_matrices(network) -> list:
    """The weight matrices of ``network``, from its one walk over its arrays (``Network.arrays``)."""
    return [a for a in network.arrays() if a.kind == "W"]


def weights_rows(runs, without_l2: int = 0, with_l2: int = 2) -> list[dict]:
    """Mean absolute weight per layer for experiment 1 (no L2) against experiment 3 (L2)."""
    groups = _by_experiment(runs)
    if without_l2 not in groups or with_l2 not in groups:
        return []
    a = np.array([r.result.network.mean_abs_weights() for r in groups[without_l2]])
    b = np.array([r.result.network.mean_abs_weights() for r in groups[with_l2]])
    label_a, label_b = groups[without_l2][0].label, groups[with_l2][0].label
    return [{"Layer": f"Layer {layer + 1}", label_a: Stat.of(a[:, layer]), label_b: Stat.of(b[:, layer])}
            for layer in range(a.shape[1])]


@dataclass
class Claim:
    """One of the report's claims checked against these runs: it holds for ``agree`` of ``total`` seeds."""

    key: str
    statement: str
    agree: int
    total: int
    detail: str

    @property
    def held(self) -> bool:
        return self.total > 0 and self.agree * 2 > self.total

    @property
    def verdict(self) -> str:
        if self.total == 0:
            return "not tested"
        if self.agree == self.total:
            return "holds" if self.total == 1 else f"holds for all {self.total} seeds"
        if self.agree == 0:
            return "does not hold" if self.total == 1 else f"holds for none of {self.total} seeds"
        return f"holds for {self.agree} of {self.total} seeds"


def check_claims(runs) -> list[Claim]:
    """The report's three claims, judged per seed.

    1. Batch normalisation converges in fewer epochs (experiment 2 vs 1 and 4 vs 3).
    2. L2 shrinks the deeper layers' weights (experiment 3 vs 1, layers 2 to the last).
    3. L2 with batch normalisation has the best test accuracy of the four.
    """
    by_seed: dict[int, dict[int, object]] = {}
    for run in runs:
        by_seed.setdefault(run.seed, {})[run.index] = run.result
    full = {seed: r for seed, r in by_seed.items() if set(r) >= {0, 1, 2, 3}}

    bn_agree = [(r[1].epochs < r[0].epochs) and (r[3].epochs < r[2].epochs) for r in full.values()]
    epochs = {i: Stat.of([r[i].epochs for r in full.values()]) for i in range(4)} if full else {}
    bn_detail = (f"epochs without/with BN: {epochs[0].format(1)} vs {epochs[1].format(1)} (no L2), "
                 f"{epochs[2].format(1)} vs {epochs[3].format(1)} (L2)") if full else ""

    def deeper_shrink(r):
        a, b = r[0].network.mean_abs_weights(), r[2].network.mean_abs_weights()
        return all(wb < wa for wa, wb in zip(a[1:], b[1:]))
    l2_agree = [deeper_shrink(r) for r in full.values()]
    if full:
        a = np.mean([r[0].network.mean_abs_weights() for r in full.values()], axis=0)
        b = np.mean([r[2].network.mean_abs_weights() for r in full.values()], axis=0)
        l2_detail = "mean |W| per layer without/with L2: " + ", ".join(
            f"layer {layer + 1} {x:.3f}/{y:.3f}" for layer, (x, y) in enumerate(zip(a, b)))
    else:
        l2_detail = ""

    best_agree = [max(range(4), key=lambda i: r[i].metrics["test_accuracy"]) == 3 for r in full.values()]
    acc = ({i: Stat.of([100 * r[i].metrics["test_accuracy"] for r in full.values()]) for i in range(4)}
           if full else {})
    best_detail = ("test accuracy %: " + ", ".join(f"exp {i + 1} {acc[i].format(2)}" for i in range(4))
                   if full else "")

    return [
        Claim("bn_fewer_epochs", "Batch normalisation converges in fewer epochs",
              sum(bn_agree), len(full), bn_detail),
        Claim("l2_shrinks_deeper_weights", "L2 shrinks the deeper layers' weights",
              sum(l2_agree), len(full), l2_detail),
        Claim("l2_bn_best", "L2 with batch normalisation is the best of the four",
              sum(best_agree), len(full), best_detail),
    ]


def check_regularisers(runs) -> list[Claim]:
    """The regularisers experiment's verdicts, judged per seed like the report's claims.

    ``runs`` are the four settings of ``REGULARISERS`` (index 0 none, 1 L2, 2 dropout, 3 batch
    norm). For each regulariser: does it reach a higher test accuracy than none? Then: which one is
    best, the one with the highest mean test accuracy over the seeds (measured, not assumed), and
    for how many seeds it was the best of the four.
    """
    by_seed: dict[int, dict[int, object]] = {}
    labels: dict[int, str] = {}
    for run in runs:
        by_seed.setdefault(run.seed, {})[run.index] = run.result
        labels[run.index] = run.label
    full = {seed: r for seed, r in by_seed.items() if set(r) >= {0, 1, 2, 3}}
    if not full:
        return []
    acc = {i: Stat.of([100 * r[i].metrics["test_accuracy"] for r in full.values()]) for i in range(4)}
    gap = {i: Stat.of([100 * (r[i].metrics["train_accuracy"] - r[i].metrics["test_accuracy"])
                       for r in full.values()]) for i in range(4)}
    claims = []
    for i in (1, 2, 3):
        better = [r[i].metrics["test_accuracy"] > r[0].metrics["test_accuracy"] for r in full.values()]
        claims.append(Claim(f"regulariser_{i}_beats_none", f"{labels[i]} beats no regulariser",
                            sum(better), len(full),
                            f"test accuracy %: {acc[i].format(2)} against {acc[0].format(2)}; train minus "
                            f"test: {gap[i].format(2)} against {gap[0].format(2)} points"))
    best = max(range(4), key=lambda i: acc[i].mean)
    top = [max(range(4), key=lambda i: r[i].metrics["test_accuracy"]) == best for r in full.values()]
    claims.append(Claim("best_regulariser", f"{labels[best]} is the best of the four", sum(top), len(full),
                        "test accuracy %: " + ", ".join(f"{labels[i]} {acc[i].format(2)}" for i in range(4))))
    return claims


# ---------------------------------------------------------------------------- rendering
_DIGITS = {"Training Cost": 4, "Validation Cost": 4, "Test Cost": 4, "Training Time (s)": 2,
           "Epochs": 1, "Iterations": 0}


def cell_text(column: str, value) -> str:
    """A cell as the report's tables print it: a Stat in its column's decimals, anything else as is."""
    if isinstance(value, Stat):
        digits = _DIGITS.get(column, 2 if "%" in column else 5)
        if column in ("Epochs", "Iterations") and value.n == 1:
            digits = 0
        return value.format(digits)
    return str(value)


def to_markdown(rows: list[dict]) -> str:
    """A GitHub-flavoured Markdown table."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell_text(c, row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_text(rows: list[dict]) -> str:
    """An aligned plain-text table for the terminal."""
    if not rows:
        return ""
    columns = list(rows[0])
    cells = [[cell_text(c, row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    def line(items):
        return "  ".join(s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(items, widths)))
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]) + "\n"


# The Train view's shorter headers for the summary's columns, and its decimals (a cell is narrow there).
SCREEN_HEADERS = {
    "Experiment": "Experiment", "Training Cost": "Train cost", "Validation Cost": "Val cost",
    "Test Cost": "Test cost", "Train Accuracy (%)": "Train acc", "Validation Accuracy (%)": "Val acc",
    "Test Accuracy (%)": "Test acc", "Training Time (s)": "Time (s)", "Epochs": "Epochs",
    "Iterations": "Iterations",
}
_SCREEN_FORMATS = {"Train Accuracy (%)": "{:.2f} %", "Validation Accuracy (%)": "{:.2f} %",
                   "Test Accuracy (%)": "{:.2f} %", "Training Time (s)": "{:.1f}", "Epochs": "{:d}",
                   "Iterations": "{:d}"}


def screen_text(column: str, value) -> str:
    """A cell of :func:`run_summary_rows` or :func:`layer_weights_rows` as the Train view shows it:
    text as is, "—" for a missing or non-finite number, accuracies as "97.12 %", counts whole,
    the time to 0.1 s, costs and weights to four decimals."""
    if isinstance(value, str):
        return value
    try:
        finite = value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        return "—"
    fmt = _SCREEN_FORMATS.get(column, "{:.4f}")
    return fmt.format(int(value)) if fmt == "{:d}" else fmt.format(float(value))


def _plain(value):
    if isinstance(value, Stat):
        return asdict(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_csv(rows: list[dict]) -> str:
    """CSV with full precision; a Stat becomes three columns: mean, std and n."""
    if not rows:
        return ""
    header = []
    for column, value in rows[0].items():
        header += [f"{column} mean", f"{column} std", f"{column} n"] if isinstance(value, Stat) else [column]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        line = []
        for value in row.values():
            line += [repr(value.mean), repr(value.std), value.n] if isinstance(value, Stat) else [value]
        writer.writerow(line)
    return out.getvalue()


def to_json(rows: list[dict]) -> str:
    return json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows], indent=2) + "\n"


def claims_markdown(claims: list[Claim]) -> str:
    return "".join(f"- **{c.statement}**: {c.verdict}. {c.detail}\n" for c in claims)
