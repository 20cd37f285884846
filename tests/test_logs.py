"""The log file: set up by the entry points, rotating, every error with its traceback, stderr as before."""

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from digitlab import cli, logs, paths

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def logging_on(tmp_path, monkeypatch):
    """A test that asks for the log: its own data folder, DIGITLAB_LOG unset, undone afterwards."""
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DIGITLAB_LOG")
    yield tmp_path / "home" / "logs"
    logs.stop_logging()


def read(path: Path) -> str:
    for handler in logging.getLogger("digitlab").handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_nothing_is_set_up_by_importing_or_in_the_test_session():
    assert logs.log_file() is None
    assert logs.configure_logging("cli") is None        # DIGITLAB_LOG=off (tests/conftest.py)
    assert logs.log_file() is None
    assert logging.getLogger("digitlab").handlers == []


def test_the_log_is_in_the_data_folder_and_says_what_runs_where(logging_on):
    hooks = sys.excepthook, threading.excepthook
    path = logs.configure_logging("app")
    assert (sys.excepthook, threading.excepthook) != hooks
    assert path == logging_on / "digitlab-app.log" == logs.log_file()
    assert paths.user_data_dir() / "logs" == logs.log_dir() == logging_on
    assert logs.configure_logging("cli") == path        # once per process
    text = read(path)
    assert "digitlab 0.1.0 (app) started: Python 3." in text
    assert f"data folder {paths.user_data_dir()}" in text
    logs.stop_logging()
    assert logs.log_file() is None and logging.getLogger("digitlab").level == logging.NOTSET
    assert (sys.excepthook, threading.excepthook) == hooks


def test_the_log_rotates_and_keeps_five_older_files(logging_on, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    path = logs.configure_logging("cli")
    for i in range(400):
        logging.getLogger("digitlab.test").info("line %04d of a long session", i)
    names = sorted(p.name for p in logging_on.iterdir())
    assert names == ["digitlab-cli.log"] + [f"digitlab-cli.log.{k}" for k in range(1, 6)]
    assert all(p.stat().st_size <= 2000 for p in logging_on.iterdir())
    assert "line 0399" in read(path)
    assert "line 0399" not in (logging_on / "digitlab-cli.log.1").read_text()
    assert "line 0000" not in "".join(p.read_text() for p in logging_on.iterdir())   # the oldest went


def test_a_folder_that_cannot_be_made_leaves_digitlab_running(logging_on, tmp_path, caplog):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    assert logs.configure_logging("cli", folder=blocker / "logs") is None
    assert logs.log_file() is None
    [message] = [r.getMessage() for r in caplog.records]
    assert message.startswith("digitlab writes no log file this time: ") and str(blocker) in message


def test_uncaught_exceptions_are_logged_with_their_traceback_then_printed_as_before(logging_on, capsys,
                                                                                     monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)     # Python's own, not pytest-qt's
    path = logs.configure_logging("cli")
    try:
        {}["no such key"]
    except KeyError:
        sys.excepthook(*sys.exc_info())
    text = read(path)
    assert "CRITICAL digitlab [" in text and "Uncaught exception" in text
    assert "Traceback (most recent call last):" in text and "KeyError: 'no such key'" in text
    err = capsys.readouterr().err
    assert err.count("KeyError: 'no such key'") == 1     # Python's own hook printed it once, we did not


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_exception_in_another_thread_is_logged(logging_on):
    path = logs.configure_logging("app")

    def work():
        raise ValueError("the worker broke")

    thread = threading.Thread(target=work, name="worker-7")
    thread.start()
    thread.join()
    text = read(path)
    assert "Uncaught exception in worker-7" in text
    assert 'raise ValueError("the worker broke")' in text and "ValueError: the worker broke" in text


def test_the_cli_logs_its_command_and_errors_and_prints_each_error_once(logging_on, tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_text("not a model")
    assert cli.main(["evaluate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("cannot open model") == 1 and err.count("\n") == 1
    text = read(logging_on / "digitlab-cli.log")
    assert f"Command: digitlab evaluate {bad}" in text
    failed = f"ERROR digitlab.cli [pid {os.getpid()}, MainThread] digitlab evaluate failed: cannot open model"
    assert f"{failed} {bad}" in text


def test_the_cli_logs_what_it_loaded_trained_and_saved(logging_on, tmp_path, capsys):
    from digitlab.data import datasets

    datasets._load_folder_cached.cache_clear()          # read MNIST afresh, as a new process does
    out = tmp_path / "quick.h5"
    assert cli.main(["train", "--train-subset", "1000", "--max-epochs", "1", "--out", str(out)]) == 0
    assert cli.main(["export", str(out), "--out", str(tmp_path / "w.npz")]) == 0
    text = read(logging_on / "digitlab-cli.log")
    assert "Loaded the dataset mnist from " in text and ": 60000 training and 10000 test images" in text
    assert "Training started on mnist (1000 training images): 784-20-7-5-10, sgd, lr 0.009" in text
    assert "'max_epochs': 1" in text
    assert "Training ended (max_epochs) after 1 epochs" in text and "test accuracy " in text
    assert f"Saved the model 'quick' to {out}" in text
    assert f"Loaded the model 'quick' from {out}" in text
    assert f"Exported the weights (npz) to {tmp_path / 'w.npz'}" in text


def test_stderr_of_the_cli_is_the_same_with_the_log_as_without(logging_on, capsys):
    """What logging's last resort printed (a warning about a damaged model) is printed once, still."""
    user_models = paths.user_models_dir()
    (user_models / "junk.h5").write_text("junk")

    def models_stderr() -> str:
        assert cli.main(["models"]) == 0
        return capsys.readouterr().err

    without = models_stderr()
    assert logs.configure_logging("cli") is not None
    with_log = models_stderr()
    assert with_log == without
    assert with_log.count("junk.h5 cannot be used") == 1
    assert "junk.h5 cannot be used" in read(logs.log_file())


def test_a_real_process_logs_its_crash(tmp_path):
    """The hooks in a process of their own: the traceback is in the log and on stderr once."""
    env = dict(os.environ, DIGITLAB_HOME=str(tmp_path / "home"))
    env.pop("DIGITLAB_LOG")
    code = ("from digitlab.logs import configure_logging\n"
            "configure_logging('cli')\n"
            "def broken():\n"
            "    raise RuntimeError('a bug')\n"
            "broken()\n")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1
    assert run.stderr.count("RuntimeError: a bug") == 1
    text = (tmp_path / "home" / "logs" / "digitlab-cli.log").read_text(encoding="utf-8")
    assert "Uncaught exception" in text and "in broken" in text and "RuntimeError: a bug" in text


@pytest.mark.parametrize("log", ["off", "on"])
def test_a_failed_command_prints_one_line_with_the_log_or_without(tmp_path, log):
    env = dict(os.environ, DIGITLAB_HOME=str(tmp_path / "home"), DIGITLAB_LOG=log)
    run = subprocess.run([sys.executable, "-m", "digitlab.cli", "evaluate", "no-such-model"], env=env,
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2
    assert run.stderr.splitlines() == ["digitlab evaluate: no-such-model: no such file, and no model of that "
                                       "name in the library; 'digitlab models' lists the models by name"]
    logged = tmp_path / "home" / "logs" / "digitlab-cli.log"
    if log == "off":
        assert not logged.parent.exists()
    else:
        assert "digitlab evaluate failed: no-such-model: no such file" in logged.read_text()
