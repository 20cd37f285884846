"""Weight export: every format reads back equal to the network's arrays."""

import json
import os

import numpy as np
import pytest

from digitlab.io import ModelFileError, export_weights, load_model, named_arrays, save_model
from digitlab.io import export as export_module
from digitlab.nn import Network, softmax


def _expected(net):
    names = []
    for layer in range(1, net.n_layers + 1):
        names += [f"W{layer}", f"b{layer}"]
        if net.batch_norm and layer < net.n_layers:
            names += [f"gamma{layer}", f"beta{layer}", f"running_mean{layer}", f"running_var{layer}"]
    return names


def _forward(arrays, layer_sizes, batch_norm, eps, X):
    """The forward pass from exported arrays alone (as an outside user would write it)."""
    A = X.astype(np.float64)
    L = len(layer_sizes) - 1
    for layer in range(1, L + 1):
        Z = A @ arrays[f"W{layer}"] + arrays[f"b{layer}"]
        if layer == L:
            return softmax(Z)
        if batch_norm:
            Z = (arrays[f"gamma{layer}"] * (Z - arrays[f"running_mean{layer}"])
                 / np.sqrt(arrays[f"running_var{layer}"] + eps) + arrays[f"beta{layer}"])
        A = np.maximum(Z, 0)


def test_named_arrays_order_and_values(result_bn):
    net = result_bn.network
    arrays = named_arrays(net)
    assert list(arrays) == _expected(net)
    assert arrays["W2"].shape == (20, 7) and arrays["gamma3"].shape == (5,)
    assert np.array_equal(arrays["running_var1"], net.running_vars[0])
    arrays["W1"][0, 0] += 1        # copies, not views
    assert arrays["W1"][0, 0] != net.weights[0][0, 0]


def test_npz(tmp_path, result, splits):
    net = result.network
    path = export_weights(result, tmp_path / "w.npz")
    assert path == tmp_path / "w.npz"
    with np.load(path) as z:
        assert set(z.files) == set(_expected(net)) | {"layer_sizes", "batch_norm", "bn_eps"}
        for name, arr in named_arrays(net).items():
            assert z[name].dtype == arr.dtype and np.array_equal(z[name], arr), name
        assert list(z["layer_sizes"]) == list(net.layer_sizes)
        assert bool(z["batch_norm"]) == net.batch_norm and float(z["bn_eps"]) == net.bn_eps
        probs = _forward({k: z[k] for k in z.files}, net.layer_sizes, net.batch_norm,
                         float(z["bn_eps"]), splits.x_test)
    np.testing.assert_allclose(probs, net.predict_proba(splits.x_test), rtol=1e-4, atol=1e-6)


def test_json(tmp_path, result_bn, splits):
    net = result_bn.network
    path = export_weights(result_bn, tmp_path / "w.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == "digitlab-weights" and doc["format_version"] == 1
    assert doc["layer_sizes"] == list(net.layer_sizes) and doc["batch_norm"] is True
    assert doc["bn_eps"] == net.bn_eps and doc["hidden_activation"] == "relu"
    assert list(doc["arrays"]) == _expected(net)
    for name, arr in named_arrays(net).items():
        # float32 -> JSON -> float32 is exact.
        assert np.array_equal(np.asarray(doc["arrays"][name], dtype=np.float32), arr), name
    assert doc["config"] == json.loads(json.dumps(result_bn.config.to_dict()))
    assert doc["metrics"] == result_bn.metrics
    arrays = {k: np.asarray(v) for k, v in doc["arrays"].items()}
    probs = _forward(arrays, doc["layer_sizes"], True, doc["bn_eps"], splits.x_test)
    np.testing.assert_allclose(probs, net.predict_proba(splits.x_test), rtol=1e-4, atol=1e-6)


def test_json_of_saved_model_has_provenance(tmp_path, result_plain):
    saved = load_model(save_model(tmp_path / "m.h5", result_plain, dataset_checksum="abc"))
    doc = json.loads(export_weights(saved, tmp_path / "w", "json").read_text())
    assert (tmp_path / "w.json").is_file()
    assert doc["name"] == "plain" and doc["dataset_checksum"] == "abc"
    assert doc["created"] == saved.created


def test_json_of_bare_network(tmp_path):
    net = Network((4, 3, 2), seed=1)
    doc = json.loads(export_weights(net, tmp_path / "n.json").read_text())
    assert "config" not in doc and "metrics" not in doc
    assert np.array_equal(np.asarray(doc["arrays"]["W1"], np.float32), net.weights[0])


def test_csv_folder(tmp_path, result_bn):
    net = result_bn.network
    folder = export_weights(result_bn, tmp_path / "weights")
    assert folder == tmp_path / "weights" and folder.is_dir()
    names = _expected(net)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{n}.csv" for n in names] + ["manifest.json", "README.txt"])
    for name, arr in named_arrays(net).items():
        back = np.loadtxt(folder / f"{name}.csv", delimiter=",", dtype=np.float32)
        assert back.shape == arr.shape and np.array_equal(back, arr), name
    W1 = np.loadtxt(folder / "W1.csv", delimiter=",")
    assert W1.shape == (784, 20)            # fan_in rows, fan_out columns
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {f"{n}.csv" for n in names}
    assert manifest["files"]["W2.csv"]["shape"] == [20, 7]
    assert "20 rows" in manifest["files"]["W2.csv"]["description"]
    assert manifest["layer_sizes"] == [784, 20, 7, 5, 10] and manifest["metrics"] == result_bn.metrics
    readme = (folder / "README.txt").read_text()
    assert "W1.csv" in readme and "running_var3.csv" in readme and "softmax" in readme
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]     # no temp left


