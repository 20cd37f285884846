"""Early stopping: the course report's rule, one small object the training loop asks at every check.

The rule, with ``patience`` counted in training steps (not checks) and a tolerance ``tol``:

- A validation cost *improves* when it is below the best so far by more than ``tol``
  (``cost < best - tol``). The first finite cost always does (the best starts at infinity);
  NaN never does.
- An improvement records the cost, its step and a copy of the network's weights and state, and
  sets the count of steps without improvement back to zero.
- Any other check adds the ``eval_every`` steps since the previous check to that count; when it
  reaches ``patience`` the run stops. With ``eval_every`` 100 and ``patience`` 100 (the report's
  protocol) that is the first check without improvement; with ``patience`` 350, the fourth.
- When the run ends, the best check's weights are restored (:meth:`EarlyStopping.restore_best`);
  a run that ended for another reason keeps its last weights only if they improve on the best by
  the same test (:meth:`EarlyStopping.keep_better`).

It holds no network and imports no training code: the loop hands it the validation cost and a
way to copy the weights, so the rule can be tested with a scripted sequence of costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol


class HasState(Protocol):
    """What restoring needs of a network: ``load_state`` of what its ``state()`` returned."""

    def load_state(self, state: dict) -> None: ...


class EarlyStopping:
    """The best validation check so far, and whether patience has run out since it.

    Parameters
    ----------
    patience : int
        Steps without improvement after which the run stops.
    tol : float
        How much lower than the best a cost must be to count as an improvement.
    eval_every : int
        Steps between two checks: what one check without improvement adds to the count.
    """

    def __init__(self, patience: int, tol: float, eval_every: int):
        self.patience = patience
        self.tol = tol
        self.eval_every = eval_every
        self.best_cost = math.inf
        self.best_step = 0                  # 0 until a check has improved
        self.best_state: dict | None = None
        self.since_best = 0                 # steps since the best check, counted check by check

    @property
    def has_best(self) -> bool:
        """Whether any check has improved, so that there are weights to go back to."""
        return self.best_state is not None

    def improves(self, cost: float) -> bool:
        """Whether ``cost`` would count as an improvement on the best check."""
        return cost < self.best_cost - self.tol

    def update(self, step: int, cost: float, snapshot: Callable[[], dict]) -> bool:
        """Record the check at ``step`` with validation cost ``cost``; True when the run should stop.

        ``snapshot`` copies the weights; it is called only when the check improves, as copying
        every check would cost a full pass over the weights each time.
        """
        if self.improves(cost):
            self.best_cost, self.best_step, self.best_state = cost, step, snapshot()
            self.since_best = 0
            return False
        self.since_best += self.eval_every
        return self.since_best >= self.patience

    def restore_best(self, network: HasState) -> None:
        """Put the best check's weights back into ``network``."""
        if self.best_state is None:
            raise RuntimeError("no check has improved yet, so there are no best weights to restore; "
                               "ask has_best first")
        network.load_state(self.best_state)

    def keep_better(self, network: HasState, cost: float, step: int) -> None:
        """At the end of a run: keep ``network`` as it is if its validation ``cost`` improves on the
        best check (``step`` and ``cost`` become the best; no copy is taken, the run is over), else
        restore the best check's weights."""
        if self.improves(cost):
            self.best_cost, self.best_step = cost, step
        else:
            self.restore_best(network)
