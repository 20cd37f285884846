"""The model file's record of how a run went on: setting changes, and the state to continue it.

Two optional parts of a model file (docs/model-format.md, "Changes during the run" and
"Training state"), written by :func:`write_run_record` and read, trusting nothing, by
:func:`read_changes` and :func:`read_training_state` with the model reader's checks
(``model_file._Reader``: hard links only, plain storage, Fletcher-32, declared shapes and types
before any value, every value finite). A file without them (an older one) loads as before, with
no changes and no state; older readers ignore them.

Never imports Qt.
"""

from __future__ import annotations

import logging
import math

import h5py
import numpy as np

from ..nn.arrays import array_specs
from ..training import CHANGEABLE, Change, TrainConfig, TrainingState
from ..training.config import MAX_EPOCHS, field_problems
from ..training.training_state import OPTIMIZER_ARRAYS

log = logging.getLogger(__name__)

CHANGES = "changes"
STATE = "training_state"
CHANGE_COLUMNS = ("step", "old", "new")
#: Most changes of one setting a file may declare (a person clicking Apply every second for a
#: day is 86,400): checked on the declared shape before reading.
MAX_CHANGES = 100_000
_STATE_INTS = ("step", "epoch", "batch", "cost_count", "adam_t", "best_step", "since_best", "stuck", "dead")
_STATE_NUMBERS = ("learning_rate", "l2", "lr", "cost_sum", "elapsed")


