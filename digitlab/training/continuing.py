"""Continuing a saved run exactly, as opposed to fine-tuning a saved model.

Fine-tuning (``fine_tune.py``, ``digitlab train --init-from model.h5``) starts a new run from a
model's weights, with a fresh optimiser and its own settings, often on new data. Continuing
(``digitlab train --init-from model.h5 --continue``, the Models view's "Continue training") picks
the run up where it ended: its last weights, its optimiser's state, its step and epoch counters,
its position in the shuffled data, its learning rate and L2 lambda (with any changes made during
the run), early stopping's best check and patience count; everything the model file keeps under
``/training_state``. So "train N epochs, save, continue M more" is "train N + M epochs" bit for
bit (constant and step schedules). Only the number of epochs, the learning rate and the L2
lambda may differ from the saved run (new values of the last two are recorded as changes).

Never imports Qt.
"""

from __future__ import annotations

from .config import MAX_EPOCHS, TrainConfig
from .training_state import TrainingState


def epochs_done(state: TrainingState) -> int:
    """Epochs the run has started (an epoch it stopped inside counts)."""
    return state.epoch + (1 if state.batch else 0)


def continue_problems(state: TrainingState | None, origin: dict, stop_reason: str) -> list[str]:
    """Why a saved run cannot be continued exactly, as sentences that say what to do instead;
    empty if it can."""
    if state is None:
        why = ("it diverged, so its last weights are unusable" if stop_reason == "diverged" else
               "its file keeps no training state (it was saved by an older digitlab, or its run was too "
               "large to keep one)")
        return [f"this model's run cannot be continued exactly: {why}; fine-tune it instead (without "
                f"--continue, or the Train form's Start from)"]
    if origin.get("extra_data"):
        return ["this model trained on extra digits besides its dataset, which continuing cannot mix in "
                "again; fine-tune it with the same extra data instead"]
    return []


def continue_config(config: TrainConfig, state: TrainingState, *, max_epochs: int | None = None,
                    more_epochs: int | None = None) -> TrainConfig:
    """The saved run's settings for continuing it: ``max_epochs`` epochs in all, or ``more_epochs``
    beyond those it started, or (neither) the epochs it was planned for. A ValueError says why the
    number cannot be (not more than it has already trained, say)."""
    done = epochs_done(state)
    if max_epochs is not None and more_epochs is not None:
        raise ValueError("give either the epochs in all or the epochs more, not both")
    if more_epochs is not None:
        if isinstance(more_epochs, bool) or not isinstance(more_epochs, int) or more_epochs < 1:
            raise ValueError(f"the epochs more must be a whole number >= 1, got {more_epochs!r}")
        total = done + more_epochs
    else:
        total = config.max_epochs if max_epochs is None else max_epochs
    if total > MAX_EPOCHS:
        raise ValueError(f"at most {MAX_EPOCHS:,} epochs in all, got {total:,}")
    if total <= done:
        planned = "" if max_epochs is not None or more_epochs is not None else \
            f" (it was planned for {config.max_epochs})"
        raise ValueError(f"the run has already trained {done} epoch{'s' if done != 1 else ''}"
                         f"{planned}; ask for more epochs than that")
    return config.replace(max_epochs=total)
