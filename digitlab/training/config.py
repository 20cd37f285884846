"""Every setting of a training run, checked up front, with the course report's values as defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..nn import INITS, OPTIMIZERS

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
    name: str = field(default="", compare=False)

    def __post_init__(self):
        self.layer_sizes = tuple(int(s) for s in self.layer_sizes)

    def problems(self) -> list[str]:
        """Every problem with these settings, as sentences that say what to do; empty if valid."""
        p = []
        p.extend(layer_size_problems(self.layer_sizes))
        if self.init not in INITS:
            p.append(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if not self.init_std > 0:
            p.append(f"init_std must be > 0, got {self.init_std}")
        if self.l2 < 0:
            p.append(f"l2 must be >= 0, got {self.l2}")
        if self.optimizer not in OPTIMIZERS:
            p.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not self.learning_rate > 0:
            p.append(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.momentum < 1:
            p.append(f"momentum must be in [0, 1), got {self.momentum}")
        if self.schedule not in SCHEDULES:
            p.append(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        for name in ("batch_size", "eval_every", "patience", "max_epochs", "n_validation"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                p.append(f"{name} must be an integer > 0, got {value!r}")
        if self.tol < 0:
            p.append(f"tol must be >= 0, got {self.tol}")
        if self.train_subset is not None and self.train_subset < 1:
            p.append(f"train_subset must be > 0 or None, got {self.train_subset}")
        return p

    def validate(self) -> "TrainConfig":
        """Raise ``ValueError`` naming every problem; return self when the settings are valid."""
        problems = self.problems()
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["layer_sizes"] = list(self.layer_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a dict, ignoring keys this version does not know (newer files)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line for a person: architecture and the settings that matter."""
        arch = "-".join(map(str, self.layer_sizes))
        parts = [arch, self.optimizer, f"lr {self.learning_rate:g}", f"batch {self.batch_size}"]
        if self.schedule != "constant":
            parts.append(f"{self.schedule} schedule")
        parts.append(f"L2 {self.l2:g}" if self.l2 else "no L2")
        parts.append("BN" if self.batch_norm else "no BN")
        return ", ".join(parts)
