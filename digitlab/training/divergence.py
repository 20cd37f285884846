"""Whether a run has diverged: the rule that stops it at once, and the advice its message gives."""

from __future__ import annotations

import math

from .config import TrainConfig

# A mean cross-entropy this many times past where the run started (or past 1) means the weights
# have blown up; it cannot recover, even while the cost is still finite.
DIVERGENCE_FACTOR = 1000.0


class DivergenceWatch:
    """Watches the training cost of every step and the validation cost of every check."""

    def __init__(self, config: TrainConfig, batch_size: int):
        self.config = config
        self.batch_size = batch_size
        self.first_cost: float | None = None

    def after_step(self, cost: float, step: int, epoch: int) -> str | None:
        """The message if the mini-batch ``cost`` of 1-based ``step`` (in ``epoch``) diverged.

        Diverging: the cost is inf or NaN, or has grown a thousandfold past where it started.
        """
        if self.first_cost is None:
            self.first_cost = cost
        if math.isfinite(cost) and cost <= DIVERGENCE_FACTOR * max(self.first_cost, 1.0):
            return None
        shown = f"{cost:.3g}" if math.isfinite(cost) else str(cost)
        return (f"Training diverged at step {step} (epoch {epoch}): the cost became "
                f"{shown} (it started at {self.first_cost:.3g}). " + self.advice())

    def after_check(self, val_cost: float, step: int, epoch: int) -> str | None:
        """The message if the validation cost of the check at ``step`` is not finite."""
        if math.isfinite(val_cost):
            return None
        return (f"Training diverged at step {step} (epoch {epoch}): the validation "
                f"cost became {val_cost}. " + self.advice())

    def advice(self) -> str:
        """What to change: the L2 strength when its step alone overshoots, else the learning rate."""
        config, batch_size = self.config, self.batch_size
        lr = config.learning_rate
        # SGD's L2 step multiplies every weight by 1 - lr * l2 / m: past 1 it flips and grows them.
        if config.l2 and lr * config.l2 / batch_size >= 1:
            return (f"The L2 strength {config.l2:g} is too large for the learning rate {lr:g} and batch "
                    f"size {batch_size} (each step would shrink a weight past zero); try a smaller one "
                    f"(for example {config.l2 / 100:g}).")
        return (f"The learning rate {lr:g} is too large for this setting; try a smaller one "
                f"(for example {lr / 10:g}).")
