"""Whether a run is learning at all: the rule that stops a run stuck at chance, and what it says.

A run that is not learning stops instead of ending, after many minutes, as a model at chance.
A check is "stuck" when its validation accuracy is at most twice chance (20 % for ten classes)
and either every image gets the same answer (the ReLUs have died: no gradient reaches the
weights again) or the validation cross-entropy is no better than uniform guessing (ln 10).
Measured on MNIST (eval every 100 steps), the report's protocol starts slowly: seed 3 is at
16.1, 14.9, 17.3, 20.1, 26.5 % for its first five checks, so accuracy alone would stop it; but
its cross-entropy is already 2.18 at the first check (ln 10 = 2.303), 2.22 at the fifth with a
ninth of the learning rate (0.001). Dead runs (--lr 3) sit at 2.30-2.31 with one answer for all.
"""

from __future__ import annotations

import math

import numpy as np

from ..nn import Network

CHANCE_FACTOR = 2.0
# Batch normalisation starts higher (report-bn seed 3: 2.33 at step 20, 2.26 at step 40), so
# the cross-entropy rule waits for 200 steps (and an epoch): every preset is well below ln 10 by
# then (the slowest measured, report seed 3 at a ninth of its learning rate, is at 2.27).
DEAD_CHECKS = 3            # dead outputs this many checks in a row: conclusive
STUCK_CHECKS = 5           # otherwise this many stuck checks in a row,
STUCK_STEPS = 200          # and at least this many steps and one epoch
PROBE_IMAGES = 512         # enough validation images to see whether the answers differ at all


class NotLearningWatch:
    """Counts stuck checks in a row and says when a run should stop as not learning.

    Parameters
    ----------
    network : Network
        The network being trained (read, never changed).
    x_val : numpy.ndarray
        The validation images; the first ``PROBE_IMAGES`` show whether the answers differ.
    learning_rate, l2 : float
        The run's settings: the L2 term is taken off the cost to get the cross-entropy, and the
        learning rate is what the message advises on.
    batch_size, steps_per_epoch : int
    """

    def __init__(self, network: Network, x_val: np.ndarray, *, learning_rate: float, l2: float,
                 batch_size: int, steps_per_epoch: int):
        self.network = network
        self.probe = x_val[:PROBE_IMAGES]
        self.learning_rate, self.l2, self.batch_size = learning_rate, l2, batch_size
        self.n_classes = network.layer_sizes[-1]
        self.chance_limit = CHANCE_FACTOR / self.n_classes
        self.judge_from = max(STUCK_STEPS, steps_per_epoch)
        self.stuck = self.dead = 0          # consecutive stuck checks, and of those with dead outputs

    def after_check(self, accuracy: float, cost: float, step: int, epoch: int) -> str | None:
        """Count the check at ``step`` (of 1-based ``epoch``); the message if the run should stop."""
        is_stuck, is_dead, entropy = self.judge(accuracy, cost)
        self.stuck = self.stuck + 1 if is_stuck else 0
        self.dead = self.dead + 1 if is_dead else 0
        if self.dead >= DEAD_CHECKS or (self.stuck >= STUCK_CHECKS and step >= self.judge_from):
            checks = self.dead if self.dead >= DEAD_CHECKS else self.stuck
            where = f"for the last {checks} checks, up to step {step} (epoch {epoch}),"
            return self.message(accuracy, entropy, is_dead, where)
        return None

    def at_end(self, accuracy: float, cost: float, n_checks: int, step: int) -> str | None:
        """Judge the network a run ended with; the message if it ends at chance.

        A run too short or too patient for the checks above can still end at chance: this says so
        rather than report "Finished" for a network that guesses.
        """
        is_stuck, is_dead, entropy = self.judge(accuracy, cost)
        if is_dead or (is_stuck and n_checks >= STUCK_CHECKS and step >= self.judge_from):
            return self.message(accuracy, entropy, is_dead, f"at the end of the run (step {step}),")
        return None

    def judge(self, accuracy: float, cost: float) -> tuple[bool, bool, float]:
        """``(stuck, dead, cross-entropy)`` of the network as it is now (see the module docstring)."""
        if accuracy > self.chance_limit:
            return False, False, math.nan
        l2 = self.l2
        entropy = cost - (l2 / (2 * self.batch_size) * self.network.l2_sum() if l2 else 0.0)
        z = self.network.logits(self.probe)
        is_dead = bool(np.all(np.ptp(z, axis=0) <= 1e-6 * max(1.0, float(np.abs(z).max()))))
        return is_dead or entropy >= math.log(self.n_classes), is_dead, entropy

    def message(self, accuracy: float, entropy: float, is_dead: bool, where: str) -> str:
        """What a person reads: what was seen, ``where`` in the run, and what to change."""
        lr0 = self.learning_rate
        if is_dead:
            cause = {"relu": "its ReLUs have died", "leaky_relu": "its units sit on leaky ReLU's flat side",
                     }.get(self.network.activation, f"its {self.network.activation} units have saturated")
            why = (f"the network gives the same answer for every image ({cause}), so "
                   f"the validation accuracy is {100 * accuracy:.1f} % (chance). Most likely the "
                   f"learning rate {lr0:g} is too high; try a smaller one, for example "
                   f"{min(0.01, lr0 / 10):g}.")
        else:
            why = (f"the validation accuracy is {100 * accuracy:.1f} % (chance) and the validation "
                   f"cross-entropy {entropy:.3f} is no better than guessing "
                   f"(ln {self.n_classes} = {math.log(self.n_classes):.3f}). ")
            why += (f"Most likely the learning rate {lr0:g} is too high; try a smaller one, for "
                    f"example {min(0.01, lr0 / 10):g}." if lr0 > 0.1 else
                    f"The learning rate {lr0:g} may be too small (try {lr0 * 10:g}), or the "
                    f"labels may not match the images.")
        return f"The network is not learning: {where} {why}"
