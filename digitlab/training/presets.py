"""Named settings: the report's four experiments, the preset that beats them, and the pad networks'."""

from __future__ import annotations

from .config import TrainConfig

# The course report's protocol. The report does not give its lambda; lambda = 5 with m = the batch
# size reproduces its numbers (shared/docs/PERFORMANCE.md).
REPORT = TrainConfig(name="report")
REPORT_LAMBDA = 5.0

EXPERIMENTS: list[tuple[str, TrainConfig]] = [
    ("Experiment 1: Without L2, Without Batch Norm", REPORT.replace(name="report-no-l2")),
    ("Experiment 2: With Batch Norm, No L2", REPORT.replace(batch_norm=True, name="report-bn")),
    ("Experiment 3: With L2, Without Batch Norm", REPORT.replace(l2=REPORT_LAMBDA, name="report-l2")),
    ("Experiment 4: With L2 and Batch Norm",
     REPORT.replace(l2=REPORT_LAMBDA, batch_norm=True, name="report-l2-bn")),
]

# Same 784-20-7-5-10 network, trained better: Adam with batch normalisation, a cosine learning-rate
# schedule over 60 epochs, batches of 64 and a light L2 (lambda 1 with m = 64). Validation is
# checked once an epoch (750 steps) and early stopping waits 10 epochs, a safety net that the
# cosine schedule rarely needs. Measured: 96.3-96.4 % test accuracy over seeds 3, 4, 5 (README).
BEST = TrainConfig(
    batch_norm=True, optimizer="adam", learning_rate=0.003, schedule="cosine", batch_size=64,
    l2=1.0, max_epochs=60, eval_every=750, patience=7500, seed=3, name="best",
)

# Networks for the drawing pad: the best preset's recipe with on-the-fly augmentation (shifts,
# rotations, scaling, shear, stroke thickness, elastic wobble; digitlab.training.augment), so that
# digits drawn a little off-centre, tilted, thick or thin are still read. "pad" has no L2, "pad-l2"
# the best preset's lambda 1: the Draw view's default pair compares exactly this difference.
PAD_L2 = BEST.replace(augment=True, augment_fraction=0.5, name="pad-l2")
PAD = PAD_L2.replace(l2=0.0, name="pad")

# The regularisers experiment: the report's network and protocol with no regulariser, each of the
# three alone (the report's L2, dropout, batch norm), compared on the same seeds as the four.
# Dropout drops a share REGULARISERS_DROPOUT of the first hidden layer's 20 units only: the 7- and
# 5-unit layers behind it are too narrow to lose units (measured on seeds 3-7 with the report's
# protocol, by validation accuracy: README, "The regularisers experiment").
REGULARISERS_DROPOUT = (0.1, 0.0, 0.0)
REGULARISERS: list[tuple[str, TrainConfig]] = [
    ("No regulariser", REPORT.replace(name="reg-none")),
    (f"L2 (lambda {REPORT_LAMBDA:g})", REPORT.replace(l2=REPORT_LAMBDA, name="reg-l2")),
    (f"Dropout ({','.join(f'{r:g}' for r in REGULARISERS_DROPOUT)})",
     REPORT.replace(dropout=REGULARISERS_DROPOUT, name="reg-dropout")),
    ("Batch norm", REPORT.replace(batch_norm=True, name="reg-bn")),
]

# The sets of experiments `digitlab experiments --set` runs, each judged by its own claims.
EXPERIMENT_SETS: dict[str, list[tuple[str, TrainConfig]]] = {"report": EXPERIMENTS,
                                                             "regularisers": REGULARISERS}

PRESETS: dict[str, TrainConfig] = {"report": REPORT, **{c.name: c for _, c in EXPERIMENTS}, "best": BEST,
                                   "pad": PAD, "pad-l2": PAD_L2}


def preset(name: str) -> TrainConfig:
    """A copy of the preset called ``name``."""
    try:
        return PRESETS[name].replace()
    except KeyError:
        raise ValueError(f"no preset {name!r}; choose one of {', '.join(PRESETS)}") from None
