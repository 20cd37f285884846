"""The command line: everything digitlab does that needs no window.

    digitlab train [settings] [--init-from MODEL] [--extra-data mine.npz] --out model.h5
    digitlab models                      (the model library: bundled models and yours)
    digitlab evaluate MODEL [--set test|val|train] [--dataset D]   (MODEL: a .h5 file or a library name;
                                                                    D may be one set: x/y or x_test/y_test)
    digitlab predict MODEL digit.png ...
    digitlab export MODEL [--format npz|csv|json|onnx] [--out PATH]   (onnx: pip install 'digitlab[onnx]')
    digitlab experiments [--seeds N] [--out DIR]
    digitlab sweep --lambdas 0,1,3,5,10 [settings] [--seeds N] [--workers N] [--out DIR]
    digitlab report [--models a.h5 ... | --from DIR | --seeds N] [--out DIR] [--formats html,pdf,md]
    digitlab compare MODEL MODEL ... [--out curves.csv] [--smoothing 0.6]   (the models' training curves)
    digitlab build-models [--dir DIR] [--only NAME ...]
    digitlab data info|download

Each command is a function ``cmd_<name>(args) -> int`` registered in :func:`build_parser`.
Errors a person can fix (a bad file, a bad setting) print one clear line and exit with status 2;
only a bug shows a traceback. Exit statuses: 0 done, 1 the run failed (diverged, did not learn),
2 bad usage or input, 130 interrupted (Ctrl+C), 141 the reader of the output went away (a closed
pipe, as in ``digitlab models | head -1``). ``python -m digitlab`` is the same command.

Results go to stdout, and nothing else does with ``--json`` (one JSON document, schema in
docs/cli-json.md); what a command is doing (progress, "training ...") goes to stderr with
``--json`` and nowhere with ``-q``; errors always go to stderr.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .atomic import OutputError, atomic_folder, check_output, output_error, output_lock, write_text_atomic
from .process import install_refcount_guard, set_blas_threads
from .text import printable

log = logging.getLogger("digitlab.cli")     # not __name__: "__main__" under python -m digitlab.cli


class UserError(Exception):
    """A problem with the person's input: printed as one line, exit status 2."""


# A run that diverged or did not learn: its message says why; no model is written by default.
FAILED_RUNS = ("diverged", "not_learning")
# Exit statuses (README, "Exit status"); a stop from outside is 128 + the signal's number, as a
# shell reports a command killed by it: SIGINT 2, SIGPIPE 13 (no signal.SIGPIPE on Windows).
EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_CLOSED_PIPE = 128 + 2, 128 + 13
MAX_SEEDS = 1000          # seeds of experiments, sweep and report: each is several full runs


# ---------------------------------------------------------------------------- helpers
class Progress:
    """A one-line progress bar on stderr (a line per epoch when stderr is not a terminal)."""

    def __init__(self, total_epochs: int, stream=None, width: int = 24, quiet: bool = False):
        self.total = total_epochs
        self.stream = _Discard() if quiet else stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.last = None
        self.start = time.perf_counter()

    def check(self, check) -> None:
        self.last = check
        if self.tty:
            self._draw(check.epoch, check.step)

    def epoch(self, epoch: int, step: int, total: int) -> None:
        if self.tty:
            self._draw(epoch, step)
        else:
            self.stream.write(self._line(epoch, step) + "\n")
            self.stream.flush()

    def _line(self, epoch, step) -> str:
        filled = int(self.width * min(epoch / max(self.total, 1), 1.0))
        bar = "#" * filled + "." * (self.width - filled)
        text = f"epoch {epoch:>3}/{self.total} [{bar}] step {step:>6}"
        if self.last is not None:
            text += (f"  train {self.last.train_cost:.4f}  val {self.last.val_cost:.4f}  "
                     f"acc {self.last.val_accuracy:.4f}")
        return text + f"  {time.perf_counter() - self.start:6.1f}s"

    def _draw(self, epoch, step) -> None:
        self.stream.write("\r" + self._line(epoch, step))
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class _Discard:
    """A stream that drops what is written to it (the progress of a ``-q`` run)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        """Nothing is kept, so nothing to flush."""

    def isatty(self) -> bool:
        return False


def _info(args, *values, **kwargs) -> None:
    """Print what the command is doing (not a result): to stdout for a person, to stderr when
    stdout carries a ``--json`` document, nowhere with ``-q``. Takes print's arguments."""
    if getattr(args, "quiet", False):
        return
    print(*values, **kwargs, file=sys.stderr if getattr(args, "json", False) else sys.stdout)


def _emit_json(document) -> None:
    """Write the command's one JSON document to stdout (docs/cli-json.md describes each).

    A number that is not finite (the cost of a diverged model) becomes null: JSON has no NaN."""
    import json
    import math

    def plain(value):
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):   # a NumPy scalar
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    sys.stdout.write(json.dumps(plain(document), indent=2, allow_nan=False) + "\n")


def _layer_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.replace(",", "-").split("-") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"layer sizes must look like 784-20-7-5-10, got {text!r}") from None
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(f"give at least an input and an output size, got {text!r}")
    return sizes


def _dropout(text: str) -> tuple[float, ...]:
    from .training.config import parse_dropout
    try:
        return parse_dropout(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e} (give one rate for every hidden layer, e.g. 0.2, or one "
                                         f"per hidden layer, e.g. 0.2,0.1,0)") from None


def _load(path):
    from .io import ModelFileError, load_model
    try:
        return load_model(path)
    except ModelFileError as e:
        raise UserError(str(e)) from None


def _model_path(text: str) -> tuple[Path, bool]:
    """The model file that ``text`` names, and whether it was found by name in the library.

    A path that exists wins; otherwise ``text`` is a model of the library (``digitlab models``):
    its name as listed, its stored name or its file name without ``.h5``."""
    path = Path(text).expanduser()
    if path.exists():
        return path, False
    from .library import ModelLibrary
    entry = ModelLibrary().get(text)
    if entry is None or entry.path is None:
        raise UserError(f"{printable(text, 200)}: no such file, and no model of that name in the library; "
                        "'digitlab models' lists the models by name")
    if entry.damaged:
        raise UserError(f"{printable(entry.display_name, 200)} ({entry.path}) is damaged: {entry.damage}")
    return entry.path, True


def cmd_models(args) -> int:
    """List the library: bundled models, then yours; damaged files with the reason."""
    from .library import ModelLibrary
    library = ModelLibrary()
    listing = library.listing()
    if not listing:
        print("no models yet: train one with 'digitlab train --out models/NAME.h5' or build the bundled "
              "ones with 'digitlab build-models'")
        return 0
    width = max(len(printable(e.display_name, 60)) for e in listing)
    print(f"{'name':<{width}}  {'source':<7}  {'layers':<16}  {'test acc':>8}  file")
    for e in listing:
        name = printable(e.display_name, 60)
        if e.damaged:
            print(f"{name:<{width}}  {e.source:<7}  {'damaged':<16}  {'':>8}  {e.path}")
            print(f"{'':<{width}}    {printable(e.damage, 400)}")
            continue
        print(f"{name:<{width}}  {e.source:<7}  {e.layers_text:<16}  {e.accuracy_text:>8}  {e.path}")
    return 0


def _splits(config, dataset=None):
    from .data import DatasetError
    from .training import cached_splits
    try:
        return cached_splits(config if dataset is None else config.replace(dataset=dataset))
    except (DatasetError, OSError, ValueError) as e:
        raise UserError(str(e)) from None


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _count(option: str, value: int, maximum: int | None = None) -> int:
    """A whole-number option that must be >= 1 (--seeds, --workers), checked before any work."""
    if value < 1:
        raise UserError(f"{option} must be at least 1, got {value}")
    if maximum is not None and value > maximum:
        raise UserError(f"{option} must be at most {maximum:,}, got {value:,}")
    return value


