"""Learning-rate schedules: the rate for a step, given the base rate and the run's length."""

from __future__ import annotations

import math


def learning_rate_at(schedule: str, base: float, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """The learning rate for ``step`` (0-based).

    * ``constant``: ``base`` throughout (the report).
    * ``cosine``: half a cosine from ``base`` down to 1 % of it over ``total_steps``; large steps
      early, fine ones at the end, which is where most of the accuracy of the best preset comes from.
    * ``step``: halve the rate every 10 epochs.
    """
    if schedule == "constant":
        return base
    if schedule == "cosine":
        t = min(step / max(total_steps, 1), 1.0)
        floor = 0.01 * base
        return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "step":
        return base * 0.5 ** (step // (10 * steps_per_epoch))
    raise ValueError(f"unknown schedule {schedule!r}")
