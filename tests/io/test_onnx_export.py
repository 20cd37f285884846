"""ONNX export: every shipped model, run in onnxruntime on all 10,000 MNIST test images, classifies
every image as digitlab does with probabilities within 1e-5; the graph, its metadata, the command
line, the documented three-line example, and the message when the onnx extra is missing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from digitlab.atomic import OutputError
from digitlab.cli import main
from digitlab.data import load_dataset
from digitlab.io import MissingExtraError, export_weights, load_model, named_arrays
from digitlab.io.onnx_export import MISSING_EXTRA, ONNX_OPS, OPSET
from digitlab.nn import Network
from digitlab.nn.activations import ACTIVATIONS
from digitlab.paths import bundled_models_dir

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "model-format.md"
README = ROOT / "README.md"
SHIPPED = sorted(bundled_models_dir().glob("*.h5"))
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def mnist_test():
    """MNIST's test images as uint8 (10000, 28, 28), their labels, and the network input in [0, 1]."""
    data = load_dataset()
    x = (data.test_images.reshape(-1, 784) / 255).astype(np.float32)
    return data.test_images, data.test_labels, x


def _session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(path, x):
    probabilities, logits = _session(path).run(["probabilities", "logits"], {"pixels": x})
    return probabilities, logits


# ---------------------------------------------------------------------------- MNIST round trip
def test_the_shipped_models_cover_both_kinds_of_network():
    kinds = {load_model(p).network.batch_norm for p in SHIPPED}
    assert kinds == {True, False}, "the round trip below should see networks with and without batch norm"


@pytest.mark.parametrize("model_path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_model_in_onnxruntime_matches_digitlab_on_mnist_test(tmp_path, model_path, mnist_test):
    _, labels, x = mnist_test
    model = load_model(model_path)
    path = export_weights(model, tmp_path / f"{model_path.stem}.onnx")
    assert path == tmp_path / f"{model_path.stem}.onnx"
    probabilities, logits = _run(path, x)
    want = model.network.predict_proba(x)
    assert probabilities.shape == (10_000, 10) and probabilities.dtype == np.float32
    assert np.array_equal(probabilities.argmax(1), want.argmax(1))          # every image
    assert np.abs(probabilities - want).max() < TOLERANCE
    np.testing.assert_allclose(logits, model.network.logits(x), atol=1e-4, rtol=1e-5)
    # the file's accuracy is the one the model file states
    accuracy = np.mean(probabilities.argmax(1) == labels)
    assert accuracy == pytest.approx(model.metrics["test_accuracy"], abs=1e-9)


def test_the_batch_dimension_is_dynamic(tmp_path, mnist_test):
    model = load_model(bundled_models_dir() / "best.h5")
    path = export_weights(model, tmp_path / "best.onnx")
    graph = onnx.load(path).graph
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and not dims[0].HasField("dim_value"), value.name
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:] == [784]
    session, x = _session(path), mnist_test[2]
    for n in (1, 3, 257):
        (p,) = session.run(["probabilities"], {"pixels": x[:n]})
        assert p.shape == (n, 10)
        assert np.abs(p - model.network.predict_proba(x[:n])).max() < TOLERANCE


