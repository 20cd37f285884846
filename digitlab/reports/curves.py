"""Training curves of saved models and runs, side by side: their histories as named series, an x
axis to plot them against, smoothing, and one CSV of them all (no Qt).

The Runs view draws these curves and ``digitlab compare`` writes them; both read them here, from
the history a model file stores (``/history``, docs/model-format.md): one row per validation check
with ``step, epoch, train_cost, val_cost, val_accuracy, elapsed, learning_rate``.

**Series.** :data:`SERIES`: ``train_cost`` (the mean mini-batch cost since the previous check),
``val_cost`` and ``val_accuracy`` (a fraction in [0, 1]), exactly as stored.

**X axes.** :data:`X_AXES`:

- ``step``: the mini-batch steps taken, as stored;
- ``seconds``: the ``elapsed`` column, seconds of training with pauses left out, as stored;
- ``epoch``: fractional epochs, ``step / steps_per_epoch``. A file records only the epoch each
  check fell in (1, 2, ...), not how many steps an epoch had, so :func:`steps_per_epoch` derives it
  from the history: a check at step s in epoch e says (e-1)·n < s <= e·n for n steps per epoch, and
  the smallest n that every check allows, max(s / e), is taken. Every check then lies inside the
  epoch the file records for it, and n is exact whenever a check falls on an epoch's last step (as
  when checks come once per epoch). When the history cannot bound n (every check is in the first
  epoch) or no n fits (steps that do not grow with the epochs), the recorded epoch numbers are used
  as they are, and :attr:`RunCurves.epoch_estimated` says so.

**Smoothing.** :func:`smooth` is TensorBoard's: an exponential moving average with weight w in
[0, 0.99] (0: no smoothing), debiased so that the first smoothed value is the first value rather
than being pulled towards 0. It goes by the checks' order, not by the x axis, so the smoothed value
of a check is the same whichever axis it is drawn against. A value that is not finite (a diverging
run) is passed through and does not enter the average.

**CSV.** :func:`curves_csv`, long ("tidy") format, one row per model, series and check::

    model,file,series,step,epoch,seconds,value,smoothed
    report-l2,models/report-l2.h5,train_cost,100,0.5319148936170213,0.04863989400018909,3.0988265416026115,3.0988265416026115
    report-l2,models/report-l2.h5,train_cost,200,1.0638297872340425,0.09544344999994792,2.988105688393116,3.029626008346677

``model`` is the name the library shows (unique in the file), ``file`` its path (empty for a run
not saved yet), ``series`` one of :data:`SERIES`, then the three x values (every row has all three,
so a spreadsheet can plot against any), the stored ``value`` written with every digit (``repr``),
and ``smoothed`` with the weight chosen. Rows come model by model in the order given, series by
series in :data:`SERIES` order, checks in order.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["SERIES", "SERIES_TITLES", "X_AXES", "X_TITLES", "CSV_COLUMNS", "DEFAULT_SMOOTHING",
           "MAX_SMOOTHING", "RunCurves", "curves_of", "steps_per_epoch", "smooth", "check_smoothing",
           "curves_csv", "write_curves_csv"]

SERIES = ("train_cost", "val_cost", "val_accuracy")
SERIES_TITLES = {"train_cost": "training cost", "val_cost": "validation cost",
                 "val_accuracy": "validation accuracy"}
X_AXES = ("step", "epoch", "seconds")
X_TITLES = {"step": "step", "epoch": "epoch", "seconds": "seconds of training"}
CSV_COLUMNS = ("model", "file", "series", "step", "epoch", "seconds", "value", "smoothed")
#: TensorBoard's default smoothing weight.
DEFAULT_SMOOTHING = 0.6
#: Beyond this the average remembers so much that the curve stops following the run.
MAX_SMOOTHING = 0.99


@dataclass(frozen=True)
class RunCurves:
    """One model's history as x axes and named series (arrays of one length, in check order)."""

    name: str
    file: str                                  # "" for a run not saved yet
    step: np.ndarray
    epoch: np.ndarray                          # fractional (see the module's docstring)
    seconds: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    steps_per_epoch: float | None = None       # the derived steps per epoch, None when not derived

    @property
    def epoch_estimated(self) -> bool:
        """Whether ``epoch`` is derived (fractional) rather than the recorded epoch numbers."""
        return self.steps_per_epoch is not None

    def x(self, axis: str) -> np.ndarray:
        """The x values for ``axis`` (one of :data:`X_AXES`)."""
        if axis not in X_AXES:
            raise ValueError(f"unknown x axis {axis!r}; use one of {', '.join(X_AXES)}")
        return getattr(self, axis)

    def __len__(self) -> int:
        return int(self.step.size)


