"""The lambda sweep: one setting trained for several L2 strengths, to turn the report's single
no-L2 / L2 comparison into a curve of test accuracy and mean |W| per layer against lambda.

Runs are independent, so they go to separate processes (``training.process_pool``: spawned, not
forked, because the GUI starts sweeps from a QThread; NumPy holds the GIL for these small
matrices, so threads would not help). Each process loads its data itself with ``splits_for(config)``.

No Qt here: the GUI runs :func:`run_sweep` on a worker thread and relays ``on_done``.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import asdict, dataclass, field

import numpy as np

from ..training import RunControl, TrainConfig, cached_splits, process_pool, splits_for, train
from .tables import Stat

__all__ = ["SweepPoint", "SweepSetting", "run_sweep", "parse_lambdas", "sweep_rows", "sweep_table",
           "DEFAULT_LAMBDAS"]

DEFAULT_LAMBDAS = (0.0, 1.0, 3.0, 5.0, 10.0)


@dataclass
class SweepPoint:
    """One trained run of the sweep: its lambda, seed and what came out."""

    l2: float
    seed: int
    test_accuracy: float
    val_accuracy: float
    test_cost: float
    mean_abs_weights: list[float]
    epochs: int
    steps: int
    elapsed: float
    stop_reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SweepSetting:
    """What a sweep trains: one setting, the lambdas and the seeds. A report that includes a sweep
    states it (a sweep on 10,000 images reaches 72-78 %, not the full run's 92 %)."""

    config: TrainConfig
    lambdas: tuple[float, ...]
    seeds: tuple[int, ...]

    def describe(self) -> str:
        """One sentence part, e.g. ``"784-20-7-5-10, SGD, ..., on 10,000 training images; lambda =
        0, 1, 3; seed 3"``."""
        c = self.config
        data = (f"on {c.train_subset:,} training images" if c.train_subset
                else f"on the full training set of {c.dataset}")
        seeds = ", ".join(str(s) for s in self.seeds)
        return (f"{c.describe()}, {data}; lambda = {', '.join(f'{v:g}' for v in self.lambdas)}; "
                f"seed{'s' if len(self.seeds) != 1 else ''} {seeds}")


@dataclass
class _Job:
    l2: float
    seed: int
    config: TrainConfig = field(repr=False)


def parse_lambdas(text: str) -> list[float]:
    """``"0,1,3,5,10"`` -> ``[0.0, 1.0, 3.0, 5.0, 10.0]``; ValueError naming the bad part."""
    values = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            v = float(part)
        except ValueError:
            raise ValueError(f"lambdas must be numbers separated by commas, got {part!r}") from None
        if not (v >= 0 and np.isfinite(v)):
            raise ValueError(f"every lambda must be a finite number >= 0, got {part!r}")
        values.append(v)
    if not values:
        raise ValueError("give at least one lambda, e.g. 0,1,3,5,10")
    return sorted(set(values))


def _point(l2: float, seed: int, result) -> SweepPoint:
    m = result.metrics
    return SweepPoint(l2=float(l2), seed=int(seed), test_accuracy=float(m.get("test_accuracy", np.nan)),
                      val_accuracy=float(m.get("val_accuracy", np.nan)),
                      test_cost=float(m.get("test_cost", np.nan)),
                      mean_abs_weights=[float(v) for v in result.network.mean_abs_weights()],
                      epochs=int(result.epochs), steps=int(result.steps), elapsed=float(result.elapsed),
                      stop_reason=str(result.stop_reason))


def _train_one(l2: float, seed: int, config: TrainConfig) -> SweepPoint:
    """Runs in a worker process: load the data, train, return only the numbers (small to pickle)."""
    return _point(l2, seed, train(config, splits_for(config)))


def run_sweep(config: TrainConfig, lambdas, seeds=(3,), *, workers: int | None = None,
              control: RunControl | None = None, on_done=None, splits=None) -> list[SweepPoint]:
    """Train ``config`` once per lambda and seed; return the points sorted by (lambda, seed).

    Parameters
    ----------
    config : TrainConfig
        The setting; only ``l2`` and ``seed`` change between runs.
    lambdas : iterable of float
    seeds : iterable of int
    workers : int, optional
        Processes (default: ``os.cpu_count()``, never more than the number of runs). ``1`` trains
        in this process, on ``splits`` if given (tests, or a caller that has the data already).
    control : RunControl, optional
        ``cancel()`` from another thread stops the sweep: runs not yet started are dropped, runs in
        progress in worker processes finish first; the points finished so far are returned.
    on_done(point, done, total) : optional
        Called in the calling thread after each run.
    """
    jobs = [_Job(float(l2), int(s), config.replace(l2=float(l2), seed=int(s)))
            for l2 in lambdas for s in seeds]
    if not jobs:
        return []
    control = control or RunControl()
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    points: list[SweepPoint] = []

    def finished(point):
        points.append(point)
        if on_done:
            on_done(point, len(points), len(jobs))

    if workers == 1:
        data = splits if splits is not None else cached_splits(config)    # in this process: shared
        for job in jobs:
            if control.cancelled:
                break
            result = train(job.config, data, control=control)
            if control.cancelled:       # stopped part-way: not a point of the curve
                break
            finished(_point(job.l2, job.seed, result))
    else:
        with process_pool(workers) as pool:
            pending = {pool.submit(_train_one, job.l2, job.seed, job.config) for job in jobs}
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    if not future.cancelled():
                        finished(future.result())
                if control.cancelled:
                    for future in pending:
                        future.cancel()
                    pending = {f for f in pending if not f.cancelled()}
                    while pending:       # wait for the runs already in a process
                        done, pending = wait(pending, timeout=0.2)
                        for future in done:
                            finished(future.result())
                    break
    points.sort(key=lambda p: (p.l2, p.seed))
    return points


def sweep_rows(points) -> list[dict]:
    """One row per lambda: test accuracy (%) and each layer's mean |W| as :class:`Stat` over seeds."""
    groups: dict[float, list[SweepPoint]] = {}
    for p in points:
        groups.setdefault(p.l2, []).append(p)
    rows = []
    for l2, group in sorted(groups.items()):
        row = {"Lambda": f"{l2:g}", "Test Accuracy (%)": Stat.of(100 * p.test_accuracy for p in group),
               "Epochs": Stat.of(p.epochs for p in group)}
        n_layers = min(len(p.mean_abs_weights) for p in group)
        for layer in range(n_layers):
            row[f"Layer {layer + 1} mean |W|"] = Stat.of(p.mean_abs_weights[layer] for p in group)
        rows.append(row)
    return rows


def sweep_table(points) -> dict:
    """Arrays for plotting: ``lambdas``, ``accuracy`` (mean %) and ``accuracy_std``, ``weights``
    ``(n_lambdas, n_layers)`` mean |W| and ``weights_std``."""
    rows = sweep_rows(points)
    lambdas = np.array([float(r["Lambda"]) for r in rows])
    acc = np.array([r["Test Accuracy (%)"].mean for r in rows])
    acc_sd = np.array([r["Test Accuracy (%)"].std for r in rows])
    layer_cols = [c for c in (rows[0] if rows else {}) if c.endswith("mean |W|")]
    w = np.array([[r[c].mean for c in layer_cols] for r in rows]).reshape(len(rows), len(layer_cols))
    w_sd = np.array([[r[c].std for c in layer_cols] for r in rows]).reshape(len(rows), len(layer_cols))
    return {"lambdas": lambdas, "accuracy": acc, "accuracy_std": acc_sd, "weights": w, "weights_std": w_sd}

