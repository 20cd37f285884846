"""`digitlab report`, `digitlab sweep` and `digitlab evaluate --calibration` from the command line."""

import json

import pytest

from digitlab.cli import main
from digitlab.io import save_model


@pytest.fixture
def model_files(quick_runs, tmp_path):
    paths = []
    for run in quick_runs[:4]:
        path = tmp_path / f"{run.result.config.name}.h5"
        save_model(path, run.result, name=run.result.config.name)
        paths.append(path)
    return paths


@pytest.mark.slow
def test_report_of_model_files_then_refuses_to_overwrite(model_files, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", "--models", *map(str, model_files), "--out", str(out), "--formats",
                 "html,md"]) == 0
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert not (out / "report.pdf").exists()
    claims = json.loads((out / "tables" / "claims.json").read_text())
    assert len(claims) == 3
    capsys.readouterr()
    assert main(["report", "--models", str(model_files[0]), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.slow
def test_report_from_an_experiments_folder(model_files, tmp_path):
    out = tmp_path / "rep2"
    assert main(["report", "--from", str(model_files[0].parent), "--out", str(out), "--formats", "md"]) == 0
    summary = json.loads((out / "tables" / "summary.json").read_text())
    assert [row["Experiment"] for row in summary][0].startswith("Experiment 1")


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", "--from", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "digitlab experiments --out" in capsys.readouterr().err
    bad = tmp_path / "bad.h5"
    bad.write_text("not a model")
    assert main(["report", "--models", str(bad), "--out", str(tmp_path / "y")]) == 2
    assert not (tmp_path / "y").exists()


def test_sweep_command(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "--lambdas", "0,20", "--train-subset", "500", "--n-validation", "500",
                 "--max-epochs", "1",
                 "--batch-size", "64", "--workers", "1", "--out", str(out)]) == 0
    rows = json.loads((out / "sweep.json").read_text())
    assert [r["Lambda"] for r in rows] == ["0", "20"]
    assert (out / "sweep.png").stat().st_size > 1000
    assert "lambda 20 seed 3" in capsys.readouterr().out
    assert main(["sweep", "--lambdas", "0,x"]) == 2


def test_evaluate_calibration(model_files, capsys):
    assert main(["evaluate", str(model_files[0]), "--calibration"]) == 0
    text = capsys.readouterr().out
    assert "expected calibration error" in text and "0.90-1.00" in text


def test_report_of_library_models_by_name(tmp_path, monkeypatch, capsys):
    """`--models` takes the names `digitlab models` lists, like evaluate does (the bundled pair here)."""
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))      # no user models of this machine
    out = tmp_path / "by-name"
    assert main(["report", "--models", "report-no-l2", "report-l2", "--out", str(out), "--formats",
                 "md"]) == 0
    text = (out / "report.md").read_text()
    # the bundled pair are the report's experiments 1 and 3, and the report names them so
    assert "| Experiment 1: Without L2, Without Batch Norm | 784-20-7-5-10" in text
    assert "| Experiment 3: With L2, Without Batch Norm | 784-20-7-5-10" in text
    assert main(["report", "--models", "no-such-model", "--out", str(tmp_path / "z")]) == 2
    assert "no model of that name in the library" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()
