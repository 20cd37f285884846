"""A report's document: the blocks (headings, words, tables, figures) in reading order.

Made from the report's tables and the keys of its drawn figures; the renderers in
:mod:`.document` turn the blocks into HTML, Markdown and the PDF.
"""

from __future__ import annotations

import time

from .. import __version__
from ..nn.activations import ACTIVATION_WORDS
from ..training.config import format_dropout
from ..training.naming import format_layer_sizes
from .document import Block
from .runs import RunGroups

__all__ = ["document_blocks", "describe_setting"]


def describe_setting(runs) -> list[str]:
    """The setting in words, one line per aspect. Where the networks were trained differently
    (two chosen models often are), the line gives each variant in the order the networks appear
    instead of describing the first network as if it were all of them."""
    configs = [r.result.config for r in runs]
    seeds = sorted({r.seed for r in runs})

    def line(describe) -> str:
        variants = list(dict.fromkeys(describe(c) for c in configs))     # unique, in order
        if len(variants) == 1:
            return variants[0]
        return "Differs between the networks: " + " / ".join(v.rstrip(".") for v in variants) + "."

    def optimiser(c) -> str:
        name = c.optimizer.upper() if c.optimizer == "sgd" else c.optimizer
        schedule = f", {c.schedule} schedule" if c.schedule != "constant" else ""
        return f"{name} with learning rate {c.learning_rate:g}{schedule}, mini-batches of {c.batch_size}."

    return [
        line(lambda c: f"Network {format_layer_sizes(c.layer_sizes)} "
                       f"({ACTIVATION_WORDS.get(c.activation, c.activation)} hidden layers, softmax output), "
                       f"{c.init} initialisation"
                       + (f", dropout {format_dropout(c.dropout)} in training." if c.dropout else ".")),
        line(optimiser),
        line(lambda c: f"Early stopping: validation cost checked every {c.eval_every} iterations; training "
                       f"stops after {c.patience} iterations without improvement (at most {c.max_epochs} "
                       f"epochs) and keeps the best weights."),
        "L2 as the report defines it: cost + lambda/(2m) * sum of squared weights, m = mini-batch size "
        "(biases and batch-norm parameters not penalised).",
        line(lambda c: f"Data: {c.dataset}, {c.n_validation} validation images split off the training file"
                       + (f", training on the first {c.train_subset} images only" if c.train_subset else "")
                       + (f", {c.augment_fraction:.0%} of the training images augmented afresh every epoch "
                          f"(shifted, rotated, scaled, sheared, thickened or thinned, elastically deformed)"
                          if c.augment else "")
                       + "; the test set is the 10,000-image test file."),
        f"Seeds: {', '.join(map(str, seeds))}"
        + (" (tables give mean ± sample standard deviation over seeds)." if len(seeds) > 1 else "."),
    ]


def _opening(groups: RunGroups, title: str, tables: dict, claims: list) -> list[Block]:
    """Title, what made it, the setting, and the claims' verdicts when all four experiments ran."""
    n, seeds = len(groups.runs), groups.seeds
    grid = f" ({len(groups.indices)} settings x {len(seeds)} seeds)" if len(seeds) > 1 else ""
    blocks = [Block("h1", title),
              Block("p", f"Made by digitlab {__version__} on {time.strftime('%Y-%m-%d %H:%M')}; "
                         f"{n} trained network{'s' if n != 1 else ''}{grid}."),
              Block("h2", "Setting"),
              Block("list", items=describe_setting(groups.runs)),
              Block("table", key="settings", rows=tables["settings"])]
    if claims:
        blocks += [Block("h2", "The report's claims"),
                   Block("p", "Each claim is judged per seed; it holds when it is true for a majority "
                              "of seeds."),
                   Block("table", key="claims", rows=[{"Claim": c.statement, "Verdict": c.verdict,
                                                       "Evidence": c.detail} for c in claims])]
    return blocks


def _training(groups: RunGroups, tables: dict, figures: dict) -> list[Block]:
    """The summary with the cost curves, and the weights with their figures."""
    weights = tables["weights"]
    blocks = [Block("h2", "Summary"),
              Block("p", "The report's columns (costs include the L2 term where L2 is on)"
                    + ("; mean ± standard deviation over seeds." if len(groups.seeds) > 1 else ".")),
              Block("table", key="summary", rows=tables["summary"]),
              Block("figure", key="cost_curves"),
              Block("h2", "Weights"),
              Block("p", "Mean absolute weight of each layer's weight matrix (biases excluded)."),
              Block("table", key="weights", rows=weights, digits={c: 5 for c in weights[0] if c != "Layer"}),
              Block("figure", key="weight_bars"),
              Block("figure", key="weight_histograms")]
    if "first_layer" in figures:
        blocks.append(Block("figure", key="first_layer"))
    return blocks


def _test_set(tables: dict) -> list[Block]:
    per_class = tables["per_class"]
    return [Block("h2", "Test set: accuracy, confusion and calibration"),
            Block("table", key="test", rows=tables["test"],
                  digits={"Test cost (cross-entropy)": 4, "Test accuracy (%)": 2, "ECE (%)": 2,
                          "Mean confidence (%)": 2}),
            Block("figure", key="confusion"),
            Block("h3", "Per-class accuracy (recall) and precision, %"),
            Block("table", key="per_class", rows=per_class,
                  digits={c: 1 for c in per_class[0] if c != "Digit"}),
            Block("figure", key="calibration")]


def _sweep(tables: dict, sweep, sweep_setting) -> list[Block]:
    rows = tables["sweep"]
    return [Block("h2", "Lambda sweep"),
            Block("p", f"The same setting trained with {len(rows)} L2 strengths "
                       f"({len({p.seed for p in sweep})} seed(s) each): "
                       + (sweep_setting.describe() if sweep_setting is not None
                          else "its setting was not recorded") + "."),
            Block("table", key="sweep", rows=rows,
                  digits={c: (2 if "%" in c else 4) for c in rows[0] if c not in ("Lambda", "Epochs")}),
            Block("figure", key="sweep")]


def document_blocks(groups: RunGroups, title: str, tables: dict, claims: list, figures: dict, *,
                    sweep=None, sweep_setting=None) -> list[Block]:
    """The report's blocks in reading order. ``tables`` are :func:`~.report_tables.report_tables`'s,
    ``figures`` the drawn ones (a figure block names one by key)."""
    blocks = _opening(groups, title, tables, claims) + _training(groups, tables, figures) + _test_set(tables)
    if sweep:
        blocks += _sweep(tables, sweep, sweep_setting)
    blocks.append(Block("p", "Tables at full precision: tables/*.csv and tables/*.json in the report "
                             "folder."))
    return blocks
