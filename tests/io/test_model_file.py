"""HDF5 model files: exact round trips, readable layout, atomic writes, clear errors for bad files."""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import digitlab
from digitlab.io import (
    FORMAT_VERSION,
    ModelFileError,
    SavedModel,
    load_model,
    model_file,
    read_model_info,
    save_model,
)
from digitlab.training import CHECK_FIELDS, History, TrainConfig

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- round trips
def test_round_trip_is_exact(tmp_path, result, splits):
    path = save_model(tmp_path / "model.h5", result, dataset_name="synthetic",
                      dataset_checksum=splits.checksum)
    assert path == tmp_path / "model.h5"
    m = load_model(path)
    net, orig = m.network, result.network

    # Bit-for-bit predictions, on a batch and on one image.
    assert np.array_equal(net.predict_proba(splits.x_test), orig.predict_proba(splits.x_test))
    assert np.array_equal(net.predict_one(splits.x_test[0]), orig.predict_one(splits.x_test[0]))
    # Every parameter and buffer, same dtype.
    assert net.dtype == orig.dtype == np.float32
    a, b = net.state(), orig.state()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
    assert (net.layer_sizes, net.batch_norm, net.bn_eps, net.bn_momentum, net.init, net.seed) == \
        (orig.layer_sizes, orig.batch_norm, orig.bn_eps, orig.bn_momentum, orig.init, orig.seed)

    assert m.config == result.config and m.config.name == result.config.name
    assert m.config.to_dict() == result.config.to_dict()
    assert len(m.history) == len(result.history) > 0
    assert m.history.checks == result.history.checks
    assert m.metrics == result.metrics and set(m.metrics) >= {"test_accuracy", "val_cost"}
    assert (m.stop_reason, m.message, m.best_step, m.epochs, m.steps, m.elapsed) == \
        (result.stop_reason, result.message, result.best_step, result.epochs, result.steps,
         result.elapsed)
    assert m.name == result.config.name
    assert m.dataset == "synthetic" and m.dataset_checksum == splits.checksum
    assert m.digitlab_version == digitlab.__version__
    assert m.format_version == FORMAT_VERSION == 1
    assert m.path == path
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m.created)
    assert m.mean_abs_weights == orig.mean_abs_weights()


def test_saved_model_saves_again_identically(tmp_path, result_bn, splits):
    first = load_model(save_model(tmp_path / "a.h5", result_bn, name="first"))
    second = load_model(save_model(tmp_path / "b.h5", first, dataset_checksum="ff00"))
    assert second.name == "first" and second.created == first.created
    assert second.dataset_checksum == "ff00"
    assert np.array_equal(second.network.predict_proba(splits.x_val),
                          result_bn.network.predict_proba(splits.x_val))
    renamed = load_model(save_model(tmp_path / "c.h5", first, name="renamed"))
    assert renamed.name == "renamed" and first.name == "first"


def test_float64_network_and_none_setting_round_trip(tmp_path, result_plain, splits):
    net64 = result_plain.network.copy(dtype=np.float64)
    config = result_plain.config.replace(train_subset=500, l2=0.25)
    model = SavedModel(network=net64, config=config, history=History(), metrics={}, name="f64")
    m = load_model(save_model(tmp_path / "m.h5", model))
    assert m.network.dtype == np.float64
    assert np.array_equal(m.network.predict_proba(splits.x_test), net64.predict_proba(splits.x_test))
    assert m.config.train_subset == 500 and len(m.history) == 0 and m.metrics == {}
    # train_subset=None is simply left out of /config and comes back as None.
    m2 = load_model(save_model(tmp_path / "n.h5", result_plain))
    assert m2.config.train_subset is None


def test_from_result_defaults_and_describe(result_bn):
    m = SavedModel.from_result(result_bn, dataset_checksum="abc")
    assert m.name == "bn" and m.dataset == result_bn.dataset == "synthetic" and m.path is None
    text = m.describe()
    assert text.startswith("bn: 784-20-7-5-10 BN") and "L2 5" in text and "epochs" in text
    assert f"{100 * result_bn.metrics['test_accuracy']:.2f} %" in text
    unnamed = SavedModel.from_result(dataclasses.replace(
        result_bn, config=result_bn.config.replace(name="")))
    assert unnamed.name == "784-20-7-5-10 L2 5 BN"
    assert unnamed.describe().startswith("784-20-7-5-10 BN, L2 5")


