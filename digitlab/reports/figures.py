"""The report's figures, drawn with pyqtgraph and rendered offscreen to PNG (and SVG).

Two layers:

* ``draw_*(plot, ...)`` functions draw into a pyqtgraph ``PlotItem``; the Evaluate view calls them
  on its own live plots, so the app and the report show the same pictures.
* ``*_figure(...)`` functions build a :class:`Figure` (a white-background
  ``GraphicsLayoutWidget`` that is never shown on screen) for the reports: ``figure.png()`` gives
  PNG bytes, ``figure.save_png(path)`` and ``figure.save_svg(path)`` write files.

Rendering needs a ``QApplication`` (made on first use if there is none) and works with
``QT_QPA_PLATFORM=offscreen``. SVG goes through ``QSvgGenerator`` because pyqtgraph's
``SVGExporter`` fails with PySide6 >= 6.11 (pyqtgraph issue 3485; shared/docs/QT-NOTES.md).
The colours are the Okabe-Ito palette, readable by colour-blind people.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PALETTE", "Look", "LIGHT", "DARK", "Figure", "ensure_app", "restyle_plot",
    "draw_cost_curves", "draw_confusion", "draw_reliability", "draw_weight_bars", "draw_histograms",
    "draw_tiles", "draw_sweep_accuracy", "draw_sweep_weights", "draw_activations", "tile_image",
    "cost_curves_figure", "confusion_figure", "reliability_figure", "weight_bars_figure",
    "weight_histograms_figure", "first_layer_figure", "sweep_figure",
]

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
TEXT = "#202124"


@dataclass(frozen=True)
class Look:
    """The colours a figure is drawn with that are not data colours: light for paper and the light
    theme, dark for the app's dark theme. Heatmaps run from ``background`` (nothing) to an ink
    that stands out on it, so that "more" reads the same way in both."""

    background: tuple
    text: str
    legend_fill: tuple
    legend_edge: tuple
    muted: tuple            # reference lines, hints
    heat_high: tuple        # the confusion matrix's largest count
    negative: tuple         # first-layer tiles: the most negative weight ...
    positive: tuple         # ... and the most positive
    gap: tuple              # between the tiles
    better: tuple           # a difference matrix: where B is better ...
    worse: tuple            # ... and worse
    black_line: str         # what the palette's black is drawn as (invisible on a dark ground)


LIGHT = Look(background=(255, 255, 255), text=TEXT, legend_fill=(255, 255, 255, 220),
             legend_edge=(180, 180, 180), muted=(120, 120, 120), heat_high=(8, 48, 107),
             negative=(33, 102, 172), positive=(178, 24, 43), gap=(235, 235, 235),
             better=(0, 158, 115), worse=(213, 94, 0), black_line="#000000")
DARK = Look(background=(30, 30, 30), text="#e6e6e6", legend_fill=(45, 45, 45, 220),
            legend_edge=(110, 110, 110), muted=(160, 160, 160), heat_high=(120, 190, 255),
            negative=(90, 160, 240), positive=(250, 95, 85), gap=(60, 60, 60),
            better=(60, 200, 150), worse=(240, 130, 50), black_line="#e6e6e6")
# Sized for a figure about 900 logical pixels wide printed 17 cm wide: about 7-8 pt on paper.
AXIS_FONT_PT = 12
LABEL_PT = 12
TITLE_PT = 13
LEGEND_PT = 12


# Report figures are drawn on a widget ``scale`` times the figure's nominal size, with fonts, pens
# and markers scaled to match, and rendered 1:1. (Rendering a 1x scene through a scaled painter,
# as pyqtgraph's ImageExporter does, leaves the legend's text at 1x: pyqtgraph 0.14.) The scale is
# an argument of every function that sizes something: 1 for the app's live plots, RENDER_SCALE for
# the ``*_figure`` functions. 1.5 puts a figure 480 pt wide in the PDF at about 240 dpi: sharp on
# paper, and the example report's seven figures, losslessly compressed, under 600 KB (at 2.0: 850 KB).
RENDER_SCALE = 1.5


def _pt(size_pt: float, scale: float) -> str:
    return f"{size_pt * scale:g}pt"


def ensure_app():
    """The running ``QApplication``, made (offscreen-friendly) if there is none.

    Rendering makes thousands of Qt calls: the entry point that got here (the app, the CLI, the
    test session) has installed the refcount guard first (see digitlab/process.py).
    """
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        import sys
        # Nothing here is ever shown: from the command line render offscreen, display or not
        # (an explicit QT_QPA_PLATFORM still wins).
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(sys.argv[:1] or ["digitlab"])
    return app


def _pg():
    ensure_app()
    import pyqtgraph as pg
    return pg


def color(i: int, look: Look = LIGHT) -> str:
    """The ``i``-th data colour (the palette's black drawn light on a dark ground)."""
    c = PALETTE[i % len(PALETTE)]
    return look.black_line if c == "#000000" else c


# ---------------------------------------------------------------------------- styling
def style_plot(plot, title: str = "", x: str = "", y: str = "", *, grid: bool = True,
               scale: float = 1.0, look: Look = LIGHT) -> None:
    """Axes and text in ``look``'s ink (dark on white by default), readable fonts, labelled axes;
    fonts and sizes times ``scale``."""
    pg = _pg()
    from PySide6.QtGui import QFont
    font = QFont()
    font.setPointSizeF(AXIS_FONT_PT * scale)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(look.text))
        axis.setTextPen(pg.mkPen(look.text))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)      # no "(x0.001)": the report's tables give the same numbers
    if title:
        plot.setTitle(title, color=look.text, size=_pt(TITLE_PT, scale))
        if scale != 1:       # pyqtgraph gives the title row a fixed 30 px
            plot.titleLabel.setMaximumHeight(30 * scale)
            plot.layout.setRowFixedHeight(0, 30 * scale)
    if x:
        plot.setLabel("bottom", x, color=look.text, **{"font-size": _pt(LABEL_PT, scale)})
    if y:
        plot.setLabel("left", y, color=look.text, **{"font-size": _pt(LABEL_PT, scale)})
    if scale != 1:
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setStyle(tickLength=int(-5 * scale), tickTextOffset=int(3 * scale))
        # pyqtgraph sizes axes for 1x fonts: give the scaled tick labels and axis labels room
        plot.getAxis("left").setWidth(int((62 if y else 42) * scale))
        plot.getAxis("bottom").setHeight(int((44 if x else 26) * scale))
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.25)


