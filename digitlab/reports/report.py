"""Reports of the course report's four experiments, or of any chosen models.

::

    from digitlab.reports.report import write_report
    write_report(runs_or_models, "reports/2024-run", formats=("html", "pdf", "md"))

A report holds the setting, the summary table in the report's columns, the weights table, the
report's three claims with their verdicts (mean and spread over seeds, and how many seeds agree),
the cost curves, the test-set confusion matrices, per-class scores, calibration, what L2 does to
the weights, and the lambda sweep when one was run.

It is written into a *new* folder, atomically: everything is built in a hidden staging folder
beside the target and renamed into place at the end, so a folder either holds a complete report
or does not exist. An existing folder is never replaced unless ``overwrite=True``, and then it is
swapped with the new one in one step (see :mod:`digitlab.atomic`).

Folder layout::

    report.html        one self-contained file (figures embedded as data: URLs)
    report.pdf         Qt's QTextDocument printed by QPdfWriter (no extra dependency)
    report.md          Markdown that links figures/*.png
    figures/*.png      (with report.md)
    tables/*.csv, *.json   every table at full precision

The document is first built as a list of blocks (headings, paragraphs, tables, figures) and then
rendered three times: browser HTML, the simpler HTML that QTextDocument understands, Markdown.
Qt is used only for the figures and the PDF; building the numbers needs none.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..atomic import OutputError, atomic_folder, check_output
from . import tables
from .analysis import Evaluation, evaluate
from .tables import Stat

__all__ = ["FORMATS", "Report", "build_report", "write_report", "runs_from_models", "load_experiment_folder"]

FORMATS = ("html", "pdf", "md")

# config names the experiments are saved under (digitlab experiments / build-models) -> index
_EXPERIMENT_NAMES = {"report-no-l2": 0, "report-bn": 1, "report-l2": 2, "report-l2-bn": 3}


# ---------------------------------------------------------------------------- inputs
@dataclass
class _Run:
    """What the report needs of one trained network (an ExperimentRun look-alike)."""

    index: int
    label: str
    seed: int
    result: object          # TrainResult or SavedModel: network, config, history, metrics, epochs, ...


def _experiment_labels():
    from ..training import EXPERIMENTS
    return {i: label for i, (label, _) in enumerate(EXPERIMENTS)}


def _as_model(item):
    """A SavedModel / TrainResult from a path or the thing itself (a library entry's ``model`` is
    a SavedModel: callers pass that; reports know nothing of the library)."""
    from ..io import SavedModel, load_model
    from ..training import TrainResult

    if isinstance(item, (str, os.PathLike)):
        return load_model(item)
    if isinstance(item, (SavedModel, TrainResult)):
        return item
    raise TypeError(f"cannot make a report of {type(item).__name__}: give experiment runs, "
                    "SavedModel or TrainResult objects, or model files")


def _model_name(model, fallback: str) -> str:
    name = getattr(model, "name", "") or getattr(getattr(model, "config", None), "name", "")
    path = getattr(model, "path", None)
    return name or (Path(path).stem if path else fallback)


def runs_from_models(models, *, as_experiments: bool | None = None) -> list:
    """Turn models (SavedModel, TrainResult, model file paths) into report runs.

    When every model is one of the report's four experiments (config names ``report-no-l2``,
    ``report-bn``, ``report-l2``, ``report-l2-bn``), they keep their experiment numbers and seeds,
    so the report's summary, weights table and claims apply; otherwise each model is its own row.
    """
    models = [_as_model(m) for m in models]
    keys = [getattr(m.config, "name", "") for m in models]
    names = [_model_name(m, f"model {k + 1}") for k, m in enumerate(models)]
    keys = [k if k in _EXPERIMENT_NAMES else re.sub(r"-seed\d+$", "", n) for k, n in zip(keys, names)]
    experiments = all(k in _EXPERIMENT_NAMES for k in keys) if as_experiments is None else as_experiments
    runs = []
    if experiments:
        labels = _experiment_labels()
        seen = set()
        for key, model in zip(keys, models):
            index, seed = _EXPERIMENT_NAMES[key], int(model.config.seed)
            if (index, seed) in seen:
                raise ValueError(f"two models of {labels[index]} with seed {seed}")
            seen.add((index, seed))
            runs.append(_Run(index, labels[index], seed, model))
        runs.sort(key=lambda r: (r.seed, r.index))
    else:
        used = {}
        for k, (name, model) in enumerate(zip(names, models)):
            used[name] = used.get(name, 0) + 1
            label = name if used[name] == 1 else f"{name} ({used[name]})"
            runs.append(_Run(k, label, int(getattr(model.config, "seed", 0)), model))
    return runs


def load_experiment_folder(folder) -> list:
    """The runs saved by ``digitlab experiments --out DIR`` (or ``build-models``) in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    files = sorted(p for p in folder.glob("*.h5") if re.sub(r"-seed\d+$", "", p.stem) in _EXPERIMENT_NAMES)
    if not files:
        raise FileNotFoundError(f"{folder} holds none of the experiments' models "
                                f"({', '.join(n + '.h5' for n in _EXPERIMENT_NAMES)}); "
                                f"make them with `digitlab experiments --out {folder}`")
    return runs_from_models(files, as_experiments=True)