def _seed_range(option: str, first: int, n: int) -> list[int]:
    """``n`` seeds from ``first`` on, all within the seeds a run accepts (0 .. 2**31 - 1)."""
    from .training.config import MAX_SEED
    if first < 0 or first + n - 1 > MAX_SEED:
        raise UserError(f"{option} must be from 0 to {MAX_SEED:,} and leave room for {n} seed(s), "
                        f"got {first}")
    return [first + k for k in range(n)]


def _out_path(text: str | None, option: str = "--out") -> Path | None:
    """``--out`` as a Path (None when not given); an empty name would silently write nothing."""
    if text is None:
        return None
    if not text.strip():
        raise UserError(f"{option} is empty; give a file or folder name")
    return Path(text)


def _dataset_inputs(config) -> list[Path]:
    """A dataset given as a path is an input too: no output may replace it."""
    path = Path(config.dataset) if config.dataset not in ("", "mnist", "fashion-mnist") else None
    return [path] if path is not None and path.exists() else []


def _check_out(path: Path, *, replace: bool, inputs=(), folder: bool = False) -> Path:
    """:func:`digitlab.atomic.check_output`, before any work, as one line for the person."""
    try:
        return check_output(path, replace=replace, inputs=inputs, folder=folder)
    except OSError as e:
        raise UserError(str(output_error(path, e))) from None


@contextmanager
def _writing(path):
    """Turn a failed write (a full disk, a read-only folder) into one line instead of a traceback."""
    try:
        yield
    except OSError as e:
        raise UserError(str(output_error(path, e))) from None


@contextmanager
def _locked(path: Path):
    """Hold ``path``'s output lock for the whole run: a second writer fails at once, in words."""
    try:
        lock = output_lock(path)
        lock.__enter__()
    except OSError as e:
        raise UserError(str(output_error(path, e, "lock"))) from None
    try:
        yield path
    finally:
        lock.__exit__(None, None, None)


# ---------------------------------------------------------------------------- train
def add_training_options(p: argparse.ArgumentParser) -> None:
    from .nn import INITS, OPTIMIZERS
    from .nn.activations import ACTIVATIONS
    from .training import PRESETS, SCHEDULES
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="start from a named setting (default: report, or with --init-from the starting "
                        "model's own settings); the options below override it")
    g = p.add_argument_group("network")
    g.add_argument("--layers", type=_layer_sizes, help="layer sizes, e.g. 784-20-7-5-10")
    g.add_argument("--init", choices=INITS,
                   help="Gaussian initialisation: he = sqrt(2/fan_in), normal = --init-std")
    g.add_argument("--init-std", type=float, help="standard deviation for --init normal")
    g.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="batch normalisation on the hidden layers")
    g.add_argument("--activation", choices=list(ACTIVATIONS),
                   help="the hidden layers' activation (default relu; leaky_relu has slope 0.01)")
    g.add_argument("--dropout", type=_dropout, metavar="RATES",
                   help="inverted dropout in training: one rate for every hidden layer (0.2) or one per "
                        "hidden layer (0.2,0.1,0); each in [0, 1); off at prediction (default none)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=sorted(OPTIMIZERS))
    g.add_argument("--lr", "--learning-rate", dest="learning_rate", type=float)
    g.add_argument("--momentum", type=float, help="for --optimizer momentum")
    g.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    g.add_argument("--batch-size", type=int)
    g.add_argument("--l2", "--lambda", dest="l2", type=float,
                   help="L2 strength lambda: cost + lambda/(2m) sum W^2, m = batch size")
    g.add_argument("--seed", type=int)
    g = p.add_argument_group("early stopping")
    g.add_argument("--eval-every", type=int, help="steps between validation checks (default 100)")
    g.add_argument("--patience", type=int, help="steps without improvement before stopping (default 100)")
    g.add_argument("--tol", type=float, help="improvement smaller than this does not count")
    g.add_argument("--max-epochs", type=int)
    g = p.add_argument_group("data")
    g.add_argument("--dataset", help="mnist (bundled), fashion-mnist, an MNIST-format folder or a .npz file")
    g.add_argument("--n-validation", type=int, help="validation images split off the training file")
    g.add_argument("--train-subset", type=int, help="train on the first N images only (quick runs)")
    g.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="transform a fresh random share of the training images every epoch (shifts, "
                        "rotations, scaling, shear, stroke thickness, elastic wobble; never validation "
                        "or test images); on in the pad presets")
    g.add_argument("--augment-fraction", type=float,
                   help="the share of training images augmented each epoch, in (0, 1] (default 0.5)")
    _document_preset_defaults(p)


def _document_preset_defaults(p: argparse.ArgumentParser) -> None:
    """Say in --help what a setting left out is: the preset's value (report's, unless --preset)."""
    from .training import preset
    report = preset("report").to_dict()
    for action in p._actions:
        key = "layer_sizes" if action.dest == "layers" else action.dest
        if key not in report or action.default is not None or "default" in (action.help or ""):
            continue
        value = report[key]
        shown = ("-".join(map(str, value)) if key == "layer_sizes" else "all" if value is None
                 else ("on" if value else "off") if isinstance(value, bool) else value)
        action.help = ((action.help + " " if action.help else "")
                       + f"(default: the preset's; report: {shown})").replace("%", "%%")


def config_from_args(args, base=None):
    """The settings of ``args``: ``base`` (default: the --preset, report if none) with every
    option given on the command line applied, checked."""
    from .training import preset
    config = base if base is not None else preset(getattr(args, "preset", None) or "report")
    changes = {}
    for field in ("init", "init_std", "batch_norm", "optimizer", "learning_rate", "momentum", "schedule",
                  "batch_size", "l2", "seed", "eval_every", "patience", "tol", "max_epochs", "dataset",
                  "n_validation", "train_subset", "augment", "augment_fraction", "activation", "dropout"):
        value = getattr(args, field, None)
        if value is not None:
            changes[field] = value
    if getattr(args, "layers", None):
        changes["layer_sizes"] = args.layers
    config = config.replace(**changes, name=getattr(args, "name", None) or config.name)
    problems = config.problems()
    if problems:
        raise UserError("invalid settings: " + "; ".join(problems))
    return config


def _starting_model(args):
    """``--init-from``: the model (and its file) the run starts from, or None."""
    text = getattr(args, "init_from", None)
    if text is None:
        return None, None
    path = _model_path(text)[0]
    return _load(path), path


def _train_config(args, start):
    """The run's settings: as usual, or, starting from a model, its architecture and its own
    settings with the fine-tuning defaults (digitlab.training.fine_tune) unless --preset is given."""
    if start is None:
        return config_from_args(args)
    from .training import preset
    from .training.fine_tune import architecture_problems, fine_tune_config, with_architecture
    problems = architecture_problems(start.network, layer_sizes=args.layers, batch_norm=args.batch_norm,
                                     activation=args.activation)
    if problems:
        raise UserError("--init-from: " + "; ".join(problems))
    base = preset(args.preset) if args.preset else fine_tune_config(start.config)
    return config_from_args(args, base=with_architecture(base, start.network))


def _extra_data(args):
    """``--extra-data``: the labelled set to mix into training, or None; --extra-share checked."""
    from .training.mixing import DEFAULT_EXTRA_SHARE, extra_share_problem
    if args.extra_data is None:
        if args.extra_share is not None:
            raise UserError("--extra-share needs --extra-data (the digits to mix in)")
        return None
    problem = extra_share_problem(args.extra_share if args.extra_share is not None else DEFAULT_EXTRA_SHARE)
    if problem:
        raise UserError(f"--extra-share: {problem}")
    from .data import DatasetError
    from .data.labelled import load_labelled_set
    try:
        return load_labelled_set(args.extra_data)
    except (DatasetError, OSError) as e:
        raise UserError(f"--extra-data: {e}") from None


