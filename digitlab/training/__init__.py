"""The training loop, early stopping, history, run control and the named presets.

Uses ``digitlab.nn`` and plain data arrays; never imports Qt.
"""

from .config import SCHEDULES, TrainConfig
from .experiments import ExperimentRun, experiment_jobs, process_pool, run_experiments
from .naming import default_model_name, format_layer_sizes
from .presets import BEST, EXPERIMENT_SETS, EXPERIMENTS, PRESETS, REGULARISERS, REPORT, REPORT_LAMBDA, preset
from .run_control import CHANGEABLE
from .schedules import learning_rate_at
from .splits import SPLIT_SEED, cached_splits, splits_for
from .trainer import (
    CHECK_FIELDS,
    STOP_REASONS,
    Change,
    Check,
    History,
    RunControl,
    StepInfo,
    TrainingState,
    TrainResult,
    evaluate,
    train,
)

__all__ = ["SCHEDULES", "TrainConfig", "BEST", "EXPERIMENTS", "PRESETS", "REPORT", "REPORT_LAMBDA",
           "EXPERIMENT_SETS", "REGULARISERS",
           "preset", "learning_rate_at", "CHECK_FIELDS", "STOP_REASONS", "Check", "History",
           "RunControl", "TrainResult", "evaluate", "train", "CHANGEABLE", "Change", "StepInfo",
           "TrainingState", "ExperimentRun", "experiment_jobs",
           "run_experiments", "process_pool", "SPLIT_SEED", "splits_for",
           "cached_splits", "default_model_name", "format_layer_sizes"]