# ---------------------------------------------------------------------------- write
def write_run_record(f: h5py.File, changes: list[Change], state: TrainingState | None,
                     model_state: dict, dtype: np.dtype, room: int) -> None:
    """``/changes`` (when any setting changed) and ``/training_state`` (when there is one and its
    arrays, ``dtype``, fit in ``room`` bytes, so the file stays within what readers accept).

    The last and the best weights are often the model's own (``model_state``, in /layers): then
    only an attribute says so (``last_is_model``, ``best_is_model``) instead of a second copy."""
    if changes:
        group = f.create_group(CHANGES, track_order=True)
        for setting in CHANGEABLE:
            rows = [(c.step, c.old, c.new) for c in changes if c.setting == setting]
            if rows:
                ds = group.create_dataset(setting, data=np.asarray(rows, dtype=np.float64), fletcher32=True)
                ds.attrs["columns"] = np.array(CHANGE_COLUMNS, dtype=h5py.string_dtype())
    if state is None:
        return
    same = {"last": _same(state.network, model_state),
            "best": state.best_state is not None and _same(state.best_state, model_state)}
    groups = [("optimizer", state.optimizer_arrays)]
    if not same["last"]:
        groups.append(("last", state.network))
    if state.best_state is not None and not same["best"]:
        groups.append(("best", state.best_state))
    size = sum(np.asarray(a).size * dtype.itemsize for _, arrays in groups for a in arrays.values())
    if size > room:
        log.warning("The training state (%d MB) is left out of the model file, which would grow past "
                    "what readers accept; this model can be fine-tuned but not continued exactly",
                    size // 2**20)
        return
    g = f.create_group(STATE, track_order=True)
    for key in _STATE_INTS:
        g.attrs[key] = np.int64(getattr(state, key))
    for key in _STATE_NUMBERS:
        g.attrs[key] = float(getattr(state, key))
    g.attrs["optimizer"] = str(state.optimizer)
    if math.isfinite(state.best_cost):
        g.attrs["best_cost"] = float(state.best_cost)
    if state.first_cost is not None and math.isfinite(state.first_cost):
        g.attrs["first_cost"] = float(state.first_cost)
    for name, is_model in same.items():
        if is_model:
            g.attrs[f"{name}_is_model"] = True
    for name, arrays in groups:
        sub = g.create_group(name, track_order=True)
        for key, value in arrays.items():
            sub.create_dataset(key, data=np.ascontiguousarray(value, dtype=dtype), fletcher32=True)


def _same(arrays: dict, model_state: dict) -> bool:
    return arrays.keys() == model_state.keys() and all(
        np.asarray(arrays[k]).tobytes() == np.asarray(model_state[k]).tobytes() for k in arrays)


# ---------------------------------------------------------------------------- read
def read_changes(r, config: TrainConfig, read: bool) -> list[Change]:
    """``/changes`` as Changes in step order (empty without it); ``read=False`` checks only the
    structure. Settings this version does not know are ignored, like unknown attributes."""
    group = r.member(r.f, CHANGES, "/changes", h5py.Group)
    if group is None:
        return []
    out = []
    for setting in CHANGEABLE:
        what = f"the changes of the {CHANGEABLE[setting]} (/changes/{setting})"
        ds = r.member(group, setting, what, h5py.Dataset)
        if ds is None:
            continue
        shape = tuple(ds.shape)
        if len(shape) != 2 or shape[1] != len(CHANGE_COLUMNS):
            raise r.fail(f"{what} have shape {shape}, not (changes, {len(CHANGE_COLUMNS)})")
        if shape[0] > MAX_CHANGES:
            raise r.fail(f"{what} declare {shape[0]:,} changes, more than the {MAX_CHANGES:,} "
                         f"digitlab accepts")
        r.check_dataset(ds, what, shape, (np.float64,))
        if not read:
            continue
        for step, old, new in r.values(ds, what):
            if step != int(step) or not 0 <= step <= 1e15:
                raise r.fail(f"{what} name step {step}, not a whole number of steps")
            for value in (old, new):
                problems = field_problems(setting, float(value))
                if problems:
                    raise r.fail(f"{what} hold an impossible value: {problems[0]}")
            out.append(Change(int(step), setting, float(old), float(new)))
    # The loop applies the learning rate before L2 at the same step; sorting is stable.
    return sorted(out, key=lambda c: c.step)


def read_training_state(r, spec: dict, config: TrainConfig, model_state: dict | None) -> TrainingState | None:
    """``/training_state`` checked against the network (``spec``) and the settings, or None
    without it. ``model_state``: the model's own arrays (read from /layers), for the last or best
    weights that are the model's; None checks the structure and the arrays' metadata only."""
    g = r.member(r.f, STATE, f"/{STATE}", h5py.Group)
    if g is None:
        return None
    where = f"/{STATE}"
    optimizer, ints, numbers, best_cost, first_cost = _state_scalars(r, g, where, config)
    dtype = spec["dtype"]
    specs = array_specs(spec["layer_sizes"], spec["batch_norm"])
    last_is_model = r.flag(g, "last_is_model", f"the last_is_model flag of {where}", False)
    best_is_model = r.flag(g, "best_is_model", f"the best_is_model flag of {where}", False)
    last = None if last_is_model else _network_arrays(r, g, "last", specs, dtype, required=True)
    best = None if best_is_model else _network_arrays(r, g, "best", specs, dtype, required=False)
    has_best = best is not None or best_is_model
    if has_best != (best_cost != math.inf):
        raise r.fail(f"{where} has {'' if has_best else 'no '}best weights but "
                     f"{'a' if best_cost != math.inf else 'no'} best cost; one of them was edited")
    n_params = sum(math.prod(a.shape) for a in specs if a.trainable)
    opt_datasets = _optimizer_datasets(r, g, where, optimizer, n_params, dtype)
    if model_state is None:
        return TrainingState(network={}, optimizer=optimizer, best_cost=best_cost, first_cost=first_cost,
                             **ints, **numbers)
    opt_arrays = _optimizer_arrays(r, opt_datasets, dtype)

    def copy_of_model():
        return {k: np.array(v, copy=True) for k, v in model_state.items()}
    best_state = copy_of_model() if best_is_model else r.layer_state(best, spec) if best is not None else None
    return TrainingState(network=copy_of_model() if last_is_model else r.layer_state(last, spec),
                         optimizer=optimizer, optimizer_arrays=opt_arrays, best_state=best_state,
                         best_cost=best_cost, first_cost=first_cost, **ints, **numbers)


def _state_scalars(r, g, where: str, config: TrainConfig):
    """The state's optimiser name, counters and numbers, each checked against the settings and
    against what a run can reach: ``(optimizer, ints, numbers, best_cost, first_cost)``."""
    ints = {}
    for key in _STATE_INTS:
        ints[key] = r.integer(g, key, f"the {key} attribute of {where}", default=0)
    numbers = {}
    for key in _STATE_NUMBERS:
        value = r.number(g, key, f"the {key} attribute of {where}", default=None)
        if value is None:
            raise r.fail(f"{where} lacks its {key} attribute")
        numbers[key] = value
    optimizer = r.text(g, "optimizer", f"the optimizer attribute of {where}")
    if optimizer != config.optimizer:
        raise r.fail(f"{where} is of the optimiser {optimizer!r} but /config says {config.optimizer!r}; "
                     f"one of them was edited")
    for key in ("learning_rate", "l2"):
        problems = field_problems(key, numbers[key])
        if problems:
            raise r.fail(f"{where}: {problems[0]}")
    if numbers["elapsed"] < 0 or numbers["lr"] < 0:
        raise r.fail(f"{where} has a negative learning rate or time")
    if ints["epoch"] > MAX_EPOCHS or ints["best_step"] > ints["step"]:
        raise r.fail(f"{where} has counters no run reaches (epoch {ints['epoch']}, best step "
                     f"{ints['best_step']} of {ints['step']} steps)")
    best_cost = r.number(g, "best_cost", f"the best_cost attribute of {where}", default=math.inf)
    first_cost = r.number(g, "first_cost", f"the first_cost attribute of {where}", default=None)
    return optimizer, ints, numbers, best_cost, first_cost


def _optimizer_datasets(r, g, where: str, optimizer: str, n_params: int, dtype) -> dict:
    """The optimiser's datasets (name -> (dataset, what)), each checked: one number a parameter."""
    opt_group = r.member(g, "optimizer", f"{where}/optimizer", h5py.Group)
    if opt_group is None:
        raise r.fail(f"{where}/optimizer is missing")
    opt_datasets = {}
    for name in OPTIMIZER_ARRAYS[optimizer]:
        what = f"the optimiser's {name} ({where}/optimizer/{name})"
        ds = r.member(opt_group, name, what, h5py.Dataset)
        if ds is None:
            raise r.fail(f"{what} is missing ({optimizer} keeps it)")
        r.check_dataset(ds, what, (n_params,), (dtype,))
        opt_datasets[name] = (ds, what)
    return opt_datasets


def _optimizer_arrays(r, opt_datasets: dict, dtype) -> dict:
    """The optimiser's arrays read; Adam's mean of squares is never negative."""
    opt_arrays = {}
    for name, (ds, what) in opt_datasets.items():
        value = r.values(ds, what).astype(dtype, copy=False)
        if name == "v" and np.any(value < 0):
            raise r.fail(f"{what} has negative values, which a mean of squares never has")
        opt_arrays[name] = value
    return opt_arrays


def _network_arrays(r, g, name: str, specs, dtype, *, required: bool):
    """``[(NamedArray, dataset)]`` of ``/training_state/<name>``, each checked; None if absent and
    not ``required``."""
    where = f"/{STATE}/{name}"
    group = r.member(g, name, where, h5py.Group)
    if group is None:
        if required:
            raise r.fail(f"{where} is missing")
        return None
    out = []
    for a in specs:
        what = f"{where}/{a.name}"
        ds = r.member(group, a.name, what, h5py.Dataset)
        if ds is None:
            raise r.fail(f"{what} is missing")
        r.check_dataset(ds, what, a.shape, (dtype,))
        out.append((a, ds))
    return out

