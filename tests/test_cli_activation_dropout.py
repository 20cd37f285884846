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
