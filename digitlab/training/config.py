"""Every setting of a training run, checked up front, with the course report's values as defaults."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ..nn import INITS, OPTIMIZERS
from ..nn.activations import ACTIVATION_WORDS, ACTIVATIONS
from ..nn.dropout import rate_problems
from .naming import format_layer_sizes

SCHEDULES = ("constant", "cosine", "step")

# What digitlab trains: every dataset it reads is 28x28 images of ten classes (MNIST's format).
INPUT_SIZE = 784
N_CLASSES = 10
# Limits on a network's size, the same for the form, the command line and a model file from a
# stranger (which is checked against them before any array is read). A 10,000-unit layer is far
# past what trains in reasonable time here; 25 million parameters are 100 MB as float32.
MAX_UNITS = 10_000
MAX_WEIGHT_LAYERS = 12
MAX_PARAMETERS = 25_000_000

# Limits on the other settings, the same for the form, the command line and a model file, so a
# setting that cannot work is refused before any work starts instead of failing after it.
# Seeds: the form's range; NumPy takes larger ones, but an int beyond 64 bits cannot be stored in
# a model file, and 2**31 - 1 is what other tools accept too.
MAX_SEED = 2**31 - 1
# Learning rate: with this network, SGD diverges or kills its ReLUs above about 1, Adam above about
# 0.1 (measured on MNIST); 10 leaves room for experiments and still refuses typos such as 1e6.
MAX_LEARNING_RATE = 10.0
# L2 lambda (with m = the batch size): the report uses 5 and the sweeps go to 10; at 10,000 the
# penalty already shrinks every weight to nothing, beyond it a run only overflows.
MAX_L2 = 1e4
# Initial standard deviation of --init normal: above 10 the first layer saturates and overflows.
MAX_INIT_STD = 10.0
MAX_MOMENTUM = 0.9999
# Batch size and validation size: MNIST has 60,000 training images (the form's limits).
MAX_BATCH_SIZE = 60_000
MAX_N_VALIDATION = 59_000
MAX_EPOCHS = 100_000
MAX_STEPS = 10**9          # eval_every, patience and train_subset: the form's limit for counts


@dataclass(frozen=True)
class FieldRule:
    """The allowed range of one numeric setting, and the words a person reads for it.

    ``low`` is allowed itself when ``low_ok`` (integers always include it); ``high`` is the largest
    value allowed, None for no limit. ``words`` name the setting in the form's sentences
    ("learning rate"); the command line and model files name it by its field ("learning_rate").
    ``high_as_typed`` is False for the limits that only catch typos and runs that cannot work
    (learning rate, init std, L2): a value past them is still a well-formed number, so the form
    does not mark the field as mistyped and names the limit under the form, with the whole check.
    """

    kind: type
    low: float
    low_ok: bool
    high: float | None
    words: str
    high_as_typed: bool = True
    or_none: bool = False


# Every numeric setting's range, in the order the problems are reported.
FIELD_RULES: dict[str, FieldRule] = {
    "learning_rate": FieldRule(float, 0.0, False, MAX_LEARNING_RATE, "learning rate", high_as_typed=False),
    "init_std": FieldRule(float, 0.0, False, MAX_INIT_STD, "init std", high_as_typed=False),
    "l2": FieldRule(float, 0.0, True, MAX_L2, "L2 lambda", high_as_typed=False),
    "momentum": FieldRule(float, 0.0, True, MAX_MOMENTUM, "momentum"),
    "tol": FieldRule(float, 0.0, True, None, "tolerance"),
    "batch_size": FieldRule(int, 1, True, MAX_BATCH_SIZE, "batch size"),
    "eval_every": FieldRule(int, 1, True, MAX_STEPS, "validation interval"),
    "patience": FieldRule(int, 1, True, MAX_STEPS, "patience"),
    "max_epochs": FieldRule(int, 1, True, MAX_EPOCHS, "max epochs"),
    "n_validation": FieldRule(int, 1, True, MAX_N_VALIDATION, "validation size"),
    "seed": FieldRule(int, 0, True, MAX_SEED, "seed"),
    "augment_fraction": FieldRule(float, 0.0, False, 1.0, "augmented share"),
    "train_subset": FieldRule(int, 1, True, MAX_STEPS, "training subset", or_none=True),
}


def field_problems(name: str, value) -> list[str]:
    """Why ``value`` cannot be the setting ``name`` (a key of :data:`FIELD_RULES`), as sentences
    naming the field; empty if it can. The check :meth:`TrainConfig.problems` makes per field."""
    rule = FIELD_RULES[name]
    if rule.or_none and value is None:
        return []
    if rule.kind is int:
        return _int_problems(name, value, rule.low, rule.high, or_none=rule.or_none)
    return _float_problems(name, value, rule.low, rule.low_ok, rule.high)


def setting_from_text(name: str, text: str):
    """The value a person typed for the setting ``name``; a ValueError in the form's words says
    what is wrong ("batch size must be <= 60000, got 60001").

    Integers are whole numbers only; a setting that may be None (the training subset) takes an
    empty text, "all" or "none" for it. Limits with ``high_as_typed`` False are left to
    :meth:`TrainConfig.problems`, see :class:`FieldRule`.
    """
    rule = FIELD_RULES[name]
    text = text.strip()
    if rule.or_none and text.lower() in ("", "all", "none"):
        return None
    if not text:
        raise ValueError(f"{rule.words} is empty")
    high = rule.high if rule.high_as_typed else None
    if rule.kind is int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{rule.words} must be a whole number, got '{text}'") from None
        if value < rule.low:
            raise ValueError(f"{rule.words} must be >= {rule.low}, got {value}")
        if high is not None and value > high:
            raise ValueError(f"{rule.words} must be <= {high}, got {value}")
        return value
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{rule.words} must be a number, got '{text}'") from None
    if not math.isfinite(value):
        raise ValueError(f"{rule.words} must be finite, got {text}")
    if value < rule.low or (value == rule.low and not rule.low_ok):
        raise ValueError(f"{rule.words} must be {'>=' if rule.low_ok else '>'} {rule.low:g}, got {value:g}")
    if high is not None and value > high:
        raise ValueError(f"{rule.words} must be <= {high:g}, got {value:g}")
    return value


def parse_layer_sizes(text: str) -> tuple[int, ...]:
    """``"784-20-7-5-10"`` -> ``(784, 20, 7, 5, 10)`` (also with commas or spaces); a ValueError
    says what is wrong in words, with the limits of :func:`layer_size_problems`."""
    parts = [p.strip() for p in text.replace(",", "-").replace(" ", "-").split("-") if p.strip()]
    if len(parts) < 2:
        raise ValueError("give at least an input and an output size, e.g. 784-20-7-5-10")
    sizes = []
    for p in parts:
        try:
            n = int(p)
        except ValueError:
            raise ValueError(f"'{p}' is not a whole number of units") from None
        if n <= 0:
            raise ValueError(f"every layer needs at least one unit, got {n}")
        sizes.append(n)
    problems = layer_size_problems(sizes)
    if problems:
        raise ValueError(problems[0])
    return tuple(sizes)


def parse_dropout(text: str) -> tuple[float, ...]:
    """``"0.2"`` -> ``(0.2,)`` (every hidden layer), ``"0.2,0.1,0"`` -> one rate per hidden layer,
    ``""``, ``"0"`` or ``"none"`` -> ``()`` (no dropout); a ValueError says what is wrong in words.
    The count of rates against the layers is :meth:`TrainConfig.problems`'s to judge."""
    text = text.strip()
    if text.lower() in ("", "none", "off"):
        return ()
    rates = []
    for part in (p.strip() for p in text.replace(";", ",").replace(" ", ",").split(",")):
        if not part:
            continue
        try:
            rate = float(part)
        except ValueError:
            raise ValueError(f"dropout rate must be a number, got '{part}'") from None
        problems = rate_problems((rate,))
        if problems:
            raise ValueError(problems[0])
        rates.append(rate)
    return dropout_rates(rates)


