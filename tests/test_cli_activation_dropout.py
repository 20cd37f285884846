"""The command line's --activation and --dropout: into the run, the model file, and refused in words."""

import pytest

from digitlab.cli import main
from digitlab.io import load_model

QUICK = ["--train-subset", "500", "--max-epochs", "1", "--batch-size", "50", "--eval-every", "5"]


def _exit_code(argv) -> int:
    """The exit code of ``digitlab argv``: argparse's errors exit, digitlab's own return 2."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_train_with_an_activation_and_dropout_saves_both(tmp_path, capsys):
    out = tmp_path / "leaky.h5"
    assert main(["train", *QUICK, "--activation", "leaky_relu", "--dropout", "0.2,0,0.1",
                 "--out", str(out)]) == 0
    model = load_model(out)
    assert model.network.activation == "leaky_relu" and model.config.activation == "leaky_relu"
    assert model.config.dropout == (0.2, 0.0, 0.1)
    # continuing it keeps its activation; asking for another is refused in words
    assert main(["train", *QUICK, "--init-from", str(out), "--dropout", "0.1"]) == 0
    capsys.readouterr()
    assert _exit_code(["train", *QUICK, "--init-from", str(out), "--activation", "tanh"]) == 2
    assert "hidden layers use leaky_relu, so they cannot be trained as tanh" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--dropout", "1"], "argument --dropout: a dropout rate must be in [0, 1)"),
    (["--dropout", "0.2,x"], "argument --dropout: dropout rate must be a number, got 'x'"),
    (["--dropout", "0.2,0.2"], "dropout gives 2 rates but the network has 3 hidden layers"),
    (["--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
])
def test_bad_values_are_refused_in_words(args, message, capsys):
    assert _exit_code(["train", *QUICK, *args]) == 2
    assert message in capsys.readouterr().err


def test_the_regularisers_experiment_writes_its_table_models_and_verdicts(tmp_path, capsys):
    import json
    out = tmp_path / "reg"
    assert main(["experiments", "--set", "regularisers", "--train-subset", "600", "--seeds", "2",
                 "--workers", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "the regularisers experiment (none, L2, dropout, batch norm), 2 seed(s) [3, 4]" in text
    assert "Verdicts" in text and "is the best of the four" in text
    summary = json.loads((out / "summary.json").read_text())
    assert [row["Experiment"] for row in summary] == ["No regulariser", "L2 (lambda 5)", "Dropout (0.1,0,0)",
                                                      "Batch norm"]
    models = {p.stem: load_model(p) for p in out.glob("*.h5")}
    kinds = ("none", "l2", "dropout", "bn")
    assert sorted(models) == sorted(f"reg-{k}-seed{s}" for k in kinds for s in (3, 4))
    dropped = models["reg-dropout-seed3"].config
    assert dropped.dropout == (0.1, 0.0, 0.0) and dropped.l2 == 0 and not dropped.batch_norm
    assert models["reg-l2-seed3"].config.l2 == 5 and models["reg-bn-seed4"].config.batch_norm
    # the verdicts are the runs' own numbers
    acc = {k: [100 * models[f"reg-{k}-seed{s}"].metrics["test_accuracy"] for s in (3, 4)]
           for k in ("none", "l2", "dropout", "bn")}
    claims = (out / "claims.md").read_text()
    assert f"Dropout (0.1,0,0) {sum(acc['dropout']) / 2:.2f}" in claims
    beats = sum(d > n for d, n in zip(acc["dropout"], acc["none"]))
    verdict = {0: "holds for none of 2 seeds", 1: "holds for 1 of 2 seeds", 2: "holds for all 2 seeds"}[beats]
    assert f"**Dropout (0.1,0,0) beats no regulariser**: {verdict}." in claims