def test_layout_is_plain_hdf5(tmp_path, result_bn, splits):
    path = save_model(tmp_path / "m.h5", result_bn, dataset_name="mnist",
                      dataset_checksum=splits.checksum)
    net, cfg = result_bn.network, result_bn.config
    with h5py.File(path, "r") as f:
        a = f.attrs
        assert a["format"] == "digitlab-model" and a["format_version"] == 1
        assert a["digitlab_version"] == digitlab.__version__
        for key in ("name", "created", "stop_reason", "message", "dataset", "dataset_checksum",
                    "epochs", "steps", "best_step", "elapsed"):
            assert key in a, key
        assert a["steps"] == result_bn.steps and a["dataset_checksum"] == splits.checksum
        c = f["config"].attrs
        assert list(c["layer_sizes"]) == [784, 20, 7, 5, 10]
        assert (c["l2"], c["optimizer"], c["schedule"], bool(c["batch_norm"])) == \
            (5.0, "momentum", "cosine", True)
        for key in ("init", "init_std", "learning_rate", "momentum", "batch_size", "seed",
                    "eval_every", "patience", "max_epochs"):
            assert c[key] == getattr(cfg, key), key
        L = f["layers"].attrs
        assert list(L["layer_sizes"]) == list(net.layer_sizes) and bool(L["batch_norm"])
        assert L["bn_eps"] == net.bn_eps and L["bn_momentum"] == net.bn_momentum
        for layer in range(1, 5):
            g = f[f"layers/{layer}"]
            assert g["W"].shape == net.weights[layer - 1].shape and g["W"].dtype == np.float32
            assert np.array_equal(g["W"][()], net.weights[layer - 1])
            assert np.array_equal(g["b"][()], net.biases[layer - 1])
            if layer < 4:
                assert np.array_equal(g["gamma"][()], net.gammas[layer - 1])
                assert np.array_equal(g["beta"][()], net.betas[layer - 1])
                assert np.array_equal(g["running_mean"][()], net.running_means[layer - 1])
                assert np.array_equal(g["running_var"][()], net.running_vars[layer - 1])
            else:
                assert set(g) == {"W", "b"}
        h = f["history"]
        assert h.shape == (len(result_bn.history), 7)
        assert [str(c) for c in h.attrs["columns"]] == list(CHECK_FIELDS)
        assert np.array_equal(h[()], result_bn.history.as_array())
        assert dict(f["metrics"].attrs) == result_bn.metrics


def test_plain_network_has_no_bn_arrays(tmp_path, result_plain):
    path = save_model(tmp_path / "m.h5", result_plain)
    with h5py.File(path, "r") as f:
        assert not f["layers"].attrs["batch_norm"]
        assert all(set(f[f"layers/{layer}"]) == {"W", "b"} for layer in range(1, 5))


def test_read_model_info(tmp_path, result_bn):
    path = save_model(tmp_path / "m.h5", result_bn, dataset_checksum="abc")
    info = read_model_info(path)
    assert info["name"] == "bn" and info["dataset_checksum"] == "abc"
    assert info["config"] == result_bn.config
    assert info["layer_sizes"] == (784, 20, 7, 5, 10) and info["batch_norm"] is True
    assert info["metrics"] == result_bn.metrics
    assert info["format_version"] == 1 and info["epochs"] == result_bn.epochs
    assert info["path"] == path
    with pytest.raises(ModelFileError, match="no such file"):
        read_model_info(tmp_path / "nope.h5")


def test_save_creates_missing_folder_and_accepts_str(tmp_path, result_plain):
    path = save_model(str(tmp_path / "runs" / "deep" / "m.h5"), result_plain)
    assert path.is_file() and load_model(path).name == "plain"
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask      # not mkstemp's private 0o600


def test_save_refuses_non_finite_network(tmp_path, result_plain):
    net = result_plain.network.copy()
    net.weights[1][0, 0] = np.nan
    model = SavedModel(network=net, config=result_plain.config)
    with pytest.raises(ModelFileError, match=r"layer 2 weight W.*retrain"):
        save_model(tmp_path / "m.h5", model)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- atomic writes
def test_failed_save_keeps_existing_file(tmp_path, result_plain, result_bn, monkeypatch, splits):
    path = save_model(tmp_path / "m.h5", result_plain)
    before = path.read_bytes()
    original = model_file._write_layers

    def explode(f, net, arrays):
        original(f, net, arrays)          # the image half built, then the failure
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(model_file, "_write_layers", explode)
    with pytest.raises(OSError, match="simulated"):
        save_model(path, result_bn)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]      # no temp file left behind
    assert np.array_equal(load_model(path).network.predict_proba(splits.x_test),
                          result_plain.network.predict_proba(splits.x_test))


