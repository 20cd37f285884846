"""What a report is made of: trained networks as report runs, and how they group.

A run is one trained network with its experiment (or model) number, label and seed: an
``ExperimentRun`` from :func:`digitlab.training.run_experiments`, or a :class:`_Run` made here
from models. :class:`RunGroups` says how the runs of one report group (by experiment, by seed) and
what the report calls each group; every later stage (evaluation, tables, figures, blocks) reads it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunGroups", "EXPERIMENT_NAMES", "runs_from_models", "load_experiment_folder", "normalise_runs"]

# config names the experiments are saved under (digitlab experiments / build-models) -> index
EXPERIMENT_NAMES = {"report-no-l2": 0, "report-bn": 1, "report-l2": 2, "report-l2-bn": 3}


@dataclass
class _Run:
    """What the report needs of one trained network (an ExperimentRun look-alike)."""

    index: int
    label: str
    seed: int
    result: object          # TrainResult or SavedModel: network, config, history, metrics, epochs, ...


def _experiment_labels():
    from ..training import EXPERIMENTS
    return {i: label for i, (label, _) in enumerate(EXPERIMENTS)}


def _as_model(item):
    """A SavedModel / TrainResult from a path or the thing itself (a library entry's ``model`` is
    a SavedModel: callers pass that; reports know nothing of the library)."""
    from ..io import SavedModel, load_model
    from ..training import TrainResult

    if isinstance(item, (str, os.PathLike)):
        return load_model(item)
    if isinstance(item, (SavedModel, TrainResult)):
        return item
    raise TypeError(f"cannot make a report of {type(item).__name__}: give experiment runs, "
                    "SavedModel or TrainResult objects, or model files")


def _model_name(model, fallback: str) -> str:
    name = getattr(model, "name", "") or getattr(getattr(model, "config", None), "name", "")
    path = getattr(model, "path", None)
    return name or (Path(path).stem if path else fallback)


def _experiment_runs(keys, models) -> list:
    """Models of the four experiments keep their experiment numbers and seeds."""
    labels = _experiment_labels()
    seen = set()
    runs = []
    for key, model in zip(keys, models):
        index, seed = EXPERIMENT_NAMES[key], int(model.config.seed)
        if (index, seed) in seen:
            raise ValueError(f"two models of {labels[index]} with seed {seed}")
        seen.add((index, seed))
        runs.append(_Run(index, labels[index], seed, model))
    runs.sort(key=lambda r: (r.seed, r.index))
    return runs


def _model_runs(names, models) -> list:
    """Each model its own row, named after itself; a repeated name gets " (2)", " (3)", ..."""
    used: dict[str, int] = {}
    runs = []
    for k, (name, model) in enumerate(zip(names, models)):
        used[name] = used.get(name, 0) + 1
        label = name if used[name] == 1 else f"{name} ({used[name]})"
        runs.append(_Run(k, label, int(getattr(model.config, "seed", 0)), model))
    return runs


def runs_from_models(models, *, as_experiments: bool | None = None) -> list:
    """Turn models (SavedModel, TrainResult, model file paths) into report runs.

    When every model is one of the report's four experiments (config names ``report-no-l2``,
    ``report-bn``, ``report-l2``, ``report-l2-bn``), they keep their experiment numbers and seeds,
    so the report's summary, weights table and claims apply; otherwise each model is its own row.
    """
    models = [_as_model(m) for m in models]
    keys = [getattr(m.config, "name", "") for m in models]
    names = [_model_name(m, f"model {k + 1}") for k, m in enumerate(models)]
    keys = [k if k in EXPERIMENT_NAMES else re.sub(r"-seed\d+$", "", n) for k, n in zip(keys, names)]
    experiments = all(k in EXPERIMENT_NAMES for k in keys) if as_experiments is None else as_experiments
    return _experiment_runs(keys, models) if experiments else _model_runs(names, models)


def load_experiment_folder(folder) -> list:
    """The runs saved by ``digitlab experiments --out DIR`` (or ``build-models``) in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    files = sorted(p for p in folder.glob("*.h5") if re.sub(r"-seed\d+$", "", p.stem) in EXPERIMENT_NAMES)
    if not files:
        raise FileNotFoundError(f"{folder} holds none of the experiments' models "
                                f"({', '.join(n + '.h5' for n in EXPERIMENT_NAMES)}); "
                                f"make them with `digitlab experiments --out {folder}`")
    return runs_from_models(files, as_experiments=True)


def normalise_runs(source) -> list:
    """Experiment runs as given, or runs made from models."""
    source = list(source)
    if not source:
        raise ValueError("nothing to report: no runs or models given")
    if all(hasattr(s, "index") and hasattr(s, "result") for s in source):
        return source                       # ExperimentRun from training.run_experiments
    return runs_from_models(source)


@dataclass
class RunGroups:
    """The runs of one report, grouped: by experiment (or model) number, each group's seeds."""

    runs: list
    indices: list[int]          # experiment / model numbers, sorted
    seeds: list[int]            # every seed, sorted
    experiments: bool           # all runs are among the report's four experiments
    full_grid: bool             # ... and all four are there: the claims can be judged
    first: list                 # the first seed's run of each number: what the figures show
    by_index: dict              # number -> its runs
    label: dict                 # number -> its label ("Experiment 2: With Batch Norm, No L2", a model name)
    short: dict                 # number -> a short name for legends and columns ("Exp 2" or the label)

    @classmethod
    def of(cls, runs) -> RunGroups:
        indices = sorted({r.index for r in runs})
        experiments = set(indices) <= {0, 1, 2, 3} and all(
            getattr(r.result.config, "name", "") in EXPERIMENT_NAMES for r in runs)
        first: dict = {}
        for r in runs:
            first.setdefault(r.index, r)
        by_index = {i: [r for r in runs if r.index == i] for i in indices}
        label = {i: by_index[i][0].label for i in indices}
        return cls(runs=runs, indices=indices, seeds=sorted({r.seed for r in runs}), experiments=experiments,
                   full_grid=experiments and set(indices) == {0, 1, 2, 3}, first=[first[i] for i in indices],
                   by_index=by_index, label=label,
                   short={i: (f"Exp {i + 1}" if experiments else label[i]) for i in indices})

    @property
    def n_layers(self) -> int:
        """The depth every run has (the shallowest network's)."""
        return min(r.result.network.n_layers for r in self.runs)
