"""Evaluate > Mistakes names the models its probability bars belong to, and shows no stray marks.

A person chooses model A, opens Mistakes: the bars must say "Model A  <its name>", not "No model
chosen", and invite a click on a digit (not "Draw a digit", which belongs to the Draw view). After
a digit was clicked and model B is then chosen, neither side may keep the green outline of the
clicked digit's true label on an empty chart (it showed as a green stub at the bottom).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from digitlab.gui.probability_bars import TRUE_LABEL_PEN
from digitlab.io import SavedModel, save_model
from digitlab.nn import Network
from digitlab.training import TrainConfig


@pytest.fixture(scope="module")
def small_splits():
    from digitlab.data import load_dataset, prepare_splits
    s = prepare_splits(load_dataset(None), n_validation=500, seed=0, train_subset=500)
    s.x_test, s.y_test = s.x_test[:600], s.y_test[:600]
    return s


@pytest.fixture
def view(qtbot, tmp_path, small_splits):
    from digitlab.gui.evaluate_view import EvaluateView
    from digitlab.library import ModelLibrary
    folder = tmp_path / "models"
    folder.mkdir()
    for name, seed in (("alpha-model", 1), ("beta-model", 2)):
        net = Network((784, 20, 7, 5, 10), seed=seed)
        save_model(folder / f"{name}.h5", SavedModel(network=net, config=TrainConfig(seed=seed), name=name))
    library = ModelLibrary(bundled_dir=tmp_path / "none", user_dir=folder)
    v = EvaluateView(library, splits_for=lambda config: small_splits)
    qtbot.addWidget(v)
    v.resize(1280, 760)
    v.show()
    yield v
    assert v.shutdown(30000)


def _choose(combo, text):
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)


def _wait_evaluated(qtbot, view, b=False):
    qtbot.waitUntil(lambda: view.eval_a is not None and (not b or view.eval_b is not None), timeout=20000)


def _green_pixels(widget) -> int:
    """Pixels of the true-label outline's green in what the widget shows."""
    image = widget.grab().toImage()
    target = QColor(TRUE_LABEL_PEN)
    count = 0
    for y in range(0, image.height()):
        for x in range(0, image.width()):
            c = image.pixelColor(x, y)
            if (abs(c.red() - target.red()) < 30 and abs(c.green() - target.green()) < 30
                    and abs(c.blue() - target.blue()) < 30):
                count += 1
    return count


def test_mistakes_bars_name_model_a_once_it_is_chosen(qtbot, view):
    _choose(view.chooser_b, "(none)")
    _choose(view.chooser_a, "alpha-model")
    _wait_evaluated(qtbot, view)
    view.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: view.gallery.count() > 0, timeout=10000)
    bars = view.bars_a
    assert bars.model_name() == "alpha-model"
    assert "No model chosen" not in bars.confidence_text()
    assert "Draw a digit" not in bars.confidence_text()
    assert "click" in bars.confidence_text().lower()
    assert not view.bars_b.isVisible()           # no B chosen: no second chart


def test_choosing_b_after_a_click_leaves_no_green_stub_and_names_b(qtbot, view):
    _choose(view.chooser_b, "(none)")
    _choose(view.chooser_a, "alpha-model")
    _wait_evaluated(qtbot, view)
    view.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: view.gallery.count() > 0, timeout=10000)
    rect = view.gallery.visualItemRect(view.gallery.item(0))
    qtbot.mouseClick(view.gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.selected_index() is not None
    qtbot.wait(50)
    assert _green_pixels(view.bars_a) > 0        # the clicked digit's true label is outlined
    view.chooser_b.setFocus()                    # the person goes to B's chooser
    _choose(view.chooser_b, "beta-model")
    _wait_evaluated(qtbot, view, b=True)
    qtbot.waitUntil(lambda: view.bars_b.isVisible(), timeout=10000)
    qtbot.wait(50)
    assert view.selected_index() is None
    for bars, name in ((view.bars_a, "alpha-model"), (view.bars_b, "beta-model")):
        assert bars.model_name() == name
        assert "Draw a digit" not in bars.confidence_text()
        assert "No model chosen" not in bars.confidence_text()
        assert _green_pixels(bars) == 0, f"a green stub on {name}'s empty chart"


def test_empty_bars_never_show_a_true_label_outline(qtbot):
    from digitlab.gui.probability_bars import ProbabilityBars
    bars = ProbabilityBars("Model A")
    qtbot.addWidget(bars)
    bars.resize(360, 300)
    bars.show()
    bars.set_model_name("alpha-model")
    bars.set_true_label(3)
    bars.set_probabilities(np.full(10, 0.1))
    qtbot.wait(30)
    assert _green_pixels(bars) > 0
    bars.set_probabilities(None)            # empty again, the true label still set
    qtbot.wait(30)
    assert _green_pixels(bars) == 0
    bars.set_probabilities(np.full(10, 0.1))  # and back: the outline returns with the bars
    qtbot.wait(30)
    assert _green_pixels(bars) > 0