def dropout_rates(value):
    """The settings' form of dropout rates: a tuple, ``()`` for none (all rates 0 too), a single
    number as a one-rate tuple (every hidden layer). Values that are not rates are kept as they
    are, for :meth:`TrainConfig.problems` to name."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return value
    rates = tuple(float(r) if isinstance(r, numbers.Real) and not isinstance(r, (bool, np.bool_)) else r
                  for r in value)
    return () if all(isinstance(r, float) and r == 0 for r in rates) else rates


def parameter_count(layer_sizes) -> int:
    """Weights and biases of a fully-connected network with these layer sizes."""
    sizes = [int(s) for s in layer_sizes]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def layer_size_problems(layer_sizes) -> list[str]:
    """Why these layer sizes cannot be a digitlab network, as sentences; empty if they can.

    Checked before anything is allocated, so a declared size of 10**9 costs nothing.
    """
    sizes = tuple(layer_sizes)
    if len(sizes) < 2 or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes):
        return [f"layer_sizes must be at least two whole numbers >= 1, got {sizes}"]
    p = []
    if sizes[0] != INPUT_SIZE:
        p.append(f"the input layer must have {INPUT_SIZE} units (28x28 pixels), got {sizes[0]}")
    if sizes[-1] != N_CLASSES:
        p.append(f"the output layer must have {N_CLASSES} units (one per digit), got {sizes[-1]}")
    if len(sizes) - 1 > MAX_WEIGHT_LAYERS:
        p.append(f"at most {MAX_WEIGHT_LAYERS} layers of weights, got {len(sizes) - 1}")
    big = [s for s in sizes[1:-1] if s > MAX_UNITS]
    if big:
        p.append(f"a hidden layer has at most {MAX_UNITS} units, got {big[0]}")
    elif parameter_count(sizes) > MAX_PARAMETERS:
        p.append(f"at most {MAX_PARAMETERS:,} parameters, these sizes need {parameter_count(sizes):,}")
    return p


@dataclass
class TrainConfig:
    """The settings of one run. The defaults are the course report's protocol.

    The report: SGD with learning rate 0.009, batch 256, Gaussian (He) initialisation, validation
    cost checked every 100 steps, stop after 100 steps without improvement, at most 100 epochs.
    """

    layer_sizes: tuple[int, ...] = (784, 20, 7, 5, 10)
    init: str = "he"
    init_std: float = 0.01
    seed: int = 3
    batch_norm: bool = False
    # The hidden layers' activation (digitlab.nn.activations): relu, leaky_relu, tanh or sigmoid.
    activation: str = "relu"
    # Inverted dropout in training (digitlab.nn.dropout): () none, (p,) every hidden layer drops a
    # share p of its units, (p1, p2, ...) one rate per hidden layer; each rate in [0, 1).
    dropout: tuple[float, ...] = ()
    l2: float = 0.0
    optimizer: str = "sgd"
    learning_rate: float = 0.009
    momentum: float = 0.9
    schedule: str = "constant"
    batch_size: int = 256
    eval_every: int = 100
    patience: int = 100
    tol: float = 0.0
    max_epochs: int = 100
    dataset: str = "mnist"
    n_validation: int = 12000
    train_subset: int | None = None
    # On-the-fly augmentation (digitlab.training.augment): each epoch, this fraction of the
    # training images, drawn afresh, is shifted, rotated, scaled, sheared, thickened or thinned
    # and elastically deformed; validation and test images never are. Off in the report.
    augment: bool = False
    augment_fraction: float = 0.5
    name: str = field(default="", compare=False)

    def __post_init__(self):
        self.layer_sizes = tuple(int(s) for s in self.layer_sizes)
        self.dropout = dropout_rates(self.dropout)

    def problems(self) -> list[str]:
        """Every problem with these settings, as sentences that say what to do; empty if valid."""
        p = []
        p.extend(layer_size_problems(self.layer_sizes))
        if self.init not in INITS:
            p.append(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.optimizer not in OPTIMIZERS:
            p.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            p.append(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.activation not in ACTIVATIONS:
            p.append(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        p.extend(rate_problems(self.dropout, max(len(self.layer_sizes) - 2, 0)))
        for name in FIELD_RULES:
            if name == "augment_fraction" and not isinstance(self.augment, (bool, np.bool_)):
                p.append(f"augment must be true or false, got {self.augment!r}")  # beside its share
            p.extend(field_problems(name, getattr(self, name)))
        return p

    # The per-field checks, reachable from the settings themselves (the form calls them as a
    # person types; see FieldRule).
    field_problems = staticmethod(field_problems)
    setting_from_text = staticmethod(setting_from_text)
    parse_layer_sizes = staticmethod(parse_layer_sizes)
    parse_dropout = staticmethod(parse_dropout)

    def dropout_per_layer(self) -> tuple[float, ...]:
        """The dropout rate of each hidden layer (0 for none)."""
        from ..nn.dropout import per_layer
        return per_layer(self.dropout, len(self.layer_sizes) - 2)

    def validate(self) -> TrainConfig:
        """Raise ``ValueError`` naming every problem; return self when the settings are valid."""
        problems = self.problems()
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["layer_sizes"] = list(self.layer_sizes)
        d["dropout"] = list(self.dropout)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Build from a dict, ignoring keys this version does not know (newer files)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line for a person: architecture and the settings that matter."""
        parts = [format_layer_sizes(self.layer_sizes), self.optimizer, f"lr {self.learning_rate:g}",
                 f"batch {self.batch_size}"]
        if self.schedule != "constant":
            parts.append(f"{self.schedule} schedule")
        parts.append(f"L2 {self.l2:g}" if self.l2 else "no L2")
        parts.append("BN" if self.batch_norm else "no BN")
        if self.activation != "relu":
            parts.append(ACTIVATION_WORDS.get(self.activation, str(self.activation)))
        if self.dropout:
            parts.append(f"dropout {format_dropout(self.dropout)}")
        if self.augment:
            parts.append(f"augmented ({self.augment_fraction:.0%} of images)")
        return ", ".join(parts)


