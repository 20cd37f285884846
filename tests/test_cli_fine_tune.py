"""digitlab train --init-from/--extra-data and digitlab evaluate --dataset on one set of digits."""

import hashlib
import re

import h5py
import numpy as np
import pytest

from digitlab.cli import main
from digitlab.data import load_dataset
from digitlab.data.labelled import labelled_checksum
from digitlab.io import load_model
from digitlab.paths import bundled_models_dir

START = bundled_models_dir() / "report-no-l2.h5"
QUICK = ["--train-subset", "16000", "--max-epochs", "3"]


def _thick(images):
    for _ in range(2):
        p = np.pad(images, ((0, 0), (1, 1), (1, 1)))
        images = np.max([p[:, i:i + 28, j:j + 28] for i in range(3) for j in range(3)], axis=0)
    return images


@pytest.fixture(scope="module")
def mine(tmp_path_factory):
    """30 MNIST test digits drawn thick, saved as a personal set would be (x, y)."""
    raw = load_dataset()
    idx = np.random.default_rng(1).choice(len(raw.test_labels), 30, replace=False)
    path = tmp_path_factory.mktemp("mine") / "mine.npz"
    np.savez(path, x=_thick(raw.test_images[idx]), y=raw.test_labels[idx].astype(np.int64))
    return path


def _numpy_probabilities(path, X):
    """The forward pass of docs/model-format.md, from the file with h5py and NumPy alone."""
    with h5py.File(path, "r") as f:
        layers = f["layers"]
        L = int(layers.attrs["n_layers"])
        A = np.asarray(X, dtype=np.float64)
        for layer in range(1, L + 1):
            g = layers[str(layer)]
            Z = A @ g["W"][()] + g["b"][()]
            if layer < L:
                A = np.maximum(Z, 0)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def test_fine_tuning_prints_the_accuracy_before_and_after_and_records_where_it_started(
        mine, tmp_path, capsys):
    out_path = tmp_path / "tuned.h5"
    assert main(["train", "--init-from", str(START), "--extra-data", str(mine), *QUICK,
                 "--out", str(out_path)]) == 0
    out = capsys.readouterr().out
    before = float(re.search(r"before: ([\d.]+) %", out).group(1))
    after = float(re.search(r"after: ([\d.]+) %", out).group(1))
    assert "starting from report-no-l2" in out and after > before + 20, out
    assert "mixing in 30 digits" in out and "(10.00 %)" in out
    # the starting model's settings (SGD at its own rate, no L2), the fine-tuning schedule
    assert "784-20-7-5-10, sgd, lr 0.009, batch 256, no L2, no BN" in out
    model = load_model(out_path)
    x, y = np.load(mine)["x"], np.load(mine)["y"]
    assert model.origin["init_from"] == "report-no-l2"
    assert model.origin["init_from_checksum"] == hashlib.sha256(START.read_bytes()).hexdigest()
    assert model.origin["extra_data"] == str(mine)
    assert model.origin["extra_data_checksum"] == labelled_checksum(x, y)
    assert model.origin["extra_share"] == pytest.approx(0.1, abs=1e-3)
    assert model.config.max_epochs == 3 and model.config.schedule == "constant"
    assert model.dataset == "mnist" and model.dataset_checksum == load_dataset().checksum
    # the printed 'after' is the saved model's accuracy on the file, computed independently
    p = _numpy_probabilities(out_path, x.reshape(30, -1) / 255.0)
    assert after == pytest.approx(100 * np.mean(p.argmax(axis=1) == y), abs=0.005)


def test_extra_data_without_a_starting_model_trains_from_scratch_on_both(mine, tmp_path, capsys):
    assert main(["train", "--extra-data", str(mine), "--extra-share", "0.25", *QUICK,
                 "--out", str(tmp_path / "fresh.h5")]) == 0
    out = capsys.readouterr().out
    assert "before:" not in out and "after:" in out and "(25.00 %)" in out
    model = load_model(tmp_path / "fresh.h5")
    assert "init_from" not in model.origin and model.origin["extra_share"] == pytest.approx(0.25, abs=1e-3)


