"""Where a run was when it ended, so that it can be continued exactly; and its setting changes.

A :class:`TrainingState` holds everything the loop carries from one step to the next beyond the
settings: the last weights (a run keeps its best ones, which are usually not the last), the
optimiser's arrays, the step and epoch counters and the position within the epoch (which fixes
the shuffle: the shuffling generator has drawn one permutation per epoch started), the current
learning rate and L2 lambda, early stopping's best check and patience count, and the divergence
and not-learning watches' counts. ``train(config, splits, resume=state)`` with ``config``'s
``max_epochs`` raised continues the run; "train N epochs, save, continue M more" then equals
"train N + M epochs" bit for bit (for the constant and step schedules; a cosine schedule is
stretched over the new length, so it differs from the first continued step on).

A :class:`Change` is one setting changed during a run (``RunControl.change``).

Plain data, no Qt; the model file stores both (docs/model-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Change", "TrainingState", "OPTIMIZER_ARRAYS"]

#: The arrays each optimiser keeps, each the size of the flat parameter buffer.
OPTIMIZER_ARRAYS = {"sgd": (), "momentum": ("velocity",), "adam": ("m", "v")}


@dataclass(frozen=True)
class Change:
    """A setting changed during a run: from step ``step + 1`` on it was ``new`` instead of ``old``.

    ``step`` is the number of steps taken before the change (where the cost plot marks it).
    """

    step: int
    setting: str          # "learning_rate" or "l2"
    old: float
    new: float


@dataclass
class TrainingState:
    """A run's state between two steps (see the module docstring)."""

    step: int                      # steps taken
    epoch: int                     # the epoch (0-based) the next step belongs to
    batch: int                     # batches of that epoch already taken (0: it has not started)
    learning_rate: float           # the current base learning rate (after any changes)
    l2: float                      # the current L2 lambda (after any changes)
    lr: float                      # the learning rate of the latest step
    cost_sum: float                # training cost summed since the latest check
    cost_count: int
    elapsed: float                 # seconds of training so far, pauses excluded
    network: dict                  # the last weights and buffers, by name (Network.state())
    optimizer: str                 # "sgd", "momentum" or "adam"
    optimizer_arrays: dict = field(default_factory=dict)   # OPTIMIZER_ARRAYS[optimizer] by name
    adam_t: int = 0                # Adam's step count
    best_cost: float = float("inf")
    best_step: int = 0
    since_best: int = 0
    best_state: dict | None = None  # early stopping's best weights (None: no check improved yet)
    first_cost: float | None = None  # the divergence watch's first cost
    stuck: int = 0                 # the not-learning watch's counts
    dead: int = 0

    def arrays_finite(self) -> bool:
        """Whether every array can be stored (a diverged run's last weights cannot)."""
        groups = [self.network, self.optimizer_arrays] + ([self.best_state] if self.best_state else [])
        return all(np.all(np.isfinite(a)) for g in groups for a in g.values())