# ---------------------------------------------------------------------------- the graph
def test_graph_holds_the_forward_pass_of_the_docs(tmp_path, result):
    network = result.network
    proto = onnx.load(export_weights(result, tmp_path / "n.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == OPSET and proto.producer_name == "digitlab"
    assert [i.name for i in proto.graph.input] == ["pixels"]
    assert [o.name for o in proto.graph.output] == ["probabilities", "logits"]
    hidden = ["Gemm", "BatchNormalization", "Relu"] if network.batch_norm else ["Gemm", "Relu"]
    assert [n.op_type for n in proto.graph.node] == hidden * (network.n_layers - 1) + ["Gemm", "Softmax"]
    if network.batch_norm:
        bn = next(n for n in proto.graph.node if n.op_type == "BatchNormalization")
        assert onnx.helper.get_attribute_value(bn.attribute[0]) == pytest.approx(network.bn_eps)
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    arrays = named_arrays(network)
    assert list(stored) == list(arrays)                  # the export names, in the walk's order
    for name, array in arrays.items():
        assert stored[name].dtype == array.dtype and np.array_equal(stored[name], array), name


def test_the_synthetic_networks_match_too(tmp_path, result, splits):
    path = export_weights(result, tmp_path / "n.onnx")
    probabilities, _ = _run(path, splits.x_test)
    want = result.network.predict_proba(splits.x_test)
    assert np.array_equal(probabilities.argmax(1), want.argmax(1))
    assert np.abs(probabilities - want).max() < TOLERANCE


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_float64_network_is_exported_in_float64(tmp_path, batch_norm, splits):
    network = Network((784, 12, 10), batch_norm=batch_norm, seed=4, dtype=np.float64)
    if batch_norm:       # running statistics other than the initial 0 and 1, so they are tested
        network.running_means[0][:] = np.linspace(-1, 1, 12)
        network.running_vars[0][:] = np.linspace(0.5, 2, 12)
    path = export_weights(network, tmp_path / "n64.onnx")
    x = splits.x_test.astype(np.float64)
    probabilities, _ = _run(path, x)
    assert probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities, network.predict_proba(x), rtol=0, atol=1e-12)


def test_every_activation_of_digitlab_has_an_onnx_operator():
    missing = set(ACTIVATIONS) - set(ONNX_OPS)
    assert not missing, f"add an ONNX operator for {sorted(missing)} to digitlab.io.onnx_export.ONNX_OPS"


def test_an_activation_without_an_onnx_operator_is_refused_by_name(tmp_path):
    network = Network((784, 8, 10), seed=1)
    network.activation = "swish"     # what a future activation table entry without a mapping looks like
    target = tmp_path / "n.onnx"
    with pytest.raises(ValueError, match="activation 'swish' has no ONNX operator"):
        export_weights(network, target)
    assert list(tmp_path.iterdir()) == []             # nothing written, no temporary file left


def test_metadata_holds_the_settings_and_metrics(tmp_path):
    import json
    model = load_model(bundled_models_dir() / "report-l2-bn.h5")
    path = export_weights(model, tmp_path / "m.onnx")
    meta = {k: json.loads(v) for k, v in _session(path).get_modelmeta().custom_metadata_map.items()}
    for key, value in model.config.to_dict().items():
        assert meta[f"config.{key}"] == value, key
    for key, value in model.metrics.items():
        assert meta[f"metrics.{key}"] == pytest.approx(value, rel=1e-12), key
    assert meta["config.l2"] > 0 and meta["config.batch_norm"] is True
    assert meta["layer_sizes"] == list(model.network.layer_sizes)
    assert meta["batch_norm"] is True and meta["bn_eps"] == model.network.bn_eps
    assert meta["hidden_activation"] == "relu" and meta["input_range"] == [0.0, 1.0]
    assert "scaled to [0, 1]" in meta["input"]
    assert meta["name"] == model.name and meta["dataset_checksum"] == model.dataset_checksum
    assert meta["stop_reason"] == model.stop_reason and meta["steps"] == model.steps


def test_a_failed_export_keeps_the_file_it_would_replace(tmp_path, result_plain):
    target = tmp_path / "n.onnx"
    target.write_bytes(b"the previous export")
    network = result_plain.network.copy()
    network.activation = "swish"
    with pytest.raises(ValueError):
        export_weights(network, target)
    assert target.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.onnx"]
    export_weights(result_plain, target)                   # a good export replaces it, whole
    assert onnx.load(target).graph.output[0].name == "probabilities"


def test_the_export_never_replaces_its_own_model_file(tmp_path, result_plain):
    source = tmp_path / "m.onnx"
    source.write_bytes(b"pretend this is the model the export reads")
    with pytest.raises(OutputError):
        export_weights(result_plain, source, inputs=[source])
    assert source.read_bytes() == b"pretend this is the model the export reads"


def test_the_format_follows_the_onnx_suffix(tmp_path, result_plain):
    path = export_weights(result_plain, tmp_path / "n.onnx")           # no fmt: from the suffix
    assert onnx.load(path).graph.input[0].name == "pixels"
    assert export_weights(result_plain, tmp_path / "plain", "onnx") == tmp_path / "plain.onnx"


# ---------------------------------------------------------------------------- the documented example
def _documented_example(doc) -> str:
    text = doc.read_text(encoding="utf-8")
    found = re.search(r"<!-- onnx-example -->\n```python\n(.*?)```", text, flags=re.S)
    assert found, f"{doc} needs the marker <!-- onnx-example --> followed by a python block"
    return found.group(1)


@pytest.mark.parametrize("doc", [README, DOC], ids=["README", "model-format"])
def test_the_three_line_onnxruntime_example_runs(doc, tmp_path, monkeypatch, mnist_test):
    example = _documented_example(doc)
    assert len(example.strip().splitlines()) == 3
    assert "digitlab" not in example                       # onnxruntime alone
    images, _, x = mnist_test
    model = load_model(bundled_models_dir() / "best.h5")
    export_weights(model, tmp_path / "best.onnx")
    monkeypatch.chdir(tmp_path)
    namespace = {"images": images}                         # uint8 (10000, 28, 28), as MNIST ships
    exec(compile(example, str(doc), "exec"), namespace)
    probabilities = namespace["probabilities"]
    want = model.network.predict_proba(x)
    assert probabilities.shape == (10_000, 10)
    assert np.array_equal(probabilities.argmax(1), want.argmax(1))
    assert np.abs(probabilities - want).max() < TOLERANCE


# ---------------------------------------------------------------------------- the command line
def test_cli_exports_onnx(tmp_path, capsys, mnist_test):
    model_path = bundled_models_dir() / "report-no-l2.h5"
    assert main(["export", str(model_path), "--format", "onnx", "--out", str(tmp_path / "net")]) == 0
    out = tmp_path / "net.onnx"
    assert capsys.readouterr().out.strip() == f"exported {out}"
    x = mnist_test[2][:500]
    probabilities, _ = _run(out, x)
    assert np.abs(probabilities - load_model(model_path).network.predict_proba(x)).max() < TOLERANCE
    # an existing file is replaced only with --force
    assert main(["export", str(model_path), "--format", "onnx", "--out", str(out)]) == 2
    assert "add --force" in capsys.readouterr().err
    assert main(["export", str(model_path), "--format", "onnx", "--out", str(out), "--force"]) == 0


def test_cli_exports_a_library_model_by_name_into_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["export", "pad", "--format", "onnx"]) == 0
    assert onnx.load(tmp_path / "pad.onnx").graph.output[0].name == "probabilities"


