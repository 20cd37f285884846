"""digitlab train --init-from MODEL --continue: a saved run goes on as if it had never stopped."""

import numpy as np
import pytest

from digitlab.cli import main
from digitlab.io import load_model
from digitlab.paths import bundled_models_dir

QUICK = ["--train-subset", "2000", "--batch-size", "64", "--eval-every", "10"]


@pytest.mark.parametrize("optimizer, lr", [("sgd", "0.05"), ("adam", "0.002")])
def test_continuing_equals_the_uninterrupted_run_bit_for_bit(tmp_path, capsys, optimizer, lr):
    settings = [*QUICK, "--optimizer", optimizer, "--lr", lr, "-q"]
    assert main(["train", *settings, "--max-epochs", "2", "--out", str(tmp_path / "two.h5")]) == 0
    assert main(["train", *settings, "--max-epochs", "5", "--out", str(tmp_path / "five.h5")]) == 0
    assert main(["train", "--init-from", str(tmp_path / "two.h5"), "--continue", "--more-epochs", "3",
                 "--out", str(tmp_path / "continued.h5")]) == 0
    out = capsys.readouterr().out
    assert "continuing two" in out and "from step 64, epoch 3, to 5 epochs in all" in out
    five, continued = load_model(tmp_path / "five.h5"), load_model(tmp_path / "continued.h5")
    assert continued.steps == five.steps == 160 and continued.epochs == 5
    assert continued.network.params.tobytes() == five.network.params.tobytes()
    assert continued.training_state.network["W1"].tobytes() == five.training_state.network["W1"].tobytes()
    columns = [0, 1, 2, 3, 4, 6]
    np.testing.assert_array_equal(continued.history.as_array()[:, columns],
                                  five.history.as_array()[:, columns])
    assert continued.metrics == five.metrics
    assert continued.origin["init_from"] == "two"


def test_a_new_learning_rate_when_continuing_is_recorded_as_a_change(tmp_path):
    assert main(["train", *QUICK, "--max-epochs", "1", "-q", "--out", str(tmp_path / "one.h5")]) == 0
    assert main(["train", "--init-from", str(tmp_path / "one.h5"), "--continue", "--max-epochs", "2",
                 "--lr", "0.001", "-q", "--out", str(tmp_path / "two.h5")]) == 0
    two = load_model(tmp_path / "two.h5")
    assert [(c.step, c.setting, c.old, c.new) for c in two.history.changes] == [(32, "learning_rate", 0.009,
                                                                                0.001)]
    assert two.config.learning_rate == 0.009            # the run's own setting; the change is history
    assert two.history.checks[-1].learning_rate == 0.001


@pytest.mark.parametrize("extra, message", [
    (["--batch-size", "32"], "--batch-size cannot change; only --lr, --l2 and the epochs"),
    (["--optimizer", "adam", "--seed", "4"], "--optimizer, --seed cannot change"),
    ([], "the run has already trained 1 epoch (it was planned for 1); ask for more epochs than that"),
    (["--max-epochs", "1"], "the run has already trained 1 epoch; ask for more epochs"),
    (["--more-epochs", "0"], "the epochs more must be a whole number >= 1"),
    (["--more-epochs", "2", "--max-epochs", "4"], "either the epochs in all or the epochs more"),
    (["--lr", "0", "--more-epochs", "1"], "learning_rate must be > 0"),
])
def test_what_continue_refuses_says_what_to_do(tmp_path, capsys, extra, message):
    assert main(["train", *QUICK, "--max-epochs", "1", "-q", "--out", str(tmp_path / "one.h5")]) == 0
    capsys.readouterr()
    assert main(["train", "--init-from", str(tmp_path / "one.h5"), "--continue", *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_model_without_training_state_is_fine_tuned_instead(capsys):
    start = bundled_models_dir() / "report-no-l2.h5"
    assert main(["train", "--init-from", str(start), "--continue", "--more-epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot be continued exactly" in err and "fine-tune it instead" in err


def test_more_epochs_needs_continue(capsys):
    assert main(["train", "--more-epochs", "2"]) == 2
    assert "--more-epochs continues a saved run: add --continue" in capsys.readouterr().err