def _normalise(source) -> list:
    source = list(source)
    if not source:
        raise ValueError("nothing to report: no runs or models given")
    if all(hasattr(s, "index") and hasattr(s, "result") for s in source):
        return source                       # ExperimentRun from training.run_experiments
    return runs_from_models(source)


# ---------------------------------------------------------------------------- the report
@dataclass
class Block:
    kind: str                  # h1 h2 h3 p list table figure
    text: str = ""
    items: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    key: str = ""              # table / figure id (file stem)
    digits: dict = field(default_factory=dict)


@dataclass
class Report:
    """A built report: its blocks, tables (numbers) and figures (PNG bytes), ready to write."""

    title: str
    blocks: list
    tables: dict               # key -> rows (numbers, Stat or strings)
    figures: dict              # key -> (png bytes, caption)
    svgs: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)
    evaluations: dict = field(default_factory=dict)   # label -> Evaluation (first seed, test set)
    claims: list = field(default_factory=list)
    created: str = ""


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, Stat):
        text = f"{value.mean:.{digits}f}"
        return text + (f" ± {value.std:.{digits}f}" if value.n > 1 else "")
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "–" if not np.isfinite(value) else f"{float(value):.{digits}f}"
    return str(value)


def _cell(block: Block, column: str, value) -> str:
    if column in block.digits:
        return _fmt(value, block.digits[column])
    if isinstance(value, Stat):
        return tables._cell(column, value)
    return _fmt(value)


def _splits_for_model(config, cache: dict, splits=None):
    if splits is not None:
        return splits
    from ..training import splits_for
    key = (config.dataset, config.n_validation)
    if key not in cache:
        cache[key] = splits_for(config.replace(train_subset=None))
    return cache[key]


def _describe_setting(runs) -> list[str]:
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
        line(lambda c: f"Network {'-'.join(map(str, c.layer_sizes))} (ReLU hidden layers, softmax output), "
                       f"{c.init} initialisation."),
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
        f"Seeds: {', '.join(map(str, seeds))}" + (" (tables give mean ± sample standard deviation over seeds)."
                                                  if len(seeds) > 1 else "."),
    ]


