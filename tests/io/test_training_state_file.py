"""The model file's /changes and /training_state: round trip, older files, and what a reader refuses."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from digitlab.io import ModelFileError, check_model_file, load_model, read_model_info, save_model
from digitlab.training import Change, RunControl, TrainConfig, train


@pytest.fixture(scope="module")
def changed_adam(splits):
    """Two epochs of Adam whose learning rate and L2 lambda a person changed before the first step."""
    control = RunControl()
    control.change("learning_rate", 0.003)
    control.change("l2", 2.0)
    config = TrainConfig(batch_size=64, eval_every=5, max_epochs=2, learning_rate=0.001, optimizer="adam",
                         batch_norm=True)
    return train(config, splits, control=control)


@pytest.fixture(scope="module")
def apart(changed_adam):
    """``changed_adam`` with last and best weights that differ from the kept ones, so the file holds
    all three (a run that kept its best weights after worse last ones, with its best recorded
    before a keep_better)."""
    state = changed_adam.training_state
    nudged = dataclasses.replace(
        state, network={k: v + np.float32(1e-3) for k, v in state.network.items()},
        best_state={k: v - np.float32(1e-3) for k, v in state.best_state.items()})
    return dataclasses.replace(changed_adam, training_state=nudged)


def _edited(tmp_path, result, edit, name="edited.h5"):
    path = save_model(tmp_path / name, result)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _refused(path, *fragments):
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


@pytest.mark.parametrize("which", ["changed_adam", "apart"])
def test_changes_and_training_state_round_trip_exactly(tmp_path, request, which):
    changed_adam = request.getfixturevalue(which)
    state = changed_adam.training_state
    path = save_model(tmp_path / "a.h5", changed_adam)
    m = load_model(path)
    assert m.history.changes == [Change(0, "learning_rate", 0.001, 0.003), Change(0, "l2", 0.0, 2.0)]
    s = m.training_state
    for key in ("step", "epoch", "batch", "learning_rate", "l2", "lr", "cost_sum", "cost_count", "adam_t",
                "best_cost", "best_step", "since_best", "stuck", "dead", "optimizer"):
        assert getattr(s, key) == getattr(state, key), key
    assert s.first_cost == state.first_cost
    for name in ("network", "optimizer_arrays", "best_state"):
        ours, theirs = getattr(s, name), getattr(state, name)
        assert sorted(ours) == sorted(theirs)
        for key in ours:
            assert ours[key].tobytes() == theirs[key].tobytes(), (name, key)
    assert sorted(s.optimizer_arrays) == ["m", "v"]
    assert read_model_info(path)["can_continue"] and check_model_file(path)["can_continue"]
    # saved again from the loaded model: the same record
    again = load_model(save_model(tmp_path / "b.h5", m))
    assert again.history.changes == m.history.changes
    assert again.training_state.network["W1"].tobytes() == s.network["W1"].tobytes()


def test_the_layout_is_documented_plain_hdf5(tmp_path, changed_adam, apart):
    with h5py.File(save_model(tmp_path / "same.h5", changed_adam), "r") as f:
        # its last weights are its best, and the kept ones: stored once, in /layers
        g = f["training_state"]
        assert changed_adam.best_step == changed_adam.steps
        assert set(g) == {"optimizer"} and g.attrs["last_is_model"] and g.attrs["best_is_model"]
    path = save_model(tmp_path / "a.h5", apart)
    with h5py.File(path, "r") as f:
        lr = f["changes/learning_rate"]
        assert list(lr.attrs["columns"]) == ["step", "old", "new"]
        np.testing.assert_array_equal(lr[()], [[0, 0.001, 0.003]])
        g = f["training_state"]
        assert g.attrs["optimizer"] == "adam" and g.attrs["step"] == changed_adam.steps
        assert g["optimizer/m"].shape == (changed_adam.network.params.size,)
        assert set(g) == {"last", "optimizer", "best"} and "last_is_model" not in g.attrs
        assert g["last/W1"].shape == (784, 20) and g["last/running_var1"].shape == (20,)
        assert g["best/W1"].shape == (784, 20)


def test_an_older_file_without_them_loads_as_before(tmp_path, changed_adam, splits):
    def drop(f):
        del f["changes"]
        del f["training_state"]
    m = load_model(_edited(tmp_path, changed_adam, drop))
    assert m.history.changes == [] and m.training_state is None
    assert len(m.history) == len(changed_adam.history)
    assert np.array_equal(m.network.predict_proba(splits.x_val),
                          changed_adam.network.predict_proba(splits.x_val))
    assert read_model_info(m.path)["can_continue"] is False


def test_a_run_without_changes_writes_no_changes_group(tmp_path, result_plain):
    with h5py.File(save_model(tmp_path / "a.h5", result_plain), "r") as f:
        assert "changes" not in f and "training_state" in f
        assert "optimizer" in f["training_state"] and not list(f["training_state/optimizer"])   # SGD: none


@pytest.mark.parametrize("edit, fragments", [
    (lambda f: _replace(f, "training_state/last/W1", np.zeros((20, 784), np.float32)),
     ["/training_state/last/W1 has shape (20, 784) but the layer sizes say (784, 20)"]),
    (lambda f: f["training_state"].attrs.__setitem__("optimizer", "sgd"),
     ["/training_state is of the optimiser 'sgd' but /config says 'adam'"]),
    (lambda f: _replace(f, "training_state/optimizer/m", np.full(17, 0.1, np.float32)),
     ["the optimiser's m (/training_state/optimizer/m) has shape (17,)"]),
    (lambda f: _replace(f, "training_state/optimizer/v", -np.ones(f["training_state/optimizer/v"].shape,
                                                                   np.float32)),
     ["has negative values"]),
    (lambda f: _replace(f, "training_state/optimizer/m", np.full(f["training_state/optimizer/m"].shape,
                                                                  np.nan, np.float32)),
     ["non-finite"]),
    (lambda f: f.__delitem__("training_state/optimizer/v"), ["(/training_state/optimizer/v) is missing"]),
    (lambda f: f["training_state"].attrs.__setitem__("learning_rate", -1.0),
     ["learning_rate must be > 0"]),
    (lambda f: f["training_state"].attrs.__setitem__("step", -3), ["step attribute of /training_state"]),
    (lambda f: f["training_state"].attrs.__delitem__("elapsed"), ["lacks its elapsed attribute"]),
    (lambda f: _replace(f, "changes/l2", np.array([[0.0, 0.0, -5.0]])), ["l2 must be >= 0"]),
    (lambda f: _replace(f, "changes/l2", np.array([[0.5, 0.0, 5.0]])), ["not a whole number of steps"]),
    (lambda f: _replace(f, "changes/l2", np.zeros((2, 5))), ["have shape (2, 5), not (changes, 3)"]),
    (lambda f: _link_elsewhere(f, "training_state/last"), ["external link"]),
])
def test_a_damaged_or_hostile_record_is_refused_with_a_reason(tmp_path, apart, edit, fragments):
    _refused(_edited(tmp_path, apart, edit), *fragments)


def test_a_flag_without_best_cost_is_refused(tmp_path, changed_adam):
    def drop(f):
        del f["training_state"].attrs["best_cost"]
    _refused(_edited(tmp_path, changed_adam, drop), "/training_state has best weights but no best cost")


def _replace(f, name, data):
    parent, key = name.rsplit("/", 1)
    del f[name]
    f[parent].create_dataset(key, data=data)


def _link_elsewhere(f, name):
    del f[name]
    f[name] = h5py.ExternalLink("/etc/passwd", "/x")
