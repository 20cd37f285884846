"""The command line refuses what cannot work before it starts, never destroys a file it was not
asked to replace, says in one line why a write failed, and prints names from files safely."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import digitlab.reports.sweep
import digitlab.training
from digitlab.cli import main
from digitlab.data import load_dataset
from digitlab.io import load_model, save_model
from digitlab.training import TrainConfig, splits_for, train

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["--train-subset", "2000", "--max-epochs", "2", "--optimizer", "adam", "--lr", "0.01",
         "--batch-size", "64", "--eval-every", "20"]


@pytest.fixture
def no_training(monkeypatch):
    """Any training at all fails the test: a refusal must come before the first step."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started although the settings should have been refused")
    monkeypatch.setattr(digitlab.training, "train", refuse)
    monkeypatch.setattr(digitlab.training, "run_experiments", refuse)
    monkeypatch.setattr(digitlab.reports.sweep, "run_sweep", refuse)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("safety") / "quick.h5"
    assert main(["train", *QUICK, "--out", str(path)]) == 0
    return path


BAD_SETTINGS = [
    (["--lr", "inf"], "learning_rate must be a finite number, got inf"),
    (["--lr", "nan"], "learning_rate must be a finite number, got nan"),
    (["--lr", "1e6"], "learning_rate must be at most 10, got 1e+06"),
    (["--l2", "nan"], "l2 must be a finite number, got nan"),
    (["--l2", "1e12"], "l2 must be at most 10000, got 1e+12"),
    (["--tol", "nan"], "tol must be a finite number, got nan"),
    (["--tol", "inf"], "tol must be a finite number, got inf"),
    (["--momentum", "nan"], "momentum must be a finite number, got nan"),
    (["--init", "normal", "--init-std", "inf"], "init_std must be a finite number, got inf"),
    (["--layers", "783-10"], "the input layer must have 784 units (28x28 pixels), got 783"),
    (["--layers", "784-20001-10"], "a hidden layer has at most 10000 units, got 20001"),
    (["--seed", "-1"], "seed must be an integer >= 0, got -1"),
    (["--seed", str(2**70)], "seed must be at most 2,147,483,647"),
    (["--batch-size", "60001"], "batch_size must be at most 60,000, got 60,001"),
    (["--max-epochs", "100001"], "max_epochs must be at most 100,000"),
    (["--n-validation", "59001"], "n_validation must be at most 59,000"),
]


