"""Model files record the hidden activation and the dropout rates: saved, read back, documented,
old files read as ReLU without dropout, and an activation this digitlab does not know is refused
by name. The ONNX export maps each activation to its operator."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from digitlab.io import ModelFileError, load_model, read_model_info, save_model
from digitlab.nn.activations import ACTIVATIONS
from digitlab.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]


def _trained(splits, **changes):
    config = TrainConfig(batch_size=64, eval_every=5, max_epochs=1, learning_rate=0.05, **changes)
    return train(config, splits)


@pytest.fixture(scope="module", params=sorted(ACTIVATIONS))
def trained(request, splits):
    return _trained(splits, activation=request.param, dropout=(0.2, 0.1, 0.0), batch_norm=True,
                    name=request.param)


def test_the_activation_and_dropout_are_saved_and_read_back(tmp_path, trained, splits):
    path = save_model(tmp_path / "m.h5", trained)
    with h5py.File(path) as f:
        assert f["layers"].attrs["hidden_activation"] == trained.config.activation
        assert f["config"].attrs["activation"] == trained.config.activation
        np.testing.assert_array_equal(f["config"].attrs["dropout"], [0.2, 0.1, 0.0])
    model = load_model(path)
    assert model.network.activation == trained.config.activation
    assert model.config.dropout == (0.2, 0.1, 0.0) and model.config == trained.config
    assert read_model_info(path)["activation"] == trained.config.activation
    assert np.array_equal(model.network.predict_proba(splits.x_test),
                          trained.network.predict_proba(splits.x_test))


def test_docs_snippet_rebuilds_every_activation(tmp_path, trained, splits):
    text = (ROOT / "docs" / "model-format.md").read_text()
    snippet = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "def predict_proba" in b][0]
    namespace = {}
    exec(compile(snippet, "docs/model-format.md", "exec"), namespace)
    got = namespace["predict_proba"](str(save_model(tmp_path / "m.h5", trained)), splits.x_test)
    want = trained.network.predict_proba(splits.x_test)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_a_run_without_dropout_writes_no_dropout_attribute(tmp_path, splits):
    path = save_model(tmp_path / "m.h5", _trained(splits, dropout=0.0))
    with h5py.File(path) as f:
        assert "dropout" not in f["config"].attrs
    assert load_model(path).config.dropout == ()


def test_a_file_from_before_activations_were_recorded_reads_as_relu(tmp_path, result_plain, splits):
    path = save_model(tmp_path / "old.h5", result_plain)
    with h5py.File(path, "r+") as f:         # what files written before this change hold
        del f["config"].attrs["activation"]
        del f["layers"].attrs["hidden_activation"]
    model = load_model(path)
    assert model.network.activation == "relu" and model.config.activation == "relu"
    assert model.config.dropout == ()
    assert np.array_equal(model.network.predict_proba(splits.x_test),
                          result_plain.network.predict_proba(splits.x_test))


@pytest.mark.parametrize("where", ["layers", "config", "both"])
def test_an_unknown_activation_is_refused_by_name(tmp_path, result_plain, where):
    path = save_model(tmp_path / "new.h5", result_plain)
    with h5py.File(path, "r+") as f:
        if where in ("layers", "both"):
            f["layers"].attrs["hidden_activation"] = "swish"
        if where in ("config", "both"):
            f["config"].attrs["activation"] = "swish"
    for loader in (load_model, read_model_info):
        with pytest.raises(ModelFileError) as info:
            loader(path)
        text = str(info.value)
        assert "'swish', an activation this digitlab does not know" in text, text
        assert "relu, leaky_relu, tanh, sigmoid" in text and str(path) in text


def test_activations_that_disagree_are_refused(tmp_path, result_plain):
    path = save_model(tmp_path / "edited.h5", result_plain)
    with h5py.File(path, "r+") as f:
        f["layers"].attrs["hidden_activation"] = "tanh"
    with pytest.raises(ModelFileError, match="/layers says hidden_activation is 'tanh' but /config says "
                                             "activation is 'relu'; one of them was edited"):
        load_model(path)


@pytest.mark.parametrize("rates, phrase", [
    ([0.5, 1.0, 0.0], "a dropout rate must be in \\[0, 1\\)"),
    ([0.5, -0.1, 0.0], "a dropout rate must be in \\[0, 1\\)"),
    ([0.2, 0.2], "dropout gives 2 rates but the network has 3 hidden layers"),
])
def test_bad_dropout_rates_in_a_file_are_refused(tmp_path, result_plain, rates, phrase):
    path = save_model(tmp_path / "edited.h5", result_plain)
    with h5py.File(path, "r+") as f:
        f["config"].attrs["dropout"] = np.asarray(rates)
    with pytest.raises(ModelFileError, match=f"training settings are invalid \\({phrase}"):
        load_model(path)


def test_onnx_export_computes_every_activation(tmp_path, trained, splits):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from digitlab.io import export_weights
    path = export_weights(trained, tmp_path / "m.onnx", fmt="onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"pixels": splits.x_test})[0]
    np.testing.assert_allclose(got, trained.network.predict_proba(splits.x_test), rtol=1e-4, atol=1e-6)
    import onnx
    ops = {n.op_type: n for n in onnx.load(str(path)).graph.node}
    want = {"relu": "Relu", "leaky_relu": "LeakyRelu", "tanh": "Tanh", "sigmoid": "Sigmoid"}
    assert want[trained.config.activation] in ops
    if trained.config.activation == "leaky_relu":
        assert [a.f for a in ops["LeakyRelu"].attribute if a.name == "alpha"] == [pytest.approx(0.01)]
