"""The command line's conventions: `python -m digitlab`, --help with defaults and an example,
--json documents, -q, no traceback on a closed pipe or Ctrl+C, and the documented exit statuses
(0 done, 1 run failed, 2 bad usage or input, 130 interrupted, 141 output pipe closed)."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab import __version__
from digitlab.cli import EXAMPLES, _has_default, build_parser, main
from digitlab.data import load_dataset, to_mnist
from digitlab.io import load_model
from digitlab.library import ModelLibrary
from digitlab.training import cached_splits

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["--train-subset", "2000", "--max-epochs", "2", "--optimizer", "adam", "--lr", "0.01",
         "--batch-size", "64", "--eval-every", "20"]
# The figures the bundled MNIST's README gives to test a loader against.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _digitlab(*argv, **kwargs):
    """``python -m digitlab ARGV`` as a separate process, from the checkout."""
    return subprocess.Popen([sys.executable, "-m", "digitlab", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def _all_parsers(parser, name="digitlab"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _all_parsers(sub, sub_name if name == "digitlab" else f"{name} {sub_name}")


# ---------------------------------------------------------------------------- python -m, --help
def test_python_m_digitlab_runs_the_command():
    proc = _digitlab("--version")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip() == f"digitlab {__version__}" and err == ""


def test_every_help_shows_each_default_and_an_example():
    parsers = dict(_all_parsers(build_parser()))
    assert set(parsers) == set(EXAMPLES)            # every command has its example, no stale ones
    for name, parser in parsers.items():
        text = " ".join(parser.format_help().split())      # the wrapping undone
        assert f"Example: {EXAMPLES[name]}" in text, name
        for action in parser._actions:
            if _has_default(action) and action.help != argparse.SUPPRESS:
                shown = f"default: {action.default}" in text or "default" in (action.help or "")
                assert shown, f"{name} {action.option_strings}: default {action.default!r} not in --help"
    top = " ".join(parsers["digitlab"].format_help().split())
    assert "130 interrupted" in top and "2 bad usage or input" in top
    # the defaults a setting takes from the preset are said too
    train = " ".join(parsers["train"].format_help().split())
    assert "--batch-size BATCH_SIZE (default: the preset's; report: 256)" in train
    assert "--set {test,val,train} the test images" in " ".join(parsers["evaluate"].format_help().split())


def test_a_subcommand_help_is_real_output_of_the_command():
    proc = _digitlab("evaluate", "--help")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "(default: test)" in out and "Example:" in out and "-q, --quiet" in out


# ---------------------------------------------------------------------------- --json
def _json_out(capsys):
    """The whole of stdout, which must be exactly one JSON document."""
    return json.loads(capsys.readouterr().out)


def test_evaluate_json_gives_the_libraries_own_evaluation(capsys):
    entry = ModelLibrary().get("report-l2")
    model = load_model(entry.path)
    assert main(["evaluate", "report-l2", "--json"]) == 0
    doc = _json_out(capsys)
    splits = cached_splits(model.config)
    cost, accuracy = model.network.cost_and_accuracy(splits.x_test, splits.y_test, model.config.l2,
                                                     m=model.config.batch_size)
    assert doc["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert doc["accuracy"] == pytest.approx(model.metrics["test_accuracy"], abs=1e-9)   # as saved
    assert doc["cost"] == pytest.approx(cost)
    assert doc["model"]["name"] == "report-l2" and doc["model"]["layers"] == [784, 20, 7, 5, 10]
    assert doc["data"] == {"name": "mnist", "set": "test", "images": 10000}
    cm = np.array(doc["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10000 and np.trace(cm) / 10000 == pytest.approx(accuracy)
    assert [c["count"] for c in doc["classes"]] == TEST_COUNTS
    assert doc["classes"][3]["recall"] == pytest.approx(cm[3, 3] / cm[3].sum())
    assert doc["classes"][3]["precision"] == pytest.approx(cm[3, 3] / cm[:, 3].sum())
    assert doc["calibration"] is None


def test_evaluate_json_with_calibration_on_the_validation_set(capsys):
    assert main(["evaluate", "report-bn", "--json", "--set", "val", "--calibration"]) == 0
    doc = _json_out(capsys)
    assert doc["data"]["set"] == "val" and doc["data"]["images"] == 12000
    cal = doc["calibration"]
    assert sum(b["count"] for b in cal["bins"]) == 12000 and cal["accuracy"] == pytest.approx(doc["accuracy"])
    assert 0 <= cal["ece"] <= cal["mce"] <= 1 and cal["bins"][0]["low"] == 0 and cal["bins"][-1]["high"] == 1


def test_predict_json_gives_each_files_digit_and_probabilities(tmp_path, capsys):
    from PySide6.QtGui import QImage
    raw = load_dataset()
    model = load_model(ModelLibrary().get("best").path)
    paths = []
    for i in range(3):
        pixels = np.ascontiguousarray(np.kron(raw.test_images[i], np.ones((4, 4), dtype=np.uint8)))
        path = tmp_path / f"digit{i}.png"
        assert QImage(pixels.data, 112, 112, 112, QImage.Format.Format_Grayscale8).copy().save(str(path))
        paths.append(path)
    blank = tmp_path / "blank.png"
    white = np.full((50, 50), 255, np.uint8)
    assert QImage(white.data, 50, 50, 50, QImage.Format.Format_Grayscale8).copy().save(str(blank))
    assert main(["predict", "best", *map(str, paths), str(blank), "--json"]) == 0
    doc = _json_out(capsys)
    assert doc["model"]["name"] == "best"
    assert [e["file"] for e in doc["images"]] == [*map(str, paths), str(blank)]
    from digitlab.data import read_image_file
    for entry, path in zip(doc["images"][:3], paths):
        expected = model.network.predict_one(to_mnist(read_image_file(str(path)), normalise_width=True))
        np.testing.assert_allclose(entry["probabilities"], expected, rtol=1e-12)
        assert entry["digit"] == int(np.argmax(expected)) and entry["error"] is None
    assert [e["digit"] for e in doc["images"][:3]] == [int(d) for d in raw.test_labels[:3]]
    assert doc["images"][3] == {"file": str(blank), "digit": None, "probabilities": None,
                                "error": "no ink found, nothing to predict"}
    # an unreadable file: still one document, its error in it and on stderr, exit status 2
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    assert main(["predict", "best", str(paths[0]), str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["images"][0]["digit"] == int(raw.test_labels[0]) and doc["images"][1]["digit"] is None
    assert doc["images"][1]["error"] and str(bad) in captured.err


def test_data_info_json_gives_the_known_mnist_figures(capsys):
    assert main(["data", "info", "--json"]) == 0
    doc = _json_out(capsys)
    assert (doc["train_images"], doc["test_images"], doc["height"], doc["width"]) == (60000, 10000, 28, 28)
    assert doc["train_label_counts"] == TRAIN_COUNTS and doc["test_label_counts"] == TEST_COUNTS
    assert round(doc["train_pixel_mean"], 6) == 33.318421 and round(doc["train_pixel_std"], 6) == 78.567490
    assert doc["checksum"] == load_dataset().checksum


@pytest.mark.slow
def test_experiments_json_is_one_document_with_the_runs_tables_and_claims(tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["experiments", "--train-subset", "1000", "--workers", "2", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert "the report's four experiments" in captured.err        # what it is doing: on stderr
    assert doc["seeds"] == [3] and doc["out"] == str(out) and doc["dataset"] == "mnist"
    assert [r["experiment"] for r in doc["runs"]] == [1, 2, 3, 4]
    for run in doc["runs"]:
        model = load_model(run["file"])                             # the model written for the run
        assert run["metrics"]["test_accuracy"] == model.metrics["test_accuracy"]
        assert run["epochs"] == model.epochs and run["iterations"] == model.steps
        assert run["mean_abs_weights"] == pytest.approx(model.mean_abs_weights)
    assert doc["summary"] == json.loads((out / "summary.json").read_text())
    assert doc["weights"] == json.loads((out / "weights.json").read_text())
    assert len(doc["claims"]) == 3 and all(c["seeds"] == 1 and c["verdict"] for c in doc["claims"])
    assert doc["summary"][0]["Test Accuracy (%)"]["mean"] == pytest.approx(
        100 * doc["runs"][0]["metrics"]["test_accuracy"])


# ---------------------------------------------------------------------------- -q
def test_quiet_train_prints_the_result_and_nothing_about_progress(tmp_path, capsys):
    out = tmp_path / "q.h5"
    assert main(["train", *QUICK, "--out", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""                                        # no progress bar or lines
    assert "training" not in captured.out and f"saved {out}" in captured.out and "test" in captured.out
    assert main(["-q", "data", "info"]) == 0                         # before the command works too
    assert "5923 6742" in capsys.readouterr().out
    assert main(["train", *QUICK, "--out", str(tmp_path / "loud.h5")]) == 0
    captured = capsys.readouterr()
    assert "epoch   1/2" in captured.err and "training" in captured.out


def test_quiet_download_says_only_what_it_verified(tmp_path, capsys):
    """A local HTTP server on 127.0.0.1 stands in for a mirror (no internet in tests)."""
    import functools
    import http.server
    import threading

    from digitlab.paths import resources_dir

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            """The server's own request log would be on this process's stderr too."""

    handler = functools.partial(Quiet, directory=str(resources_dir() / "mnist"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert main(["data", "download", "-q", "--dir", str(tmp_path / "dl"),
                     "--mirror", f"http://127.0.0.1:{server.server_address[1]}/"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    captured = capsys.readouterr()
    assert captured.err == ""                                       # no "downloading ..." lines
    assert sorted(line.split("/")[-1] for line in captured.out.splitlines()) == sorted(
        p.name for p in (tmp_path / "dl").iterdir())
    assert all(line.startswith("verified ") for line in captured.out.splitlines())


def test_quiet_keeps_errors():
    proc = _digitlab("evaluate", "no-such-model", "-q")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and err.startswith("digitlab evaluate: no-such-model: no such file")


# ---------------------------------------------------------------------------- exit statuses
def test_exit_status_0_1_and_2(tmp_path, capsys):
    assert main(["evaluate", "report-l2"]) == 0
    capsys.readouterr()
    # a run that diverges: 1, and no model
    assert main(["train", "--train-subset", "2000", "--eval-every", "5", "--lr", "3",
                 "--out", str(tmp_path / "diverged.h5")]) == 1
    assert not (tmp_path / "diverged.h5").exists()
    assert "no model written" in capsys.readouterr().err
    # bad input: a file that is not a model; bad usage: argparse's own 2
    bad = tmp_path / "bad.h5"
    bad.write_text("not a model")
    assert main(["evaluate", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert str(bad) in captured.err and "Traceback" not in captured.err
    assert captured.out == ""                      # no document for a model that could not be read
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "report-l2", "--set", "everything"])
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_a_shipped_model_that_fails_to_train_is_status_1_not_bad_input(tmp_path, capsys, monkeypatch):
    import types

    import digitlab.training

    def diverging(config, splits, **kwargs):
        return types.SimpleNamespace(stop_reason="diverged", message="Training diverged at step 7.")
    monkeypatch.setattr(digitlab.training, "train", diverging)
    assert main(["build-models", "--dir", str(tmp_path), "--only", "pad"]) == 1
    assert capsys.readouterr().err == "digitlab build-models: pad: Training diverged at step 7.\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["evaluate", "report-l2"], ["models"], ["data", "info", "--json"],
                                  ["evaluate", "report-l2", "--json", "--calibration"]],
                         ids=" ".join)
def test_a_closed_pipe_ends_quietly_with_141(argv):
    """`digitlab ... | head -1`: the reader is gone before the output comes."""
    proc = _digitlab(*argv)
    proc.stdout.close()                 # the reader stops reading at once
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert err == ""                    # no traceback, no "Exception ignored"


def _wait_for_the_first_epoch(proc):
    line = proc.stderr.readline()
    assert line.startswith("epoch   1/1000"), line + proc.stderr.read()


def test_ctrl_c_stops_training_keeps_the_model_and_exits_130(tmp_path):
    out = tmp_path / "stopped.h5"
    proc = _digitlab("train", *QUICK[:2], "--batch-size", "64", "--eval-every", "5", "--optimizer", "adam",
                     "--lr", "0.01", "--max-epochs", "1000", "--patience", "1000000", "--out", str(out))
    _wait_for_the_first_epoch(proc)
    proc.send_signal(signal.SIGINT)
    stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"digitlab train: interrupted; what it learned is saved in {out}"
    assert f"saved {out}" in stdout and load_model(out).stop_reason == "cancelled"


def test_a_second_ctrl_c_ends_at_once_and_leaves_no_half_written_file(tmp_path):
    out = tmp_path / "cut.h5"
    proc = _digitlab("train", *QUICK[:2], "--batch-size", "64", "--eval-every", "5", "--max-epochs", "1000",
                     "--patience", "1000000", "--out", str(out))
    _wait_for_the_first_epoch(proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)                    # handled, and the run is winding down (final scores, the save)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and "interrupted" in err, err
    # the save was either cut short (nothing left: no temp file, no lock) or complete
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left in ([], ["cut.h5"]), left
    if left:
        assert load_model(out).stop_reason == "cancelled"


@pytest.mark.slow
def test_ctrl_c_in_experiments_with_worker_processes_is_one_line(tmp_path):
    """Ctrl+C in a terminal reaches the whole process group: the command and its workers. The
    command ends at once (the workers stopped, the queued runs dropped), in one line."""
    out = tmp_path / "exp"
    proc = _digitlab("experiments", "--seeds", "3", "--workers", "2", "--out", str(out),
                     start_new_session=True)      # 12 runs on all of MNIST: minutes of work
    assert proc.stdout.readline().startswith("the report's four experiments")
    time.sleep(3)                       # the workers are training
    os.killpg(proc.pid, signal.SIGINT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err == "digitlab: interrupted\n"
    assert time.monotonic() - start < 10            # (0.2 s measured; a run takes 15 s or more)
    assert list(tmp_path.iterdir()) == []           # no folder, half-written or not
