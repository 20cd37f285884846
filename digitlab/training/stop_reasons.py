"""Why a training run ended: the reasons, and a stop as the loop hands it on (reason and message)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StopReason(StrEnum):
    """Why a run ended.

    The values are the strings that model files store (root attribute ``stop_reason``) and that
    the command line and the GUI compare against; as a ``StrEnum`` each member is that string
    (``StopReason.DIVERGED == "diverged"``, ``str(StopReason.DIVERGED) == "diverged"``), so files,
    JSON and comparisons see exactly what they saw before there was an Enum.
    """

    EARLY_STOPPING = "early_stopping"   # the validation cost stopped improving (patience ran out)
    MAX_EPOCHS = "max_epochs"           # the run trained for all its epochs
    CANCELLED = "cancelled"             # a person (or a signal) stopped it
    DIVERGED = "diverged"               # the cost blew up; the weights cannot recover
    NOT_LEARNING = "not_learning"       # stuck at chance (digitlab.training.not_learning)


STOP_REASONS = tuple(reason.value for reason in StopReason)


@dataclass(frozen=True)
class Stop:
    """A run's end as the loop decides it: the reason, and the message shown to people."""

    reason: StopReason
    message: str