@pytest.mark.parametrize("options, message", BAD_SETTINGS, ids=[" ".join(o) for o, _ in BAD_SETTINGS])
def test_train_refuses_a_bad_setting_before_training(options, message, tmp_path, capsys, no_training):
    out = tmp_path / "m.h5"
    assert main(["train", *options, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("digitlab train: invalid settings:")
    assert len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["train", "--out", ""], "--out is empty"),
    (["sweep", "--seeds", "0"], "--seeds must be at least 1, got 0"),
    (["sweep", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["sweep", "--lambdas", "0,1e9"], "l2 must be at most 10000, got 1e+09"),
    (["experiments", "--seeds", "-1"], "--seeds must be at least 1, got -1"),
    (["experiments", "--first-seed", "-5"], "--first-seed must be from 0"),
    (["experiments", "--train-subset", "0"], "train_subset must be an integer > 0 or None, got 0"),
    (["report", "--seeds", "0"], "--seeds must be at least 1, got 0"),
    (["report", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["experiments", "--out", ""], "--out is empty"),
])
def test_commands_refuse_counts_and_names_that_would_do_nothing(argv, message, capsys, no_training):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_train_refuses_an_output_it_could_not_write_before_training(tmp_path, capsys, no_training):
    a_file = tmp_path / "somefile.txt"
    a_file.write_text("keep me")
    assert main(["train", "--out", str(a_file / "model.h5")]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and a_file.read_text() == "keep me"
    folder = tmp_path / "afolder"
    folder.mkdir()
    assert main(["train", "--out", str(folder), "--force"]) == 2
    assert "it is a folder" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_train_refuses_a_read_only_folder_before_training(tmp_path, capsys, no_training):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main(["train", "--out", str(folder / "m.h5")]) == 2
        assert "permission was denied" in capsys.readouterr().err
    finally:
        folder.chmod(0o755)


def test_report_and_sweep_refuse_to_replace_their_inputs_or_existing_folders(model_file, tmp_path, capsys,
                                                                           no_training):
    assert main(["report", "--models", str(model_file), "--out", str(model_file.parent), "--force"]) == 2
    assert "holds the input" in capsys.readouterr().err and model_file.exists()
    existing = tmp_path / "sweep"
    existing.mkdir()
    assert main(["sweep", "--out", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["experiments", "--out", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_export_never_replaces_its_own_model(model_file, capsys):
    before = model_file.read_bytes()
    assert main(["export", str(model_file), "--format", "npz", "--out", str(model_file), "--force"]) == 2
    assert "it is also an input" in capsys.readouterr().err
    assert model_file.read_bytes() == before


def test_export_replaces_an_existing_file_only_with_force(model_file, tmp_path, capsys):
    out = tmp_path / "w.npz"
    out.write_bytes(b"precious")
    assert main(["export", str(model_file), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"precious"
    assert main(["export", str(model_file), "--out", str(out), "--force"]) == 0
    with np.load(out) as z:
        assert list(z["layer_sizes"]) == [784, 20, 7, 5, 10]


def test_a_failed_write_is_one_line(model_file, tmp_path, capsys, monkeypatch):
    import errno

    import digitlab.io

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(digitlab.io, "export_weights", full_disk)
    assert main(["export", str(model_file), "--out", str(tmp_path / "w.npz")]) == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err and len(err.strip().splitlines()) == 1


def test_evaluate_on_a_small_dataset_splits_what_fits(model_file, tmp_path, capsys):
    raw = load_dataset()
    small = tmp_path / "small.npz"
    np.savez(small, x_train=raw.train_images[:200], y_train=raw.train_labels[:200],
             x_test=raw.test_images[:50], y_test=raw.test_labels[:50])
    assert main(["evaluate", str(model_file), "--dataset", str(small)]) == 0
    assert f"test set of {small}: 50 images" in capsys.readouterr().out
    # The model's n_validation (12,000) cannot apply to 200 images: a fifth is split off instead.
    assert main(["evaluate", str(model_file), "--dataset", str(small), "--set", "val"]) == 0
    assert f"val set of {small}: 40 images" in capsys.readouterr().out


def test_evaluate_prints_names_without_control_characters(tmp_path, capsys):
    config = TrainConfig(train_subset=500, max_epochs=1, batch_size=64, eval_every=5,
                         optimizer="adam", learning_rate=0.01)
    result = train(config, splits_for(config))
    ansi, huge = tmp_path / "ansi.h5", tmp_path / "huge.h5"
    save_model(ansi, result, name="\x1b[2J\x1b]0;pwned\x07evil\x9bname")
    save_model(huge, result, name="A" * 50_000_000)
    assert main(["evaluate", str(ansi)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("?[2J?]0;pwned?evil?name: ") and "\x1b" not in first
    assert main(["evaluate", str(huge)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("A" * 80 + "…: ") and len(out) < 5000


def _train_process(out, *extra):
    return subprocess.Popen([sys.executable, "-m", "digitlab.cli", "train", "--train-subset", "2000",
                             "--batch-size", "64", "--eval-every", "5", "--optimizer", "adam",
                             "--lr", "0.01", "--out", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_train_of_the_same_file_fails_at_once(tmp_path):
    out = tmp_path / "same.h5"
    first = _train_process(out, "--max-epochs", "1000", "--patience", "1000000")
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".lock") for p in tmp_path.iterdir()):   # the first holds it
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = _train_process(out, "--max-epochs", "1")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2 and "digitlab train:" in err and str(out) in err
        assert len(err.strip().splitlines()) == 1 and not out.exists()
    finally:
        first.kill()
        first.wait()


def test_sigterm_stops_training_and_keeps_the_model(tmp_path):
    out = tmp_path / "stopped.h5"
    proc = _train_process(out, "--max-epochs", "1000", "--patience", "1000000")
    assert proc.stderr.readline().startswith("epoch   1/1000")     # training, one line an epoch
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Stopped by you" in stdout and f"saved {out}" in stdout
    model = load_model(out)
    assert model.stop_reason == "cancelled" and len(model.history) >= 6   # at least the first epoch
    assert model.metrics["test_accuracy"] > 0.2                           # learned, above chance
