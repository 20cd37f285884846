"""The network view: the whole network at work on the digit on the Draw canvas (issue 12).

From left to right: the 28x28 input; every unit of the first hidden layer as its 28x28 tile of
incoming weights (the first layer's 784 x units edges drawn as pictures, not lines) with a node
beside it; a column of nodes per deeper hidden layer; the output layer's ten nodes with their
probabilities. A node's colour is its activation for the current digit (orange for positive,
purple for negative, the background's colour at 0; the most active unit of each layer is the full
colour: :func:`activation_colour`); an edge's colour is its weight's sign (red +, blue −) and
its width and opacity grow with the weight's size. Hovering a unit shows its value, its incoming
weights and the MNIST test digits that activate it most; clicking a hidden unit switches it off
(:class:`~digitlab.gui.silencing.SilencedUnits`), clicking it again back on.

Speed: the scene is built once per network (:meth:`NetworkView.show_network` or a pair change);
a new digit only sets the input picture, the nodes' brushes and the output texts
(:meth:`NetworkView.show_input`), so the Draw view can call it on every prediction, within the
same throttle as its bars. ``benchmarks/network_view_latency.py`` measures stroke to picture.

The top digits are found on a worker thread (:class:`~digitlab.gui.background.BackgroundTask`)
the first time a network's unit is hovered, once per network and its weights (cached).
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QLineF, QPoint, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from digitlab.gui.background import BackgroundTask
from digitlab.gui.guard import guarded
from digitlab.gui.model_pair import SIDES, ModelPair
from digitlab.gui.silencing import SilencedUnits, describe_units
from digitlab.nn import Network

log = logging.getLogger("digitlab.gui")

__all__ = ["NetworkView", "activation_colour", "top_activating", "POSITIVE", "NEGATIVE", "TOP_K"]

#: Node colours at full activation: orange for positive, purple for negative (PuOr, readable by
#: colour-blind people); 0 is the background's colour.
POSITIVE = QColor(230, 97, 1)
NEGATIVE = QColor(94, 60, 153)
# Weight colours (as the Inside view's tiles): red for positive, blue for negative.
_W_POS = np.array([178, 24, 43], dtype=float)
_W_NEG = np.array([33, 102, 172], dtype=float)
#: How many test digits the hover panel shows per unit.
TOP_K = 9
# Scene geometry (scene units; the view scales the scene to fit).
_HEIGHT = 270.0
_TOP = 26.0                 # room for the layer captions
_INPUT_SIDE = 100.0
_TILE = 34.0                # largest side of a first-layer weight tile
_TILE_MIN = 26.0            # smallest
_MAX_TILES = 64             # a wider first layer is drawn as nodes only (its tiles on hover)
_NODE = 14.0                # diameter of a node
_GAP = 110.0                # between two node columns
_MAX_EDGES = 4000           # a layer pair with more edges is drawn without lines (a wide network)


def activation_colour(value: float, scale: float, base: QColor) -> QColor:
    """The colour of a node whose activation is ``value`` when the layer's largest |activation|
    is ``scale``: ``base`` (the background) at 0, :data:`POSITIVE` at ``+scale``, :data:`NEGATIVE`
    at ``-scale``, mixed linearly in between."""
    t = 0.0 if scale <= 0 else max(-1.0, min(1.0, float(value) / float(scale)))
    full = POSITIVE if t >= 0 else NEGATIVE
    t = abs(t)
    return QColor(round(base.red() + (full.red() - base.red()) * t),
                  round(base.green() + (full.green() - base.green()) * t),
                  round(base.blue() + (full.blue() - base.blue()) * t))


def _weight_rgba(values: np.ndarray, base: QColor) -> np.ndarray:
    """Weights scaled to [-1, 1] as RGBA: the background's colour at 0, red at +1, blue at -1."""
    v = np.clip(np.nan_to_num(values, nan=0.0), -1, 1)
    b = np.array([base.red(), base.green(), base.blue()], dtype=float)
    t = np.abs(v)[..., None]
    rgb = np.where(v[..., None] < 0, b + (_W_NEG - b) * t, b + (_W_POS - b) * t)
    alpha = np.full(v.shape + (1,), 255.0)
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1).round().astype(np.uint8))


def _rgba_pixmap(rgba: np.ndarray) -> QPixmap:
    h, w = rgba.shape[:2]
    return QPixmap.fromImage(QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy())


