"""The training loop: mini-batch descent with the report's early stopping, history and control.

It is plain Python and NumPy so that the command line, the tests and the GUI's worker thread all
run the very same loop; the GUI only listens to the callbacks and drives :class:`RunControl`.
The rules that end a run each live in a module of their own: early stopping
(``early_stopping.py``), divergence (``divergence.py``) and not learning (``not_learning.py``);
the reasons a run ends are :class:`StopReason` (``stop_reasons.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..nn import Network, make_optimizer
from ..nn.dropout import draw_masks
from .config import TrainConfig
from .divergence import DivergenceWatch
from .early_stopping import EarlyStopping
from .naming import format_layer_sizes
from .not_learning import NotLearningWatch
from .run_control import CHANGEABLE, RunControl
from .schedules import learning_rate_at
from .stop_reasons import STOP_REASONS, Stop, StopReason
from .training_state import OPTIMIZER_ARRAYS, Change, TrainingState

log = logging.getLogger(__name__)

__all__ = ["STOP_REASONS", "StopReason", "RunControl", "Check", "CHECK_FIELDS", "History", "TrainResult",
           "Change", "StepInfo", "TrainingState", "evaluate", "initial_network_problems", "train"]


@dataclass
class Check:
    """One validation check: what the live plots show and the history records."""

    step: int
    epoch: int
    train_cost: float       # mean mini-batch cost since the previous check
    val_cost: float
    val_accuracy: float
    elapsed: float          # seconds of training, pauses excluded
    learning_rate: float


CHECK_FIELDS = ("step", "epoch", "train_cost", "val_cost", "val_accuracy", "elapsed", "learning_rate")


@dataclass
class StepInfo:
    """One step as ``on_step`` hears of it: the mini-batch cost of step ``step`` (1-based) and the
    network right after it (the live one: copy it to keep it)."""

    step: int
    epoch: int
    cost: float
    learning_rate: float
    network: Network
    changes: tuple = ()        # the Changes applied at this step (a person's new settings)


@dataclass
class History:
    """Every check of a run, in order, and every setting changed during it (``changes``)."""

    checks: list[Check] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        if name not in CHECK_FIELDS:
            raise KeyError(f"no history column {name!r}; there are {CHECK_FIELDS}")
        return np.array([getattr(c, name) for c in self.checks], dtype=float)

    def steps(self) -> np.ndarray:
        return self.column("step")

    def as_array(self) -> np.ndarray:
        """``(n_checks, 7)`` float array in the column order of ``CHECK_FIELDS``."""
        if not self.checks:
            return np.zeros((0, len(CHECK_FIELDS)))
        return np.array([[getattr(c, f) for f in CHECK_FIELDS] for c in self.checks], dtype=float)

    def changes_of(self, setting: str) -> list[Change]:
        return [c for c in self.changes if c.setting == setting]

    @classmethod
    def from_array(cls, arr: np.ndarray) -> History:
        checks = []
        for row in np.asarray(arr, dtype=float).reshape(-1, len(CHECK_FIELDS)):
            values = dict(zip(CHECK_FIELDS, row))
            values["step"], values["epoch"] = int(values["step"]), int(values["epoch"])
            checks.append(Check(**values))
        return cls(checks)

    def __len__(self):
        return len(self.checks)


@dataclass
class TrainResult:
    """What a run produced and why it ended."""

    network: Network
    config: TrainConfig
    history: History
    stop_reason: str              # a StopReason (which is its value's string)
    message: str
    best_step: int
    epochs: int
    steps: int
    elapsed: float
    metrics: dict = field(default_factory=dict)
    dataset: str = ""             # the name and checksum of the data it was trained on,
    dataset_checksum: str = ""    # carried into the model file
    # Where the run started and what it trained on besides the dataset, carried into the model
    # file as root attributes (docs/model-format.md): init_from, init_from_checksum (filled in by
    # whoever chose the starting model), extra_data, extra_data_checksum, extra_share (from mixed
    # splits, digitlab.training.mixing). Empty for a fresh run on a dataset alone.
    origin: dict = field(default_factory=dict)
    # With extra data (mixed splits): the accuracy on the extra digits, once each, of the starting
    # network ("before", only when the run started from one) and of the kept one ("after").
    extra_accuracy: dict = field(default_factory=dict)
    # Where the run was when it ended (its last weights, the optimiser's arrays, the counters),
    # so that it can be continued exactly; None when the arrays are not finite (it diverged).
    training_state: TrainingState | None = None

    @property
    def mean_abs_weights(self) -> list[float]:
        return self.network.mean_abs_weights()


class _BatchSource:
    """Copies a batch's rows into one reused buffer.

    MNIST pixels are bytes scaled by 1/255. When the training images are exactly that, the rows
    are gathered from a uint8 copy (a quarter of the memory traffic) and only converted to float;
    the 1/255 is applied by the network to its first layer's small product (``input_scale``)
    instead of to every pixel. Any other data is gathered as it is, with scale 1.
    """

    def __init__(self, x: np.ndarray, batch_size: int, dtype, x_bytes: np.ndarray | None = None):
        self.x = x
        self.buffer = np.empty((batch_size, x.shape[1]), dtype=dtype)
        ok = x_bytes is not None and x_bytes.dtype == np.uint8 and x_bytes.shape == x.shape
        self.bytes = x_bytes if ok else _as_exact_bytes(x)
        self.byte_buffer = (np.empty((batch_size, x.shape[1]), dtype=np.uint8) if self.bytes is not None
                            else None)
        self.input_scale = 1.0 / 255.0 if self.bytes is not None else 1.0

    def gather(self, idx: np.ndarray) -> np.ndarray:
        m = len(idx)
        out = self.buffer[:m]
        if self.bytes is None:
            np.take(self.x, idx, axis=0, out=out)
        else:
            raw = self.byte_buffer[:m]
            np.take(self.bytes, idx, axis=0, out=raw)
            np.copyto(out, raw)
        return out


def _as_exact_bytes(x: np.ndarray, chunk: int = 8192) -> np.ndarray | None:
    """``x * 255`` as uint8 if that round-trips exactly (``bytes / 255 == x``), else None."""
    if x.dtype not in (np.float32, np.float64) or x.size == 0:
        return None
    out = np.empty(x.shape, dtype=np.uint8)
    scale = x.dtype.type(255)
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk]
        scaled = part * scale
        np.rint(scaled, out=scaled)
        if scaled.min() < 0 or scaled.max() > 255:
            return None
        out[start:start + chunk] = scaled
        if not np.array_equal(np.divide(out[start:start + chunk], scale, dtype=x.dtype), part):
            return None
    return out


def _augmented_feed(config: TrainConfig, batches: _BatchSource, batch_size: int, rng, dtype,
                    first_epoch: int = 0):
    """The augmented batches of a run (digitlab.training.augment), from the raw pixel bytes.

    Augmentation samples uint8 images; data that is not exact bytes (``batches.bytes`` None, e.g.
    a float .npz) is rounded to bytes for it and the batches scaled back to the data's units.
    """
    from .augment import AugmentedBatches, Augmenter
    if batches.bytes is not None:
        x_bytes = batches.bytes
    else:
        x_bytes = np.rint(np.clip(batches.x, 0.0, 1.0) * 255).astype(np.uint8)
        batches.input_scale = 1.0 / 255.0
    augmenter = Augmenter(config.seed, config.augment_fraction)
    return AugmentedBatches(x_bytes, batch_size, rng, augmenter, dtype=dtype, first_epoch=first_epoch)


def evaluate(network: Network, splits, l2: float = 0.0, batch_size: int | None = None) -> dict:
    """Cost and accuracy on the train, validation and test sets.

    The cost is the training objective: cross-entropy plus the L2 term with m = the batch size
    (when ``l2`` and ``batch_size`` are given), so it matches the curves of the run.
    """
    out = {}
    for part in ("train", "val", "test"):
        X, y = getattr(splits, f"x_{part}"), getattr(splits, f"y_{part}")
        out[f"{part}_cost"], out[f"{part}_accuracy"] = network.cost_and_accuracy(X, y, l2, m=batch_size)
    return out


def initial_network_problems(config: TrainConfig, network: Network) -> list[str]:
    """Why ``network`` cannot start a run of ``config``, as sentences; empty if it can.

    A run that starts from a trained network keeps its architecture: the layer sizes and batch
    normalisation of ``config`` must be the network's, and every weight must be finite.
    """
    p = []
    if tuple(network.layer_sizes) != tuple(config.layer_sizes):
        p.append(f"the starting network has layers {format_layer_sizes(network.layer_sizes)} but the "
                 f"settings ask for {format_layer_sizes(config.layer_sizes)}; leave the layer sizes "
                 f"to the starting network")
    if bool(network.batch_norm) != bool(config.batch_norm):
        p.append(f"the starting network {'has' if network.batch_norm else 'has no'} batch "
                 f"normalisation but the settings ask for {'it' if config.batch_norm else 'none'}; "
                 f"leave batch normalisation to the starting network")
    if network.activation != config.activation:
        p.append(f"the starting network's hidden layers use {network.activation} but the settings ask "
                 f"for {config.activation}; leave the activation to the starting network")
    if not all(np.all(np.isfinite(a)) for _, a in network.parameters() + network.buffers()):
        p.append("the starting network has non-finite values (NaN or infinity); start from another model")
    return p


def train(config: TrainConfig, splits, *, initial: Network | None = None,
          control: RunControl | None = None, on_check=None, on_epoch=None, on_step=None,
          resume: TrainingState | None = None, history: History | None = None) -> TrainResult:
    """Train a network with ``config`` on ``splits`` (a :class:`digitlab.data.Splits`).

    Parameters
    ----------
    config : TrainConfig
    splits : Splits
        ``x_train`` (n, 784) float32 in [0, 1], ``y_train`` (n,) ints, and the same for val/test.
        Splits mixed with extra data (:func:`digitlab.training.mixing.mix_extra`) also say what
        was mixed in (``origin``), which the result carries into the model file.
    initial : Network, optional
        Start from a copy of this network's weights and batch-norm state (fine-tuning) instead of
        a fresh initialisation; it is not changed. Its layer sizes and batch normalisation must be
        those of ``config`` (``ValueError`` otherwise). The optimiser starts afresh (a model file
        keeps no optimiser state).
    control : RunControl, optional
        Pause, resume or cancel from another thread.
    on_check : callable(Check), optional
        Called after every validation check (every ``config.eval_every`` steps).
    on_epoch : callable(epoch, step, max_epochs), optional
        Called after every epoch.
    on_step : callable(StepInfo), optional
        Called after every step (the live network in it: copy what should be kept).
    resume : TrainingState, optional
        Continue the run this state was taken from (``result.training_state``, kept in the model
        file) instead of starting one: ``config`` is that run's settings with ``max_epochs``
        raised to the total wanted. With the constant and step schedules the continued run is
        bit for bit the run that would have trained for the total at once
        (:mod:`digitlab.training.training_state`); not with ``initial``.
    history : History, optional
        With ``resume``: the run's history so far (kept in the model file), which it extends.

    The same config and data give the same run bit for bit: the initialisation and the per-epoch
    shuffles come from independent streams of ``config.seed``. With ``config.augment`` a fraction
    of every training batch is transformed (:mod:`digitlab.training.augment`), its random numbers
    from the seed, the epoch and the chunk; validation and test images never are.

    The run ends for one of the reasons of :class:`StopReason` (``result.stop_reason``), with a
    message for people (``result.message``); early stopping follows
    :class:`digitlab.training.early_stopping.EarlyStopping`.
    """
    # A diverging run overflows before its cost turns inf; the loop detects that and stops with a
    # message, so NumPy's overflow warnings would only repeat it less clearly.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if resume is not None and initial is not None:
            raise ValueError("a run either continues a saved run (resume) or starts from a network's "
                             "weights (initial), not both")
        network = _starting_network(config, splits, initial)
        log.info("Training %s on %s (%d training images)%s: %s; settings %s",
                 f"continued from step {resume.step}" if resume is not None else "started",
                 getattr(splits, "name", "") or "the given data", len(splits.y_train),
                 " from a given network" if initial is not None else "", config.describe(),
                 dataclasses.asdict(config))
        run = _Run(config, splits, network, control or RunControl(), resume)
        if resume is not None and history is not None:
            run.history = History(list(history.checks), list(history.changes))
        stop = run.loop(on_check, on_epoch, on_step)
        state = run.state()
        stop = run.finish(stop)
        result = _result(run, splits, initial, stop)
        result.training_state = state if state.arrays_finite() else None
    accuracy = result.metrics.get("test_accuracy")
    log.info("Training ended (%s) after %d epochs, %d steps, %.1f s; test accuracy %s. %s",
             result.stop_reason, result.epochs, result.steps, result.elapsed,
             "none (no usable weights)" if accuracy is None else f"{accuracy:.2%}", result.message)
    return result


def _starting_network(config: TrainConfig, splits, initial: Network | None) -> Network:
    """The network a run starts from, once the settings, the data and ``initial`` are checked."""
    config.validate()
    if initial is not None:
        problems = initial_network_problems(config, initial)
        if problems:
            raise ValueError("cannot start from this network: " + "; ".join(problems))
    x = splits.x_train
    _, features = x.shape
    if features != config.layer_sizes[0]:
        raise ValueError(f"the data has {features} features per image but the first layer has "
                         f"{config.layer_sizes[0]} units; set layer_sizes to start with {features}")
    n_classes = int(max(np.max(splits.y_train), np.max(splits.y_val))) + 1
    if n_classes > config.layer_sizes[-1]:
        raise ValueError(f"the data has {n_classes} classes but the output layer has "
                         f"{config.layer_sizes[-1]} units")
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    if initial is not None:
        return initial.copy(dtype=dtype)
    init_seed = _seed_streams(config)[0]
    return Network(config.layer_sizes, batch_norm=config.batch_norm, init=config.init,
                   init_std=config.init_std, seed=int(init_seed.generate_state(1)[0]), dtype=dtype,
                   activation=config.activation)


def _seed_streams(config: TrainConfig):
    """``(initialisation, shuffling, dropout)``: independent random streams of the run's seed.

    SeedSequence numbers its children, so the first two are the same as when a run had only
    those two: adding the dropout stream left every run without dropout as it was, bit for bit.
    """
    return np.random.SeedSequence(config.seed).spawn(3)


class _Run:
    """One run in progress: what it trains, where it is, and the rules that may stop it.

    :meth:`loop` reads as the run does: next batch -> step -> divergence? -> every ``eval_every``
    steps a check (validation, not learning?, early stopping?) -> pause or cancel? Each of those
    returns a :class:`Stop` or None, and the first Stop ends the loop; :meth:`finish` is the one
    place where a run ends, with its reason and message.
    """

    def __init__(self, config: TrainConfig, splits, network: Network, control: RunControl,
                 resume: TrainingState | None = None):
        self.config, self.network, self.control = config, network, control
        self.y = np.asarray(splits.y_train, dtype=np.intp)
        self.x_val, self.y_val = splits.x_val, np.asarray(splits.y_val, dtype=np.intp)
        self.n = len(splits.x_train)
        self.batch_size = min(config.batch_size, self.n)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        self.total_steps = self.steps_per_epoch * config.max_epochs
        self.l2 = float(config.l2)
        self.optimizer = make_optimizer(config.optimizer, network.params, momentum=config.momentum)
        streams = _seed_streams(config)
        self.rng = np.random.default_rng(streams[1])
        # Inverted dropout (digitlab.nn.dropout): masks drawn for every batch from a stream of
        # their own, so the shuffles are the same with and without dropout.
        rates = config.dropout_per_layer()
        self.dropout = ((np.random.default_rng(streams[2]), network.layer_sizes[1:-1], rates)
                        if any(rates) else None)
        self.step = self.epoch = 0          # steps taken; epochs started, counted once each ends
        self.skip = 0                       # batches of the current epoch taken
        self.partial = False                # whether the run stopped inside an epoch
        if resume is not None:
            self._check_resume(resume)
            # The shuffling generator draws one permutation per epoch and nothing else: drawing
            # the finished epochs' again puts it where the interrupted run had it.
            for _ in range(resume.epoch):
                self.rng.permutation(self.n)
            self.epoch, self.skip = resume.epoch, resume.batch
            if self.dropout is not None:
                self._replay_dropout(resume)
        self.batches = _BatchSource(splits.x_train, self.batch_size, network.dtype,
                                    getattr(splits, "x_train_bytes", None))
        # With augmentation the feed shuffles (drawing the same permutations from ``rng``) and
        # transforms the batches, a chunk of them at a time.
        self.feed = (_augmented_feed(config, self.batches, self.batch_size, self.rng, network.dtype,
                                     self.epoch) if config.augment else None)
        self.history = History()
        self.early = EarlyStopping(config.patience, config.tol, config.eval_every)
        self.divergence = DivergenceWatch(config, self.batch_size)
        self.learning = NotLearningWatch(network, self.x_val, learning_rate=config.learning_rate, l2=self.l2,
                                         batch_size=self.batch_size, steps_per_epoch=self.steps_per_epoch)
        self.cost_sum, self.cost_count = 0.0, 0
        self.learning_rate = config.learning_rate   # the base rate, until a person changes it
        self.lr = config.learning_rate      # of the latest step
        self.paused_time = 0.0
        self.elapsed = 0.0                  # seconds of training, pauses excluded: set by finish()
        self.start = time.perf_counter()
        if resume is not None:
            self._restore(resume)

    def _check_resume(self, state: TrainingState) -> None:
        """Refuse a state that cannot continue this run (other settings, other data)."""
        if state.optimizer != self.config.optimizer:
            raise ValueError(f"the saved training state is of the {state.optimizer} optimiser but the "
                             f"settings say {self.config.optimizer}; continue with the run's own settings")
        if state.epoch + (state.batch > 0) > self.config.max_epochs:
            raise ValueError(f"the run already trained {state.epoch + (state.batch > 0)} epochs; continue "
                             f"it for more than that (max_epochs {self.config.max_epochs})")
        if not 0 <= state.batch < self.steps_per_epoch:
            raise ValueError(f"the saved run stopped after batch {state.batch} of an epoch, but this data "
                             f"has {self.steps_per_epoch} batches an epoch; continue it on its own data")

    def _replay_dropout(self, state: TrainingState) -> None:
        """Draw the finished steps' dropout masks again, and drop them: the masks' stream is then
        where the interrupted run had it, as the shuffles' stream is after its permutations.
        Every step drew one set of masks for its batch; an epoch's last batch holds the rest."""
        rng, units, rates = self.dropout
        dtype = self.network.dtype
        last = self.n - (self.steps_per_epoch - 1) * self.batch_size
        epoch_sizes = [self.batch_size] * (self.steps_per_epoch - 1) + [last]
        for m in epoch_sizes * state.epoch + [self.batch_size] * state.batch:
            draw_masks(rng, m, units, rates, dtype)

    def _restore(self, s: TrainingState) -> None:
        """Put the loop where the state says (weights, optimiser, counters, rules)."""
        self.network.load_state(s.network)
        for name in OPTIMIZER_ARRAYS[self.config.optimizer]:
            getattr(self.optimizer, name)[...] = s.optimizer_arrays[name]
        if self.config.optimizer == "adam":
            self.optimizer.t = int(s.adam_t)
        self.step = int(s.step)
        self.learning_rate, self.l2, self.lr = float(s.learning_rate), float(s.l2), float(s.lr)
        self._settings_changed()
        self.cost_sum, self.cost_count = s.cost_sum, int(s.cost_count)
        self.paused_time = -float(s.elapsed)     # elapsed() goes on from the saved time
        e = self.early
        e.best_cost, e.best_step, e.since_best = float(s.best_cost), int(s.best_step), int(s.since_best)
        e.best_state = {k: np.array(v, copy=True) for k, v in s.best_state.items()} if s.best_state else None
        self.divergence.first_cost = s.first_cost
        self.learning.stuck, self.learning.dead = int(s.stuck), int(s.dead)

    def state(self) -> TrainingState:
        """Where the run is now, between two steps (see :class:`TrainingState`)."""
        epoch, batch = (self.epoch - 1, self.skip) if self.partial else (self.epoch, 0)
        optimizer = self.config.optimizer
        e = self.early
        return TrainingState(
            step=self.step, epoch=epoch, batch=batch,
            learning_rate=self.learning_rate, l2=self.l2, lr=float(self.lr),
            cost_sum=self.cost_sum, cost_count=self.cost_count, elapsed=self._elapsed(),
            network=self.network.state(), optimizer=optimizer,
            optimizer_arrays={n: getattr(self.optimizer, n).copy() for n in OPTIMIZER_ARRAYS[optimizer]},
            adam_t=int(getattr(self.optimizer, "t", 0)), best_cost=e.best_cost, best_step=e.best_step,
            since_best=e.since_best, best_state=({k: v.copy() for k, v in e.best_state.items()}
                                                 if e.best_state is not None else None),
            first_cost=self.divergence.first_cost, stuck=self.learning.stuck, dead=self.learning.dead)

    def _settings_changed(self) -> None:
        """Tell the rules' messages the current learning rate and L2 lambda."""
        self.divergence.config = self.config.replace(learning_rate=self.learning_rate, l2=self.l2)
        self.learning.learning_rate, self.learning.l2 = self.learning_rate, self.l2

    def loop(self, on_check, on_epoch, on_step=None) -> Stop:
        """Train epoch by epoch until a rule stops the run or the epochs run out."""
        self.on_step = on_step
        stop = self._pause_or_cancel()      # a run may start paused (RunControl(steps=0))
        while self.epoch < self.config.max_epochs and stop is None:
            stop = self._epoch(on_check)
            self.partial = stop is not None and self.skip < self.steps_per_epoch
            if not self.partial:
                self.skip = 0
            self.epoch += 1      # epochs started, so a run stopped mid-epoch counts that epoch
            if on_epoch:
                on_epoch(self.epoch, self.step, self.config.max_epochs)
        return stop or self._max_epochs_stop()

    def _epoch(self, on_check) -> Stop | None:
        for x_batch, idx in self._batches():
            began = time.perf_counter()
            stop = self._step(x_batch, idx)
            if stop is None:
                self.skip += 1
                if self.step % self.config.eval_every == 0:
                    stop = self._check(on_check)
            if stop is None:
                self.control.after_step()
                self.paused_time += self.control.throttle(began)
                stop = self._pause_or_cancel()
            if stop is not None:
                return stop
        return None

    def _batches(self):
        """The epoch's batches as ``(pixels, row indices)``, in a fresh random order; a continued
        run starts after the batches its epoch had already taken (``self.skip``)."""
        first = self.skip
        if self.feed is not None:
            for i in range(self.steps_per_epoch):
                batch = self.feed.next_batch()
                if i >= first:
                    yield batch
            return
        order = self.rng.permutation(self.n)
        for begin in range(first * self.batch_size, self.n, self.batch_size):
            idx = order[begin:begin + self.batch_size]
            yield self.batches.gather(idx), idx

    def _step(self, x_batch: np.ndarray, idx: np.ndarray) -> Stop | None:
        """One step of descent on a batch, unless its cost shows the run has diverged."""
        changes = self.control.take_changes()
        applied = self._apply(changes) if changes else ()
        masks = None
        if self.dropout is not None:
            rng, units, rates = self.dropout
            masks = draw_masks(rng, len(idx), units, rates, self.network.dtype)
        cost = self.network.loss_and_grad(x_batch, self.y[idx], self.l2, self.batches.input_scale, masks)
        diverged = self.divergence.after_step(cost, self.step + 1, self.epoch + 1)
        if diverged:
            return Stop(StopReason.DIVERGED, diverged)
        config = self.config
        self.lr = learning_rate_at(config.schedule, self.learning_rate, self.step, self.total_steps,
                                   self.steps_per_epoch)
        self.optimizer.step(self.network.grads, self.lr)
        self.step += 1
        self.cost_sum += cost
        self.cost_count += 1
        if self.on_step is not None:
            self.on_step(StepInfo(self.step, self.epoch + 1, float(cost), float(self.lr), self.network,
                                  applied))
        return None

    def _apply(self, changes: dict[str, float]) -> tuple[Change, ...]:
        """Use a person's new learning rate or L2 lambda from this step on, and record it."""
        applied = []
        for name in CHANGEABLE:
            if name not in changes:
                continue
            attr = "learning_rate" if name == "learning_rate" else "l2"
            old, new = getattr(self, attr), float(changes[name])
            if new == old:
                continue
            setattr(self, attr, new)
            applied.append(Change(self.step, name, old, new))
            log.info("From step %d on, the %s is %g (was %g)", self.step + 1, CHANGEABLE[name], new, old)
        self.history.changes.extend(applied)
        self._settings_changed()
        return tuple(applied)

    def _check(self, on_check) -> Stop | None:
        """A validation check, recorded and reported, then the rules that judge it."""
        val_cost, val_acc = self.network.cost_and_accuracy(self.x_val, self.y_val, self.l2, m=self.batch_size)
        check = Check(self.step, self.epoch + 1, self.cost_sum / max(self.cost_count, 1), val_cost, val_acc,
                      self._elapsed(), self.lr)
        self.cost_sum, self.cost_count = 0.0, 0
        diverged = self.divergence.after_check(check.val_cost, self.step, self.epoch + 1)
        if diverged:
            return Stop(StopReason.DIVERGED, diverged)
        self.history.checks.append(check)
        if on_check:
            on_check(check)
        stuck = self.learning.after_check(check.val_accuracy, check.val_cost, self.step, self.epoch + 1)
        if stuck:
            return Stop(StopReason.NOT_LEARNING, stuck)
        if self.early.update(self.step, check.val_cost, self.network.state):
            return Stop(StopReason.EARLY_STOPPING,
                        f"Stopped early at step {self.step} (epoch {self.epoch + 1}): the validation "
                        f"cost had not improved for {self.early.since_best} steps. The best weights, "
                        f"from step {self.early.best_step}, were restored.")
        return None

    def _pause_or_cancel(self) -> Stop | None:
        """Wait here while paused; stop if cancelled (which also ends a pause)."""
        if self.control.paused:
            self.paused_time += self.control.wait_if_paused()
        if self.control.cancelled:
            return Stop(StopReason.CANCELLED, f"Stopped by you at step {self.step} (epoch {self.epoch + 1}).")
        return None

    def _max_epochs_stop(self) -> Stop:
        message = f"Reached the maximum of {self.config.max_epochs} epochs ({self.step} steps)."
        if self.early.has_best:
            message += f" The best weights, from step {self.early.best_step}, were kept."
        return Stop(StopReason.MAX_EPOCHS, message)

    def finish(self, stop: Stop) -> Stop:
        """End the run: keep the weights its reason calls for, then judge what it learned.

        Early stopping and divergence go back to the best check; a run cancelled or out of
        epochs keeps its last weights only if they are better still. A run that ends as
        "finished" but at chance is reported as not learning instead.
        """
        if self.feed is not None:
            self.feed.close()
        if self.early.has_best:
            if stop.reason in (StopReason.EARLY_STOPPING, StopReason.DIVERGED):
                self.early.restore_best(self.network)
            else:
                cost = self.network.cost(self.x_val, self.y_val, self.l2, m=self.batch_size)
                self.early.keep_better(self.network, cost, self.step)
        elif stop.reason == StopReason.DIVERGED:
            stop = Stop(stop.reason, stop.message + " No validation check had passed yet, so there "
                                                    "are no usable weights.")
        if stop.reason in (StopReason.EARLY_STOPPING, StopReason.MAX_EPOCHS) and len(self.x_val):
            cost, accuracy = self.network.cost_and_accuracy(self.x_val, self.y_val, self.l2,
                                                            m=self.batch_size)
            stuck = self.learning.at_end(accuracy, cost, len(self.history), self.step)
            if stuck:
                stop = Stop(StopReason.NOT_LEARNING, stuck)
        self.elapsed = self._elapsed()
        return stop

    def _elapsed(self) -> float:
        """Seconds of training so far, pauses excluded."""
        return time.perf_counter() - self.start - self.paused_time


def _result(run: _Run, splits, initial: Network | None, stop: Stop) -> TrainResult:
    """The result of a finished run: its network, history, stop and scores."""
    network, l2, batch_size = run.network, run.l2, run.batch_size
    metrics = evaluate(network, splits, l2, batch_size) if np.all(np.isfinite(network.params)) else {}
    extra_accuracy = {}
    x_extra, y_extra = getattr(splits, "x_extra", None), getattr(splits, "y_extra", None)
    if x_extra is not None and len(x_extra):
        if initial is not None:
            extra_accuracy["before"] = float(np.mean(initial.predict(x_extra) == y_extra))
        if metrics:
            extra_accuracy["after"] = float(np.mean(network.predict(x_extra) == y_extra))
    return TrainResult(network, run.config, run.history, stop.reason, stop.message, run.early.best_step,
                       run.epoch, run.step, run.elapsed, metrics, dataset=getattr(splits, "name", ""),
                       dataset_checksum=getattr(splits, "checksum", ""),
                       origin=dict(getattr(splits, "origin", {})), extra_accuracy=extra_accuracy)