def build_report(source, *, sweep=None, sweep_setting=None, splits=None, title: str | None = None,
                 n_bins: int = 10, on_progress=None, svg: bool = False, gui_call=None) -> Report:
    """Evaluate and draw everything; return a :class:`Report` (nothing written yet).

    Parameters
    ----------
    source : list
        ``ExperimentRun``s from :func:`digitlab.training.run_experiments`, or models:
        ``SavedModel``/``TrainResult`` objects or model file paths.
    sweep : list of SweepPoint, optional
        A lambda sweep (:func:`digitlab.reports.sweep.run_sweep`) to include.
    sweep_setting : SweepSetting, optional
        What the sweep trained (data size, seeds, lambdas), stated in the report.
    splits : Splits, optional
        The data to evaluate on (its test set); by default each model's own dataset.
    on_progress(text) : optional
        Called before each step (and each figure); an exception it raises (a cancel) ends the build.
    gui_call(fn) : optional
        Runs ``fn()`` where Qt widgets may be made and returns its result: the figures are
        pyqtgraph widgets, so a report built on a worker thread passes a callable that runs ``fn``
        on the GUI thread and keeps what it returns alive there until the build is over (see
        ``digitlab.gui.background``). Each figure is made, rendered and closed in three such calls.
        By default ``fn()`` is called here.
    """
    from . import figures as F
    from .sweep import sweep_rows, sweep_table

    say = on_progress or (lambda text: None)
    runs = _normalise(source)
    indices = sorted({r.index for r in runs})
    seeds = sorted({r.seed for r in runs})
    experiments = set(indices) <= {0, 1, 2, 3} and all(
        getattr(r.result.config, "name", "") in _EXPERIMENT_NAMES for r in runs)
    full_grid = experiments and set(indices) == {0, 1, 2, 3}
    first = {}
    for r in runs:                       # the first seed of each experiment / model: the figures
        first.setdefault(r.index, r)
    first = [first[i] for i in indices]
    title = title or ("The report's four experiments" if full_grid else "Model report")

    # ------------------------------------------------------------------ numbers
    say("evaluating on the test set")
    cache: dict = {}
    evals: dict[tuple[int, int], Evaluation] = {}
    for r in runs:
        data = _splits_for_model(r.result.config, cache, splits)
        cfg = r.result.config
        evals[(r.index, r.seed)] = evaluate(r.result.network, data.x_test, data.y_test, name=r.label,
                                            l2=cfg.l2, m=cfg.batch_size, n_bins=n_bins)
    by_index = {i: [r for r in runs if r.index == i] for i in indices}
    label = {i: by_index[i][0].label for i in indices}
    short = {i: (f"Exp {i + 1}" if experiments else label[i]) for i in indices}

    summary = tables.summary_rows(runs)
    if experiments:
        weights = tables.weights_rows(runs) if {0, 2} <= set(indices) else []
        claims = tables.check_claims(runs) if full_grid else []
    else:
        weights, claims = [], []
    n_layers = min(r.result.network.n_layers for r in runs)
    weights_all = []
    for l in range(n_layers):
        row = {"Layer": f"Layer {l + 1}"}
        for i in indices:
            row[label[i]] = Stat.of(r.result.network.mean_abs_weights()[l] for r in by_index[i])
        weights_all.append(row)
    if not weights:
        weights = weights_all

    test_rows = []
    for i in indices:
        ev = [evals[(r.index, r.seed)] for r in by_index[i]]
        test_rows.append({
            "Model": label[i],
            "Test cost (cross-entropy)": Stat.of(e.cross_entropy for e in ev),
            "Test accuracy (%)": Stat.of(100 * e.accuracy for e in ev),
            "ECE (%)": Stat.of(100 * e.ece for e in ev),
            "Mean confidence (%)": Stat.of(100 * e.calibration.mean_confidence for e in ev),
            "Test images": ev[0].n,
        })
    per_class = []
    n_classes = evals[(first[0].index, first[0].seed)].n_classes
    for k in range(n_classes):
        row = {"Digit": k}
        for i in indices:
            row[f"{short[i]} recall (%)"] = Stat.of(100 * evals[(r.index, r.seed)].scores["recall"][k]
                                                    for r in by_index[i])
        for i in indices:
            row[f"{short[i]} precision (%)"] = Stat.of(100 * evals[(r.index, r.seed)].scores["precision"][k]
                                                       for r in by_index[i])
        per_class.append(row)
    confusion_rows = []
    for r in first:
        cm = evals[(r.index, r.seed)].cm
        for t in range(cm.shape[0]):
            confusion_rows.append({"Model": r.label, "Seed": r.seed, "True digit": t,
                                   **{f"Predicted {p}": int(cm[t, p]) for p in range(cm.shape[1])}})
    calib_rows = []
    for r in first:
        rel = evals[(r.index, r.seed)].calibration
        for row in rel.rows():
            calib_rows.append({"Model": r.label, "Seed": r.seed, **row})

    table_data = {"summary": summary, "weights": weights, "test": test_rows, "per_class": per_class,
                  "confusion": confusion_rows, "calibration_bins": calib_rows}
    if claims:
        table_data["claims"] = [{"Claim": c.statement, "Verdict": c.verdict, "Seeds agreeing": c.agree,
                                 "Seeds": c.total, "Detail": c.detail} for c in claims]
    if sweep:
        table_data["sweep"] = sweep_rows(sweep)
        table_data["sweep_runs"] = [{"Lambda": p.l2, "Seed": p.seed, "Test accuracy": p.test_accuracy,
                                     "Epochs": p.epochs, **{f"Layer {l + 1} mean |W|": w
                                                            for l, w in enumerate(p.mean_abs_weights)}}
                                    for p in sweep]

    # ------------------------------------------------------------------ figures
    figs: dict[str, tuple[bytes, str]] = {}
    svgs: dict[str, bytes] = {}
    seed_note = f" (seed {seeds[0]})" if len(seeds) > 1 else ""

    on_gui = gui_call or (lambda fn: fn())

    def add(key, build, caption):
        """Draw one figure (``build()`` makes it) where widgets may be made, in short steps (make
        it, render it, close it) so that a GUI thread doing this between events is never held long."""
        say(f"drawing the figures ({key.replace('_', ' ')})")
        figure = on_gui(build)
        try:
            png = on_gui(figure.png)
            if svg:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / f"{key}.svg"
                    on_gui(lambda: figure.save_svg(path, caption))
                    svgs[key] = path.read_bytes()
        finally:
            on_gui(figure.close)
        figs[key] = (png, caption)

    say("drawing the figures")
    add("cost_curves", lambda: F.cost_curves_figure([(short[r.index] if experiments else r.label, r.result.history)
                                             for r in first if len(r.result.history)]),
        "Cost against iteration" + seed_note + ": the mean mini-batch training cost between checks (left) "
        "and the validation cost at each check (right), both including the L2 term where L2 is on.")
    add("confusion", lambda: F.confusion_figure([(f"{short[r.index]}" + (f": {r.label.split(': ', 1)[-1]}" if experiments else ""),
                                          evals[(r.index, r.seed)].cm) for r in first], cols=2),
        "Confusion matrices on the test set" + seed_note + ": rows are the true digit, columns the "
        "prediction; each cell gives the number of test images (colour on a log scale).")
    add("calibration", lambda: F.reliability_figure([(short[r.index], evals[(r.index, r.seed)].calibration)
                                             for r in first]),
        f"Calibration on the test set{seed_note}: accuracy against confidence in {n_bins} equal-width "
        "bins (left; on the diagonal a model is right exactly as often as it is confident), and how many "
        "predictions fall in each bin (right). ECE = expected calibration error.")
    if experiments and {0, 2} <= set(indices):
        pair = [by_index[0][0], by_index[2][0]]
        names = ["no L2 (Exp 1)", "L2 (Exp 3)"]
    else:
        pair = first[:2]
        names = [short[r.index] for r in pair]
    bar_names = [short[i] for i in indices]
    bar_values = [[np.mean([r.result.network.mean_abs_weights()[l] for r in by_index[i]]) for l in range(n_layers)]
                  for i in indices]
    add("weight_bars", lambda: F.weight_bars_figure(bar_names, bar_values),
        "Mean absolute weight per layer" + (" (mean over seeds)" if len(seeds) > 1 else "") + ".")
    add("weight_histograms", lambda: F.weight_histograms_figure(names, [r.result.network for r in pair]),
        f"Weight distributions per layer, {names[0]} and {names[-1]} overlaid{seed_note}.")
    if all(r.result.network.layer_sizes[0] == 784 for r in pair):
        add("first_layer", lambda: F.first_layer_figure([(n, r.result.network.weights[0]) for n, r in zip(names, pair)]),
            f"First-layer weights{seed_note}: one 28x28 tile per hidden unit (its 784 incoming weights; red "
            f"positive, blue negative, white 0, scaled by the layer's largest |w|), {names[0]} (left) and "
            f"{names[-1]} (right).")
    if sweep:
        several = len({p.seed for p in sweep}) > 1
        add("sweep", lambda: F.sweep_figure(sweep_table(sweep)),
            "The lambda sweep: test accuracy" + (" (mean ± standard deviation over seeds)" if several else "")
            + " and each layer's mean |W| against the L2 strength lambda.")

    # ------------------------------------------------------------------ document
    B = Block
    blocks = [B("h1", title),
              B("p", f"Made by digitlab {__version__} on {time.strftime('%Y-%m-%d %H:%M')}; "
                     f"{len(runs)} trained network{'s' if len(runs) != 1 else ''}"
                     + (f" ({len(indices)} settings x {len(seeds)} seeds)" if len(seeds) > 1 else "") + ".")]
    blocks.append(B("h2", "Setting"))
    blocks.append(B("list", items=_describe_setting(runs)))
    blocks.append(B("table", key="settings", rows=[
        {"Experiment" if experiments else "Model": label[i], "Setting": by_index[i][0].result.config.describe()}
        for i in indices]))
    table_data["settings"] = blocks[-1].rows
    if claims:
        blocks.append(B("h2", "The report's claims"))
        blocks.append(B("p", "Each claim is judged per seed; it holds when it is true for a majority of seeds."))
        blocks.append(B("table", key="claims", rows=[{"Claim": c.statement, "Verdict": c.verdict,
                                                      "Evidence": c.detail} for c in claims]))
    blocks.append(B("h2", "Summary"))
    blocks.append(B("p", "The report's columns (costs include the L2 term where L2 is on)"
                    + ("; mean ± standard deviation over seeds." if len(seeds) > 1 else ".")))
    blocks.append(B("table", key="summary", rows=summary))
    blocks.append(B("figure", key="cost_curves"))
    blocks.append(B("h2", "Weights"))
    blocks.append(B("p", "Mean absolute weight of each layer's weight matrix (biases excluded)."))
    blocks.append(B("table", key="weights", rows=weights, digits={c: 5 for c in weights[0] if c != "Layer"}))
    blocks.append(B("figure", key="weight_bars"))
    blocks.append(B("figure", key="weight_histograms"))
    if "first_layer" in figs:
        blocks.append(B("figure", key="first_layer"))
    blocks.append(B("h2", "Test set: accuracy, confusion and calibration"))
    blocks.append(B("table", key="test", rows=test_rows,
                    digits={"Test cost (cross-entropy)": 4, "Test accuracy (%)": 2, "ECE (%)": 2,
                            "Mean confidence (%)": 2}))
    blocks.append(B("figure", key="confusion"))
    blocks.append(B("h3", "Per-class accuracy (recall) and precision, %"))
    blocks.append(B("table", key="per_class", rows=per_class, digits={c: 1 for c in per_class[0] if c != "Digit"}))
    blocks.append(B("figure", key="calibration"))
    if sweep:
        rows = table_data["sweep"]
        blocks.append(B("h2", "Lambda sweep"))
        blocks.append(B("p", f"The same setting trained with {len(rows)} L2 strengths "
                             f"({len({p.seed for p in sweep})} seed(s) each): "
                             + (sweep_setting.describe() if sweep_setting is not None
                                else "its setting was not recorded") + "."))
        blocks.append(B("table", key="sweep", rows=rows,
                        digits={c: (2 if "%" in c else 4) for c in rows[0] if c not in ("Lambda", "Epochs")}))
        blocks.append(B("figure", key="sweep"))
    blocks.append(B("p", "Tables at full precision: tables/*.csv and tables/*.json in the report folder."))

    return Report(title=title, blocks=blocks, tables=table_data, figures=figs, svgs=svgs, runs=runs,
                  evaluations={label[r.index]: evals[(r.index, r.seed)] for r in first}, claims=claims,
                  created=time.strftime("%Y-%m-%dT%H:%M:%S"))