def test_failure_mid_write_removes_temp_file(tmp_path, result_plain, result_bn, monkeypatch):
    path = save_model(tmp_path / "m.h5", result_plain)
    before = path.read_bytes()
    real = h5py.Group.create_dataset
    seen = []

    def flaky(self, name, *args, **kwargs):
        seen.append(name)
        if name == "history":     # after every layer has been written into the temp file
            raise RuntimeError("interrupted (simulated)")
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", flaky)
    with pytest.raises(RuntimeError, match="simulated"):
        save_model(path, result_bn)
    monkeypatch.undo()
    assert "W" in seen
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]
    assert load_model(path).name == "plain"


def test_failed_replace_keeps_existing_file(tmp_path, result_plain, result_bn, monkeypatch):
    path = save_model(tmp_path / "m.h5", result_plain)
    before = path.read_bytes()

    def no_replace(src, dst):
        raise PermissionError(13, "Permission denied (simulated)")

    import digitlab.atomic
    monkeypatch.setattr(digitlab.atomic.os, "replace", no_replace)
    with pytest.raises(PermissionError):
        save_model(path, result_bn)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


# ---------------------------------------------------------------------------- bad files
def _expect(path, *fragments):
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    text = str(info.value)
    assert str(path) in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, ModelFileError)
    return text


def test_missing_file(tmp_path):
    _expect(tmp_path / "missing.h5", "no such file")


def test_directory(tmp_path):
    (tmp_path / "folder.h5").mkdir()
    _expect(tmp_path / "folder.h5", "is a folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    _expect(tmp_path / "empty.h5", "empty", "save or train the model again")


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.9])
def test_truncated_file(tmp_path, result_bn, keep):
    data = save_model(tmp_path / "full.h5", result_bn).read_bytes()
    bad = tmp_path / "cut.h5"
    bad.write_bytes(data[:int(len(data) * keep)])
    _expect(bad, "truncated", "again")


@pytest.mark.parametrize("where", [0.02, 0.1, 0.25, 0.5, 0.75, 0.95])
def test_corrupted_bytes_never_escape_as_raw_errors(tmp_path, result_bn, where):
    data = bytearray(save_model(tmp_path / "full.h5", result_bn).read_bytes())
    at = int(len(data) * where)
    data[at:at + 64] = np.random.default_rng(at).integers(0, 256, 64, dtype=np.uint8).tobytes()
    bad = tmp_path / "damaged.h5"
    bad.write_bytes(bytes(data))
    try:
        m = load_model(bad)           # raw weight bytes carry no checksum, so this may load
    except ModelFileError as e:
        assert str(bad) in str(e)
    else:
        with np.errstate(all="ignore"):    # garbage but finite weights may overflow
            assert m.network.predict_proba(np.zeros((1, 784), np.float32)).shape == (1, 10)


def test_png_file(tmp_path):
    png = tmp_path / "digit.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    _expect(png, "PNG image", "not a digitlab model")


def test_text_file(tmp_path):
    txt = tmp_path / "notes.h5"
    txt.write_text("hello, I am not a model\n")
    _expect(txt, "text file", "not a digitlab model")