def restyle_plot(plot, look: Look) -> None:
    """Re-ink a plot already styled by :func:`style_plot` in ``look`` (the app's theme changed):
    axes, tick labels, title, axis labels and legend; the data stays as drawn."""
    pg = _pg()
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(look.text))
        axis.setTextPen(pg.mkPen(look.text))
        if axis.labelText:
            axis.labelStyle["color"] = look.text
            axis.setLabel(axis.labelText, axis.labelUnits or None, **axis.labelStyle)
    title = plot.titleLabel
    if title.text:
        title.setText(title.text, color=look.text)
    if plot.legend is not None:
        _ink_legend(plot.legend, look)


def _ink_legend(legend, look: Look) -> None:
    legend.setBrush(look.legend_fill)
    legend.setPen(look.legend_edge)
    legend.setLabelTextColor(look.text)
    for _sample, label in legend.items:     # (pyqtgraph 0.14 stores the colour but draws the old text)
        label.setText(label.text)


def _legend(plot, offset=(-10, 10), cols: int = 1, *, scale: float = 1.0, look: Look = LIGHT):
    legend = plot.addLegend(offset=(offset[0] * scale, offset[1] * scale), labelTextColor=look.text,
                            labelTextSize=_pt(LEGEND_PT, scale), colCount=cols, verSpacing=-2 * scale,
                            horSpacing=5 * scale)
    _ink_legend(legend, look)
    return legend


