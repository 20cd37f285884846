"""A run that cannot learn says so and stops; the command line then writes no model and exits 1."""

import math

import pytest

from digitlab.cli import main
from digitlab.io import load_model
from digitlab.training import PRESETS, STOP_REASONS, TrainConfig, train

# The report's protocol (SGD, lr 0.009) on the 2,000-image subset, checked every 5 steps.
REPORT_QUICK = PRESETS["report"].replace(train_subset=2000, eval_every=5)
DEAD = REPORT_QUICK.replace(learning_rate=3)          # kills the ReLUs within a few steps
CLI_QUICK = ["--train-subset", "2000", "--eval-every", "5"]


def test_dead_relus_stop_the_run_as_not_learning(small_splits):
    result = train(DEAD, small_splits)
    assert "not_learning" in STOP_REASONS and result.stop_reason == "not_learning"
    assert result.steps == 15                         # three dead checks, 5 steps apart
    assert "gives the same answer for every image" in result.message
    assert "learning rate 3 is too high" in result.message and "0.01" in result.message
    assert result.metrics["val_accuracy"] <= 0.2


def test_a_run_too_short_for_the_checks_is_judged_at_its_end(small_splits):
    # Checks every 100 steps with patience 100 stop early after two checks; the network is dead.
    result = train(PRESETS["report"].replace(learning_rate=3, train_subset=2000, max_epochs=30), small_splits)
    assert result.stop_reason == "not_learning" and "at the end of the run" in result.message


def test_the_report_protocol_is_slow_but_not_flagged(small_splits):
    result = train(REPORT_QUICK, small_splits)       # 100 epochs of 8 steps
    assert result.stop_reason in ("early_stopping", "max_epochs"), result.message
    assert result.metrics["val_accuracy"] > 0.4
    # It starts below 20 % (what the not-learning rule calls chance) and must survive that.
    assert min(c.val_accuracy for c in result.history.checks[:5]) < 0.2


@pytest.mark.parametrize("name, max_epochs", [("report-bn", 100), ("report-l2", 100), ("report-l2-bn", 100),
                                              ("best", 10)])
def test_the_presets_are_not_flagged(name, max_epochs, small_splits):
    # Batch normalisation starts above ln 10 and stays near chance for tens of steps.
    config = PRESETS[name].replace(train_subset=2000, max_epochs=max_epochs, eval_every=5)
    result = train(config, small_splits)
    assert result.stop_reason in ("early_stopping", "max_epochs"), result.message
    assert result.metrics["val_accuracy"] > 0.4


def test_a_too_large_l2_is_blamed_for_divergence(small_splits):
    result = train(REPORT_QUICK.replace(l2=1e4, learning_rate=0.5), small_splits)
    assert result.stop_reason == "diverged" and "The L2 strength 10000 is too large" in result.message


def test_cli_writes_no_model_for_a_run_that_does_not_learn(tmp_path, capsys):
    out = tmp_path / "dead.h5"
    assert main(["train", *CLI_QUICK, "--lr", "3", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "The network is not learning" in captured.out
    assert "no model written" in captured.err and "--save-anyway" in captured.err
    assert not out.exists()
    assert main(["train", *CLI_QUICK, "--lr", "3", "--out", str(out), "--save-anyway"]) == 1
    model = load_model(out)
    assert model.stop_reason == "not_learning" and "not learning" in model.message


def test_cli_writes_no_model_for_a_diverged_run(tmp_path, capsys):
    out = tmp_path / "diverged.h5"
    assert main(["train", *CLI_QUICK, "--optimizer", "adam", "--lr", "10", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "Training diverged at step" in captured.out and "no model written" in captured.err
    assert not out.exists()


def test_not_learning_is_said_without_nan(small_splits):
    config = TrainConfig(train_subset=2000, batch_size=64, eval_every=5, optimizer="momentum",
                         learning_rate=5, seed=3)
    result = train(config, small_splits)
    assert result.stop_reason == "not_learning" and "nan" not in result.message.lower()
    assert all(math.isfinite(c.val_cost) for c in result.history.checks)