def test_random_bytes(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(bytes(range(256)) * 8)
    _expect(junk, "not an HDF5 file")


def test_foreign_hdf5_file(tmp_path):
    other = tmp_path / "keras.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("model_weights", data=np.zeros((3, 3)))
    _expect(other, "HDF5 file but not a digitlab model", "model_weights")


def _copy_and_edit(tmp_path, result, edit, name="edited.h5"):
    path = save_model(tmp_path / name, result)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def test_newer_format_version(tmp_path, result_plain):
    def bump(f):
        f.attrs["format_version"] = 2
    path = _copy_and_edit(tmp_path, result_plain, bump)
    _expect(path, "was written by a newer digitlab (format 2); this version reads format 1; "
                  "update digitlab")
    with pytest.raises(ModelFileError, match="newer digitlab"):
        read_model_info(path)


def test_nonsense_format_version(tmp_path, result_plain):
    def bad(f):
        f.attrs["format_version"] = "one"
    _expect(_copy_and_edit(tmp_path, result_plain, bad), "format_version is 'one'")


def test_misshaped_weight(tmp_path, result_plain):
    def reshape(f):
        del f["layers/2/W"]
        f["layers/2"].create_dataset("W", data=np.zeros((3, 4), np.float32))
    _expect(_copy_and_edit(tmp_path, result_plain, reshape),
            "layer 2 weight W has shape (3, 4) but the layer sizes say (20, 7)")


def test_missing_dataset(tmp_path, result_bn):
    def drop(f):
        del f["layers/3/running_var"]
    _expect(_copy_and_edit(tmp_path, result_bn, drop), "layer 3 running_var", "is missing")


def test_missing_layer(tmp_path, result_plain):
    def drop(f):
        del f["layers/4"]
    _expect(_copy_and_edit(tmp_path, result_plain, drop), "layer 4", "is missing")


def test_missing_layers_group(tmp_path, result_plain):
    def drop(f):
        del f["layers"]
    _expect(_copy_and_edit(tmp_path, result_plain, drop), "/layers group is missing")


def test_missing_config(tmp_path, result_plain):
    def drop(f):
        del f["config"]
    _expect(_copy_and_edit(tmp_path, result_plain, drop), "/config group is missing")


def test_invalid_config(tmp_path, result_plain):
    def bad(f):
        f["config"].attrs["batch_size"] = -3
    _expect(_copy_and_edit(tmp_path, result_plain, bad), "batch_size must be an integer > 0, got -3")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights(tmp_path, result_plain, value):
    def poison(f):
        W = f["layers/3/W"]
        data = W[()]
        data[1, 2] = value
        data[0, 0] = value
        W[...] = data
    _expect(_copy_and_edit(tmp_path, result_plain, poison),
            "layer 3 weight W contains 2 non-finite values (NaN or infinity)")


def test_newer_file_with_unknown_config_keys_still_loads(tmp_path, result_plain, splits):
    def extend(f):
        f["config"].attrs["warmup_steps"] = 10
    m = load_model(_copy_and_edit(tmp_path, result_plain, extend))
    assert m.config == result_plain.config


def test_history_with_reordered_columns(tmp_path, result_plain):
    def reorder(f):
        data = f["history"][()]
        del f["history"]
        cols = list(CHECK_FIELDS)[::-1]
        ds = f.create_dataset("history", data=data[:, ::-1])
        ds.attrs["columns"] = np.array(cols, dtype=h5py.string_dtype())
    m = load_model(_copy_and_edit(tmp_path, result_plain, reorder))
    assert m.history.checks == result_plain.history.checks


# ---------------------------------------------------------------------------- docs snippet
def _doc_snippet() -> str:
    text = (ROOT / "docs" / "model-format.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    tested = [b for b in blocks if "def predict_proba" in b]
    assert len(tested) == 1, "docs/model-format.md needs one python block defining predict_proba"
    return tested[0]


def test_docs_snippet_rebuilds_the_network(tmp_path, result, splits):
    snippet = _doc_snippet()
    assert len(snippet.strip().splitlines()) <= 25
    assert "digitlab" not in snippet.replace("digitlab-model", "")   # only h5py and numpy
    path = save_model(tmp_path / "model.h5", result)
    namespace = {}
    exec(compile(snippet, "docs/model-format.md", "exec"), namespace)
    got = namespace["predict_proba"](str(path), splits.x_test)
    want = result.network.predict_proba(splits.x_test)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert np.array_equal(got.argmax(1), want.argmax(1))


# ---------------------------------------------------------------------------- layering
def test_io_never_imports_qt():
    code = ("import sys, digitlab.io, digitlab.io.export; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'PyQt'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_flipped_weight_byte_is_caught_by_the_checksum(tmp_path, result_bn):
    """Weights are stored with HDF5's fletcher32 checksum: silent damage to a weight is refused."""
    import h5py
    path = save_model(tmp_path / "model.h5", result_bn)
    with h5py.File(path) as f:
        chunk = f["layers/1/W"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset + chunk.size // 2] ^= 0xFF
    bad = tmp_path / "flipped.h5"
    bad.write_bytes(bytes(data))
    _expect(bad, "layer 1 weight W cannot be read")


def test_a_saved_run_remembers_which_data_trained_it(tmp_path):
    """Every front door (CLI, GUI, experiments) gets the dataset's checksum into the file."""
    from digitlab.data import load_dataset, prepare_splits
    from digitlab.training import train
    splits = prepare_splits(load_dataset(), train_subset=300)
    result = train(TrainConfig(max_epochs=1, train_subset=300), splits)
    model = load_model(save_model(tmp_path / "m.h5", result))
    assert model.dataset == "mnist" and model.dataset_checksum == load_dataset().checksum


def test_truncated_file_is_said_in_words_with_the_hdf5_text_as_detail(tmp_path, result_bn):
    data = save_model(tmp_path / "full.h5", result_bn).read_bytes()
    bad = tmp_path / "cut.h5"
    bad.write_bytes(data[:len(data) // 2])
    text = _expect(bad, "the file is truncated: it ends at", f"but says it holds {len(data):,}")
    assert "sblock" not in text and "eof =" not in text
    with pytest.raises(ModelFileError) as info:
        load_model(bad)
    assert "stored_eof" in info.value.detail        # the library's own words, behind "Details"