def cmd_train(args) -> int:
    start, start_path = _starting_model(args)
    if args.continue_run:
        return _continue_run(args, start, start_path)
    if args.more_epochs is not None:
        raise UserError("--more-epochs continues a saved run: add --continue (with --init-from)")
    config = _train_config(args, start)
    extra = _extra_data(args)
    out = _out_path(args.out)
    if out is None:
        return _train_and_report(args, config, None, start, start_path, extra)
    # Everything that could stop the save is checked before the first step, and the lock makes a
    # second `train --out` of the same file fail now rather than overwrite this one at the end.
    inputs = _dataset_inputs(config) + [p for p in (start_path, extra and Path(extra.name)) if p]
    _check_out(out, replace=args.force, inputs=inputs)
    with _locked(out):
        _check_out(out, replace=args.force, inputs=inputs)
        return _train_and_report(args, config, out, start, start_path, extra)


# What `train --continue` may change about the saved run; every other training option is refused
# (digitlab.training.continuing): the run goes on with its own settings.
_CONTINUE_OPTIONS = ("learning_rate", "l2", "max_epochs")


def _continue_run(args, start, start_path) -> int:
    """``train --init-from MODEL --continue``: the saved run, continued exactly."""
    from .training.continuing import continue_config, continue_problems
    if start is None:
        raise UserError("--continue needs --init-from MODEL: the saved run to continue")
    if args.extra_data is not None or args.extra_share is not None:
        raise UserError("--continue goes on with the saved run's own data; drop --extra-data, or fine-tune "
                        "without --continue")
    given = [a for a in _TRAINING_DESTS if getattr(args, a, None) is not None and a not in _CONTINUE_OPTIONS]
    if given:
        shown = ", ".join("--" + a.replace("_", "-") for a in given)
        raise UserError(f"--continue goes on with the saved run's own settings, so {shown} cannot change; "
                        f"only --lr, --l2 and the epochs (--max-epochs in all, or --more-epochs) can. Drop "
                        f"{shown}, or fine-tune without --continue")
    problems = continue_problems(start.training_state, start.origin, start.stop_reason)
    if problems:
        raise UserError("--continue: " + "; ".join(problems))
    try:
        config = continue_config(start.config, start.training_state, max_epochs=args.max_epochs,
                                 more_epochs=args.more_epochs)
    except ValueError as e:
        raise UserError(f"--continue: {e}") from None
    changes = {k: getattr(args, k) for k in ("learning_rate", "l2") if getattr(args, k) is not None}
    for key, value in changes.items():
        from .training import TrainConfig
        problems = TrainConfig.field_problems(key, value)
        if problems:
            raise UserError("invalid settings: " + "; ".join(problems))
    out = _out_path(args.out)
    resume = dict(resume=start.training_state, history=start.history, changes=changes)
    if out is None:
        return _train_and_report(args, config, None, start, start_path, **resume)
    inputs = _dataset_inputs(config) + [start_path]
    _check_out(out, replace=args.force, inputs=inputs)
    with _locked(out):
        _check_out(out, replace=args.force, inputs=inputs)
        return _train_and_report(args, config, out, start, start_path, **resume)


_TRAINING_DESTS = ("preset", "layers", "init", "init_std", "batch_norm", "optimizer", "learning_rate",
                   "momentum", "schedule", "batch_size", "l2", "seed", "eval_every", "patience", "tol",
                   "max_epochs", "dataset", "n_validation", "train_subset", "augment", "augment_fraction")


