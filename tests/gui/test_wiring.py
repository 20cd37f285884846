"""The connections between the views that a person relies on, driven in the real main window.

Each test is one connection made in ``MainWindow._connect_views``: a digit drawn in Draw reaches
Evaluate > Inside > Activations; networks chosen in Models reach Draw and Evaluate; Export report
reports on exactly those; a finished run appears in Models and can be chosen; a file opened twice
is one entry; the chosen pair survives a restart; a damaged file is said in words with the
details behind a button.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from digitlab.data import load_dataset, prepare_splits
from digitlab.io import SavedModel, save_model
from digitlab.nn import Network
from digitlab.training import TrainConfig

RUN_TIMEOUT = 60_000


@pytest.fixture(scope="module")
def small_splits():
    s = prepare_splits(load_dataset(None), n_validation=1000, seed=0, train_subset=1500)
    s.x_test, s.y_test = s.x_test[:1000], s.y_test[:1000]      # a quick evaluation and report
    return s


@pytest.fixture
def make_window(qtbot, make_settings, small_splits):
    made = []

    def make():
        from digitlab.gui.main_window import MainWindow
        window = MainWindow(settings=make_settings(), evaluate_splits_for=lambda config: small_splits)
        window.confirm_close = lambda: True
        window.errors = []              # what would have been a message box, never a modal loop
        window.show_error = lambda title, text, details=None: window.errors.append((title, text, details))
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        assert window.shutdown(30000)


@pytest.fixture
def window(make_window):
    return make_window()


def a_model_file(path, name, seed=5):
    net = Network((784, 20, 7, 5, 10), seed=seed)
    save_model(path, SavedModel(network=net, config=TrainConfig(seed=seed), name=name,
                                metrics={f"{part}_{what}": 0.1 for part in ("train", "val", "test")
                                         for what in ("cost", "accuracy")}))
    return path


def draw_a_seven(qtbot, draw):
    c = draw.canvas
    r = c.target_rect()

    def at(fx, fy):
        return QPoint(int(r.x() + fx * r.width()), int(r.y() + fy * r.height()))

    for stroke in ([(0.3, 0.2), (0.7, 0.2), (0.6, 0.45), (0.5, 0.8)], [(0.45, 0.5), (0.7, 0.5)]):
        pts = [at(*p) for p in stroke]
        qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=pts[0])
        for a, b in zip(pts, pts[1:]):
            for t in np.linspace(0, 1, 7)[1:]:
                qtbot.mouseMove(c, QPoint(int(a.x() + (b.x() - a.x()) * t), int(a.y() + (b.y() - a.y()) * t)))
        qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=pts[-1])


def click_model_row(qtbot, models, display_name, add=False):
    table = models.table
    proxy = models.proxy
    for row in range(proxy.rowCount()):
        index = proxy.index(row, 0)
        if proxy.data(index) == display_name:
            flags = QItemSelectionModel.SelectionFlag.Rows | (
                QItemSelectionModel.SelectionFlag.Select if add
                else QItemSelectionModel.SelectionFlag.ClearAndSelect)
            table.selectionModel().select(index, flags)
            return
    raise AssertionError(f"{display_name} is not a row of Models")


def choose(combo, text):
    index = combo.findText(text)
    assert index >= 0, (text, [combo.itemText(i) for i in range(combo.count())])
    combo.setCurrentIndex(index)


def test_the_drawn_digit_reaches_inside_activations(qtbot, window):
    window.show_view("draw")
    draw = window.draw_view
    draw_a_seven(qtbot, draw)
    x = draw.current_input()
    assert x is not None
    inside = window.evaluate_view.inside
    window.show_view("evaluate")
    window.evaluate_view.tabs.setCurrentWidget(inside)
    heights = inside.activation_heights(0)
    assert [len(h) for h in heights] == [20, 7, 5]
    every = np.concatenate(heights)
    assert np.all(every >= 0) and np.any(every > 0)                  # what a ReLU gives
    expected = window.pair.a.network.hidden_activations(x.reshape(-1))
    for h, e in zip(heights, expected):
        np.testing.assert_allclose(h, e[0], rtol=1e-5)
    assert "predicted" in inside.act_label.text()


def test_a_choice_in_models_reaches_draw_and_evaluate(qtbot, window):
    models, draw, ev = window.models_view, window.draw_view, window.evaluate_view
    window.show_view("models")
    click_model_row(qtbot, models, "report-bn")
    models.use_a_button.click()
    bn = window.library.get("report-bn")
    assert window.current_view_name() == "draw"
    assert draw.models()[0] is bn and draw.combo_a.currentText() == "report-bn"
    assert ev.chooser_a.currentText() == "report-bn"
    with qtbot.waitSignal(ev.evaluated, timeout=RUN_TIMEOUT):      # computed when shown
        window.show_view("evaluate")
    assert ev.eval_a.name == "report-bn"
    assert "A: report-bn" in ev.inside.models_label.text()
    assert "A: report-bn" in window.pair_label.text()
    # two rows and "Compare in Draw"
    window.show_view("models")
    click_model_row(qtbot, models, "report-l2-bn")
    click_model_row(qtbot, models, "best", add=True)
    models.compare_button.click()
    names = {draw.models()[0].name, draw.models()[1].name}
    assert names == {"report-l2-bn", "best"}
    assert {ev.chooser_a.currentText(), ev.chooser_b.currentText()} == names
    # and a choice in Evaluate is Draw's too (one pair)
    choose(ev.chooser_b, "report-no-l2")
    assert draw.models()[1].name == "report-no-l2" and draw.combo_b.currentText() == "report-no-l2"


@pytest.mark.slow
def test_export_report_reports_on_the_chosen_models(qtbot, window, tmp_path):
    mine = window.open_model(str(a_model_file(tmp_path / "mine.h5", "mine")))
    ev = window.evaluate_view
    window.show_view("evaluate")
    choose(ev.chooser_a, "mine")
    choose(ev.chooser_b, "report-l2")
    assert window.pair.a is mine
    out = tmp_path / "report"
    with qtbot.waitSignal(ev.report_written, timeout=RUN_TIMEOUT):
        assert window.export_report(str(out)) == out
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "mine" in text and "report-l2" in text
    assert "report-no-l2" not in text and "report-bn" not in text       # nothing else
    # the four experiments when the person chooses that
    choose(ev.report_on, "on the four experiments")
    out4 = tmp_path / "report4"
    with qtbot.waitSignal(ev.report_written, timeout=RUN_TIMEOUT):
        assert window.export_report(str(out4)) == out4
    assert "mine" not in (out4 / "report.md").read_text(encoding="utf-8")


def test_a_finished_run_appears_in_models_and_can_be_chosen_as_a(qtbot, window, fill_form, quick_settings):
    tv = window.train_view
    fill_form(tv.form, {**quick_settings, "max_epochs": "1"})
    with qtbot.waitSignal(tv.training_changed, timeout=RUN_TIMEOUT,
                          check_params_cb=lambda running: not running):
        window.start_action.trigger()
    models = window.models_view
    window.show_view("models")
    unsaved = [e for e in window.library.entries() if e.unsaved]
    assert len(unsaved) == 1 and unsaved[0].model.network is tv.last_run().network
    run = unsaved[0]
    assert run.display_name.endswith("(unsaved)")
    click_model_row(qtbot, models, run.display_name)
    models.use_a_button.click()
    assert window.draw_view.models()[0] is run
    assert window.evaluate_view.chooser_a.currentText() == run.display_name
    # saving it keeps the choice: the same entry, now a file of the person's
    path = tv.save_model()
    assert path is not None and run.path == path.resolve() and not run.unsaved
    assert window.pair.a is run and not any(e.unsaved for e in window.library.entries())
    # a second run saved to a file of the person's choosing (Ctrl+S): the file takes its place
    with qtbot.waitSignal(tv.training_changed, timeout=RUN_TIMEOUT,
                          check_params_cb=lambda running: not running):
        window.start_action.trigger()
    second = next(e for e in window.library.entries() if e.unsaved)
    window.pair.set_b(second)
    chosen = window.library.user_dir() / "chosen.h5"
    assert window.save_model(str(chosen)) == chosen
    assert not any(e.unsaved for e in window.library.entries())
    assert window.pair.b.path == chosen.resolve() and window.pair.b.source == "user"
    x = np.zeros(784, np.float32)
    x[300:310] = 1.0
    np.testing.assert_array_equal(window.pair.b.network.predict_one(x), tv.last_run().network.predict_one(x))


def test_the_same_file_opened_twice_is_one_entry(qtbot, window, tmp_path):
    before = len(window.library)
    source = a_model_file(tmp_path / "twice.h5", "twice")
    first = window.open_model(str(source))
    second = window.open_model(str(source))
    assert first is second and len(window.library) == before + 1
    bundled = window.library.get("report-l2")
    assert window.open_model(str(bundled.path)) is bundled              # a bundled model is not copied
    assert len(window.library) == before + 1
    assert [window.models_view.table_model.entry(r).display_name
            for r in range(window.models_view.table_model.rowCount())].count("twice") == 1


def test_the_pair_is_remembered_across_a_restart(qtbot, make_window):
    first = make_window()
    ev = first.evaluate_view
    choose(ev.chooser_a, "best")
    choose(ev.chooser_b, "report-bn")
    first.close()
    second = make_window()
    assert (second.pair.a.name, second.pair.b.name) == ("best", "report-bn")
    assert second.draw_view.combo_a.currentText() == "best"
    assert second.evaluate_view.chooser_b.currentText() == "report-bn"


def test_a_truncated_file_is_said_in_words_with_details_behind_a_button(qtbot, window, tmp_path, monkeypatch):
    data = a_model_file(tmp_path / "full.h5", "full").read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[:len(data) // 2])
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or QMessageBox.StandardButton.Ok)
    window.show_error = lambda title, text, details=None: __import__(
        "digitlab.gui.messages", fromlist=["warn"]).warn(window, title, text, details)
    assert window.open_model(str(cut)) is None
    box = shown[-1]
    assert box.text().startswith("Cannot open model") and "the file is truncated" in box.text()
    assert "sblock" not in box.text() and "stored_eof" in box.detailedText()


def test_my_digits_in_evaluate_is_the_set_open_in_draw(qtbot, window, tmp_path):
    """A person opens another personal set in Draw > My digits; Evaluate's "My digits" then
    scores that set, not the default file."""
    from digitlab.data.personal import PersonalSet, save_personal_set

    mnist = load_dataset(None)
    n = 12
    digits = PersonalSet()
    for i in range(n):
        digits.add(mnist.test_images[i], int(mnist.test_labels[i]))
    other = save_personal_set(tmp_path / "class-3b.npz", digits)
    window.draw_view.personal_panel.open_set(other)
    ev = window.evaluate_view
    window.show_view("evaluate")
    ev.set_data_set("personal")
    qtbot.waitUntil(lambda: not ev.is_evaluating() and ev.eval_a is not None and ev.eval_a.n == n,
                    timeout=RUN_TIMEOUT)
    x = mnist.test_images[:n].reshape(n, 784).astype(np.float64) / 255
    expected = np.mean(np.argmax(window.pair.a.network.logits(x), axis=1) == mnist.test_labels[:n])
    assert ev.eval_a.accuracy == pytest.approx(expected, abs=1e-12)
    assert str(other) in ev.headline.text()