@pytest.mark.parametrize("name, fmt", [("net.onnx", "onnx"), ("net.ONNX", "onnx"), ("w.json", "json"),
                                       ("w.npz", "npz"), ("w.bin", "npz")])
def test_cli_takes_the_format_from_the_out_suffix(tmp_path, name, fmt):
    model_path = bundled_models_dir() / "report-l2.h5"
    out = tmp_path / name
    assert main(["export", str(model_path), "--out", str(out)]) == 0
    data = out.read_bytes()
    if fmt == "onnx":
        assert onnx.load_from_string(data).graph.input[0].name == "pixels"
    elif fmt == "json":
        assert data.startswith(b"{")
    else:
        assert data.startswith(b"PK")                      # a NumPy archive is a zip file


def _without_onnx(monkeypatch):
    """As on a base install: ``import onnx`` fails (a None in sys.modules halts the import)."""
    monkeypatch.setitem(sys.modules, "onnx", None)


def test_cli_without_the_extra_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    _without_onnx(monkeypatch)
    model_path = bundled_models_dir() / "best.h5"
    assert main(["export", str(model_path), "--format", "onnx", "--out", str(tmp_path / "n.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"digitlab export: {MISSING_EXTRA}"
    assert "pip install 'digitlab[onnx]'" in err
    assert list(tmp_path.iterdir()) == []
    # the other formats need nothing extra
    assert main(["export", str(model_path), "--format", "npz", "--out", str(tmp_path / "n.npz")]) == 0


def test_export_without_the_extra_raises_missing_extra(tmp_path, monkeypatch, result_plain):
    _without_onnx(monkeypatch)
    with pytest.raises(MissingExtraError) as info:
        export_weights(result_plain, tmp_path / "n.onnx")
    assert str(info.value) == MISSING_EXTRA


def test_a_broken_onnx_install_is_named_as_such(tmp_path, monkeypatch, result_plain):
    """onnx present but failing inside: the message says so, with the reason, not just "install it"."""
    import builtins
    real_import = builtins.__import__

    def failing(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("cannot import name 'onnx_cpp2py_export'", name="onnx.onnx_cpp2py_export")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing)
    with pytest.raises(MissingExtraError, match="it is installed but cannot be imported: cannot import name"):
        export_weights(result_plain, tmp_path / "n.onnx")


def test_the_base_install_never_imports_onnx():
    """digitlab, its io and its command line load without onnx (the extra is imported on export)."""
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None\n"
            "import digitlab.io, digitlab.io.export, digitlab.io.onnx_export, digitlab.cli\n"
            "import digitlab.library\n"
            "print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


def test_the_extra_the_message_names_exists_and_brings_onnx():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    name = re.search(r"digitlab\[(\w+)\]", MISSING_EXTRA).group(1)
    assert any(re.match(r"onnx\b(?!runtime)", req) for req in extras[name])
    # the tests run onnx and onnxruntime, and CI installs the test extra
    assert {re.match(r"[\w-]+", req).group(0) for req in extras["test"]} >= {"onnx", "onnxruntime"}
    assert not any(req.startswith("onnx") for req in project["dependencies"])   # the base install as it was
