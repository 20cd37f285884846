"""The command line used as a person would: train, evaluate, predict, export, experiments, data."""

import json

import numpy as np
import pytest

from digitlab.cli import main
from digitlab.data import load_dataset
from digitlab.io import load_model

QUICK = ["--train-subset", "2000", "--max-epochs", "4", "--optimizer", "adam", "--lr", "0.01",
         "--batch-size", "64", "--eval-every", "20"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "quick.h5"
    assert main(["train", *QUICK, "--batch-norm", "--out", str(path)]) == 0
    return path


def test_train_saves_a_model_with_its_settings_and_history(model_file, capsys):
    model = load_model(model_file)
    assert model.config.batch_norm and model.config.optimizer == "adam" and model.config.train_subset == 2000
    assert model.name == "quick" and len(model.history) == 4 * 32 // 20
    assert model.metrics["test_accuracy"] > 0.6
    assert model.dataset == "mnist" and model.dataset_checksum == load_dataset().checksum


def test_train_refuses_bad_settings_and_existing_files(model_file, capsys):
    assert main(["train", "--batch-size", "-3"]) == 2
    assert "batch_size must be an integer > 0, got -3" in capsys.readouterr().err
    assert main(["train", *QUICK, "--out", str(model_file)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_evaluate_prints_costs_accuracy_and_a_confusion_matrix_that_adds_up(model_file, capsys):
    assert main(["evaluate", str(model_file)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("true\\pred")))
    matrix = np.array([[int(v) for v in line.split()[1:]] for line in lines[start + 1:start + 11]])
    assert matrix.sum() == 10000
    model = load_model(model_file)
    accuracy = np.trace(matrix) / 10000
    assert accuracy == pytest.approx(model.metrics["test_accuracy"], abs=1e-9)
    assert f"accuracy {100 * accuracy:.2f} %" in out


def test_evaluate_reports_a_broken_file_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_text("not a model")
    assert main(["evaluate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err


def test_predict_reads_images_with_either_ink_polarity(model_file, tmp_path, capsys):
    from PySide6.QtGui import QImage
    raw = load_dataset()
    model = load_model(model_file)
    paths = []
    for i, invert in ((0, False), (1, True), (2, False)):
        digit = raw.test_images[i]
        pixels = np.ascontiguousarray(255 - digit if invert else digit)
        big = np.kron(pixels, np.ones((4, 4), dtype=np.uint8))      # 112x112, like a photo of paper
        image = QImage(big.data, 112, 112, 112, QImage.Format.Format_Grayscale8).copy()
        path = tmp_path / f"digit{i}.png"
        assert image.save(str(path))
        paths.append(path)
    blank = tmp_path / "blank.png"
    white = np.full((50, 50), 255, np.uint8)
    assert QImage(white.data, 50, 50, 50, QImage.Format.Format_Grayscale8).copy().save(str(blank))
    assert main(["predict", str(model_file), *map(str, paths), str(blank)]) == 0
    out = capsys.readouterr().out.splitlines()
    expected = model.network.predict(raw.test_images[:3].reshape(3, -1) / 255.0)
    for line, digit in zip(out[:3], expected):
        assert line.split(": ")[1].startswith(str(digit))
    assert "no ink found" in out[3]


def test_export_writes_each_format(model_file, tmp_path, capsys):
    model = load_model(model_file)
    assert main(["export", str(model_file), "--format", "npz", "--out", str(tmp_path / "w.npz")]) == 0
    with np.load(tmp_path / "w.npz") as npz:
        np.testing.assert_array_equal(npz["W1"], model.network.weights[0])
    assert main(["export", str(model_file), "--format", "json", "--out", str(tmp_path / "w.json")]) == 0
    data = json.loads((tmp_path / "w.json").read_text())
    assert json.dumps(data)  # parses
    assert main(["export", str(model_file), "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    np.testing.assert_allclose(np.loadtxt(tmp_path / "csv" / "W2.csv", delimiter=","),
                               model.network.weights[1], rtol=1e-6)


@pytest.mark.slow
def test_experiments_write_tables_models_and_judge_the_claims(tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["experiments", "--train-subset", "1000", "--seeds", "2", "--workers", "2",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Experiment 4: With L2 and Batch Norm" in text and "The report's claims" in text
    summary = json.loads((out / "summary.json").read_text())
    assert [row["Experiment"][:12] for row in summary] == [f"Experiment {i}" for i in (1, 2, 3, 4)]
    assert all(row["Test Accuracy (%)"]["n"] == 2 for row in summary)
    weights = json.loads((out / "weights.json").read_text())
    assert [row["Layer"] for row in weights] == ["Layer 1", "Layer 2", "Layer 3", "Layer 4"]
    # the weights table is the models' own mean |W|
    m = load_model(out / "report-no-l2-seed3.h5")
    m2 = load_model(out / "report-no-l2-seed4.h5")
    expected = (m.mean_abs_weights[1] + m2.mean_abs_weights[1]) / 2
    first = [v for k, v in weights[1].items() if k.startswith("Experiment 1")][0]
    assert first["mean"] == pytest.approx(expected)
    assert (out / "summary.md").read_text().startswith("| Experiment |")
    assert (out / "claims.md").exists() and len(list(out.glob("*.h5"))) == 8


def test_data_info_prints_the_known_mnist_figures(capsys):
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "mean 33.318421, standard deviation 78.567490" in out
    assert "5923 6742 5958 6131 5842 5421 5918 6265 5851 5949" in out


def test_data_download_says_clearly_when_no_mirror_answers(tmp_path, capsys):
    import socket
    with socket.socket() as s:              # a port on 127.0.0.1 that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["data", "download", "--dir", str(tmp_path), "--timeout", "2",
                 "--mirror", f"http://127.0.0.1:{port}/mnist/"]) == 2
    err = capsys.readouterr().err
    assert "could not reach any MNIST mirror" in err and "bundled copy" in err
    assert not list(tmp_path.iterdir())


def test_data_download_fetches_and_verifies_from_a_mirror(tmp_path, capsys):
    """A local HTTP server on 127.0.0.1 stands in for a mirror; the files are MNIST's own."""
    import functools
    import http.server
    import threading

    from digitlab.paths import resources_dir
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(resources_dir() / "mnist"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dest = tmp_path / "dl"
        assert main(["data", "download", "--dir", str(dest),
                     "--mirror", f"http://127.0.0.1:{server.server_address[1]}/"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    bundled = (resources_dir() / "mnist").glob("*.gz")
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in bundled)
    assert "verified" in capsys.readouterr().out
    assert load_dataset(dest).checksum == load_dataset().checksum


def test_models_lists_the_library_and_a_name_works_where_a_path_does(
        model_file, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("DIGITLAB_HOME", str(home))
    from digitlab.paths import user_models_dir
    (user_models_dir() / "mine.h5").write_bytes(model_file.read_bytes())
    (user_models_dir() / "cut.h5").write_bytes(model_file.read_bytes()[:5000])
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "report-l2" in out and "bundled" in out                    # the shipped models
    # the name stored in mine.h5
    line = next(candidate for candidate in out.splitlines() if candidate.startswith("quick"))
    assert "user" in line and "784-20-7-5-10" in line and "%" in line and "mine.h5" in line
    assert "cut.h5" in out and "truncated" in out                      # damaged, with the reason
    assert main(["evaluate", "quick"]) == 0                             # by name
    assert "accuracy" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    assert main(["export", "report-l2", "--format", "json"]) == 0      # next to you, not the bundle
    assert (tmp_path / "report-l2.json").is_file()
    assert main(["evaluate", "no-such-model"]) == 2
    assert "digitlab models" in capsys.readouterr().err
