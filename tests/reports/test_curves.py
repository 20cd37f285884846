"""reports/curves.py and ``digitlab compare``: the curves CSV holds the files' histories.

The CSV is read back with the csv module and compared, value by value, with the history that
``load_model`` reads from each file; the smoothing with a moving average written out by hand; the
derived epoch with what the file records.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from digitlab.cli import main
from digitlab.io import SavedModel, load_model, save_model
from digitlab.nn import Network
from digitlab.reports.curves import (
    CSV_COLUMNS,
    SERIES,
    check_smoothing,
    curves_csv,
    curves_of,
    smooth,
    steps_per_epoch,
    write_curves_csv,
)
from digitlab.training import History, TrainConfig

MODELS = Path(__file__).resolve().parents[2] / "models"


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return list(reader)


def assert_rows_hold_history(rows: list[dict], model_name: str, path: Path, weight: float) -> None:
    """The rows of one model are its file's history: every check of every series, in order."""
    history = load_model(path).history
    mine = [r for r in rows if r["model"] == model_name]
    assert len(mine) == len(SERIES) * len(history) > 0
    for series in SERIES:
        part = [r for r in mine if r["series"] == series]
        stored = history.column(series)
        assert [float(r["value"]) for r in part] == stored.tolist()            # every digit
        assert [int(r["step"]) for r in part] == history.column("step").astype(int).tolist()
        assert [float(r["seconds"]) for r in part] == history.column("elapsed").tolist()
        assert {r["file"] for r in part} == {str(path)}
        expected = stored.copy()                 # TensorBoard's debiased average, step by step
        last = 0.0
        for k, v in enumerate(stored, start=1):
            last = weight * last + (1 - weight) * v
            expected[k - 1] = last / (1 - weight ** k) if weight else v
        np.testing.assert_allclose([float(r["smoothed"]) for r in part], expected, rtol=1e-12)


def test_smoothing_is_the_debiased_moving_average():
    got = smooth([1.0, 2.0, 3.0], 0.5)
    np.testing.assert_allclose(got, [1.0, 1.25 / 0.75, 2.125 / 0.875])
    assert smooth([4.0, 1.0], 0.0).tolist() == [4.0, 1.0]
    # a value that is not finite passes through and stays out of the average
    got = smooth([1.0, math.nan, 3.0], 0.5)
    assert got[0] == 1.0 and math.isnan(got[1]) and got[2] == pytest.approx(1.75 / 0.75)
    for bad in (-0.1, 1.0, 0.995, math.nan, "a lot"):
        with pytest.raises(ValueError, match="smoothing"):
            check_smoothing(bad)


def test_the_epoch_axis_puts_every_check_inside_its_recorded_epoch():
    for name in ("report-l2", "report-bn", "best"):
        model = load_model(MODELS / f"{name}.h5")
        curves = curves_of(model)
        recorded = model.history.column("epoch")
        assert curves.epoch_estimated
        assert np.all(curves.epoch > recorded - 1) and np.all(curves.epoch <= recorded + 1e-9)
    # the report's runs: 48,000 training images in batches of 256 make 188 steps an epoch
    assert curves_of(load_model(MODELS / "report-l2.h5")).steps_per_epoch == 188
    assert curves_of(load_model(MODELS / "best.h5")).steps_per_epoch == 750       # 48,000 / 64
    # nothing past the first epoch bounds an epoch's length; steps that go back fit no length
    assert steps_per_epoch(np.array([10, 20]), np.array([1, 1])) is None
    assert steps_per_epoch(np.array([100, 50]), np.array([1, 3])) is None


def _model_with(history_rows, name):
    net = Network((784, 20, 7, 5, 10), seed=1)
    return SavedModel(network=net, config=TrainConfig(seed=1), name=name,
                      history=History.from_array(np.array(history_rows, dtype=float)))


def test_recorded_epochs_are_used_when_no_length_fits(tmp_path):
    model = _model_with([[5, 1, 2.0, 2.1, 0.3, 0.5, 0.1], [9, 1, 1.5, 1.6, 0.5, 0.9, 0.1]], "short")
    curves = curves_of(model)
    assert not curves.epoch_estimated and curves.epoch.tolist() == [1.0, 1.0]


def test_the_csv_of_two_models_holds_their_histories(tmp_path):
    paths = [MODELS / "report-no-l2.h5", MODELS / "report-l2.h5"]
    runs = [curves_of(load_model(p), file=p) for p in paths]
    out = write_curves_csv(tmp_path / "curves.csv", runs, 0.7)
    rows = read_rows(out)
    for p in paths:
        assert_rows_hold_history(rows, load_model(p).name, p, 0.7)
    # written once: a second write without replace leaves the file as it was
    before = out.read_bytes()
    with pytest.raises(FileExistsError):
        write_curves_csv(out, runs[:1], 0.0)
    assert out.read_bytes() == before


def test_equal_names_are_told_apart():
    run = curves_of(load_model(MODELS / "report-bn.h5"))
    rows = list(csv.DictReader(curves_csv([run, run], 0.0).splitlines()))
    assert {r["model"] for r in rows} == {"report-bn", "report-bn (2)"}


# ---------------------------------------------------------------------------- digitlab compare
def test_compare_writes_the_files_histories(tmp_path, capsys):
    mine = tmp_path / "mine.h5"
    save_model(mine, _model_with([[100, 1, 2.0, 1.9, 0.4, 0.2, 0.05], [200, 2, 1.1, 1.2, 0.7, 0.4, 0.05],
                                  [300, 3, 0.9, 1.0, 0.8, 0.6, 0.05]], "mine"))
    out = tmp_path / "curves.csv"
    assert main(["compare", "report-l2", str(mine), "--out", str(out), "--smoothing", "0.25"]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}" in said and "2 model(s)" in said
    rows = read_rows(out)
    library_file = Path(rows[0]["file"])
    assert library_file.name == "report-l2.h5"
    assert_rows_hold_history(rows, "report-l2", library_file, 0.25)
    assert_rows_hold_history(rows, "mine", mine, 0.25)
    # mine's epochs: 100 steps per epoch is the smallest length its three checks allow
    epochs = [float(r["epoch"]) for r in rows if r["model"] == "mine" and r["series"] == "val_cost"]
    assert epochs == [1, 2, 3]


def test_compare_refuses_to_replace_without_force_and_bad_smoothing(tmp_path, capsys):
    out = tmp_path / "curves.csv"
    out.write_text("keep me")
    assert main(["compare", "report-bn", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["compare", "report-bn", "--out", str(out), "--force", "--smoothing", "0"]) == 0
    rows = read_rows(out)
    assert all(r["value"] == r["smoothed"] for r in rows)
    assert main(["compare", "report-bn", "--out", str(tmp_path / "b.csv"), "--smoothing", "1.5"]) == 2
    assert "smoothing must be from 0" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()
    assert main(["compare", "no-such-model", "--out", str(tmp_path / "c.csv")]) == 2
    assert "no model of that name" in capsys.readouterr().err
    # a model file is never the output
    assert main(["compare", str(MODELS / "report-bn.h5"), "--out", str(MODELS / "report-bn.h5"),
                 "--force"]) == 2
    assert "also an input" in capsys.readouterr().err
