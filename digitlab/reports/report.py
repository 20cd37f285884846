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

A report is built in stages, each a module of its own:

1. the runs and how they group (:mod:`.runs`),
2. each run evaluated on the test set (:func:`evaluate_runs`, here),
3. the tables (:mod:`.report_tables`),
4. the figures (:mod:`.report_figures`),
5. the document as a list of blocks: headings, paragraphs, tables, figures (:mod:`.report_blocks`),
6. renderers, dispatching on the block's kind: browser HTML, Markdown, and the simpler HTML that
   QTextDocument understands, printed to the PDF (:mod:`.document`).

Qt is used only for the figures and the PDF; building the numbers needs none.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from .. import __version__
from ..atomic import OutputError, atomic_folder, check_output
from . import tables
from .analysis import Evaluation, evaluate
from .document import PAPER_SIZES, Block, Report, render_html, render_markdown, render_pdf
from .report_blocks import describe_setting as _describe_setting  # noqa: F401  the name tests import
from .report_blocks import document_blocks
from .report_figures import draw_figures
from .report_tables import report_tables
from .runs import RunGroups, load_experiment_folder, normalise_runs, runs_from_models

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "Report", "Block", "build_report", "write_report", "evaluate_runs", "runs_from_models",
           "load_experiment_folder", "render_html", "render_markdown", "render_pdf"]

FORMATS = ("html", "pdf", "md")


# ---------------------------------------------------------------------------- evaluation
def _splits_for_model(config, splits=None):
    if splits is not None:
        return splits
    from ..training import cached_splits
    return cached_splits(config.replace(train_subset=None))    # the test set is the whole file's


def evaluate_runs(runs, *, splits=None, n_bins: int = 10) -> dict[tuple[int, int], Evaluation]:
    """Each run evaluated on the test set of ``splits`` (by default its own dataset's, loaded once
    per dataset through the process's one cache, ``training.cached_splits``): (index, seed) ->
    :class:`~.analysis.Evaluation`, costs with the run's L2 term."""
    evals = {}
    for r in runs:
        cfg = r.result.config
        data = _splits_for_model(cfg, splits)
        evals[(r.index, r.seed)] = evaluate(r.result.network, data.x_test, data.y_test, name=r.label,
                                            l2=cfg.l2, m=cfg.batch_size, n_bins=n_bins)
    return evals


# ---------------------------------------------------------------------------- the report
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
    say = on_progress or (lambda text: None)
    groups = RunGroups.of(normalise_runs(source))
    title = title or ("The report's four experiments" if groups.full_grid else "Model report")
    say("evaluating on the test set")
    evals = evaluate_runs(groups.runs, splits=splits, n_bins=n_bins)
    table_data, claims = report_tables(groups, evals, sweep)
    figs, svgs = draw_figures(groups, evals, sweep, n_bins=n_bins, say=say, gui_call=gui_call, svg=svg)
    blocks = document_blocks(groups, title, table_data, claims, figs,
                             sweep=sweep, sweep_setting=sweep_setting)
    return Report(title=title, blocks=blocks, tables=table_data, figures=figs, svgs=svgs, runs=groups.runs,
                  evaluations={groups.label[r.index]: evals[(r.index, r.seed)] for r in groups.first},
                  claims=claims, created=time.strftime("%Y-%m-%dT%H:%M:%S"))


# ---------------------------------------------------------------------------- writing
def _dump_tables(report: Report, folder: Path) -> None:
    folder.mkdir()
    for key, rows in report.tables.items():
        if not rows:
            continue
        (folder / f"{key}.csv").write_text(tables.to_csv(rows), encoding="utf-8")
        (folder / f"{key}.json").write_text(tables.to_json(rows), encoding="utf-8")


def _write_files(report: Report, tmp: Path, formats: list[str], say, out: Path, paper: str = "a4") -> None:
    """Every file of the report into the staging folder ``tmp`` (``out`` is where it will be)."""
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
        render_pdf(report, tmp / "report.pdf", paper)
        if not (tmp / "report.pdf").is_file() or (tmp / "report.pdf").stat().st_size == 0:
            raise OutputError(f"cannot write {out / 'report.pdf'}: Qt wrote no PDF (is the disk "
                              f"full?); check the free space and try again, or leave out the PDF")


def write_report(source, out_dir, formats=FORMATS, *, sweep=None, sweep_setting=None, splits=None,
                 title: str | None = None, paper: str = "a4",
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
    paper : "a4" or "letter"
        The PDF's paper size.
    sweep, sweep_setting, splits, title, on_progress, svg, gui_call : see :func:`build_report` (``svg``
        also writes ``figures/*.svg`` next to the PNGs for the Markdown). ``on_progress`` is also
        called before each file; an exception it raises (a cancel) leaves no folder behind.
    """
    formats = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"unknown report format(s) {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(FORMATS)}")
    paper = str(paper).strip().lower()
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; choose from {', '.join(PAPER_SIZES)}")
    out = Path(out_dir).expanduser()
    check_output(out, replace=overwrite, folder=True, inputs=_input_paths(source))
    report = source if isinstance(source, Report) else build_report(
        source, sweep=sweep, sweep_setting=sweep_setting, splits=splits, title=title,
        on_progress=on_progress, svg=svg, gui_call=gui_call)
    say = on_progress or (lambda text: None)

    # Built in a staging folder beside ``out`` and moved (or, with overwrite, swapped) into place
    # whole: at every instant ``out`` is the complete old report, the complete new one or absent.
    with atomic_folder(out, replace=overwrite) as tmp:
        _write_files(report, tmp, formats, say, out, paper)
    log.info("Wrote the report (%s) to %s", ", ".join(formats), out)
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