def steps_per_epoch(step: np.ndarray, epoch: np.ndarray) -> float | None:
    """The smallest steps-per-epoch n with (e-1)·n < s <= e·n for every check (s, e), or None.

    None when no check is past the first epoch (nothing bounds n from above, so any n would do) or
    when no n satisfies every check."""
    step = np.asarray(step, dtype=float)
    epoch = np.asarray(epoch, dtype=float)
    ok = np.isfinite(step) & np.isfinite(epoch) & (epoch >= 1) & (step >= 1)
    step, epoch = step[ok], epoch[ok]
    later = epoch >= 2
    if step.size == 0 or not later.any():
        return None
    lowest = float(np.max(step / epoch))
    highest = float(np.min(step[later] / (epoch[later] - 1)))
    return lowest if lowest < highest else None


def curves_of(model, name: str | None = None, file: str | os.PathLike | None = None) -> RunCurves:
    """A model's curves from its ``history`` (a ``SavedModel`` or ``TrainResult``).

    ``name`` defaults to the model's name, ``file`` to its path (``""`` when it has none)."""
    history = model.history
    columns = {c: history.column(c) for c in ("step", "epoch", "elapsed", *SERIES)}
    n = steps_per_epoch(columns["step"], columns["epoch"])
    epoch = columns["step"] / n if n is not None else columns["epoch"]
    if name is None:
        name = getattr(model, "name", "") or getattr(getattr(model, "config", None), "name", "") or "model"
    if file is None:
        file = getattr(model, "path", None) or ""
    return RunCurves(name=str(name), file=str(file), step=columns["step"], epoch=epoch,
                     seconds=columns["elapsed"], values={s: columns[s] for s in SERIES},
                     steps_per_epoch=n)


def check_smoothing(weight: float) -> float:
    """``weight`` as a float in [0, :data:`MAX_SMOOTHING`]; ValueError in words otherwise."""
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"the smoothing must be a number from 0 to {MAX_SMOOTHING}, "
                         f"got {weight!r}") from None
    if not (0.0 <= w <= MAX_SMOOTHING):
        raise ValueError(f"the smoothing must be from 0 (none) to {MAX_SMOOTHING}, got {weight!r}")
    return w


def smooth(values: Sequence[float] | np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: a debiased exponential moving average with ``weight`` in [0, 0.99].

    ``last = weight * last + (1 - weight) * v``, shown as ``last / (1 - weight ** k)`` after k finite
    values (the debias), so the first value is kept as it is. Values that are not finite are passed
    through and skipped by the average; weight 0 returns the values unchanged."""
    w = check_smoothing(weight)
    values = np.asarray(values, dtype=float)
    out = values.copy()
    if w == 0.0:
        return out
    last, k = 0.0, 0
    for i, v in enumerate(values):
        if not math.isfinite(v):
            continue
        last = last * w + (1.0 - w) * v
        k += 1
        out[i] = last / (1.0 - w ** k)
    return out


def _unique_names(names: Iterable[str]) -> list[str]:
    """The names, the second of two equal ones "name (2)", the third "name (3)", ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _number(v: float) -> str:
    """Every digit of a float (``repr``), whole numbers without ``.0`` (steps)."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)


def curves_csv(runs: Sequence[RunCurves], smoothing: float = DEFAULT_SMOOTHING) -> str:
    """The CSV text of ``runs`` in the long format of the module's docstring."""
    w = check_smoothing(smoothing)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run, name in zip(runs, _unique_names(r.name for r in runs)):
        for series in SERIES:
            values = run.values[series]
            smoothed = smooth(values, w)
            for i in range(len(run)):
                writer.writerow([name, run.file, series, _number(run.step[i]), _number(run.epoch[i]),
                                 _number(run.seconds[i]), _number(values[i]), _number(smoothed[i])])
    return buffer.getvalue()


def write_curves_csv(path: str | os.PathLike, runs: Sequence[RunCurves],
                     smoothing: float = DEFAULT_SMOOTHING, *, replace: bool = False) -> Path:
    """Write :func:`curves_csv` to ``path`` atomically (``digitlab.atomic``): the file is either
    untouched or complete. An existing file is replaced only with ``replace`` (``OutputExistsError``
    otherwise); returns the path."""
    from digitlab.atomic import write_text_atomic

    if not runs:
        raise ValueError("no curves to write: choose at least one model")
    return write_text_atomic(path, curves_csv(runs, smoothing), replace=replace)