def _finite(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


# ---------------------------------------------------------------------------- draw_* (shared with the GUI)
def draw_cost_curves(plot, curves, which: str = "val_cost", *, legend: bool = True,
                     scale: float = 1.0, look: Look = LIGHT) -> None:
    """One line per run: ``curves`` is ``[(name, steps, values)]``; pens and marks times ``scale``."""
    pg = _pg()
    if legend:
        _legend(plot, scale=scale, look=look)
    for i, (name, steps, values) in enumerate(curves):
        x, y = _finite(steps, values)
        marks = ({"symbol": "o", "symbolSize": 6 * scale, "symbolBrush": color(i, look), "symbolPen": None}
                 if len(x) < 12 else {})
        plot.plot(x, y, pen=pg.mkPen(color(i, look), width=2 * scale), name=name, **marks)


def _confusion_colors(cm: np.ndarray, look: Look = LIGHT) -> np.ndarray:
    """RGBA image: the background for 0, deeper blue for more (log scale, so that mistakes show);
    on white the blue darkens, on a dark ground it brightens."""
    cm = np.abs(np.asarray(cm, dtype=float))
    top = np.log1p(cm.max()) or 1.0
    t = np.log1p(cm) / top
    white = np.array(look.background, dtype=float)
    blue = np.array(look.heat_high, dtype=float)
    rgb = white + (blue - white) * t[..., None]
    rgba = np.concatenate([rgb, np.full(cm.shape + (1,), 255.0)], axis=-1)
    return rgba.astype(np.ubyte)


def _lightness(rgb) -> float:
    r, g, b = rgb[:3]
    return 0.299 * r + 0.587 * g + 0.114 * b


def draw_confusion(plot, cm, *, font_pt: int = 10, diff: bool = False, scale: float = 1.0,
                   look: Look = LIGHT) -> list:
    """A heatmap of ``cm`` (rows = true digit, top to bottom; columns = predicted) with its counts.

    With ``diff=True`` the values are differences (red for positive off-diagonal counts, i.e.
    more mistakes, green for fewer; the diagonal the other way round). Returns the text items.
    """
    pg = _pg()
    from PySide6.QtGui import QFont
    cm = np.asarray(cm)
    n = cm.shape[0]
    if diff:
        rgba = np.full(cm.shape + (4,), 255, dtype=np.ubyte)
        top = max(1, int(np.abs(cm).max()))
        better = np.where(np.eye(n, dtype=bool), cm, -cm) / top      # > 0: b is better there
        good = np.array(look.better, dtype=float)
        bad = np.array(look.worse, dtype=float)
        ground = np.array(look.background, dtype=float)
        for (i, j), v in np.ndenumerate(better):
            target = good if v > 0 else bad
            rgba[i, j, :3] = (ground + (target - ground) * min(abs(v), 1.0) ** 0.5).astype(np.ubyte)
    else:
        rgba = _confusion_colors(cm, look)
    image = pg.ImageItem(rgba, axisOrder="row-major")
    image.setRect(0, 0, n, n)
    plot.addItem(image)
    vb = plot.getViewBox()
    vb.invertY(True)
    vb.setAspectLocked(True)
    vb.setMouseEnabled(False, False)
    plot.setXRange(0, n, padding=0.01)
    plot.setYRange(0, n, padding=0.01)
    ticks = [[(k + 0.5, str(k)) for k in range(n)]]
    plot.getAxis("bottom").setTicks(ticks)
    plot.getAxis("left").setTicks(ticks)
    plot.showGrid(x=False, y=False)
    font = QFont()
    font.setPointSizeF(font_pt * scale)
    items = []
    strong = np.log1p(np.abs(cm)) / (np.log1p(np.abs(cm).max()) or 1.0) > 0.6
    # on the strongest cells the ink that stands out against heat_high: white on deep blue (light
    # look), the dark ground's colour on light blue (dark look)
    strong_ink = (255, 255, 255) if _lightness(look.heat_high) < 128 else look.background
    for (i, j), v in np.ndenumerate(cm):
        if v == 0 and i != j:
            continue
        text = (f"{int(v):+d}" if v else "0") if diff else str(int(v))
        ink = strong_ink if (strong[i, j] and not diff) else look.text
        item = pg.TextItem(text, color=ink, anchor=(0.5, 0.5))
        item.setFont(font)
        item.setPos(j + 0.5, i + 0.5)
        plot.addItem(item)
        items.append(item)
    return items


def draw_reliability(plot, reliabilities, *, legend: bool = True, scale: float = 1.0,
                     look: Look = LIGHT) -> None:
    """Accuracy against mean confidence per bin, one line per model, and the diagonal.

    ``reliabilities`` is ``[(name, Reliability)]``; the legend gives each model's ECE.
    """
    pg = _pg()
    from PySide6.QtCore import Qt
    if legend:       # bottom right: a model is rarely wrong when it is sure, so that corner is empty
        _legend(plot, offset=(-10, -10), scale=scale, look=look)
    plot.plot([0, 1], [0, 1], pen=pg.mkPen(look.muted, width=1.5 * scale, style=Qt.PenStyle.DashLine),
              name="perfectly calibrated")
    for i, (name, rel) in enumerate(reliabilities):
        ok = rel.counts > 0
        x, y = rel.confidence[ok], rel.accuracy[ok]
        plot.plot(x, y, pen=pg.mkPen(color(i, look), width=2 * scale), symbol="o", symbolSize=7 * scale,
                  symbolBrush=color(i, look), symbolPen=None, name=f"{name} (ECE {100 * rel.ece:.2f} %)")
    plot.setXRange(0, 1, padding=0.02)
    plot.setYRange(0, 1, padding=0.02)


def draw_confidence_counts(plot, reliabilities, *, look: Look = LIGHT) -> None:
    """How many predictions fall in each confidence bin (log scale), grouped bars per model."""
    pg = _pg()
    k = max(len(reliabilities), 1)
    for i, (name, rel) in enumerate(reliabilities):
        width = (rel.edges[1] - rel.edges[0]) / (k + 1)
        x = rel.edges[:-1] + width * (i + 0.5) + width / 2
        h = np.log10(np.maximum(rel.counts, 1)) * (rel.counts > 0)
        plot.addItem(pg.BarGraphItem(x=x, height=h, width=width, brush=color(i, look), pen=None, name=name))
    plot.getAxis("left").setTicks([[(v, f"{10 ** v:g}") for v in range(0, 6)]])
    plot.setXRange(0, 1, padding=0.02)


def draw_weight_bars(plot, names, values, *, legend: bool = True, scale: float = 1.0,
                     look: Look = LIGHT) -> None:
    """Grouped bars: ``values[m][l]`` is model ``m``'s mean |W| in layer ``l``."""
    pg = _pg()
    values = np.asarray(values, dtype=float)
    n_models, n_layers = values.shape
    width = 0.8 / max(n_models, 1)
    if legend:
        _legend(plot, offset=(10, 10), scale=scale, look=look)
    for m in range(n_models):
        x = np.arange(1, n_layers + 1) - 0.4 + width * (m + 0.5)
        plot.addItem(pg.BarGraphItem(x=x, height=values[m], width=width * 0.92, brush=color(m, look),
                                     pen=None, name=names[m]))
    plot.getAxis("bottom").setTicks([[(layer + 1, f"layer {layer + 1}") for layer in range(n_layers)]])
    plot.setXRange(0.4, n_layers + 0.6, padding=0)
    plot.setYRange(0, float(values.max()) * 1.15 if values.size else 1, padding=0)


def draw_histograms(plot, edges, counts, names, *, legend: bool = True, scale: float = 1.0,
                    look: Look = LIGHT) -> None:
    """Overlaid step histograms sharing ``edges``; ``counts[m]`` for model ``m``."""
    pg = _pg()
    from PySide6.QtGui import QColor
    if legend:
        _legend(plot, scale=scale, look=look)
    for m, c in enumerate(counts):
        fill = QColor(color(m, look))
        fill.setAlpha(60)
        plot.plot(edges, c, stepMode="center", fillLevel=0, brush=fill,
                  pen=pg.mkPen(color(m, look), width=1.5 * scale), name=names[m])


def tile_image(W1: np.ndarray, cols: int = 5, pad: int = 2, side: int = 28) -> np.ndarray:
    """First-layer weights ``(784, units)`` as one image of 28x28 tiles, NaN between tiles.

    Each tile is one hidden unit's incoming weights scaled by the largest |w| of the whole layer,
    so tiles can be compared with each other: values in [-1, 1].
    """
    W1 = np.asarray(W1, dtype=float)
    units = W1.shape[1]
    rows = -(-units // cols)
    scale = float(np.abs(W1).max()) or 1.0
    out = np.full((rows * (side + pad) + pad, cols * (side + pad) + pad), np.nan)
    for u in range(units):
        r, c = divmod(u, cols)
        y0, x0 = pad + r * (side + pad), pad + c * (side + pad)
        out[y0:y0 + side, x0:x0 + side] = W1[:, u].reshape(side, side) / scale
    return out


def _diverging_rgba(values: np.ndarray, look: Look = LIGHT) -> np.ndarray:
    """[-1, 1] to blue-(background)-red: white in the middle on paper, the dark ground in the dark
    look; NaN (between the tiles) to ``look.gap``."""
    v = np.clip(np.nan_to_num(values, nan=0.0), -1, 1)
    neg = np.array(look.negative, dtype=float)
    pos = np.array(look.positive, dtype=float)
    white = np.array(look.background, dtype=float)
    t = np.abs(v)[..., None]
    rgb = np.where(v[..., None] < 0, white + (neg - white) * t, white + (pos - white) * t)
    rgb[np.isnan(values)] = look.gap
    return np.concatenate([rgb, np.full(values.shape + (1,), 255.0)], axis=-1).astype(np.ubyte)


def draw_tiles(plot, W1, cols: int = 5, *, look: Look = LIGHT) -> None:
    """The first layer's weights as 28x28 tiles, one per hidden unit (red positive, blue negative)."""
    pg = _pg()
    img = tile_image(W1, cols)
    item = pg.ImageItem(_diverging_rgba(img, look), axisOrder="row-major")
    plot.addItem(item)
    vb = plot.getViewBox()
    vb.invertY(True)
    vb.setAspectLocked(True)
    vb.setMouseEnabled(False, False)
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    plot.setXRange(0, img.shape[1], padding=0)
    plot.setYRange(0, img.shape[0], padding=0)


def draw_sweep_accuracy(plot, table, *, scale: float = 1.0, look: Look = LIGHT) -> None:
    pg = _pg()
    x, y, sd = table["lambdas"], table["accuracy"], table["accuracy_std"]
    plot.plot(x, y, pen=pg.mkPen(color(0, look), width=2 * scale), symbol="o", symbolSize=8 * scale,
              symbolBrush=color(0, look), symbolPen=None)
    if np.any(sd > 0):
        beam = 0.15 * (x.max() - x.min() or 1) / max(len(x), 1)
        plot.addItem(pg.ErrorBarItem(x=x, y=y, height=2 * sd, beam=beam, pen=pg.mkPen(color(0))))


def draw_sweep_weights(plot, table, *, legend: bool = True, scale: float = 1.0, look: Look = LIGHT) -> None:
    pg = _pg()
    if legend:
        _legend(plot, scale=scale, look=look)
    w = table["weights"]
    for layer in range(w.shape[1]):
        plot.plot(table["lambdas"], w[:, layer], pen=pg.mkPen(color(layer, look), width=2 * scale),
                  symbol="o", symbolSize=6 * scale, symbolBrush=color(layer, look), symbolPen=None,
                  name=f"layer {layer + 1}")


def draw_activations(plot, activations, names=None) -> None:
    """Bars of each hidden layer's activations side by side, a gap between layers."""
    pg = _pg()
    x0 = 0
    ticks = []
    for layer, a in enumerate(activations):
        a = np.asarray(a, dtype=float).ravel()
        x = x0 + np.arange(len(a))
        plot.addItem(pg.BarGraphItem(x=x, height=a, width=0.8, brush=color(layer), pen=None))
        label = (names or [f"hidden {k + 1}" for k in range(len(activations))])[layer]
        ticks.append((x0 + (len(a) - 1) / 2, label))
        x0 += len(a) + 2
    plot.getAxis("bottom").setTicks([ticks])


# ---------------------------------------------------------------------------- Figure
class Figure:
    """An offscreen pyqtgraph figure of nominal size ``width`` x ``height``, ``scale`` times larger.

    The ``*_figure`` functions build it at ``RENDER_SCALE`` and draw with fonts and pens to match,
    so the PNG is sharp in a PDF and its legend is as large as its axes.
    """

    def __init__(self, width: int = 860, height: int = 440, *, scale: float = 1.0):
        pg = _pg()
        from PySide6.QtCore import Qt
        self.scale = scale
        self.width, self.height = int(width * self.scale), int(height * self.scale)
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.setBackground("w")      # a printed report is white paper: figures stay LIGHT
        # laid out like a shown window, yet never on screen (no flash in the app, fine offscreen)
        self.widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self.widget.resize(self.width, self.height)
        self.layout = self.widget.ci

    def add_plot(self, row: int, col: int, title: str = "", x: str = "", y: str = "", **kwargs):
        plot = self.layout.addPlot(row=row, col=col, **kwargs)
        style_plot(plot, title, x, y, scale=self.scale)
        return plot

    def _settle(self):
        from PySide6.QtWidgets import QApplication
        self.widget.show()
        QApplication.processEvents()

    def image(self):
        """The figure as a ``QImage`` (white background)."""
        from PySide6.QtCore import QRectF, Qt
        from PySide6.QtGui import QImage, QPainter
        self._settle()
        img = QImage(self.width, self.height, QImage.Format.Format_RGB32)
        img.fill(Qt.GlobalColor.white)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        rect = QRectF(0, 0, self.width, self.height)
        self.widget.scene().render(painter, rect, rect)
        painter.end()
        return img

    def png(self) -> bytes:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        self.image().save(buf, "PNG")
        buf.close()
        return bytes(data.data())

    def save_png(self, path):
        with open(path, "wb") as f:
            f.write(self.png())
        return path

    def save_svg(self, path, title: str = ""):
        """Vector output through QSvgGenerator (pyqtgraph's SVGExporter fails with PySide6 6.12)."""
        from PySide6.QtCore import QRect, QRectF, QSize
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator
        self._settle()
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(QSize(self.width, self.height))
        gen.setViewBox(QRect(0, 0, self.width, self.height))
        gen.setResolution(self.widget.logicalDpiX())
        gen.setTitle(title)
        painter = QPainter(gen)
        rect = QRectF(0, 0, self.width, self.height)
        self.widget.scene().render(painter, rect, rect)
        painter.end()
        return path

    def close(self):
        self.widget.close()
        self.widget.deleteLater()


# ---------------------------------------------------------------------------- *_figure (for reports)
def cost_curves_figure(runs) -> Figure:
    """Training and validation cost against iteration; ``runs`` is ``[(name, History)]``."""
    fig = Figure(810, 360, scale=RENDER_SCALE)
    left = fig.add_plot(0, 0, "Training cost", "iteration", "cost")
    right = fig.add_plot(0, 1, "Validation cost", "iteration", "cost")
    fig.layout.layout.setColumnStretchFactor(0, 1)
    fig.layout.layout.setColumnStretchFactor(1, 1)
    draw_cost_curves(left, [(n, h.column("step"), h.column("train_cost")) for n, h in runs], legend=False,
                     scale=fig.scale)
    draw_cost_curves(right, [(n, h.column("step"), h.column("val_cost")) for n, h in runs], scale=fig.scale)
    values = np.concatenate([np.concatenate([h.column("train_cost"), h.column("val_cost")]) for _, h in runs]
                            or [np.zeros(0)])
    values = values[np.isfinite(values)]
    if values.size:                         # the same cost scale on both panels
        for plot in (left, right):
            plot.setYRange(float(values.min()), float(values.max()), padding=0.04)
    return fig


def confusion_figure(items, cols: int = 2, cell: int = 400) -> Figure:
    """Confusion matrices with counts: ``items`` is ``[(title, cm)]``, in a grid of ``cols``."""
    cols = max(1, min(cols, len(items)))
    rows = -(-len(items) // cols)
    fig = Figure(cell * cols, int(cell * 1.02) * rows, scale=RENDER_SCALE)
    for k, (title, cm) in enumerate(items):
        plot = fig.add_plot(k // cols, k % cols, title, "predicted digit", "true digit")
        draw_confusion(plot, cm, scale=fig.scale)
    return fig


def reliability_figure(items) -> Figure:
    """Reliability diagram and confidence histogram; ``items`` is ``[(name, Reliability)]``."""
    fig = Figure(810, 380, scale=RENDER_SCALE)
    left = fig.add_plot(0, 0, "Reliability diagram", "confidence (mean per bin)",
                        "accuracy (fraction correct)")
    draw_reliability(left, items, scale=fig.scale)
    right = fig.add_plot(0, 1, "Predictions per confidence bin", "confidence", "predictions (log scale)")
    draw_confidence_counts(right, items)
    fig.layout.layout.setColumnStretchFactor(0, 3)
    fig.layout.layout.setColumnStretchFactor(1, 2)
    return fig


def weight_bars_figure(names, values) -> Figure:
    """Mean |W| per layer as grouped bars, one colour per model."""
    fig = Figure(810, 300, scale=RENDER_SCALE)
    plot = fig.add_plot(0, 0, "Mean absolute weight per layer", "", "mean |W|")
    draw_weight_bars(plot, names, values, scale=fig.scale)
    return fig


def weight_histograms_figure(names, networks, bins: int = 60) -> Figure:
    """Each layer's weight distribution, the models overlaid (one panel per layer)."""
    from .analysis import layer_histograms
    hist = layer_histograms(networks, bins=bins)
    cols = 2
    rows = -(-len(hist) // cols)
    fig = Figure(810, 250 * rows, scale=RENDER_SCALE)
    for layer, (edges, counts) in enumerate(hist):
        plot = fig.add_plot(layer // cols, layer % cols, f"Layer {layer + 1} weights", "weight value",
                            "count")
        draw_histograms(plot, edges, counts, names, legend=(layer == 0), scale=fig.scale)
    return fig


def first_layer_figure(items, cols: int = 5) -> Figure:
    """First-layer weights as 28x28 tiles per hidden unit, models side by side.

    ``items`` is ``[(name, W1)]`` with ``W1`` of shape ``(784, units)``.
    """
    units = max(np.asarray(W).shape[1] for _, W in items)
    rows = -(-units // cols)
    tile_h = rows / cols
    per = 400
    fig = Figure(per * len(items), int(per * tile_h) + 40, scale=RENDER_SCALE)
    for k, (name, W) in enumerate(items):
        plot = fig.add_plot(0, k, name)
        draw_tiles(plot, W, cols)
    return fig


def sweep_figure(table) -> Figure:
    """Test accuracy and each layer's mean |W| against lambda (from ``sweep.sweep_table``)."""
    fig = Figure(810, 340, scale=RENDER_SCALE)
    left = fig.add_plot(0, 0, "Test accuracy against L2 strength", "lambda", "test accuracy (%)")
    draw_sweep_accuracy(left, table, scale=fig.scale)
    right = fig.add_plot(0, 1, "Mean |W| per layer against L2 strength", "lambda", "mean |W|")
    draw_sweep_weights(right, table, scale=fig.scale)
    fig.layout.layout.setColumnStretchFactor(0, 1)
    fig.layout.layout.setColumnStretchFactor(1, 1)
    return fig
