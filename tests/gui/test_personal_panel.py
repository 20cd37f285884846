"""The Draw view's "My digits" tab, used as a person uses it: draw a digit with the mouse, press
its key, see it in the set and in the file; fix a label, delete and undo; the accuracy shown for
networks A and B is NumPy's on the file's digits."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from digitlab.atomic import OutputError
from digitlab.data.personal import default_personal_set_path, load_personal_set, save_personal_set
from digitlab.data.strokes import drawing_to_mnist_steps
from digitlab.gui.draw_view import DrawView
from digitlab.io import SavedModel, save_model
from digitlab.library import ModelLibrary
from digitlab.nn import Network
from digitlab.training import TrainConfig

THREE = [[(0.3, 0.2), (0.65, 0.25), (0.45, 0.48)], [(0.45, 0.48), (0.7, 0.65), (0.3, 0.8)]]
SEVEN = [[(0.3, 0.2), (0.7, 0.2), (0.6, 0.45), (0.5, 0.8)]]
ONE = [[(0.5, 0.15), (0.52, 0.85)]]


def _model(path, name, seed):
    net = Network((784, 20, 7, 5, 10), seed=seed)
    save_model(path, SavedModel(network=net, config=TrainConfig(seed=seed), name=name,
                                metrics={"test_accuracy": 0.5}))


@pytest.fixture
def view(qtbot, tmp_path):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    _model(bundled / "report-no-l2.h5", "report-no-l2", 1)
    _model(bundled / "report-l2.h5", "report-l2", 2)
    _model(bundled / "other.h5", "other", 3)
    v = DrawView(ModelLibrary(bundled_dir=bundled))
    qtbot.addWidget(v)
    v.resize(1280, 800)
    v.show()
    qtbot.waitExposed(v)
    v.see_tabs.setCurrentWidget(v.personal_panel)
    return v


def draw(qtbot, view, strokes, steps=6):
    """Real mouse strokes on the canvas, points given as fractions of its side."""
    c = view.canvas
    r = c.target_rect()
    for points in strokes:
        pts = [QPoint(int(r.x() + fx * r.width()), int(r.y() + fy * r.height())) for fx, fy in points]
        qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=pts[0])
        for a, b in zip(pts, pts[1:]):
            for t in np.linspace(0, 1, steps + 1)[1:]:
                qtbot.mouseMove(c, QPoint(int(a.x() + (b.x() - a.x()) * t), int(a.y() + (b.y() - a.y()) * t)))
        qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=pts[-1])


def press_digit(qtbot, view, digit):
    panel = view.personal_panel
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus)
    qtbot.keyClick(panel, getattr(Qt.Key, f"Key_{digit}"))


def _numpy_accuracy(entry, path):
    s = load_personal_set(path)
    x = s.x.reshape(len(s), 784).astype(np.float32) / 255
    return float(np.mean(np.argmax(entry.network.predict_proba(x), axis=1) == s.y))


def test_a_drawn_digit_labelled_with_its_key_is_saved_with_that_label(qtbot, view):
    panel = view.personal_panel
    path = default_personal_set_path()
    assert not path.exists()
    draw(qtbot, view, THREE)
    x = view.current_input()
    assert x is not None
    press_digit(qtbot, view, 3)
    saved = load_personal_set(path)                    # saved at once, in the data folder
    assert saved.y.tolist() == [3]
    np.testing.assert_array_equal(saved.x[0], np.rint(x.astype(np.float64) * 255).astype(np.uint8))
    # with its strokes, as the canvas recorded them: two strokes that convert to the same input
    drawing = saved.drawings[0]
    assert drawing.side == view.canvas.resolution and len(drawing.strokes) == 2
    np.testing.assert_allclose(drawing_to_mnist_steps(drawing)["centred"], x, atol=1e-4)
    # shown: one thumbnail labelled 3, chosen; the count under the 3 says 1
    assert panel.entries.count() == 1 and panel.entries.item(0).text() == "3"
    assert panel.selected_indices() == [0]
    assert [c.text() for c in panel.count_labels] == ["0", "0", "0", "1"] + ["0"] * 6
    assert "Added a 3" in panel.status_text()
    # a button does the same: a 7 drawn and added with the "7" button
    view.clear()
    draw(qtbot, view, SEVEN)
    qtbot.mouseClick(panel.add_buttons[7], Qt.MouseButton.LeftButton)
    saved = load_personal_set(path)
    assert saved.y.tolist() == [3, 7]
    np.testing.assert_array_equal(saved.x[1], np.rint(view.current_input().astype(np.float64) * 255))


def test_nothing_is_added_from_an_empty_canvas(qtbot, view):
    press_digit(qtbot, view, 5)
    assert not default_personal_set_path().exists()
    assert view.personal_panel.entries.count() == 0
    assert "Draw a digit first" in view.personal_panel.status_text()


def test_relabel_delete_and_undo_delete(qtbot, view):
    panel = view.personal_panel
    path = default_personal_set_path()
    for strokes, digit in ((THREE, 3), (SEVEN, 7), (ONE, 1)):
        view.clear()
        draw(qtbot, view, strokes)
        press_digit(qtbot, view, digit)
    before = load_personal_set(path)
    assert before.y.tolist() == [3, 7, 1]
    # the 7 was really a 9: choose it, pick 9 in the label box
    panel.select([1])
    assert panel.label_combo.isEnabled() and panel.label_combo.currentText() == "7"
    panel.label_combo.setCurrentIndex(9)
    panel.label_combo.activated.emit(9)
    assert load_personal_set(path).y.tolist() == [3, 9, 1]
    assert panel.entries.item(1).text() == "9"
    assert panel.count_labels[7].text() == "0" and panel.count_labels[9].text() == "1"
    # delete the 3 and the 1 with the Delete key in the list
    panel.select([0, 2])
    panel.entries.setFocus()
    qtbot.waitUntil(panel.entries.hasFocus)
    qtbot.keyClick(panel.entries, Qt.Key.Key_Delete)
    after = load_personal_set(path)
    assert after.y.tolist() == [9]
    np.testing.assert_array_equal(after.x[0], before.x[1])
    assert panel.entries.count() == 1 and panel.undo_button.isEnabled()
    # undo puts both back where they were, with their strokes
    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    back = load_personal_set(path)
    assert back.y.tolist() == [3, 9, 1]
    np.testing.assert_array_equal(back.x, before.x)
    assert not panel.undo_button.isEnabled()
    # Backspace and Ctrl+Z in the list act on the list, not on the canvas (the Draw view's own
    # shortcuts for those keys clear and undo the drawing)
    drawn = view.current_input()
    panel.select([1])
    panel.entries.setFocus()
    qtbot.keyClick(panel.entries, Qt.Key.Key_Backspace)
    assert load_personal_set(path).y.tolist() == [3, 1]
    qtbot.keyClick(panel.entries, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert load_personal_set(path).y.tolist() == [3, 9, 1]
    np.testing.assert_array_equal(view.current_input(), drawn)


def test_accuracy_shown_is_numpys_on_the_file_and_follows_the_pair(qtbot, view):
    panel = view.personal_panel
    rng = np.random.default_rng(0)
    for _ in range(9):
        view.load_digit(rng.random((28, 28)).astype(np.float32) ** 4)
        panel.add_current(int(rng.integers(10)))
    path = default_personal_set_path()
    assert len(load_personal_set(path)) == 9
    assert load_personal_set(path).drawings == [None] * 9       # loaded images: no strokes
    a, b = view.models()
    acc = panel.accuracies()
    assert acc["A"] == pytest.approx(_numpy_accuracy(a, path), abs=1e-12)
    assert acc["B"] == pytest.approx(_numpy_accuracy(b, path), abs=1e-12)
    right_a = round(acc["A"] * 9)
    assert f"A {100 * right_a / 9:.1f} % ({right_a}/9)" in panel.accuracy_text()
    assert panel.accuracy_label.toolTip() == "Networks A is report-no-l2, B is report-l2"
    # another network B: the accuracy follows
    other = view.library.get("other")
    view.set_model("B", other)
    assert panel.accuracies()["B"] == pytest.approx(_numpy_accuracy(other, path), abs=1e-12)
    assert panel.accuracy_label.toolTip() == "Networks A is report-no-l2, B is other"
    view.set_model("B", None)
    assert panel.accuracies()["B"] is None and "B " not in panel.accuracy_text()


def test_open_another_set_and_refuse_a_damaged_one(qtbot, view, tmp_path):
    panel = view.personal_panel
    other = tmp_path / "theirs.npz"
    np.savez(other, x=np.zeros((2, 28, 28), np.uint8), y=np.array([4, 4]))
    panel.ask_set_path = lambda: str(other)
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert panel.path == other and panel.entries.count() == 2
    assert panel.count_labels[4].text() == "2"
    draw(qtbot, view, ONE)
    press_digit(qtbot, view, 1)
    assert load_personal_set(other).y.tolist() == [4, 4, 1]       # added to the opened file
    errors = []
    panel.show_error = lambda title, text, details=None: errors.append(text)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((1, 28, 28), np.uint8), y=np.array([11]))
    assert not panel.open_set(bad)
    assert "labels range over 11..11" in errors[0]
    assert panel.path == other and panel.entries.count() == 3      # the open set stays


def test_a_damaged_default_file_is_never_overwritten(qtbot, tmp_path):
    damaged = default_personal_set_path()
    damaged.write_bytes(b"not a zip")
    view = DrawView(ModelLibrary(bundled_dir=tmp_path / "none"))
    qtbot.addWidget(view)
    view.show()
    view.see_tabs.setCurrentWidget(view.personal_panel)
    panel = view.personal_panel
    assert "not a readable .npz file" in panel.status_text()
    view.load_digit(np.eye(28, dtype=np.float32))
    assert not panel.add_current(2)
    assert damaged.read_bytes() == b"not a zip"
    assert "Nothing added" in panel.status_text()


def test_a_failed_save_keeps_the_set_as_it_was(qtbot, view, monkeypatch):
    panel = view.personal_panel
    draw(qtbot, view, THREE)
    press_digit(qtbot, view, 3)
    errors = []
    panel.show_error = lambda title, text, details=None: errors.append(text)

    def refuse(path, s):
        raise OutputError(f"cannot write {path}: the disk is full; free some space")

    monkeypatch.setattr("digitlab.gui.personal_panel.save_personal_set", refuse)
    press_digit(qtbot, view, 8)
    assert "the disk is full" in errors[0]
    assert panel.personal_set().y.tolist() == [3] and panel.entries.count() == 1
    monkeypatch.setattr("digitlab.gui.personal_panel.save_personal_set", save_personal_set)
    assert load_personal_set(default_personal_set_path()).y.tolist() == [3]


def test_digit_keys_add_only_while_the_panel_has_the_focus(qtbot, view):
    panel = view.personal_panel
    draw(qtbot, view, ONE)
    view.canvas.setFocus()
    qtbot.waitUntil(view.canvas.hasFocus)
    qtbot.keyClick(view.canvas, Qt.Key.Key_1)
    assert not default_personal_set_path().exists()            # typing on the canvas adds nothing
    panel.entries.setFocus()                                    # the list is part of the panel
    qtbot.waitUntil(panel.entries.hasFocus)
    qtbot.keyClick(panel.entries, Qt.Key.Key_1)
    assert load_personal_set(default_personal_set_path()).y.tolist() == [1]


def test_a_new_set_name_starts_an_empty_set_there(qtbot, view, tmp_path):
    panel = view.personal_panel
    draw(qtbot, view, ONE)
    press_digit(qtbot, view, 1)
    fresh = tmp_path / "sets" / "second.npz"
    assert panel.open_set(fresh)
    assert panel.entries.count() == 0 and not fresh.exists()
    assert "second.npz is new" in panel.status_text()
    press_digit(qtbot, view, 7)
    assert load_personal_set(fresh).y.tolist() == [7]
    assert load_personal_set(default_personal_set_path()).y.tolist() == [1]    # the first set is untouched


def test_a_file_changed_by_another_window_is_read_again_not_overwritten(qtbot, view):
    panel = view.personal_panel
    path = default_personal_set_path()
    draw(qtbot, view, ONE)
    press_digit(qtbot, view, 1)
    # another window adds two digits to the same file
    theirs = load_personal_set(path)
    theirs.add(np.zeros((28, 28)), 5)
    theirs.add(np.zeros((28, 28)), 6)
    save_personal_set(path, theirs)
    # deleting here now would act on indices that mean other digits: refused, the file read again
    panel.select([0])
    assert panel.delete_selected() == 0
    assert load_personal_set(path).y.tolist() == [1, 5, 6]
    assert panel.entries.count() == 3 and "changed by another window" in panel.status_text()
    # adding keeps their digits
    theirs.add(np.zeros((28, 28)), 8)
    save_personal_set(path, theirs)
    press_digit(qtbot, view, 2)
    assert load_personal_set(path).y.tolist() == [1, 5, 6, 8, 2]
    assert [item.text() for item in map(panel.entries.item, range(panel.entries.count()))] == \
        ["1", "5", "6", "8", "2"]