@pytest.mark.parametrize("args, message", [
    (["--layers", "784-30-10"], "the layers 784-30-10 differ from the starting model's 784-20-7-5-10"),
    (["--batch-norm"], "the starting model has no batch normalisation, so it cannot be trained with it"),
    (["--extra-share", "0.3"], "--extra-share needs --extra-data"),
])
def test_a_conflicting_architecture_or_option_is_refused_before_training(args, message, capsys):
    assert main(["train", "--init-from", str(START), *QUICK, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_extra_data_and_starting_models_are_refused_in_one_line(mine, tmp_path, capsys):
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    keys = tmp_path / "keys.npz"
    np.savez(keys, images=np.zeros((3, 28, 28), np.uint8))
    labels = tmp_path / "labels.npz"
    np.savez(labels, x=np.zeros((3, 28, 28), np.uint8), y=np.array([1, 2, 12]))
    cases = [
        (["--extra-data", str(tmp_path / "missing.npz")], "no such file"),
        (["--extra-data", str(text)], "not a readable .npz file"),
        (["--extra-data", str(keys)], "no images and labels found"),
        (["--extra-data", str(labels)], "labels range over 1..12"),
        (["--extra-data", str(mine), "--extra-share", "1.5"], "at most 0.9"),
        (["--init-from", str(tmp_path / "nothing.h5")], "no model of that name in the library"),
        (["--init-from", str(text)], str(text)),
    ]
    for args, message in cases:
        assert main(["train", *QUICK, *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1, err
    # a model given as extra data's output is refused: no output replaces an input
    assert main(["train", *QUICK, "--extra-data", str(mine), "--out", str(mine), "--force"]) == 2
    assert "input" in capsys.readouterr().err


def _printed_accuracy(out: str) -> float:
    return float(re.search(r"accuracy ([\d.]+) %", out).group(1))


def test_evaluate_on_a_personal_set_gives_the_accuracy_numpy_computes(mine, capsys):
    assert main(["evaluate", str(START), "--dataset", str(mine)]) == 0
    out = capsys.readouterr().out
    x, y = np.load(mine)["x"], np.load(mine)["y"]
    p = _numpy_probabilities(START, x.reshape(30, -1) / 255.0)
    expected = np.mean(p.argmax(axis=1) == y)
    assert _printed_accuracy(out) == pytest.approx(100 * expected, abs=0.005)
    assert f"{mine} (x, y): 30 images" in out
    assert "cross-entropy" in out and "confusion matrix" in out
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("true\\pred")))
    matrix = np.array([[int(v) for v in line.split()[1:]] for line in lines[start + 1:start + 11]])
    assert matrix.sum() == 30 and np.trace(matrix) == round(30 * expected)
    counts = np.array([int(line.split()[-1]) for line in lines[-10:]])
    np.testing.assert_array_equal(counts, np.bincount(y, minlength=10))


def test_evaluate_reads_the_test_half_of_a_keras_file(tmp_path, capsys):
    raw = load_dataset()
    half = tmp_path / "half.npz"
    np.savez(half, x_test=raw.test_images[:200], y_test=raw.test_labels[:200])
    assert main(["evaluate", str(START), "--dataset", str(half)]) == 0
    out = capsys.readouterr().out
    p = _numpy_probabilities(START, raw.test_images[:200].reshape(200, -1) / 255.0)
    assert _printed_accuracy(out) == pytest.approx(100 * np.mean(p.argmax(axis=1) == raw.test_labels[:200]),
                                                   abs=0.005)
    assert "(x_test, y_test): 200 images" in out
    assert main(["evaluate", str(START), "--dataset", str(half), "--set", "val"]) == 2
    assert "leave out --set val" in capsys.readouterr().err


def test_evaluate_refuses_a_bad_set_in_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.npz"
    np.savez(empty, x=np.zeros((0, 28, 28), np.uint8), y=np.zeros(0, np.int64))
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((4, 20, 20), np.uint8), y=np.zeros(4, np.int64))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 damaged")
    for path, message in ((empty, "holds no images"), (wrong, "(4, 20, 20)"),
                          (broken, "not a readable .npz")):
        assert main(["evaluate", str(START), "--dataset", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and str(path) in err and "Traceback" not in err, err