def _is_int(value) -> bool:
    # NumPy integers (from a model file) count; True and False do not.
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _int_problems(name: str, value, low: int, high: int, or_none: bool = False) -> list[str]:
    if not _is_int(value) or value < low:
        what = "an integer > 0" if low == 1 else f"an integer >= {low}"
        return [f"{name} must be {what}{' or None' if or_none else ''}, got {value!r}"]
    if value > high:
        return [f"{name} must be at most {high:,}, got {value:,}"]
    return []


def _float_problems(name: str, value, low: float, low_ok: bool, high: float | None) -> list[str]:
    # isfinite first: NaN fails every comparison, so "must be > 0, got nan" would be a riddle.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return [f"{name} must be a number, got {value!r}"]
    if not math.isfinite(value):
        return [f"{name} must be a finite number, got {value}"]
    if value < low or (value == low and not low_ok):
        return [f"{name} must be {'>=' if low_ok else '>'} {low:g}, got {value:g}"]
    if high is not None and value > high:
        return [f"{name} must be at most {high:g}, got {value:g}"]
    return []


def format_dropout(rates) -> str:
    """Dropout rates as a person types them: "0.2" (every hidden layer), "0.2,0.1,0", "none"."""
    return ",".join(f"{r:g}" for r in rates) if rates else "none"
