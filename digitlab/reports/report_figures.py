"""A report's figures, drawn from its runs and their test-set evaluations, as PNG (and SVG) bytes.

The figures are pyqtgraph widgets (:mod:`.figures`): each is made, rendered and closed through
``gui_call``, in three short calls, so that a report built on a worker thread draws on the GUI
thread without holding it long.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .runs import RunGroups

__all__ = ["draw_figures"]


class _Drawer:
    """Draws figures one by one into ``figures`` (key -> (png, caption)) and ``svgs`` (key -> bytes)."""

    def __init__(self, say, gui_call, svg: bool):
        self.say, self.svg = say, svg
        self.on_gui = gui_call or (lambda fn: fn())
        self.figures: dict[str, tuple[bytes, str]] = {}
        self.svgs: dict[str, bytes] = {}

    def add(self, key: str, build, caption: str) -> None:
        """Draw one figure (``build()`` makes it) where widgets may be made, in short steps (make
        it, render it, close it) so that a GUI thread doing this between events is never held long."""
        self.say(f"drawing the figures ({key.replace('_', ' ')})")
        figure = self.on_gui(build)
        try:
            png = self.on_gui(figure.png)
            if self.svg:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / f"{key}.svg"
                    self.on_gui(lambda: figure.save_svg(path, caption))
                    self.svgs[key] = path.read_bytes()
        finally:
            self.on_gui(figure.close)
        self.figures[key] = (png, caption)


def _seed_note(groups: RunGroups) -> str:
    """Figures show the first seed: said so when there are several."""
    return f" (seed {groups.seeds[0]})" if len(groups.seeds) > 1 else ""


def _test_set_figures(draw: _Drawer, groups: RunGroups, evals: dict, n_bins: int) -> None:
    from . import figures as F

    g, note = groups, _seed_note(groups)
    draw.add("cost_curves", lambda: F.cost_curves_figure([(g.short[r.index], r.result.history)
                                                          for r in g.first if len(r.result.history)]),
             "Cost against iteration" + note + ": the mean mini-batch training cost between checks (left) "
             "and the validation cost at each check (right), both including the L2 term where L2 is on.")
    draw.add("confusion", lambda: F.confusion_figure(
        [(g.short[r.index] + (f": {r.label.split(': ', 1)[-1]}" if g.experiments else ""),
          evals[(r.index, r.seed)].cm) for r in g.first], cols=2),
        "Confusion matrices on the test set" + note + ": rows are the true digit, columns the "
        "prediction; each cell gives the number of test images (colour on a log scale).")
    draw.add("calibration", lambda: F.reliability_figure(
        [(g.short[r.index], evals[(r.index, r.seed)].calibration) for r in g.first]),
             f"Calibration on the test set{note}: accuracy against confidence in {n_bins} equal-width "
             "bins (left; on the diagonal a model is right exactly as often as it is confident), "
             "and how many predictions fall in each bin (right). ECE = expected calibration error.")


def _compared_pair(groups: RunGroups) -> tuple[list, list[str]]:
    """The two networks whose weights are set side by side: experiments 1 and 3 (no L2 against L2)
    where both ran, else the first two (or the only one)."""
    if groups.experiments and {0, 2} <= set(groups.indices):
        return [groups.by_index[0][0], groups.by_index[2][0]], ["no L2 (Exp 1)", "L2 (Exp 3)"]
    pair = groups.first[:2]
    return pair, [groups.short[r.index] for r in pair]


def _weight_figures(draw: _Drawer, groups: RunGroups) -> None:
    from . import figures as F

    g, note = groups, _seed_note(groups)
    pair, names = _compared_pair(groups)
    bar_names = [g.short[i] for i in g.indices]
    bar_values = [[np.mean([r.result.network.mean_abs_weights()[layer] for r in g.by_index[i]])
                   for layer in range(g.n_layers)] for i in g.indices]
    draw.add("weight_bars", lambda: F.weight_bars_figure(bar_names, bar_values),
             "Mean absolute weight per layer" + (" (mean over seeds)" if len(g.seeds) > 1 else "") + ".")
    draw.add("weight_histograms", lambda: F.weight_histograms_figure(names, [r.result.network for r in pair]),
             f"Weight distributions per layer, {names[0]} and {names[-1]} overlaid{note}.")
    if all(r.result.network.layer_sizes[0] == 784 for r in pair):
        draw.add("first_layer", lambda: F.first_layer_figure([(n, r.result.network.weights[0])
                                                              for n, r in zip(names, pair)]),
                 f"First-layer weights{note}: one 28x28 tile per hidden unit (its 784 incoming weights; red "
                 f"positive, blue negative, white 0, scaled by the layer's largest |w|), {names[0]} (left) "
                 f"and {names[-1]} (right).")


def _sweep_figure(draw: _Drawer, sweep) -> None:
    from . import figures as F
    from .sweep import sweep_table

    spread = " (mean ± standard deviation over seeds)" if len({p.seed for p in sweep}) > 1 else ""
    draw.add("sweep", lambda: F.sweep_figure(sweep_table(sweep)),
             f"The lambda sweep: test accuracy{spread} and each layer's mean |W| against the L2 strength "
             "lambda.")


def draw_figures(groups: RunGroups, evals: dict, sweep=None, *, n_bins: int = 10, say=None,
                 gui_call=None, svg: bool = False) -> tuple[dict, dict]:
    """Every figure of the report: (key -> (png bytes, caption), key -> svg bytes, empty unless
    ``svg``). ``say(text)`` is called before each figure; ``gui_call(fn)`` runs ``fn()`` where Qt
    widgets may be made (see :func:`~.report.build_report`)."""
    say = say or (lambda text: None)
    draw = _Drawer(say, gui_call, svg)
    say("drawing the figures")
    _test_set_figures(draw, groups, evals, n_bins)
    _weight_figures(draw, groups)
    if sweep:
        _sweep_figure(draw, sweep)
    return draw.figures, draw.svgs
