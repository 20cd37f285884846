"""The training loop: mini-batch descent with the report's early stopping, history and control.

It is plain Python and NumPy so that the command line, the tests and the GUI's worker thread all
run the very same loop; the GUI only listens to the callbacks and drives :class:`RunControl`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..nn import Network, make_optimizer
from .config import TrainConfig
from .schedules import learning_rate_at

STOP_REASONS = ("early_stopping", "max_epochs", "cancelled", "diverged", "not_learning")
DIVERGENCE_FACTOR = 1000.0

# A run that is not learning stops instead of ending, after many minutes, as a model at chance.
# A check is "stuck" when its validation accuracy is at most twice chance (20 % for ten classes)
# and either every image gets the same answer (the ReLUs have died: no gradient reaches the
# weights again) or the validation cross-entropy is no better than uniform guessing (ln 10).
# Measured on MNIST (eval every 100 steps), the report's protocol starts slowly: seed 3 is at
# 16.1, 14.9, 17.3, 20.1, 26.5 % for its first five checks, so accuracy alone would stop it; but
# its cross-entropy is already 2.18 at the first check (ln 10 = 2.303), 2.22 at the fifth with a
# ninth of the learning rate (0.001). Dead runs (--lr 3) sit at 2.30-2.31 with one answer for all.
CHANCE_FACTOR = 2.0
# Batch normalisation starts higher (report-bn seed 3: 2.33 at step 20, 2.26 at step 40), so
# the cross-entropy rule waits for 200 steps (and an epoch): every preset is well below ln 10 by
# then (the slowest measured, report seed 3 at a ninth of its learning rate, is at 2.27).
DEAD_CHECKS = 3            # dead outputs this many checks in a row: conclusive
STUCK_CHECKS = 5           # otherwise this many stuck checks in a row,
STUCK_STEPS = 200          # and at least this many steps and one epoch


class RunControl:
    """Pause, resume and cancel a run from any thread.

    The training thread calls :meth:`wait_if_paused` between steps; it blocks on an Event while
    paused, so a paused run costs no CPU. Cancelling also releases a paused run.
    """

    def __init__(self):
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_if_paused(self) -> float:
        """Block while paused; return the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - start


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
class History:
    """Every check of a run, in order."""

    checks: list[Check] = field(default_factory=list)

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

    @classmethod
    def from_array(cls, arr: np.ndarray) -> "History":
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
    stop_reason: str
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
        self.byte_buffer = np.empty((batch_size, x.shape[1]), dtype=np.uint8) if self.bytes is not None else None
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


def _augmented_feed(config: TrainConfig, batches: _BatchSource, batch_size: int, rng, dtype):
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
    return AugmentedBatches(x_bytes, batch_size, rng, augmenter, dtype=dtype)


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


def _divergence_advice(config: TrainConfig, batch_size: int) -> str:
    """What to change after a divergence: the L2 strength when its step alone overshoots."""
    lr = config.learning_rate
    # SGD's L2 step multiplies every weight by 1 - lr * l2 / m: past 1 it flips and grows them.
    if config.l2 and lr * config.l2 / batch_size >= 1:
        return (f"The L2 strength {config.l2:g} is too large for the learning rate {lr:g} and batch "
                f"size {batch_size} (each step would shrink a weight past zero); try a smaller one "
                f"(for example {config.l2 / 100:g}).")
    return (f"The learning rate {lr:g} is too large for this setting; try a smaller one "
            f"(for example {lr / 10:g}).")


def initial_network_problems(config: TrainConfig, network: Network) -> list[str]:
    """Why ``network`` cannot start a run of ``config``, as sentences; empty if it can.

    A run that starts from a trained network keeps its architecture: the layer sizes and batch
    normalisation of ``config`` must be the network's, and every weight must be finite.
    """
    p = []
    if tuple(network.layer_sizes) != tuple(config.layer_sizes):
        p.append(f"the starting network has layers {'-'.join(map(str, network.layer_sizes))} but the "
                 f"settings ask for {'-'.join(map(str, config.layer_sizes))}; leave the layer sizes "
                 f"to the starting network")
    if bool(network.batch_norm) != bool(config.batch_norm):
        p.append(f"the starting network {'has' if network.batch_norm else 'has no'} batch "
                 f"normalisation but the settings ask for {'it' if config.batch_norm else 'none'}; "
                 f"leave batch normalisation to the starting network")
    if not all(np.all(np.isfinite(a)) for _, a in network.parameters() + network.buffers()):
        p.append("the starting network has non-finite values (NaN or infinity); start from another model")
    return p