def test_csv_float64_exact(tmp_path, result_plain):
    net = result_plain.network.copy(dtype=np.float64)
    net.weights[0][0, 0] = 1 / 3
    folder = export_weights(net, tmp_path / "w64", "csv")
    back = np.loadtxt(folder / "W1.csv", delimiter=",")
    assert np.array_equal(back, net.weights[0])


def test_csv_suffix_means_folder(tmp_path, result_plain):
    folder = export_weights(result_plain, tmp_path / "layers.csv")
    assert folder == tmp_path / "layers" and (folder / "W4.csv").is_file()
    assert not (tmp_path / "layers.csv").exists()


def test_csv_into_existing_empty_folder(tmp_path, result_plain):
    (tmp_path / "out").mkdir()
    folder = export_weights(result_plain, tmp_path / "out")
    assert (folder / "b1.csv").is_file()


def test_csv_refuses_non_empty_folder_unless_overwrite(tmp_path, result_plain, result_bn):
    folder = export_weights(result_plain, tmp_path / "out")
    with pytest.raises(ModelFileError, match=r"out.*not empty.*overwrit"):
        export_weights(result_bn, folder)
    assert not (folder / "gamma1.csv").exists()
    export_weights(result_bn, folder, overwrite=True)
    assert (folder / "gamma1.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_csv_failure_keeps_previous_export(tmp_path, result_plain, result_bn, monkeypatch):
    folder = export_weights(result_plain, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real = np.savetxt
    calls = []

    def flaky(fname, *args, **kwargs):
        calls.append(fname)
        if len(calls) == 5:
            raise OSError("disk full (simulated)")
        return real(fname, *args, **kwargs)

    monkeypatch.setattr(export_module.np, "savetxt", flaky)
    with pytest.raises(OSError, match="simulated"):
        export_weights(result_bn, folder, overwrite=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_single_file_export_keeps_existing_file(tmp_path, result_plain, result_bn,
                                                       monkeypatch):
    path = export_weights(result_plain, tmp_path / "w.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(export_module.np, "savez", boom)
    with pytest.raises(OSError, match="simulated"):
        export_weights(result_bn, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_csv_target_is_a_file(tmp_path, result_plain):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ModelFileError, match="is a file"):
        export_weights(result_plain, tmp_path / "taken", "csv")


def test_format_inference_and_errors(tmp_path, result_plain):
    assert export_weights(result_plain, tmp_path / "a", "npz") == tmp_path / "a.npz"
    assert export_weights(result_plain, tmp_path / "b.csv", "csv") == tmp_path / "b"
    with pytest.raises(ValueError, match=r"\.npz, \.json or \.onnx"):
        export_weights(result_plain, tmp_path / "w.txt")
    with pytest.raises(ValueError, match="must be one of npz, json, csv, onnx"):
        export_weights(result_plain, tmp_path / "w", "xlsx")
    with pytest.raises(TypeError, match="SavedModel, TrainResult or Network"):
        export_weights({"W1": 1}, tmp_path / "w.npz")