def _gray_pixmap(image: np.ndarray) -> QPixmap:
    """Ink high in [0, 1] -> white ink on black, as MNIST shows it."""
    g = np.ascontiguousarray((np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    h, w = g.shape
    return QPixmap.fromImage(QImage(g.data, w, h, w, QImage.Format.Format_Grayscale8).copy())


def network_key(network: Network) -> tuple:
    """What the cached top digits of a network depend on: the network and its weights."""
    return id(network), hashlib.blake2b(network.params.tobytes(), digest_size=16).hexdigest()


def top_activating(network: Network, X: np.ndarray, k: int = TOP_K, batch: int = 2000) -> list[np.ndarray]:
    """Per layer (every hidden layer, then the output's logits), the indices ``(units, k)`` of the
    rows of ``X`` that give each unit its ``k`` largest values, the largest first. The network is
    intact (nothing silenced): what a unit itself responds to."""
    n = len(X)
    k = min(k, n)
    values = [[] for _ in network.layer_sizes[1:]]
    for start in range(0, n, batch):
        x = X[start:start + batch]
        for i, a in enumerate(network.hidden_activations(x) + [network.logits(x)]):
            values[i].append(a)
    out = []
    for parts in values:
        a = np.concatenate(parts).T                              # (units, n)
        top = np.argpartition(-a, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(a, top, axis=1), axis=1, kind="stable")
        out.append(np.take_along_axis(top, order, axis=1))
    return out


def _load_test_images() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test images as rows of floats in [0, 1] and their labels."""
    from digitlab.data import load_dataset

    raw = load_dataset()
    X = raw.test_images.reshape(len(raw.test_images), -1).astype(np.float32) / 255.0
    return X, np.asarray(raw.test_labels, dtype=int)


class _Edges(QGraphicsItem):
    """Every line between two node columns in one item, painted once into a cache: a new digit
    changes only the nodes, so a repaint is the cached picture plus the nodes, not ~200
    antialiased lines. Repainted when the weights or the silenced units change."""

    def __init__(self, columns: list[list[QPointF]], radius: float):
        super().__init__()
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(-1)
        # per pair of columns: (source points, target points), each a line from node edge to edge
        self._pairs = [(src, dst) for src, dst in zip(columns[:-1], columns[1:])]
        self._radius = radius
        self._lines: list[tuple[int, int, QLineF, QPen]] = []     # (pair, source unit, line, pen)
        self._dimmed: set[tuple[int, int]] = set()
        xs = [p.x() for col in columns for p in col]
        ys = [p.y() for col in columns for p in col]
        self._rect = (QRectF(min(xs), min(ys) - 4, max(xs) - min(xs), max(ys) - min(ys) + 8)
                      if xs else QRectF())

    def set_weights(self, weights: list[np.ndarray | None]) -> None:
        """``weights[i]`` is the ``(sources, targets)`` matrix between columns i and i+1 (None:
        too many lines to draw)."""
        self._lines = []
        for i, ((src, dst), W) in enumerate(zip(self._pairs, weights)):
            if W is None:
                continue
            top = float(np.abs(W).max()) or 1.0
            for a, p in enumerate(src):
                for b, q in enumerate(dst):
                    w = float(W[a, b])
                    t = min(1.0, abs(w) / top)
                    c = _W_POS if w >= 0 else _W_NEG
                    pen = QPen(QColor(int(c[0]), int(c[1]), int(c[2]), int(40 + 200 * t)), 0.4 + 3.2 * t)
                    line = QLineF(p.x() + self._radius, p.y(), q.x() - self._radius, q.y())
                    self._lines.append((i, a, line, pen))
        self.update()

    def set_dimmed(self, dimmed: set[tuple[int, int]]) -> None:
        """Draw the lines out of these ``(column, unit)`` faintly (a silenced unit sends nothing)."""
        if dimmed != self._dimmed:
            self._dimmed = set(dimmed)
            self.update()

    def line_count(self) -> int:
        return len(self._lines)

    @guarded(default=QRectF())
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt name
        return self._rect.adjusted(-3, -3, 3, 3)

    @guarded
    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        dimmed = self._dimmed
        for pair, unit, line, pen in self._lines:
            if (pair, unit) in dimmed:
                faint = QPen(pen)
                colour = QColor(pen.color())
                colour.setAlpha(max(10, colour.alpha() // 8))
                faint.setColor(colour)
                painter.setPen(faint)
            else:
                painter.setPen(pen)
            painter.drawLine(line)


class _Canvas(QGraphicsView):
    """The scene's view: fits the scene, reports the unit under the mouse and clicks on units."""

    hovered = Signal(object, QPoint)       # (layer, unit) or None, and the mouse in view coordinates
    clicked = Signal(int, int)             # layer, unit

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # every stroke recolours the nodes and outputs: repaint without the per-item painter
        # save/restore and without widening each item's dirty rectangle for antialiasing
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMouseTracking(True)
        self.setMinimumSize(360, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._hovered = None

    def unit_at(self, pos: QPoint):
        for item in self.items(pos):
            unit = item.data(0)
            if unit is not None:
                return tuple(unit)
        return None

    def fit(self) -> None:
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    @guarded
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self.fit()

    @guarded
    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt name
        pos = event.position().toPoint()
        unit = self.unit_at(pos)
        if unit != self._hovered or unit is not None:
            self._hovered = unit
            self.hovered.emit(unit, pos)
        self.setCursor(Qt.CursorShape.PointingHandCursor if unit is not None
                       else Qt.CursorShape.ArrowCursor)

    @guarded
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt name
        if event.button() != Qt.MouseButton.LeftButton:
            return
        unit = self.unit_at(event.position().toPoint())
        if unit is not None:
            self.clicked.emit(*unit)

    @guarded
    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().leaveEvent(event)
        self._hovered = None
        self.hovered.emit(None, QPoint())


class _UnitInfo(QFrame):
    """What the mouse points at: the unit's value, its incoming weights and its top test digits."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # like a tooltip: the mouse reaches the units under it
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.ToolTipBase)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self.weights = QLabel()
        self.weights_caption = QLabel()
        self.digits = QLabel()
        self.digits_caption = QLabel()
        for lab in (self.weights_caption, self.digits_caption):
            lab.setWordWrap(True)
            lab.setForegroundRole(QPalette.ColorRole.ToolTipText)
        grid = QHBoxLayout()
        for picture, caption in ((self.weights, self.weights_caption), (self.digits, self.digits_caption)):
            col = QVBoxLayout()
            col.addWidget(picture, 0, Qt.AlignmentFlag.AlignHCenter)
            col.addWidget(caption)
            col.addStretch(1)
            grid.addLayout(col)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.title)
        lay.addLayout(grid)
        self.setFixedWidth(300)
        self.hide()

    def text(self) -> str:
        return "\n".join(w.text() for w in (self.title, self.weights_caption, self.digits_caption))


class NetworkView(QWidget):
    """The network, its activations for the current digit, and switches to silence its units.

    Parameters
    ----------
    pair : ModelPair
        Networks A and B; the A/B buttons choose which one is drawn.
    silencing : SilencedUnits
        The window's silenced units; a click on a hidden unit toggles it for the shown network.

    Signals
    -------
    side_changed(str)
        The network shown is now "A" or "B".
    """

    side_changed = Signal(str)

    def __init__(self, pair: ModelPair, silencing: SilencedUnits, parent: QWidget | None = None):
        super().__init__(parent)
        self.pair = pair
        self.silencing = silencing
        self._side = "A"
        self._network: Network | None = None
        self._name = ""
        self._following = False        # showing a network given to show_network (a training run)
        self._x: np.ndarray | None = None
        self._acts: list[np.ndarray] = []
        self._proba: np.ndarray | None = None
        self._nodes: list[list[QGraphicsEllipseItem]] = []
        self._crosses: list[list[QGraphicsPathItem]] = []
        self._out_texts: list[QGraphicsSimpleTextItem] = []
        self._halo: QGraphicsEllipseItem | None = None
        self._out_bars: list[QGraphicsRectItem] = []
        self._input_item: QGraphicsPixmapItem | None = None
        self._tiles: list[QPixmap] = []
        self._tile_items: list[QGraphicsPixmapItem] = []
        self._edges: _Edges | None = None
        self._dirty = False             # a digit came while hidden: drawn when shown
        self._top: dict[tuple, list[np.ndarray]] = {}
        self._test_images: tuple[np.ndarray, np.ndarray] | None = None
        self._top_task = BackgroundTask("network-view-top-digits", self)
        self._top_task.done.connect(self._on_top_found)
        self._top_task.failed.connect(self._on_top_failed)
        self._top_error = ""
        self._hover: tuple[int, int] | None = None

        self.buttons = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Show network"))
        for side in SIDES:
            b = QToolButton()
            b.setText(side)
            b.setCheckable(True)
            b.setMinimumWidth(32)
            b.setToolTip(f"Draw network {side}; clicking a unit switches that unit of network {side} off")
            group.addButton(b)
            self.buttons[side] = b
            row.addWidget(b)
            b.clicked.connect(lambda _checked=False, s=side: self.set_side(s))
        self.buttons["A"].setChecked(True)
        # the network of a run in training, offered after its steps (offer_training_network)
        self._run_network: Network | None = None
        self._run_name = ""
        self.run_button = QToolButton()
        self.run_button.setText("Run")
        self.run_button.setCheckable(True)
        self.run_button.setEnabled(False)
        self.run_button.setToolTip("Draw the network being trained, redrawn after its steps (start or "
                                   "step a run in Train); its units cannot be switched off")
        group.addButton(self.run_button)
        row.addWidget(self.run_button)
        self.run_button.clicked.connect(self._show_run)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)        # model names come from files
        row.addWidget(self.title, 1)
        self.silenced_label = QLabel()
        self.silenced_label.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.silenced_label)
        self.reset_button = QPushButton("Switch all on")
        self.reset_button.setToolTip("Switch every silenced unit of both networks back on")
        self.reset_button.clicked.connect(lambda: self.silencing.reset())
        row.addWidget(self.reset_button)

        self.scene = QGraphicsScene(self)
        self.canvas = _Canvas(self.scene)
        self.canvas.hovered.connect(self._on_hovered)
        self.canvas.clicked.connect(self._on_clicked)
        self.info = _UnitInfo(self.canvas)
        self.legend = QLabel("Nodes: activation (orange +, purple −) · tiles, lines: weights (red +, "
                             "blue −) · click a unit to switch it off")
        self.legend.setToolTip("A node's colour is its activation for the digit on the canvas: orange "
                               "for positive, purple for negative, the background's colour at 0; the "
                               "most active unit of each layer is in full colour. A tile is a first-layer "
                               "unit's 784 incoming weights; a line is one weight, thicker and stronger "
                               "for a larger one. Point at a unit to see its value, its incoming weights "
                               "and the test digits that activate it most.")
        self.legend.setWordWrap(True)
        small = QFont(self.font())
        small.setPointSizeF(self.font().pointSizeF() * 0.9)
        self.legend.setFont(small)
        self.legend.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.legend)

        self.pair.changed.connect(self._on_pair_changed)
        self.silencing.changed.connect(self._on_silencing_changed)
        self._on_pair_changed()

    # ================================================================== public
    def shown_side(self) -> str:
        return self._side

    def set_side(self, side: str) -> None:
        """Draw network ``side`` ("A" or "B") of the pair (and stop following a training run)."""
        side = side.upper()
        if side not in SIDES:
            raise ValueError(f"side must be 'A' or 'B', got {side!r}")
        self.buttons[side].setChecked(True)
        changed = side != self._side or self._following
        self._side = side
        self._following = False
        if changed:
            self._show_pair_network()
            self.side_changed.emit(side)

    def network(self) -> Network | None:
        """The network drawn now."""
        return self._network

    def show_network(self, network: Network | None, name: str = "training run") -> None:
        """Draw ``network`` (e.g. the network of a training run, after each step) instead of A or
        B; the current digit flows through it at once. Units cannot be switched off in it (it
        belongs to no side); choosing A or B goes back to the pair. The same network object given
        again with new weights is redrawn in place (edges and tiles follow the weights)."""
        if network is None:
            self.set_side(self._side)
            return
        self._following = True
        for b in self.buttons.values():
            b.group().setExclusive(False)
            b.setChecked(False)
            b.group().setExclusive(True)
        self.run_button.setChecked(network is self._run_network)
        self._set_network(network, name, rebuild=network is not self._network)

    def offer_training_network(self, network: Network | None, name: str = "training run") -> None:
        """A run's network after a training step (a copy each time), or None when there is none:
        the Run button shows it, and while it is shown each new one is drawn at once."""
        self._run_network, self._run_name = network, name
        self.run_button.setEnabled(network is not None)
        if network is None:
            if self.run_button.isChecked():
                self.set_side(self._side)
            return
        if self._following and self.run_button.isChecked():
            self.show_network(network, name)

    def _show_run(self) -> None:
        if self._run_network is not None:
            self.show_network(self._run_network, self._run_name)

    def show_input(self, x: np.ndarray | None) -> None:
        """The digit on the canvas (28x28 or 784, ink high), or None: nodes and outputs follow."""
        self._x = None if x is None else np.asarray(x, dtype=np.float32).reshape(-1)
        if not self.isVisible():        # drawn when next shown: a hidden picture costs nothing
            self._dirty = True
            return
        self._update_values()

    @guarded
    def changeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:      # a light or dark theme: redraw in it
            self._build_scene()
            self._update_values()

    @guarded
    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if self._dirty:
            self._dirty = False
            self._update_values()
        self.canvas.fit()

    def silenced(self) -> tuple[tuple[int, int], ...]:
        """The silenced units of the network shown (none when following a training run)."""
        return () if self._following else self.silencing.units(self._side)

    def activations(self) -> list[np.ndarray]:
        """What the nodes show: per hidden layer the activations (silenced units 0), then the
        output probabilities; empty without a digit or a network."""
        out = [a.copy() for a in self._acts]
        return out + ([self._proba.copy()] if self._proba is not None else [])

    def node_colour(self, layer: int, unit: int) -> QColor:
        """The fill of a node: ``layer`` 1.. for hidden layers, ``n_hidden + 1`` the output."""
        return self._nodes[layer - 1][unit].brush().color()

    def unit_position(self, layer: int, unit: int) -> QPoint:
        """Where node (layer, unit) is on ``canvas.viewport()`` (to point or click at it)."""
        return self.canvas.mapFromScene(self._nodes[layer - 1][unit].sceneBoundingRect().center())

    def tile_position(self, unit: int) -> QPoint:
        """Where the weight tile of first-layer unit ``unit`` is on ``canvas.viewport()``."""
        item = self._tile_items[unit]
        return self.canvas.mapFromScene(item.sceneBoundingRect().center())

    def info_text(self) -> str:
        """The hover panel's words ("" when hidden)."""
        return self.info.text() if self.info.isVisible() else ""

    def top_digits(self, layer: int, unit: int) -> np.ndarray | None:
        """Indices into MNIST's test set of the digits that activate (layer, unit) most (largest
        first), or None while they are being found."""
        net = self._network
        found = self._top.get(network_key(net)) if net is not None else None
        return None if found is None else found[layer - 1][unit].copy()

    def find_top_digits(self) -> bool:
        """Start finding the top test digits of the shown network (done once per network and
        weights); False when they are known already or being found."""
        net = self._network
        if net is None or net.layer_sizes[0] != 784 or network_key(net) in self._top \
                or self._top_task.is_running():
            return False
        snapshot, key = net.copy(), network_key(net)
        known = self._test_images

        def find(control, say):
            say("Loading the MNIST test set…")
            X, y = known if known is not None else _load_test_images()
            control.check()
            return key, (X, y), top_activating(snapshot, X)

        return self._top_task.start(find)

    def is_finding(self) -> bool:
        return self._top_task.is_running()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        return self._top_task.shutdown(timeout_ms)

    # ================================================================== model changes
    def _on_pair_changed(self) -> None:
        if not self._following:
            self._show_pair_network()

    def _show_pair_network(self) -> None:
        entry = self.pair.entry(self._side)
        if entry is None:
            self._set_network(None, "", rebuild=True)
        else:
            self._set_network(entry.network, entry.display_name, rebuild=entry.network is not self._network)

    def _on_silencing_changed(self, side: str) -> None:
        if side == self._side and not self._following:
            self._update_values()

    def _set_network(self, network: Network | None, name: str, rebuild: bool) -> None:
        self._network = network
        self._name = name
        if rebuild:
            self._build_scene()
        else:
            self._apply_weights()
        self._update_values()
        self.canvas.fit()

    # ================================================================== the scene
    def _colours(self) -> tuple[QColor, QColor]:
        pal = self.palette()
        return pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)

    def _build_scene(self) -> None:
        """Every item of the network, made once per network; values are set later in place."""
        self.scene.clear()
        self._nodes, self._crosses, self._edges = [], [], None
        self._out_texts, self._out_bars, self._tile_items = [], [], []
        self._input_item = None
        self._halo = None
        self.info.hide()
        net = self._network
        base, text = self._colours()
        if net is None:
            msg = self.scene.addSimpleText("Choose a model for this side above the bars.")
            msg.setBrush(text)
            self.scene.setSceneRect(QRectF(0, 0, 420, 60))
            return
        sizes = net.layer_sizes
        hidden = sizes[1:-1]
        side = int(round(np.sqrt(sizes[0])))
        tiles = side * side == sizes[0] and len(hidden) > 0
        node_pen = QPen(QColor(text.red(), text.green(), text.blue(), 150), 1.0)
        caption_font = QFont(self.font())
        caption_font.setPointSizeF(9)

        def caption(x: float, words: str) -> None:
            item = self.scene.addSimpleText(words, caption_font)
            item.setBrush(text)
            item.setPos(x - item.boundingRect().width() / 2, 4)

        def column(n: int, x: float) -> list[QPointF]:
            step = min(40.0, (_HEIGHT - _TOP - 10) / max(n, 1))
            y0 = _TOP + (_HEIGHT - _TOP - step * n) / 2 + step / 2
            return [QPointF(x, y0 + i * step) for i in range(n)]

        # -- input
        self._input_item = self.scene.addPixmap(QPixmap())
        self._input_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self._input_item.setPos(0, _TOP + (_HEIGHT - _TOP - _INPUT_SIDE) / 2)
        frame = self.scene.addRect(QRectF(self._input_item.pos(), QPointF(_INPUT_SIDE, _INPUT_SIDE)
                                          + self._input_item.pos()), node_pen)
        frame.setZValue(1)
        caption(_INPUT_SIDE / 2, f"input {side}×{side}" if side * side == sizes[0] else f"input ({sizes[0]})")

        # -- node positions: a column of nodes per layer; the first hidden layer's weight tiles
        # left of its nodes, staggered over a few columns so that each tile can be larger than
        # the space between two nodes
        positions: list[list[QPointF]] = []
        x = _INPUT_SIDE + 30
        if hidden:
            n1 = hidden[0]
            pos1 = column(n1, 0.0)
            step = pos1[1].y() - pos1[0].y() if n1 > 1 else _TILE + 3
            stagger = max(1, int(np.ceil((_TILE_MIN + 3) / step)))
            tile = min(_TILE, stagger * step - 3)
            tiles = tiles and n1 <= _MAX_TILES
            width = stagger * (tile + 3) + 14 if tiles else 0
            node_x = x + width + _NODE / 2
            pos1 = [QPointF(node_x, p.y()) for p in pos1]
            for u, p in enumerate(pos1):
                if not tiles:
                    break
                left = x + (u % stagger) * (tile + 3)
                item = self.scene.addPixmap(QPixmap())
                item.setTransformationMode(Qt.TransformationMode.FastTransformation)
                item.setPos(left, p.y() - tile / 2)
                item.setScale(tile / side)
                item.setData(0, (1, u))
                self._tile_items.append(item)
                link = self.scene.addLine(left + tile, p.y(), node_x - _NODE / 2, p.y(), node_pen)
                link.setZValue(-2)
            positions.append(pos1)
            caption(x + width / 2 + _NODE / 2, f"hidden 1 ({n1})")
            x = node_x + _GAP
            for i, n in enumerate(hidden[1:], start=2):
                positions.append(column(n, x))
                caption(x, f"hidden {i} ({n})")
                x += _GAP
        positions.append(column(sizes[-1], x))
        caption(x + 20, "output")
        out_x = x

        # -- edges between node columns (below the nodes), one cached item
        self._edges = _Edges(positions, _NODE / 2)
        self.scene.addItem(self._edges)

        # -- nodes (hidden layers, then the output), with a cross for a silenced unit
        n_layers = len(positions)
        for layer, pos in enumerate(positions, start=1):
            nodes, crosses = [], []
            for u, p in enumerate(pos):
                node = self.scene.addEllipse(QRectF(p.x() - _NODE / 2, p.y() - _NODE / 2, _NODE, _NODE),
                                             node_pen, QBrush(base))
                node.setZValue(2)
                node.setData(0, (layer, u))
                nodes.append(node)
                if layer < n_layers:
                    path = QPainterPath()
                    r = _NODE / 2 + 2
                    path.moveTo(p.x() - r, p.y() - r)
                    path.lineTo(p.x() + r, p.y() + r)
                    path.moveTo(p.x() + r, p.y() - r)
                    path.lineTo(p.x() - r, p.y() + r)
                    cross = self.scene.addPath(path, QPen(text, 2.2))
                    cross.setZValue(3)
                    cross.setVisible(False)
                    cross.setData(0, (layer, u))
                    crosses.append(cross)
            self._nodes.append(nodes)
            self._crosses.append(crosses)
        # -- a ring around the unit the mouse points at
        self._halo = self.scene.addEllipse(QRectF(-_NODE, -_NODE, 2 * _NODE, 2 * _NODE),
                                           QPen(QColor(text.red(), text.green(), text.blue(), 200), 2.0))
        self._halo.setZValue(4)
        self._halo.setVisible(False)
        # -- output texts and bars
        font = QFont(self.font())
        font.setPointSizeF(9)
        for d, p in enumerate(positions[-1]):
            bar = self.scene.addRect(QRectF(out_x + _NODE / 2 + 4, p.y() + 5, 0, 3), QPen(Qt.PenStyle.NoPen),
                                     QBrush(POSITIVE))
            label = self.scene.addSimpleText(f"{d}", font)
            label.setBrush(text)
            label.setPos(out_x + _NODE / 2 + 4, p.y() - 9)
            label.setData(0, (n_layers, d))
            self._out_bars.append(bar)
            self._out_texts.append(label)
        self.scene.setSceneRect(QRectF(-4, 0, out_x + 70, _HEIGHT + 4))
        self._apply_weights()

    def _apply_weights(self) -> None:
        """Tiles and edges from the network's weights (after a change of network or a training step)."""
        net = self._network
        if net is None or not self._nodes:
            return
        base, _text = self._colours()
        layers = net.inference_layers()           # batch norm folded: the weights the digit meets
        if self._tile_items:
            W1 = np.asarray(layers[0][0], dtype=float)
            side = int(round(np.sqrt(W1.shape[0])))
            self._tiles = []
            for u, item in enumerate(self._tile_items):
                # each tile on its own scale: at this size a faint tile would show nothing
                scale = float(np.abs(W1[:, u]).max()) or 1.0
                pm = _rgba_pixmap(_weight_rgba(W1[:, u].reshape(side, side) / scale, base))
                item.setPixmap(pm)
                self._tiles.append(pm)
        if self._edges is not None:
            # one matrix per pair of node columns; a pair with too many lines is not drawn
            sizes = net.layer_sizes[1:]
            self._edges.set_weights([np.asarray(layers[i + 1][0]) if sizes[i] * sizes[i + 1] <= _MAX_EDGES
                                     else None for i in range(len(sizes) - 1)])

    # ================================================================== values
    def _update_values(self) -> None:
        """Input picture, node colours and output probabilities for the current digit."""
        net = self._network
        base, _text = self._colours()
        silenced = self.silenced()
        for layer, crosses in enumerate(self._crosses, start=1):
            for u, cross in enumerate(crosses):
                off = (layer, u) in silenced
                if cross.isVisible() != off:
                    cross.setVisible(off)
        if self._edges is not None:
            self._edges.set_dimmed({(layer - 1, u) for layer, u in silenced})
        n = len(silenced)
        self.silenced_label.setText("" if self._following else
                                    (f"{n} unit{'s' if n != 1 else ''} of {self._side} off" if n else ""))
        self.reset_button.setEnabled(self.silencing.count() > 0)
        self.title.setText(f"{self._name}" + (" (followed while it trains)" if self._following else ""))
        if net is None or not self._nodes:
            self._acts, self._proba = [], None
            return
        x = self._x
        if x is None or x.size != net.layer_sizes[0]:
            self._acts, self._proba = [], None
            if self._input_item is not None:
                self._input_item.setPixmap(QPixmap())
            for nodes in self._nodes:
                for node in nodes:
                    node.setBrush(base)
            for d, (label, bar) in enumerate(zip(self._out_texts, self._out_bars)):
                label.setText(f"{d}")
                bar.setRect(QRectF(bar.rect().x(), bar.rect().y(), 0, 3))
            return
        side = int(round(np.sqrt(x.size)))
        if self._input_item is not None and side * side == x.size:
            self._input_item.setPixmap(_gray_pixmap(x.reshape(side, side)))
            self._input_item.setScale(_INPUT_SIDE / side)
        acts = net.hidden_activations(x, silenced)
        p = net.predict_one(x, silenced)           # what the Draw view's bars show, bit for bit
        self._acts = [a[0] for a in acts]
        self._proba = p
        for a, nodes in zip(self._acts, self._nodes):
            scale = float(np.abs(a).max())
            for value, node in zip(a, nodes):
                node.setBrush(activation_colour(float(value), scale, base))
        best = int(np.argmax(p))
        for d, (node, label, bar) in enumerate(zip(self._nodes[-1], self._out_texts, self._out_bars)):
            node.setBrush(activation_colour(float(p[d]), 1.0, base))
            label.setText(f"{d}  {100 * p[d]:.0f} %" if d == best or p[d] >= 0.005 else f"{d}")
            r = bar.rect()
            bar.setRect(QRectF(r.x(), r.y(), 46 * float(p[d]), 3))
        if self._hover is not None:
            self._fill_info(*self._hover)
        # The scene gathers its changed items in a queued call; running it now asks for the
        # repaint at once, so the picture is painted in the same window update as the bars
        # instead of one event-loop round later.
        QCoreApplication.sendPostedEvents(self.scene, QEvent.Type.MetaCall)

    # ================================================================== hover and click
    @Slot(int, int)
    def _on_clicked(self, layer: int, unit: int) -> None:
        if self._following or self._network is None or layer > len(self._network.layer_sizes) - 2:
            return              # the output and a followed training network cannot be silenced
        self.silencing.toggle(self._side, layer, unit)

    @Slot(object, QPoint)
    def _on_hovered(self, unit, pos: QPoint) -> None:
        self._hover = unit
        if unit is None or self._network is None or not self._nodes:
            self.info.hide()
            if self._halo is not None:
                self._halo.setVisible(False)
            return
        if self._halo is not None:
            self._halo.setPos(self._nodes[unit[0] - 1][unit[1]].sceneBoundingRect().center())
            self._halo.setVisible(True)
        self._fill_info(*unit)
        self.find_top_digits()
        # beside the mouse, inside the view, on the side away from the unit
        size = self.info.sizeHint()
        self.info.resize(self.info.width(), size.height())
        vw, vh = self.canvas.viewport().width(), self.canvas.viewport().height()
        x = pos.x() + 18 if pos.x() < vw / 2 else pos.x() - self.info.width() - 18
        y = min(max(0, pos.y() - size.height() // 2), max(0, vh - size.height()))
        self.info.move(max(0, x), y)
        self.info.show()
        self.info.raise_()

    def _fill_info(self, layer: int, unit: int) -> None:
        net = self._network
        n_hidden = len(net.layer_sizes) - 2
        base, _text = self._colours()
        is_output = layer == n_hidden + 1
        if is_output:
            head = f"Output {unit}"
            value = "" if self._proba is None else f": probability {100 * self._proba[unit]:.1f} %"
        else:
            head = f"Hidden layer {layer}, unit {unit}"
            if (layer, unit) in self.silenced():
                value = ": switched off (outputs 0); click to switch it on"
            elif self._acts:
                a = self._acts[layer - 1]
                value = f": activation {a[unit]:.3g} (largest in its layer {np.abs(a).max():.3g})"
            else:
                value = ": draw a digit to see its activation"
            if not self._following and (layer, unit) not in self.silenced():
                value += "; click to switch it off"
        self.info.title.setText(head + value)
        # incoming weights: a tile for the first layer, a row of bars otherwise
        W = np.asarray(net.inference_layers()[layer - 1][0][:, unit], dtype=float)
        if layer == 1 and self._tile_items:
            self.info.weights.setPixmap(self._tiles[unit].scaled(
                84, 84, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
            self.info.weights_caption.setText("its 784 incoming weights (red +, blue −)")
        else:
            self.info.weights.setPixmap(self._weight_bars(W, base))
            self.info.weights_caption.setText(f"its {W.size} incoming weights, a bar each "
                                              f"(red +, blue −)")
        top = self.top_digits(layer, unit)
        if top is None or self._test_images is None:
            self.info.digits.setPixmap(QPixmap())
            self.info.digits_caption.setText(self._top_error or "finding the test digits that "
                                             "activate it most…")
        else:
            X, y = self._test_images
            k = len(top)
            cols = int(np.ceil(np.sqrt(k)))
            rows = -(-k // cols)
            grid = np.zeros((rows * 29 + 1, cols * 29 + 1), dtype=np.float32)
            for i, idx in enumerate(top):
                r, c = divmod(i, cols)
                grid[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = X[idx].reshape(28, 28)
            self.info.digits.setPixmap(_gray_pixmap(grid).scaled(
                84, 84, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
            self.info.digits_caption.setText(f"the {k} MNIST test digits that activate it most: "
                                             f"{' '.join(str(int(y[i])) for i in top)}")

    def _weight_bars(self, W: np.ndarray, base: QColor) -> QPixmap:
        w, h = 84, 84
        pm = QPixmap(w, h)
        pm.fill(base)
        p = QPainter(pm)
        top = float(np.abs(W).max()) or 1.0
        bw = w / max(len(W), 1)
        mid = h / 2
        for i, v in enumerate(W):
            c = _W_POS if v >= 0 else _W_NEG
            hh = (h / 2 - 4) * abs(v) / top
            p.fillRect(QRectF(i * bw + 1, mid - hh if v >= 0 else mid, max(1.0, bw - 2), hh),
                       QColor(int(c[0]), int(c[1]), int(c[2])))
        p.setPen(QPen(self._colours()[1], 1))
        p.drawLine(0, int(mid), w, int(mid))
        p.end()
        return pm

    @Slot(object)
    def _on_top_found(self, result) -> None:
        key, images, top = result
        self._test_images = images
        self._top[key] = top
        if self._hover is not None and self.info.isVisible():
            self._fill_info(*self._hover)

    @Slot(object)
    def _on_top_failed(self, exc) -> None:
        log.warning("Could not find the top test digits: %s", exc)
        self._top_error = f"Cannot show the top test digits: {exc}"
        if self._hover is not None and self.info.isVisible():
            self._fill_info(*self._hover)

    def silenced_text(self) -> str:
        """The silenced units of the shown network in words (for a status line)."""
        return describe_units(self.silenced())