def train(config: TrainConfig, splits, *, initial: Network | None = None,
          control: RunControl | None = None, on_check=None, on_epoch=None) -> TrainResult:
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

    The same config and data give the same run bit for bit: the initialisation and the per-epoch
    shuffles come from independent streams of ``config.seed``. With ``config.augment`` a fraction
    of every training batch is transformed (:mod:`digitlab.training.augment`), its random numbers
    from the seed, the epoch and the chunk; validation and test images never are.
    """
    # A diverging run overflows before its cost turns inf; the loop detects that and stops with a
    # message, so NumPy's overflow warnings would only repeat it less clearly.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _train(config, splits, initial, control, on_check, on_epoch)


def _train(config, splits, initial, control, on_check, on_epoch) -> TrainResult:
    config.validate()
    if initial is not None:
        problems = initial_network_problems(config, initial)
        if problems:
            raise ValueError("cannot start from this network: " + "; ".join(problems))
    control = control or RunControl()
    x, y = splits.x_train, np.asarray(splits.y_train, dtype=np.intp)
    x_val, y_val = splits.x_val, np.asarray(splits.y_val, dtype=np.intp)
    n, features = x.shape
    if features != config.layer_sizes[0]:
        raise ValueError(f"the data has {features} features per image but the first layer has "
                         f"{config.layer_sizes[0]} units; set layer_sizes to start with {features}")
    n_classes = int(max(y.max(), y_val.max())) + 1
    if n_classes > config.layer_sizes[-1]:
        raise ValueError(f"the data has {n_classes} classes but the output layer has "
                         f"{config.layer_sizes[-1]} units")

    init_seed, shuffle_seed = np.random.SeedSequence(config.seed).spawn(2)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    if initial is not None:
        network = initial.copy(dtype=dtype)
    else:
        network = Network(config.layer_sizes, batch_norm=config.batch_norm, init=config.init,
                          init_std=config.init_std, seed=int(init_seed.generate_state(1)[0]),
                          dtype=dtype)
    optimizer = make_optimizer(config.optimizer, network.params, momentum=config.momentum)
    rng = np.random.default_rng(shuffle_seed)

    batch_size = min(config.batch_size, n)
    steps_per_epoch = math.ceil(n / batch_size)
    total_steps = steps_per_epoch * config.max_epochs
    batches = _BatchSource(x, batch_size, network.dtype, getattr(splits, "x_train_bytes", None))
    # With augmentation the feed shuffles (drawing the same permutations from ``rng``) and
    # transforms the batches, a chunk of them at a time.
    feed = _augmented_feed(config, batches, batch_size, rng, network.dtype) if config.augment else None
    l2 = float(config.l2)

    history = History()
    best_cost, best_step, best_state = math.inf, 0, None
    since_best = 0
    step = epoch = 0
    cost_sum, cost_count = 0.0, 0
    stop_reason, message = "max_epochs", ""
    paused_time = 0.0
    start = time.perf_counter()

    def check_now() -> Check:
        val_cost, val_acc = network.cost_and_accuracy(x_val, y_val, l2, m=batch_size)
        elapsed = time.perf_counter() - start - paused_time
        return Check(step, epoch + 1, cost_sum / max(cost_count, 1), val_cost, val_acc, elapsed, lr)

    chance_limit = CHANCE_FACTOR / config.layer_sizes[-1]
    stuck = dead = 0          # consecutive stuck checks, and of those with dead outputs
    probe = x_val[:512]       # enough images to see whether the answers differ at all
    judge_from = max(STUCK_STEPS, steps_per_epoch)

    def stuck_check(accuracy: float, cost: float):
        """``(stuck, dead, cross-entropy)`` of the network as it is now (see CHANCE_FACTOR)."""
        if accuracy > chance_limit:
            return False, False, math.nan
        entropy = cost - (l2 / (2 * batch_size) * network.l2_sum() if l2 else 0.0)
        z = network.logits(probe)
        is_dead = bool(np.all(np.ptp(z, axis=0) <= 1e-6 * max(1.0, float(np.abs(z).max()))))
        return is_dead or entropy >= math.log(config.layer_sizes[-1]), is_dead, entropy

    def not_learning_message(accuracy: float, entropy: float, is_dead: bool, where: str) -> str:
        lr0 = config.learning_rate
        if is_dead:
            why = (f"the network gives the same answer for every image (its ReLUs have died), so "
                   f"the validation accuracy is {100 * accuracy:.1f} % (chance). Most likely the "
                   f"learning rate {lr0:g} is too high; try a smaller one, for example "
                   f"{min(0.01, lr0 / 10):g}.")
        else:
            why = (f"the validation accuracy is {100 * accuracy:.1f} % (chance) and the validation "
                   f"cross-entropy {entropy:.3f} is no better than guessing "
                   f"(ln {config.layer_sizes[-1]} = {math.log(config.layer_sizes[-1]):.3f}). ")
            why += (f"Most likely the learning rate {lr0:g} is too high; try a smaller one, for "
                    f"example {min(0.01, lr0 / 10):g}." if lr0 > 0.1 else
                    f"The learning rate {lr0:g} may be too small (try {lr0 * 10:g}), or the "
                    f"labels may not match the images.")
        return f"The network is not learning: {where} {why}"

    lr = config.learning_rate
    first_cost = None
    done = False
    while epoch < config.max_epochs and not done:
        order = rng.permutation(n) if feed is None else None
        for begin in range(0, n, batch_size):
            if feed is None:
                idx = order[begin:begin + batch_size]
                x_batch = batches.gather(idx)
            else:
                x_batch, idx = feed.next_batch()
            cost = network.loss_and_grad(x_batch, y[idx], l2, batches.input_scale)
            if first_cost is None:
                first_cost = cost
            # Diverging: the cost is inf or NaN, or has grown a thousandfold past where it started
            # (a mean cross-entropy that large means the weights have blown up; it cannot recover).
            if not math.isfinite(cost) or cost > DIVERGENCE_FACTOR * max(first_cost, 1.0):
                stop_reason = "diverged"
                shown = f"{cost:.3g}" if math.isfinite(cost) else str(cost)
                message = (f"Training diverged at step {step + 1} (epoch {epoch + 1}): the cost became "
                           f"{shown} (it started at {first_cost:.3g}). " + _divergence_advice(config, batch_size))
                done = True
                break
            lr = learning_rate_at(config.schedule, config.learning_rate, step, total_steps, steps_per_epoch)
            optimizer.step(network.grads, lr)
            step += 1
            cost_sum += cost
            cost_count += 1

            if step % config.eval_every == 0:
                check = check_now()
                cost_sum, cost_count = 0.0, 0
                if not math.isfinite(check.val_cost):
                    stop_reason = "diverged"
                    message = (f"Training diverged at step {step} (epoch {epoch + 1}): the validation "
                               f"cost became {check.val_cost}. " + _divergence_advice(config, batch_size))
                    done = True
                    break
                history.checks.append(check)
                if on_check:
                    on_check(check)
                is_stuck, is_dead, entropy = stuck_check(check.val_accuracy, check.val_cost)
                stuck = stuck + 1 if is_stuck else 0
                dead = dead + 1 if is_dead else 0
                if dead >= DEAD_CHECKS or (stuck >= STUCK_CHECKS and step >= judge_from):
                    stop_reason = "not_learning"
                    message = not_learning_message(
                        check.val_accuracy, entropy, is_dead,
                        f"for the last {dead if dead >= DEAD_CHECKS else stuck} checks, up to step {step} (epoch {epoch + 1}),")
                    done = True
                    break
                if check.val_cost < best_cost - config.tol:
                    best_cost, best_step, best_state = check.val_cost, step, network.state()
                    since_best = 0
                else:
                    since_best += config.eval_every
                    if since_best >= config.patience:
                        stop_reason = "early_stopping"
                        message = (f"Stopped early at step {step} (epoch {epoch + 1}): the validation "
                                   f"cost had not improved for {since_best} steps. The best weights, "
                                   f"from step {best_step}, were restored.")
                        done = True
                        break

            if control.paused:
                paused_time += control.wait_if_paused()
            if control.cancelled:
                stop_reason, done = "cancelled", True
                break
        epoch += 1      # epochs started, so a run stopped mid-epoch counts that epoch
        if on_epoch:
            on_epoch(epoch, step, config.max_epochs)

    if feed is not None:
        feed.close()
    if stop_reason == "max_epochs":
        message = f"Reached the maximum of {config.max_epochs} epochs ({step} steps)."
        if best_state is not None:
            message += f" The best weights, from step {best_step}, were kept."
    elif stop_reason == "cancelled":
        message = f"Stopped by you at step {step} (epoch {epoch})."

    # Keep what the run learned: the best weights seen on the validation set, unless the current
    # ones (of a cancelled or exhausted run) are better still.
    # Early stopping and divergence always go back to the best check.
    if best_state is not None:
        if stop_reason in ("early_stopping", "diverged"):
            network.load_state(best_state)
        else:
            current_cost = network.cost(x_val, y_val, l2, m=batch_size)
            if current_cost < best_cost - config.tol:
                best_step = step
            else:
                network.load_state(best_state)
    elif stop_reason == "diverged":
        message += " No validation check had passed yet, so there are no usable weights."
    if stop_reason in ("early_stopping", "max_epochs") and len(x_val):
        # A run too short or too patient for the checks above can still end at chance: say so
        # rather than report "Finished" for a network that guesses.
        cost, accuracy = network.cost_and_accuracy(x_val, y_val, l2, m=batch_size)
        is_stuck, is_dead, entropy = stuck_check(accuracy, cost)
        if is_dead or (is_stuck and len(history) >= STUCK_CHECKS and step >= judge_from):
            stop_reason = "not_learning"
            message = not_learning_message(accuracy, entropy, is_dead, f"at the end of the run (step {step}),")
    elapsed = time.perf_counter() - start - paused_time
    metrics = evaluate(network, splits, l2, batch_size) if np.all(np.isfinite(network.params)) else {}
    extra_accuracy = {}
    x_extra, y_extra = getattr(splits, "x_extra", None), getattr(splits, "y_extra", None)
    if x_extra is not None and len(x_extra):
        if initial is not None:
            extra_accuracy["before"] = float(np.mean(initial.predict(x_extra) == y_extra))
        if metrics:
            extra_accuracy["after"] = float(np.mean(network.predict(x_extra) == y_extra))
    return TrainResult(network, config, history, stop_reason, message, best_step,
                       epoch, step, elapsed, metrics, dataset=getattr(splits, "name", ""),
                       dataset_checksum=getattr(splits, "checksum", ""),
                       origin=dict(getattr(splits, "origin", {})), extra_accuracy=extra_accuracy)