def _train_and_report(args, config, out: Path | None, start=None, start_path=None, extra=None, *,
                      resume=None, history=None, changes=None) -> int:
    from .io import save_model
    from .training import RunControl, train
    from .training.fine_tune import accuracy_on, start_origin
    splits = _splits(config)
    if resume is not None:
        _info(args, f"continuing {printable(start.name, 200)} ({start_path}) from step {resume.step}, "
              f"epoch {resume.epoch + 1}, to {config.max_epochs} epochs in all")
    elif start is not None:
        _info(args, f"starting from {printable(start.name, 200)} ({start_path}) instead of a fresh "
              "initialisation")
    if extra is not None:
        from .training.mixing import DEFAULT_EXTRA_SHARE, mix_extra
        share = args.extra_share if args.extra_share is not None else DEFAULT_EXTRA_SHARE
        try:
            splits = mix_extra(splits, extra.x, extra.y, share=share, name=extra.name,
                               checksum=extra.checksum, seed=config.seed)
        except ValueError as e:
            raise UserError(f"--extra-data: {e}") from None
        _info(args, f"mixing in {len(extra)} digits of {printable(extra.name, 200)}: "
              f"{splits.n_extra_rows} of the {splits.n_train} training images of every epoch "
              f"({_pct(splits.share)}), validation and test as {printable(splits.name, 200)}'s")
        if start is not None:
            print(f"accuracy on {printable(extra.name, 200)} before: "
                  f"{_pct(accuracy_on(start.network, splits.x_extra, splits.y_extra))}")
    _info(args, f"training {config.describe()} on {printable(splits.name, 200)}: {splits.n_train} train, "
          f"{splits.n_val} validation, {splits.n_test} test images")
    progress = Progress(config.max_epochs, quiet=args.quiet)
    control = RunControl()
    for key, value in (changes or {}).items():
        control.change(key, value)          # recorded as changed at the step the run goes on from
    # The first Ctrl+C (or SIGTERM, as from `kill` or a job scheduler) stops the run the way the
    # GUI's Stop button does, keeping what it learned and saving it; a second one ends it at once.
    # Ctrl+C still ends with the status of an interrupted command (130), after the save.
    stopped_by = []

    def first_signal(signum, frame):
        stopped_by.append(signum)
        control.cancel()
        signal.signal(signum, previous[signum] if signum != signal.SIGINT else signal.default_int_handler)
    previous = {sig: signal.signal(sig, first_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        initial = start.network if start is not None and resume is None else None
        result = train(config, splits, initial=initial, control=control, on_check=progress.check,
                       on_epoch=progress.epoch, resume=resume, history=history)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    progress.done()
    print(result.message)
    _print_metrics(result.metrics)
    print(f"{result.epochs} epochs, {result.steps} iterations, {result.elapsed:.2f} s")
    if "after" in result.extra_accuracy:
        print(f"accuracy on {printable(extra.name, 200)} after: {_pct(result.extra_accuracy['after'])}")
    if start is not None:
        result.origin.update(start_origin(start.name, start_path))
    failed = result.stop_reason in FAILED_RUNS
    path = None
    if out and failed and not args.save_anyway:
        what = "diverged" if result.stop_reason == "diverged" else "did not learn"
        print(f"no model written to {out}: the run {what} (add --save-anyway to keep it all the same)",
              file=sys.stderr)
    elif out and failed and not result.metrics:
        print(f"no model written to {out}: the run has no usable weights", file=sys.stderr)
    elif out:
        with _writing(out):
            path = save_model(out, result, name=args.name or out.stem, dataset_name=splits.name,
                              dataset_checksum=splits.checksum, replace=args.force)
        print(f"saved {path}")
    if signal.SIGINT in stopped_by:
        saved = f"; what it learned is saved in {path}" if path else ""
        print(f"digitlab train: interrupted{saved}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_RUN_FAILED if failed else EXIT_OK


def _print_metrics(m: dict) -> None:
    if not m:
        return
    print(f"{'':12s}{'cost':>10s}{'accuracy':>12s}")
    for part, label in (("train", "train"), ("val", "validation"), ("test", "test")):
        print(f"{label:12s}{m[f'{part}_cost']:10.4f}{_pct(m[f'{part}_accuracy']):>12s}")


# ---------------------------------------------------------------------------- evaluate
def _evaluation_splits(model, dataset: str | None):
    """The model's own split of its dataset, or a split of ``dataset`` that fits it.

    The model's ``n_validation`` and ``train_subset`` describe its own training file; applied to
    another (say, a 200-image) dataset they may not fit, so another dataset gets a fifth of its
    training file as validation (MNIST's 12,000 of 60,000), and its test set whole.
    """
    if dataset is None:
        return _splits(model.config)
    from .data import DatasetError, load_dataset, prepare_splits
    from .training import SPLIT_SEED
    try:
        raw = load_dataset(None if dataset in ("", "mnist") else dataset)
        if model.dataset_checksum and raw.checksum == model.dataset_checksum:
            return prepare_splits(raw, n_validation=model.config.n_validation, seed=SPLIT_SEED,
                                  train_subset=model.config.train_subset)
        n = len(raw.train_labels)
        if n < 2:
            raise UserError(f"{printable(raw.name)} has {n} training image(s); at least 2 are needed to "
                            f"split off a validation set")
        return prepare_splits(raw, n_validation=max(1, n // 5), seed=SPLIT_SEED)
    except (DatasetError, OSError, ValueError) as e:
        raise UserError(str(e)) from None


def _labelled_set(dataset: str | None):
    """``--dataset`` as one labelled set (a .npz with x and y, or with x_test and y_test but no
    training part), or None when it is a whole dataset (or not a .npz file at all)."""
    if dataset is None:
        return None
    path = Path(dataset).expanduser()
    if path.suffix.lower() != ".npz" or not path.exists():
        return None                 # load_dataset reads it, or says what is wrong
    from .data import DatasetError
    from .data.labelled import load_labelled_set, npz_members
    try:
        members = npz_members(path)
        if {"x_train", "y_train", "x_test", "y_test"} <= members and not {"x", "y"} <= members:
            return None
        return load_labelled_set(path)
    except (DatasetError, OSError) as e:
        raise UserError(str(e)) from None


def cmd_evaluate(args) -> int:
    import numpy as np

    from .reports.metrics import confusion_matrix, format_confusion, per_class_scores
    model_path = _model_path(args.model)[0]
    model = _load(model_path)
    labelled = _labelled_set(args.dataset)
    if labelled is not None:
        if args.set != "test":
            raise UserError(f"{printable(labelled.name, 200)} is one set of digits "
                            f"({', '.join(labelled.keys)}), with no training or validation part; "
                            f"leave out --set {args.set}")
        X, y, name = labelled.inputs(), labelled.labels(), labelled.name
        what = f"{printable(name, 200)} ({', '.join(labelled.keys)})"
    else:
        splits = _evaluation_splits(model, args.dataset)
        X, y = getattr(splits, f"x_{args.set}"), getattr(splits, f"y_{args.set}")
        name = splits.name
        what = f"{args.set} set of {printable(name, 200)}"
    net = model.network
    # The reader checks the model on its own; this checks that it fits this dataset.
    if X.shape[1] != net.layer_sizes[0]:
        raise UserError(f"{printable(name, 200)} has {X.shape[1]} pixels per image but the model "
                        f"expects {net.layer_sizes[0]}")
    if len(y) and int(np.max(y)) >= net.layer_sizes[-1]:
        raise UserError(f"{printable(name, 200)} has labels up to {int(np.max(y))} but the model has "
                        f"only {net.layer_sizes[-1]} outputs")
    if not len(y):
        raise UserError(f"the {what} has no images")
    cost, accuracy = net.cost_and_accuracy(X, y, model.config.l2, m=model.config.batch_size)
    ce, _ = net.cost_and_accuracy(X, y)
    pred = net.predict(X)
    cm = confusion_matrix(y, pred, net.layer_sizes[-1])
    scores = per_class_scores(cm)
    rel = None
    if getattr(args, "calibration", False):
        from .reports.calibration import reliability
        rel = reliability(net.predict_proba(X), y)
    if args.json:
        _emit_json(_evaluation_document(model, model_path, name, labelled, args.set, y, cost, ce, accuracy,
                                        cm, scores, rel))
        return EXIT_OK
    print(f"{printable(model.name)}: {model.config.describe()}")
    print(f"{what}: {len(y)} images")
    print(f"cost {cost:.4f} (cross-entropy {ce:.4f}), accuracy {_pct(accuracy)}\n")
    print("confusion matrix (rows: true digit, columns: predicted)")
    print(format_confusion(cm) + "\n")
    print(f"{'class':>5s}{'accuracy':>10s}{'precision':>11s}{'recall':>8s}{'count':>7s}")
    for k in range(len(cm)):
        print(f"{k:>5d}{scores['recall'][k]:10.4f}{scores['precision'][k]:11.4f}"
              f"{scores['recall'][k]:8.4f}{scores['support'][k]:7d}")
    if rel is not None:
        print(f"\ncalibration: expected calibration error {_pct(rel.ece)}, maximum {_pct(rel.mce)}; "
              f"mean confidence {_pct(rel.mean_confidence)} against accuracy {_pct(rel.accuracy_overall)}")
        print(f"{'confidence':>12s}{'count':>8s}{'mean conf.':>12s}{'accuracy':>10s}")
        for row in rel.rows():
            conf = "" if row["Mean confidence"] is None else f"{row['Mean confidence']:.4f}"
            acc = "" if row["Accuracy"] is None else f"{row['Accuracy']:.4f}"
            print(f"{row['Bin']:>12s}{row['Count']:8d}{conf:>12s}{acc:>10s}")
    return 0


def _model_document(model, path: Path) -> dict:
    """The model part of a ``--json`` document (docs/cli-json.md)."""
    return {"name": model.name, "file": str(path), "layers": list(model.network.layer_sizes),
            "batch_norm": bool(model.network.batch_norm), "settings": model.config.describe()}


def _evaluation_document(model, path, data_name, labelled, part, y, cost, ce, accuracy, cm, scores,
                         rel) -> dict:
    """``evaluate --json``: what the text output shows, as numbers (docs/cli-json.md)."""
    return {
        "model": _model_document(model, path),
        "data": {"name": data_name, "set": "all" if labelled is not None else part, "images": int(len(y))},
        "cost": float(cost), "cross_entropy": float(ce), "accuracy": float(accuracy),
        "confusion_matrix": cm.tolist(),
        "classes": [{"class": k, "precision": float(scores["precision"][k]),
                     "recall": float(scores["recall"][k]), "count": int(scores["support"][k])}
                    for k in range(len(cm))],
        "calibration": None if rel is None else {
            "ece": float(rel.ece), "mce": float(rel.mce), "mean_confidence": float(rel.mean_confidence),
            "accuracy": float(rel.accuracy_overall),
            "bins": [{"low": float(rel.edges[k]), "high": float(rel.edges[k + 1]), "count": row["Count"],
                      "mean_confidence": row["Mean confidence"], "accuracy": row["Accuracy"]}
                     for k, row in enumerate(rel.rows())]},
    }


# ---------------------------------------------------------------------------- predict
def cmd_predict(args) -> int:
    import numpy as np

    from .data import read_image_file, to_mnist
    model_path = _model_path(args.model)[0]
    model = _load(model_path)
    status = EXIT_OK
    images = []             # --json: one entry per file, in the order given
    for name in args.images:
        entry = {"file": name, "digit": None, "probabilities": None, "error": None}
        images.append(entry)
        try:
            image = read_image_file(name)
        except (OSError, ValueError) as e:
            print(f"{printable(name)}: {printable(e, 300)}", file=sys.stderr)
            entry["error"] = str(e)
            status = EXIT_USAGE
            continue
        x = to_mnist(image, normalise_width=True)  # a thick or thin pen is brought to MNIST's
        if x is None:
            entry["error"] = "no ink found, nothing to predict"
            if not args.json:
                print(f"{printable(name)}: no ink found, nothing to predict")
            continue
        p = model.network.predict_one(x)
        top = np.argsort(p)[::-1][:3]
        entry.update(digit=int(top[0]), probabilities=[float(v) for v in p])
        if not args.json:
            others = ", ".join(f"{k} {100 * p[k]:.1f} %" for k in top[1:])
            print(f"{printable(name)}: {top[0]} ({100 * p[top[0]]:.1f} %; then {others})")
    if args.json:
        _emit_json({"model": _model_document(model, model_path), "images": images})
    return status


# ---------------------------------------------------------------------------- export
EXPORT_SUFFIXES = {".npz": "npz", ".json": "json", ".csv": "csv", ".onnx": "onnx"}


def _format_of(out: Path | None) -> str:
    """The export format ``--out``'s suffix names (``-o best.onnx`` is ONNX, not an archive called
    best.onnx); npz without ``--out`` or with another name."""
    return EXPORT_SUFFIXES.get(out.suffix.lower(), "npz") if out is not None else "npz"


def cmd_export(args) -> int:
    from .io import MissingExtraError, ModelFileError, export_weights
    fmt = args.format or _format_of(_out_path(args.out))
    source, by_name = _model_path(args.model)
    args.model = str(source)
    # next to the model file, or in the current folder for a library model named (the bundled
    # folder is not the person's)
    beside = Path.cwd() / source.name if by_name else source
    out = _out_path(args.out) or beside.with_suffix("" if fmt == "csv" else f".{fmt}")
    if fmt == "csv" and out.suffix == ".csv":
        out = out.with_suffix("")
    elif fmt != "csv" and out.suffix == "":
        out = out.with_suffix(f".{fmt}")      # what export_weights writes
    if fmt != "csv":                          # (a CSV folder is checked by export_weights: an
        _check_out(out, replace=args.force, inputs=[args.model])   # empty one is taken freely)
    model = _load(args.model)
    try:
        path = export_weights(model, out, fmt=fmt, overwrite=args.force, inputs=[args.model])
    except (ModelFileError, MissingExtraError, ValueError, OSError) as e:
        raise UserError(str(output_error(out, e)) if isinstance(e, OSError) else str(e)) from None
    print(f"exported {path}")
    return 0


# ---------------------------------------------------------------------------- experiments
def _run_the_experiments(args):
    """Train the report's four experiments for ``--seeds`` seeds, printing each run as it ends."""
    from .training import run_experiments
    seeds, experiments = _experiment_settings(args)
    splits = _splits(experiments[0][1])
    workers = min(args.workers, 4 * len(seeds))
    what = ("the regularisers experiment (none, L2, dropout, batch norm)"
            if getattr(args, "set", "report") == "regularisers" else "the report's four experiments")
    _info(args, f"{what}, {len(seeds)} seed(s) {seeds}, {workers} process(es)")
    start = time.perf_counter()

    def done(run):
        r = run.result
        _info(args, f"  seed {run.seed} {run.label}: test {_pct(r.metrics['test_accuracy'])}, "
              f"{r.epochs} epochs, {r.steps} iterations, {r.elapsed:.1f} s ({r.stop_reason})", flush=True)

    runs = run_experiments(splits, seeds, experiments=experiments, workers=workers, on_done=done)
    _info(args, f"trained in {time.perf_counter() - start:.1f} s")
    return runs, splits


def _experiment_settings(args):
    """The seeds and the four experiments' settings of ``args``, every one checked before work."""
    from .training import EXPERIMENT_SETS
    _count("--workers", args.workers)
    seeds = _seed_range("--first-seed", args.first_seed, _count("--seeds", args.seeds, MAX_SEEDS))
    chosen = EXPERIMENT_SETS[getattr(args, "set", "report")]
    experiments = [(label, config.replace(train_subset=args.train_subset)) for label, config in chosen]
    problems = experiments[0][1].replace(seed=seeds[0]).problems()
    if problems:
        raise UserError("invalid settings: " + "; ".join(problems))
    return seeds, experiments


def cmd_experiments(args) -> int:
    out = _out_path(args.out)
    _experiment_settings(args)
    if out is None:
        return _experiments(args, None)
    _check_out(out, replace=args.force, folder=True)
    with _locked(out):
        _check_out(out, replace=args.force, folder=True)
        return _experiments(args, out)


def _experiments(args, out: Path | None) -> int:
    from .io import save_model
    from .reports import tables
    runs, splits = _run_the_experiments(args)
    seeds = sorted({run.seed for run in runs})
    summary = tables.summary_rows(runs)
    regularisers = args.set == "regularisers"
    # the weights table sets no regulariser against L2, the 1st and 3rd of the four, 1st and 2nd here
    weights = tables.weights_rows(runs, 0, 1) if regularisers else tables.weights_rows(runs)
    claims = tables.check_regularisers(runs) if regularisers else tables.check_claims(runs)
    if not args.json:
        print()
        print("Summary" + (" (mean ± standard deviation over seeds)" if len(seeds) > 1 else ""))
        print(tables.to_text(summary))
        print("Mean absolute weight per layer")
        print(tables.to_text(weights))
        print("Verdicts" if regularisers else "The report's claims")
        for c in claims:
            print(f"  {c.statement}: {c.verdict}. {c.detail}")
    failed = [run for run in runs if run.result.stop_reason in FAILED_RUNS]
    for run in failed:
        print(f"seed {run.seed} {run.label}: {run.result.message}", file=sys.stderr)
    files = {}                      # run -> the model file written for it
    if out:
        # The folder is built beside its name and moved in whole when complete, so an error
        # (a full disk) leaves no half-written folder, and --force swaps out the old one only then.
        with _writing(out), atomic_folder(out, replace=args.force) as staged:
            for name, rows in (("summary", summary), ("weights", weights)):
                for ext, render in (("md", tables.to_markdown), ("csv", tables.to_csv),
                                    ("json", tables.to_json)):
                    _write_text(staged / f"{name}.{ext}", render(rows))
            _write_text(staged / "claims.md", tables.claims_markdown(claims))
            for run in runs:
                if run in failed:
                    continue
                stem = run.result.config.name + (f"-seed{run.seed}" if len(seeds) > 1 else "")
                save_model(staged / f"{stem}.h5", run.result, name=stem, dataset_name=splits.name,
                           dataset_checksum=splits.checksum, replace=False)
                files[id(run)] = out / f"{stem}.h5"
        _info(args, f"\nwrote the tables and {len(runs) - len(failed)} models to {out}")
    if args.json:
        import json
        _emit_json({
            "seeds": seeds, "dataset": splits.name, "out": None if out is None else str(out),
            "runs": [{"experiment": run.index + 1, "label": run.label, "seed": run.seed,
                      "name": run.result.config.name, "stop_reason": run.result.stop_reason,
                      "epochs": int(run.result.epochs), "iterations": int(run.result.steps),
                      "seconds": float(run.result.elapsed),
                      "metrics": {k: float(v) for k, v in run.result.metrics.items()},
                      "mean_abs_weights": [float(w) for w in run.result.network.mean_abs_weights()],
                      "file": str(files[id(run)]) if id(run) in files else None}
                     for run in runs],
            # the same rows as summary.json and weights.json of --out
            "summary": json.loads(tables.to_json(summary)), "weights": json.loads(tables.to_json(weights)),
            "claims": [{"key": c.key, "statement": c.statement, "verdict": c.verdict, "held": c.held,
                        "agree": c.agree, "seeds": c.total, "detail": c.detail} for c in claims]})
    return EXIT_RUN_FAILED if failed else EXIT_OK


def _write_text(path: Path, text: str) -> None:
    """Write atomically: a temporary file in the same folder, then rename over the target."""
    write_text_atomic(path, text)


SHIPPED_PRESETS = ("best", "pad", "pad-l2")    # shipped besides the four experiments


def cmd_build_models(args) -> int:
    """Train the models that ship in models/: the four experiments (seed 3), the best preset and
    the two pad networks (the Draw view's default pair); ``--only`` some of them. They go to the
    user's models folder unless ``--dir`` is given: an installed digitlab never writes into its
    own package, and a source checkout rebuilds its models/ with ``--dir models``."""
    from .io import save_model
    from .paths import user_models_dir
    from .training import EXPERIMENTS, PRESETS, train
    folder = _out_path(args.dir, "--dir") if args.dir is not None else user_models_dir()
    configs = [c for _, c in EXPERIMENTS] + [PRESETS[name] for name in SHIPPED_PRESETS]
    if args.only:
        unknown = sorted(set(args.only) - {c.name for c in configs})
        if unknown:
            raise UserError(f"--only: no shipped model called {', '.join(unknown)}; choose from "
                            f"{', '.join(c.name for c in configs)}")
        configs = [c for c in configs if c.name in args.only]
    for config in configs:                 # replacing the shipped models is what this is for
        _check_out(folder / f"{config.name}.h5", replace=True)
    for config in configs:
        splits = _splits(config)
        result = train(config, splits)
        if result.stop_reason in FAILED_RUNS:      # a failed run, not bad input: status 1
            print(f"digitlab build-models: {config.name}: {result.message}", file=sys.stderr)
            return EXIT_RUN_FAILED
        with _writing(folder / f"{config.name}.h5"):
            path = save_model(folder / f"{config.name}.h5", result, name=config.name,
                              dataset_name=splits.name, dataset_checksum=splits.checksum)
        print(f"{path}: test accuracy {_pct(result.metrics['test_accuracy'])}, {result.epochs} epochs, "
              f"{result.elapsed:.1f} s", flush=True)
    return 0


# ---------------------------------------------------------------------------- sweep
def cmd_sweep(args) -> int:
    """Train one setting for several L2 strengths (processes), print accuracy and mean |W| per lambda."""
    from .reports import tables
    from .reports.sweep import parse_lambdas, run_sweep, sweep_rows
    try:
        lambdas = parse_lambdas(args.lambdas)
    except ValueError as e:
        raise UserError(str(e)) from None
    config = config_from_args(args)
    for l2 in lambdas:
        problems = config.replace(l2=l2).problems()
        if problems:
            raise UserError("invalid lambda: " + "; ".join(problems))
    _count("--workers", args.workers)
    seeds = _seed_range("--seed", config.seed, _count("--seeds", args.seeds, MAX_SEEDS))
    out = _out_path(args.out)
    if out:
        _check_out(out, replace=args.force, folder=True, inputs=_dataset_inputs(config))
    _splits(config)                  # a bad dataset fails here with one line, not in every process
    total = len(lambdas) * len(seeds)
    workers = min(args.workers, total)
    _info(args, f"lambda sweep of {config.describe()}: lambdas {', '.join(f'{v:g}' for v in lambdas)}, "
          f"{len(seeds)} seed(s), {total} runs in {workers} process(es)")
    start = time.perf_counter()

    def done(point, n, total):
        _info(args, f"  [{n}/{total}] lambda {point.l2:g} seed {point.seed}: "
              f"test {_pct(point.test_accuracy)}, mean |W| "
              + " ".join(f"{w:.4f}" for w in point.mean_abs_weights)
              + f", {point.epochs} epochs, {point.elapsed:.1f} s", flush=True)

    points = run_sweep(config, lambdas, seeds, workers=workers, on_done=done)
    _info(args, f"done in {time.perf_counter() - start:.1f} s\n")
    rows = sweep_rows(points)
    print(tables.to_text(rows))
    if out:
        import json

        from .reports.figures import sweep_figure
        from .reports.sweep import sweep_table
        with _writing(out), atomic_folder(out, replace=args.force) as staged:
            for ext, render in (("md", tables.to_markdown), ("csv", tables.to_csv), ("json", tables.to_json)):
                _write_text(staged / f"sweep.{ext}", render(rows))
            _write_text(staged / "sweep-runs.json",
                        json.dumps([p.to_dict() for p in points], indent=2) + "\n")
            figure = sweep_figure(sweep_table(points))
            try:
                figure.save_png(staged / "sweep.png")
            finally:
                figure.close()
        _info(args, f"wrote the sweep tables and sweep.png to {out}")
    return 0


# ---------------------------------------------------------------------------- report
def cmd_report(args) -> int:
    """A report (HTML, PDF, Markdown; tables as CSV and JSON) of the four experiments or of models."""
    from .reports.report import load_experiment_folder, runs_from_models, write_report
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    out = _out_path(args.out) or Path(f"report-{time.strftime('%Y%m%d-%H%M%S')}")
    if args.models and args.from_dir:
        raise UserError("give either --models or --from, not both")
    _count("--workers", args.workers)
    _count("--sweep-seeds", args.sweep_seeds, MAX_SEEDS)
    if not (args.models or args.from_dir):
        _experiment_settings(args)
    # --models takes files or library names (as evaluate does); resolved before the output check
    model_paths = [_model_path(text)[0] for text in args.models or ()]
    _check_out(out, replace=args.force, folder=True,
               inputs=[*model_paths, *([args.from_dir] if args.from_dir else ())])
    if args.models:
        try:
            runs = runs_from_models([_load(path) for path in model_paths])
        except ValueError as e:
            raise UserError(str(e)) from None
        _info(args, f"report of {len(runs)} model(s)")
    elif args.from_dir:
        from .io import ModelFileError
        try:
            runs = load_experiment_folder(args.from_dir)
        except (FileNotFoundError, ModelFileError, ValueError) as e:
            raise UserError(str(e)) from None
        _info(args, f"report of the {len(runs)} experiment models in {args.from_dir}")
    else:
        runs, _ = _run_the_experiments(args)
    sweep = setting = None
    if args.sweep:
        from .reports.sweep import SweepSetting, parse_lambdas, run_sweep
        try:
            lambdas = parse_lambdas(args.sweep)
        except ValueError as e:
            raise UserError(str(e)) from None
        base = runs[0].result.config
        seeds = _seed_range("--sweep-seeds (from the first model's seed)", base.seed, args.sweep_seeds)
        _info(args, f"lambda sweep: {', '.join(f'{v:g}' for v in lambdas)}, {len(seeds)} seed(s)")
        setting = SweepSetting(base, tuple(lambdas), tuple(seeds))
        sweep = run_sweep(base, lambdas, seeds, workers=args.workers,
                          on_done=lambda p, n, total: _info(args, f"  [{n}/{total}] lambda {p.l2:g} "
                                                            f"seed {p.seed}: test {_pct(p.test_accuracy)}",
                                                            flush=True))
    try:
        path = write_report(runs, out, formats, sweep=sweep, sweep_setting=setting, overwrite=args.force,
                            title=args.title, paper=args.paper,
                            on_progress=lambda text: _info(args, f"  {text}", flush=True))
    except ValueError as e:
        raise UserError(str(e)) from None
    except OSError as e:
        raise UserError(str(output_error(out, e))) from None
    print(f"report written to {path}: " + ", ".join(f"report.{f}" for f in formats) + ", tables/")
    return 0


# ---------------------------------------------------------------------------- compare
def cmd_compare(args) -> int:
    """The training curves of several models in one CSV (reports/curves.py: the layout)."""
    from .reports.curves import SERIES, check_smoothing, curves_of, write_curves_csv
    out = _out_path(args.out)
    # files or library names (as evaluate does), resolved before the output check: no input replaced
    paths = [_model_path(text)[0] for text in args.models]
    try:
        smoothing = check_smoothing(args.smoothing)
    except ValueError as e:
        raise UserError(f"--smoothing: {e}") from None
    _check_out(out, replace=args.force, inputs=paths)
    runs = []
    for path in paths:
        model = _load(path)
        run = curves_of(model, name=model.name or path.stem, file=path)
        if not len(run):
            _info(args, f"{printable(run.name, 200)} has no history (it stopped before its first check)")
        runs.append(run)
    with _writing(out):
        write_curves_csv(out, runs, smoothing, replace=args.force)
    rows = sum(len(r) for r in runs) * len(SERIES)
    print(f"wrote {out}: {rows} rows, the training cost, validation cost and validation accuracy of "
          f"{len(runs)} model(s), smoothing {smoothing:g}")
    return 0


# ---------------------------------------------------------------------------- data
def cmd_data_info(args) -> int:
    import numpy as np

    from .data import DatasetError, load_dataset
    try:
        raw = load_dataset(args.source)
    except (DatasetError, OSError) as e:
        raise UserError(str(e)) from None
    if args.json:
        _emit_json({"name": raw.name, "train_images": len(raw.train_labels),
                    "test_images": len(raw.test_labels), "height": int(raw.train_images.shape[1]),
                    "width": int(raw.train_images.shape[2]),
                    "train_pixel_mean": float(raw.train_images.mean()),
                    "train_pixel_std": float(raw.train_images.std()),
                    "train_label_counts": np.bincount(raw.train_labels).tolist(),
                    "test_label_counts": np.bincount(raw.test_labels).tolist(),
                    "checksum": raw.checksum})
        return EXIT_OK
    print(f"{printable(raw.name, 200)}: {len(raw.train_labels)} training and "
          f"{len(raw.test_labels)} test images of "
          f"{raw.train_images.shape[1]}x{raw.train_images.shape[2]}")
    print(f"training pixel mean {raw.train_images.mean():.6f}, "
          f"standard deviation {raw.train_images.std():.6f}")
    print("training label counts " + " ".join(str(c) for c in np.bincount(raw.train_labels)))
    print("test label counts     " + " ".join(str(c) for c in np.bincount(raw.test_labels)))
    print(f"checksum {raw.checksum}")
    return 0


def cmd_data_download(args) -> int:
    from .data import DownloadError, download_mnist
    from .data.datasets import user_mnist_dir
    dest = Path(args.dir) if args.dir else user_mnist_dir()
    tty = sys.stderr.isatty() and not args.quiet
    last = {"name": None}

    def progress(name, done, total):
        if args.quiet:
            return
        if tty:
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            sys.stderr.write(f"\r{name}: {size}   ")
        elif last["name"] != name:
            sys.stderr.write(f"downloading {name}\n")
        last["name"] = name

    try:
        kwargs = {"mirrors": args.mirror} if args.mirror else {}
        paths = download_mnist(dest, progress=progress, timeout=args.timeout, **kwargs)
    except (DownloadError, OSError) as e:
        if tty:
            sys.stderr.write("\n")
        raise UserError(str(e) if isinstance(e, DownloadError) else str(output_error(dest, e))) from None
    if tty:
        sys.stderr.write("\n")
    for path in paths:
        print(f"verified {path}")
    return 0


# ---------------------------------------------------------------------------- parser
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every ``--help``: each option's default after its help, and the example below as written.

    A default shows unless the help already names it ("(default 3)") or there is none to show
    (None: the preset's or the model's own setting decides; False: a switch that is off)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not _has_default(action) or "default" in text:
            return text
        return super()._get_help_string(action)

    def _format_action(self, action):
        if not action.help and _has_default(action):        # an option without help still shows it
            action = copy.copy(action)
            action.help = "default: %(default)s"
        return super()._format_action(action)


def _has_default(action) -> bool:
    return (action.default not in (None, False, argparse.SUPPRESS)
            and (bool(action.option_strings) or action.nargs in ("?", "*")))


class _Parser(argparse.ArgumentParser):
    """argparse with :class:`HelpFormatter`; subcommands are made of the same class."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


# One example per command, shown at the end of its --help ("digitlab data" is the parent of two).
EXAMPLES = {
    "digitlab": "digitlab evaluate report-l2 --json | python -m json.tool",
    "train": "digitlab train --preset best --max-epochs 10 --out mine.h5",
    "models": "digitlab models",
    "evaluate": "digitlab evaluate report-l2 --set val --calibration",
    "predict": "digitlab predict best digit.png --json",
    "export": "digitlab export report-l2 --format csv --out report-l2-weights",
    "experiments": "digitlab experiments --seeds 3 --out experiments",
    "build-models": "digitlab build-models --only pad pad-l2",
    "sweep": "digitlab sweep --lambdas 0,1,3,5,10 --seeds 2 --out sweep",
    "report": "digitlab report --from experiments --out report",
    "compare": "digitlab compare report-no-l2 report-l2 mine.h5 --smoothing 0.8 --out curves.csv",
    "data": "digitlab data info fashion-mnist",
    "data info": "digitlab data info --json",
    "data download": "digitlab data download --dir ~/mnist",
}
EXIT_STATUS_HELP = """exit status:
  0    done
  1    the run failed (diverged or did not learn)
  2    bad usage or input (a setting, a file), said in one line on stderr
  130  interrupted (Ctrl+C)
  141  the output pipe was closed (digitlab models | head -1)"""


def _finish_parser(parser: argparse.ArgumentParser, name: str = "digitlab") -> None:
    """Give ``parser`` and every subcommand its example and, on each command, ``-q``."""
    parser.epilog = f"Example:\n  {EXAMPLES[name]}"
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if name == "digitlab":
        parser.epilog += "\n\n" + EXIT_STATUS_HELP
    elif not subcommands:
        # SUPPRESS: not given here, the top-level `digitlab -q COMMAND` (default off) stands
        parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                            help="print only results and errors: no progress or what is being done")
    for action in subcommands:
        for sub_name, sub in action.choices.items():
            _finish_parser(sub, sub_name if name == "digitlab" else f"{name} {sub_name}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="digitlab", description="Train, inspect and use a from-scratch "
                     "NumPy network on MNIST. `python main.py` opens the desktop app.")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only results and errors: no progress or what is being done")
    parser.add_argument("--version", action="version", version=f"digitlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", help="train a network and save it")
    add_training_options(p)
    p.add_argument("--out", "-o", help="save the trained model to this .h5 file")
    p.add_argument("--name", help="the model's name (default: the file name)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--save-anyway", action="store_true",
                   help="save the model even when the run diverged or did not learn "
                        "(exit status 1 all the same)")
    g = p.add_argument_group("fine-tuning")
    g.add_argument("--init-from", metavar="MODEL",
                   help="start from this model's weights (a file or a name from 'digitlab models'): its "
                        "layers and batch norm, and its own settings with a constant schedule, at most 5 "
                        "epochs, patience for the whole run and (Adam) a tenth of its learning rate, unless "
                        "--preset or the options above say otherwise")
    g.add_argument("--extra-data", metavar="FILE.npz",
                   help="also train on these digits (x and y, as a personal set, or x_test and y_test), "
                        "oversampled to --extra-share of every epoch; validation and test stay the dataset's")
    g.add_argument("--extra-share", type=float,
                   help="the fraction of every epoch's training images that are extra digits (default 0.1: "
                        "the weight of one more digit class)")
    g.add_argument("--continue", dest="continue_run", action="store_true",
                   help="with --init-from: continue the saved run exactly where it ended (its weights, "
                        "optimiser state, counters, shuffle position, early stopping), as if it had never "
                        "stopped, instead of fine-tuning; only --lr, --l2 (recorded as changes) and the "
                        "epochs can differ; default: to the epochs it was planned for")
    g.add_argument("--more-epochs", type=int, metavar="M",
                   help="with --continue: train M epochs beyond those the run has done")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("models", help="list the model library: name, source, layers, test accuracy, file")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("evaluate", help="costs, accuracy, confusion matrix and per-class scores of a model")
    p.add_argument("model", help="a model file, or a model's name from 'digitlab models'")
    p.add_argument("--set", choices=("test", "val", "train"), default="test",
                   help="the test images, the validation images split off training, or the training images")
    p.add_argument("--dataset", help="evaluate on another dataset than the one the model trained on: mnist, "
                   "fashion-mnist, a folder, a Keras .npz, or one set of digits (.npz with x and y, as a "
                   "personal set, or x_test and y_test)")
    p.add_argument("--calibration", action="store_true",
                   help="also the reliability table and the expected calibration error (ECE)")
    p.add_argument("--json", action="store_true",
                   help="the results, as one JSON document on stdout (docs/cli-json.md)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify image files (any format Qt reads; ink dark or light)")
    p.add_argument("model", help="a model file, or a model's name from 'digitlab models'")
    p.add_argument("images", nargs="+")
    p.add_argument("--json", action="store_true",
                   help="each image's digit and ten probabilities, as one JSON document on stdout "
                        "(docs/cli-json.md)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="export a model's weights as .npz, per-layer CSV or JSON, or the "
                       "network as ONNX")
    p.add_argument("model", help="a model file, or a model's name from 'digitlab models'")
    p.add_argument("--format", choices=("npz", "csv", "json", "onnx"),
                   help="default: from the --out name's suffix, else npz. onnx: the inference network for "
                        "onnxruntime and other ONNX runtimes (needs the onnx extra: pip install "
                        "'digitlab[onnx]'; docs/model-format.md, ONNX export)")
    p.add_argument("--out", "-o", help="output file (a folder for csv); default: next to the model")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("experiments", help="the report's four experiments, its tables and its claims")
    p.add_argument("--set", choices=("report", "regularisers"), default="report",
                   help="report: the report's four experiments (default); regularisers: none, L2, dropout "
                        "and batch norm on the report's network and protocol, with their verdicts")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds (mean and spread when > 1)")
    p.add_argument("--first-seed", type=int, default=3, help="the first seed (default 3)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes to use")
    p.add_argument("--out", "-o", help="folder for the tables (Markdown, CSV, JSON) and the models")
    p.add_argument("--train-subset", type=int, help="train on the first N images only (a quick look)")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--json", action="store_true",
                   help="the runs, tables and claims, as one JSON document on stdout (docs/cli-json.md)")
    p.set_defaults(func=cmd_experiments)

    p = sub.add_parser("build-models", help="train the models that ship in models/ (into your own "
                       "models folder unless --dir is given)")
    p.add_argument("--dir", help="where to write them (default: your models folder, which the app lists; "
                   "'--dir models' in a source checkout rebuilds the shipped ones)")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="rebuild only these, e.g. --only pad pad-l2 (default: all seven)")
    p.set_defaults(func=cmd_build_models)

    p = sub.add_parser("sweep", help="train one setting for several L2 strengths and compare them")
    add_training_options(p)
    p.add_argument("--lambdas", default="0,1,3,5,10",
                   help="L2 strengths, comma-separated (default 0,1,3,5,10)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per lambda, from --seed on (default 1)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes to use")
    p.add_argument("--out", "-o", help="folder for the sweep's tables (Markdown, CSV, JSON) and figure")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="an HTML, PDF and Markdown report of the four experiments or of models")
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="report on these models instead (files, or names from `digitlab models`)")
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="use the models written by `digitlab experiments --out DIR` instead of training")
    p.add_argument("--seeds", type=int, default=1,
                   help="seeds of the four experiments (mean and spread when > 1)")
    p.add_argument("--first-seed", type=int, default=3, help="the first seed (default 3)")
    p.add_argument("--train-subset", type=int, help="train on the first N images only (a quick look)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes to use")
    p.add_argument("--sweep", metavar="LAMBDAS", help="also run a lambda sweep, e.g. 0,1,3,5,10")
    p.add_argument("--sweep-seeds", type=int, default=1, help="seeds per lambda of --sweep (default 1)")
    p.add_argument("--out", "-o", help="a new folder for the report (default: report-DATE-TIME)")
    p.add_argument("--formats", default="html,pdf,md",
                   help="any of html,pdf,md (tables always as CSV and JSON)")
    p.add_argument("--title", help="the report's title")
    p.add_argument("--paper", type=str.lower, choices=("a4", "letter"), default="a4",
                   help="the PDF's paper size: a4 (default) or letter")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="the training curves of several models in one CSV (training and "
                       "validation cost, validation accuracy, by step, epoch and seconds)")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="model files, or names from 'digitlab models'")
    p.add_argument("--out", "-o", default="curves.csv",
                   help="the CSV to write: one row per model, curve and check (default: curves.csv)")
    p.add_argument("--smoothing", type=float, default=0.6,
                   help="the weight of the 'smoothed' column, 0 (none) to 0.99, TensorBoard's moving "
                        "average (default: 0.6)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("data", help="inspect or download datasets")
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    d = data_sub.add_parser("info", help="sizes, pixel statistics and label counts of a dataset")
    d.add_argument("source", nargs="?", default=None, help="mnist (default), fashion-mnist, a folder or .npz")
    d.add_argument("--json", action="store_true",
                   help="the figures, as one JSON document on stdout (docs/cli-json.md)")
    d.set_defaults(func=cmd_data_info)
    d = data_sub.add_parser("download", help="fetch MNIST from the public mirrors (checksums verified)")
    d.add_argument("--dir", help="where to put the files (default: the user data folder)")
    d.add_argument("--timeout", type=float, default=30.0)
    d.add_argument("--mirror", action="append", metavar="URL",
                   help="a base URL holding the four .gz files, tried before nothing else (repeatable)")
    d.set_defaults(func=cmd_data_download)

    _finish_parser(parser)
    return parser


def main(argv=None) -> int:
    """The ``digitlab`` command; returns the exit status.

    What comes from outside ends without a traceback: Ctrl+C with one line on stderr and 130; a
    reader that stops reading (``digitlab models | head -1``) quietly, with 141, the status of a
    command a shell's SIGPIPE stopped. Either way a file being written is not left half-written:
    every output is staged and moved into place whole (digitlab.atomic).
    """
    previous_hook, sys.unraisablehook = sys.unraisablehook, _interrupt_not_lost(sys.unraisablehook)
    redelivery = sys.unraisablehook
    try:
        # Process-wide settings first: nothing above imports NumPy, and the commands that draw figures
        # (report, evaluate --calibration ...) make thousands of Qt calls (see digitlab.process).
        set_blas_threads()
        install_refcount_guard()
        parser = build_parser()
        args = parser.parse_args(argv)
        from .logs import configure_logging, log_shown
        configure_logging("cli")         # after parsing: --help and a mistyped option leave no log
        log.info("Command: digitlab %s", " ".join(sys.argv[1:] if argv is None else argv))
        try:
            status = args.func(args)
        except (UserError, OutputError) as e:
            # OutputError: a write that failed somewhere not wrapped above is still one line.
            print(f"digitlab {args.command}: {e}", file=sys.stderr)
            log_shown(log, logging.ERROR, "digitlab %s failed: %s", args.command, e)
            return EXIT_USAGE
        sys.stdout.flush()            # a closed pipe shows here rather than at the interpreter's exit
        return status
    except KeyboardInterrupt:
        print("digitlab: interrupted", file=sys.stderr)
        log.info("digitlab interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_CLOSED_PIPE
    finally:
        sys.unraisablehook = previous_hook
        for timer in redelivery.timers:        # the command has ended: nothing left to interrupt
            timer.cancel()


def _interrupt_not_lost(hook):
    """``sys.unraisablehook`` for a Ctrl+C that lands in a finalizer (a weakref callback while
    garbage is collected): Python would print it as "Exception ignored ... Traceback" and go on.
    Instead the interrupt is delivered again a moment later (from a timer thread, as if Ctrl+C were
    pressed again), to land in the command's own code, outside the finalizer."""
    def unraisable(info):
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
            import _thread
            import threading
            timer = threading.Timer(0.01, _thread.interrupt_main)
            timer.daemon = True
            unraisable.timers.append(timer)
            timer.start()
            return
        hook(info)
    unraisable.timers = []
    return unraisable


def _stdout_to_devnull() -> None:
    """Point stdout at the null device once its reader has gone, so that the flush at exit does not
    fail a second time ("Exception ignored ... BrokenPipeError"; Python docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError) as e:      # stdout has no file descriptor: nothing will reach a pipe
        print(f"digitlab: could not silence the closed output: {e}", file=sys.stderr)


def run() -> int:
    """The ``digitlab`` script and ``python -m digitlab``: :func:`main`, then deaf to Ctrl+C.

    Once the command has ended there is nothing left to interrupt. A Ctrl+C arriving then (a second
    press while a stopped run was saving, say) would otherwise surface as a KeyboardInterrupt while
    the interpreter exits, and Python would end itself by SIGINT instead of with the status the
    command chose. Not part of :func:`main`, which tests call in their own process.
    """
    status = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return status


if __name__ == "__main__":
    sys.exit(run())