# ---------------------------------------------------------------------------- renderers
_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #202124; line-height: 1.45; }
h1 { font-size: 1.7em; border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 1.8em; color: #0b3d66; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #c8ccd0; padding: .3em .6em; }
th { background: #eef2f6; text-align: center; }
td.num { text-align: right; white-space: nowrap; } td.text { text-align: left; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
figcaption { font-size: .88em; color: #444; margin-top: .3em; }
"""


def _table_html(block: Block, attrs: str = "") -> str:
    rows = block.rows
    if not rows:
        return "<p>(no data)</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(
        f'<td class="{"num" if _align(k, row.get(c)) == "right" else "text"}">{html.escape(_cell(block, c, row.get(c)))}</td>'
        for k, c in enumerate(columns)) + "</tr>\n" for row in rows)
    return f'<table id="{block.key}"{attrs}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n'


def _align(k: int, value) -> str:
    numeric = isinstance(value, (Stat, int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return "right" if k > 0 and (numeric or value is None) else "left"


def render_html(report: Report) -> str:
    """One self-contained HTML file: the figures as data: URLs."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(report.title)}</title>", f"<style>{_CSS}</style></head><body>"]
    for b in report.blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{html.escape(b.text)}</p>")
        elif b.kind == "list":
            parts.append("<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in b.items) + "</ul>")
        elif b.kind == "table":
            parts.append(_table_html(b))
        elif b.kind == "figure" and b.key in report.figures:
            png, caption = report.figures[b.key]
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<figure id="fig-{b.key}"><img src="data:image/png;base64,{data}" '
                         f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_markdown(report: Report, figure_dir: str = "figures") -> str:
    out = []
    for b in report.blocks:
        if b.kind == "h1":
            out.append(f"# {b.text}\n")
        elif b.kind == "h2":
            out.append(f"## {b.text}\n")
        elif b.kind == "h3":
            out.append(f"### {b.text}\n")
        elif b.kind == "p":
            out.append(b.text + "\n")
        elif b.kind == "list":
            out.append("".join(f"- {t}\n" for t in b.items))
        elif b.kind == "table" and b.rows:
            columns = list(b.rows[0])
            esc = lambda s: str(s).replace("|", "\\|")
            lines = ["| " + " | ".join(esc(c) for c in columns) + " |",
                     "|" + "|".join(":---" if k == 0 else "---:" for k in range(len(columns))) + "|"]
            lines += ["| " + " | ".join(esc(_cell(b, c, row.get(c))) for c in columns) + " |" for row in b.rows]
            out.append("\n".join(lines) + "\n")
        elif b.kind == "figure" and b.key in report.figures:
            caption = report.figures[b.key][1]
            out.append(f"![{caption}]({figure_dir}/{b.key}.png)\n\n*{caption}*\n")
    return "\n".join(out)


def _qt_cell(block: Block, column: str, value, wide: bool) -> str:
    """A cell for the PDF: in wide tables a mean ± spread on two lines, so that they fit the page."""
    text = html.escape(_cell(block, column, value))
    if isinstance(value, Stat):
        return text.replace(" ± ", "<br>±&nbsp;" if wide else "&nbsp;±&nbsp;")
    return text


def _qt_html(report: Report, page_width_px: int) -> str:
    """HTML in the subset QTextDocument understands; images by resource name."""
    parts = ["<html><body>"]
    for b in report.blocks:
        if b.kind == "h1":
            parts.append(f'<h1 style="color:#0b3d66;">{html.escape(b.text)}</h1>')
        elif b.kind == "h2":
            parts.append(f'<h2 style="color:#0b3d66;">{html.escape(b.text)}</h2>')
        elif b.kind == "h3":
            parts.append(f"<h3>{html.escape(b.text)}</h3>")
        elif b.kind == "p":
            parts.append(f"<p>{html.escape(b.text)}</p>")
        elif b.kind == "list":
            parts.append("<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in b.items) + "</ul>")
        elif b.kind == "table" and b.rows:
            columns = list(b.rows[0])
            wide = len(columns) > 6         # smaller type, and room for the name column
            first_width = ' width="19%"' if wide else ""
            # In a wide table every header word gets its own line, so that Qt's layout narrows
            # the columns to whole words instead of breaking one ("Validatio n").
            def header(c):
                text = html.escape(str(c))
                return text.replace(" ", "<br>") if wide else text
            head = "".join(f'<th style="background-color:#eef2f6;"{first_width if k == 0 else ""}>'
                           f'{header(c)}</th>' for k, c in enumerate(columns))
            body = "".join(
                "<tr>" + "".join(f'<td align="{_align(k, row.get(c))}">{_qt_cell(b, c, row.get(c), wide)}</td>'
                                 for k, c in enumerate(columns)) + "</tr>" for row in b.rows)
            size = "font-size:7pt; " if wide else ""
            parts.append(f'<table border="1" cellspacing="0" cellpadding="{2 if wide else 3}" width="100%" '
                         f'style="{size}border-collapse:collapse; border-color:#c8ccd0;"><tr>{head}</tr>{body}</table>')
        elif b.kind == "figure" and b.key in report.figures:
            png, caption = report.figures[b.key]
            from PySide6.QtGui import QImage
            img = QImage.fromData(png)
            width = page_width_px
            height = int(round(width * img.height() / max(img.width(), 1)))
            parts.append(f'<p align="center"><img src="fig://{b.key}.png" width="{width}" height="{height}"></p>'
                         f'<p style="font-size:small; color:#444;">{html.escape(caption)}</p>')
    parts.append("</body></html>")
    return "".join(parts)


def render_pdf(report: Report, path) -> None:
    """Print the report to a PDF with QTextDocument and QPdfWriter (A4, 15 mm margins)."""
    from .figures import ensure_app
    ensure_app()
    from PySide6.QtCore import QMarginsF, QUrl
    from PySide6.QtGui import QFont, QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

    writer = QPdfWriter(str(path))
    writer.setTitle(report.title)
    writer.setCreator(f"digitlab {__version__}")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    # QTextDocument.print_ adds its own 2 cm margins around the text, so none from the writer
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
    doc = QTextDocument()
    font = QFont("DejaVu Sans")
    font.setPointSizeF(8.5)
    doc.setDefaultFont(font)
    doc.setDefaultStyleSheet("h1 { font-size: 17pt; } h2 { font-size: 13pt; } h3 { font-size: 10pt; }"
                             "th { font-weight: bold; }")
    for key, (png, _) in report.figures.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"fig://{key}.png"), QImage.fromData(png))
    # QTextDocument lays out in points-like units when printed to a paged device: the usable A4
    # width is 180 mm, about 510 pt at 72 per inch; images a little narrower than that.
    doc.setHtml(_qt_html(report, page_width_px=480))
    doc.print_(writer)


# ---------------------------------------------------------------------------- writing
def _dump_tables(report: Report, folder: Path) -> None:
    folder.mkdir()
    for key, rows in report.tables.items():
        if not rows:
            continue
        (folder / f"{key}.csv").write_text(tables.to_csv(rows), encoding="utf-8")
        (folder / f"{key}.json").write_text(tables.to_json(rows), encoding="utf-8")


def write_report(source, out_dir, formats=FORMATS, *, sweep=None, sweep_setting=None, splits=None,
                 title: str | None = None,
                 overwrite: bool = False, on_progress=None, svg: bool = False, gui_call=None) -> Path:
    """Build a report and write it atomically into the new folder ``out_dir``; return its path.

    Parameters
    ----------
    source : Report, or list of ExperimentRun, or list of models
        Models may be ``SavedModel``/``TrainResult`` objects or ``.h5`` paths (see
        :func:`build_report`).
    out_dir : path-like
        Must not exist yet (``OutputExistsError``, a ``FileExistsError``, otherwise; also when a
        second writer takes the name meanwhile) unless ``overwrite=True``, in which case the old
        folder is swapped for the new one only once that is complete. It may not hold a model
        file the report is made from. Disk errors are ``OutputError`` sentences.
    formats : iterable of "html", "pdf", "md"
        The tables are always written as CSV and JSON under ``tables/``.
    sweep, sweep_setting, splits, title, on_progress, svg, gui_call : see :func:`build_report` (``svg``
        also writes ``figures/*.svg`` next to the PNGs for the Markdown). ``on_progress`` is also
        called before each file; an exception it raises (a cancel) leaves no folder behind.
    """
    formats = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"unknown report format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
    out = Path(out_dir).expanduser()
    check_output(out, replace=overwrite, folder=True, inputs=_input_paths(source))
    report = source if isinstance(source, Report) else build_report(
        source, sweep=sweep, sweep_setting=sweep_setting, splits=splits, title=title,
        on_progress=on_progress, svg=svg, gui_call=gui_call)
    say = on_progress or (lambda text: None)

    # Built in a staging folder beside ``out`` and moved (or, with overwrite, swapped) into place
    # whole: at every instant ``out`` is the complete old report, the complete new one or absent.
    with atomic_folder(out, replace=overwrite) as tmp:
        _dump_tables(report, tmp / "tables")
        (tmp / "report.json").write_text(json.dumps({
            "title": report.title, "created": report.created, "digitlab_version": __version__,
            "formats": formats, "figures": {k: c for k, (_, c) in report.figures.items()},
            "tables": sorted(k for k, v in report.tables.items() if v)}, indent=2) + "\n", encoding="utf-8")
        if "html" in formats:
            say("writing report.html")
            (tmp / "report.html").write_text(render_html(report), encoding="utf-8")
        if "md" in formats:
            say("writing report.md")
            (tmp / "figures").mkdir()
            for key, (png, _) in report.figures.items():
                (tmp / "figures" / f"{key}.png").write_bytes(png)
            for key, data in report.svgs.items():
                (tmp / "figures" / f"{key}.svg").write_bytes(data)
            (tmp / "report.md").write_text(render_markdown(report), encoding="utf-8")
        if "pdf" in formats:
            say("writing report.pdf")
            render_pdf(report, tmp / "report.pdf")
            if not (tmp / "report.pdf").is_file() or (tmp / "report.pdf").stat().st_size == 0:
                raise OutputError(f"cannot write {out / 'report.pdf'}: Qt wrote no PDF (is the disk "
                                  f"full?); check the free space and try again, or leave out the PDF")
    say(f"wrote {out}")
    return out


def _input_paths(source) -> list:
    """The files a report is made from, so that the report never replaces the folder holding them."""
    if isinstance(source, (str, os.PathLike)) or not isinstance(source, (list, tuple)):
        return []
    paths = []
    for item in source:
        path = item if isinstance(item, (str, os.PathLike)) else getattr(item, "path", None)
        if isinstance(path, (str, os.PathLike)):
            paths.append(Path(path))
    return paths
