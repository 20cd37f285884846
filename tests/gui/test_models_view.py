"""The model library and the Models view, used the way a person uses them: open a model file,
see it listed with its settings, rename, delete, export, copy, reject a corrupt file, compare
two models in the Draw view."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from digitlab import paths
from digitlab.gui.draw_view import DrawView
from digitlab.gui.models_view import COLUMNS, ModelsView
from digitlab.library import BUNDLED, USER, LibraryError, ModelLibrary
from digitlab.nn import Network

io = pytest.importorskip("digitlab.io")
training = pytest.importorskip("digitlab.training")


def make_model(path, name, *, seed=0, l2=0.0, batch_norm=False, optimizer="sgd", accuracy=0.9):
    net = Network((784, 20, 7, 5, 10), batch_norm=batch_norm, seed=seed)
    cfg = training.TrainConfig(l2=l2, batch_norm=batch_norm, seed=seed, optimizer=optimizer)
    io.save_model(path, io.SavedModel(network=net, config=cfg, name=name,
                                      metrics={"test_accuracy": accuracy, "val_accuracy": accuracy},
                                      stop_reason="early_stopping", epochs=3, steps=300))
    return Path(path)


@pytest.fixture
def bundled(tmp_path):
    folder = tmp_path / "bundled"
    folder.mkdir()
    make_model(folder / "report-no-l2.h5", "report-no-l2", seed=1, accuracy=0.9123)
    make_model(folder / "report-l2.h5", "report-l2", seed=2, l2=5.0, accuracy=0.9234)
    return folder


@pytest.fixture
def library(bundled, isolated_home):
    return ModelLibrary(bundled_dir=bundled)


class Recorder:
    """Stands in for the modal dialogs: records what the person would have been shown."""

    def __init__(self):
        self.errors: list[tuple[str, str]] = []
        self.infos: list[str] = []
        self.confirm_answer = True
        self.confirm_asked: list[str] = []


@pytest.fixture
def view(qtbot, library):
    v = ModelsView(library)
    qtbot.addWidget(v)
    rec = Recorder()
    v.show_error = lambda title, text, details=None: rec.errors.append((title, text))
    v.show_info = rec.infos.append

    def confirm(title, text):
        rec.confirm_asked.append(text)
        return rec.confirm_answer

    v.ask_confirm = confirm
    v.ask_open_path = lambda: pytest.fail("file dialog shown")
    v.rec = rec
    v.resize(1280, 760)
    v.show()
    qtbot.waitExposed(v)
    return v


def table_rows(view):
    m = view.proxy
    return [[m.index(r, c).data() for c in range(m.columnCount())] for r in range(m.rowCount())]


def row_names(view):
    return [row[0] for row in table_rows(view)]


def click_row(qtbot, view, name, modifier=Qt.KeyboardModifier.NoModifier):
    names = row_names(view)
    r = names.index(name)
    idx = view.proxy.index(r, 0)
    rect = view.table.visualRect(idx)
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


# ---------------------------------------------------------------- the library (plain Python)
def test_library_lists_bundled_and_user_models(bundled, isolated_home):
    make_model(paths.user_models_dir() / "mine.h5", "my model", seed=5, batch_norm=True, optimizer="adam")
    lib = ModelLibrary(bundled_dir=bundled)
    assert [e.name for e in lib] == ["report-l2", "report-no-l2", "my model"]
    mine = lib.get("my model")
    assert mine.source == USER and not mine.read_only
    assert lib.get("report-l2").source == BUNDLED and lib.get("report-l2").read_only
    assert mine.layers_text == "784-20-7-5-10"
    assert mine.bn_text == "yes" and mine.optimizer == "Adam"
    assert lib.get("report-l2").l2 == 5.0
    assert lib.get("report-no-l2").accuracy_text == "91.23 %"
    assert len(mine.date_text) == 16
    a, b = lib.default_pair()
    assert (a.name, b.name) == ("report-no-l2", "report-l2")


def test_library_skips_a_corrupt_file_with_the_core_message(bundled, isolated_home):
    (paths.user_models_dir() / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)
    lib = ModelLibrary(bundled_dir=bundled)
    assert len(lib) == 2
    (path, msg), = lib.errors
    assert path.name == "junk.h5" and "junk.h5" in msg


def test_bundled_models_are_read_only(library):
    with pytest.raises(LibraryError, match="read-only"):
        library.rename("report-l2", "x")
    with pytest.raises(LibraryError, match="read-only"):
        library.delete("report-l2")
    assert len(library) == 2


def test_listeners_hear_about_changes(library, tmp_path):
    calls = []
    library.add_listener(lambda: calls.append(1))
    library.import_file(make_model(tmp_path / "x.h5", "x"))
    assert calls


# ---------------------------------------------------------------- the view
def test_table_shows_every_model_with_its_settings(view):
    headers = [view.proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(view.proxy.columnCount())]
    assert headers == [c[0] for c in COLUMNS]
    rows = {r[0]: r for r in table_rows(view)}
    assert set(rows) == {"report-no-l2", "report-l2"}
    name, source, layers, l2, bn, opt, acc, date = rows["report-l2"]
    assert (source, layers, l2, bn, opt, acc) == ("Bundled", "784-20-7-5-10", "5", "no", "SGD", "92.34 %")
    assert rows["report-no-l2"][3] == "off"


def test_selecting_shows_details(qtbot, view):
    click_row(qtbot, view, "report-l2")
    assert [e.name for e in view.selected_entries()] == ["report-l2"]
    text = view.details.toPlainText()
    assert "report-l2" in text and "Test accuracy" in text and "92.34 %" in text
    assert "learning rate" in text and "0.009" in text
    assert "read-only" in text
    # bundled: no rename/delete, but export and copy
    assert not view.rename_button.isEnabled() and not view.delete_button.isEnabled()
    assert view.export_button.isEnabled() and view.copy_button.isEnabled()
    assert "read-only" in view.rename_button.toolTip()


def test_open_a_model_file_adds_it_to_the_library(qtbot, view, library, tmp_path):
    src = make_model(tmp_path / "downloads" / "friend.h5", "friend's model", seed=7, batch_norm=True)
    view.ask_open_path = lambda: str(src)
    view.open_button.click()
    assert not view.rec.errors
    assert "friend's model" in row_names(view)
    entry = library.get("friend's model")
    assert entry.source == USER
    assert entry.path.parent == paths.user_models_dir().resolve()
    assert src.exists()                                  # copied, not moved
    assert [e.name for e in view.selected_entries()] == ["friend's model"]
    assert view.rename_button.isEnabled() and view.delete_button.isEnabled()


@pytest.mark.parametrize("content", [b"", b"hello, this is text\n", b"\x89HDF\r\n\x1a\n" + b"\0" * 100,
                                     b"\x89PNG\r\n\x1a\n" + b"\0" * 30])
def test_a_corrupt_file_is_rejected_and_the_library_stays_the_same(view, library, tmp_path, content):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(content)
    before_rows = table_rows(view)
    before_files = sorted(os.listdir(paths.user_models_dir()))
    assert view.open_model_file(bad) is None
    (title, message), = view.rec.errors
    assert "bad.h5" in message                           # the core's message names the file
    assert table_rows(view) == before_rows
    assert sorted(os.listdir(paths.user_models_dir())) == before_files
    assert len(library) == 2


def test_a_foreign_hdf5_file_is_rejected(view, tmp_path):
    import h5py

    foreign = tmp_path / "keras.h5"
    with h5py.File(foreign, "w") as f:
        f.create_dataset("model_weights", data=np.zeros(3))
    assert view.open_model_file(foreign) is None
    assert "not a digitlab model" in view.rec.errors[0][1]
    assert len(table_rows(view)) == 2


def test_a_missing_file_is_rejected(view, tmp_path):
    assert view.open_model_file(tmp_path / "nope.h5") is None
    assert "nope.h5" in view.rec.errors[0][1]


def test_rename_a_user_model(qtbot, view, library, tmp_path):
    view.open_model_file(make_model(tmp_path / "a.h5", "first name"))
    view.ask_text = lambda title, label, text: "better name"
    view.rename_button.click()
    assert not view.rec.errors
    assert "better name" in row_names(view) and "first name" not in row_names(view)
    e = library.get("better name")
    assert e.path.name == "better-name.h5"
    assert io.load_model(e.path).name == "better name"    # stored in the file
    assert not (paths.user_models_dir() / "a.h5").exists()
    # survives a rescan
    assert "better name" in [x.name for x in ModelLibrary(bundled_dir=library.bundled_dir())]


def test_rename_refuses_empty_and_duplicate_names(view, library, tmp_path):
    view.open_model_file(make_model(tmp_path / "a.h5", "mine"))
    view.rename_selected("   ")
    assert "empty" in view.rec.errors[-1][1]
    view.rename_selected("report-l2")
    assert "already" in view.rec.errors[-1][1]
    assert library.get("mine") is not None


def test_delete_asks_first(qtbot, view, library, tmp_path):
    view.open_model_file(make_model(tmp_path / "a.h5", "doomed"))
    path = library.get("doomed").path
    view.rec.confirm_answer = False
    view.delete_button.click()
    assert "doomed" in view.rec.confirm_asked[-1]
    assert path.exists() and "doomed" in row_names(view)
    view.rec.confirm_answer = True
    view.delete_button.click()
    assert not path.exists()
    assert "doomed" not in row_names(view)


def test_bundled_models_cannot_be_deleted_from_the_view(qtbot, view):
    click_row(qtbot, view, "report-l2")
    assert view.delete_selected(confirmed=True) is False
    assert "read-only" in view.rec.errors[-1][1]
    assert "report-l2" in row_names(view)


@pytest.mark.parametrize("fmt, name", [("npz", "w.npz"), ("json", "w.json"), ("csv", "w_csv")])
def test_export_weights(qtbot, view, library, tmp_path, fmt, name):
    click_row(qtbot, view, "report-l2")
    view.ask_export_path = lambda n: (str(tmp_path / name), fmt)
    view.export_button.click()
    assert not view.rec.errors
    out = tmp_path / name
    net = library.get("report-l2").network
    if fmt == "npz":
        with np.load(out) as z:
            np.testing.assert_array_equal(z["W1"], net.weights[0])
    elif fmt == "json":
        data = json.loads(out.read_text())
        assert list(data["layer_sizes"]) == [784, 20, 7, 5, 10]
    else:
        assert out.is_dir() and (out / "W1.csv").exists()
        w1 = np.loadtxt(out / "W1.csv", delimiter=",")
        np.testing.assert_allclose(w1, net.weights[0], rtol=1e-6)


ONNX_FILTER = "ONNX model, for onnxruntime (*.onnx)"


def _choose_in_save_dialog(monkeypatch, path, file_type):
    """The save dialog, answered as a person would: a file name and a file type."""
    import digitlab.gui.models_view as models_view
    asked = []

    def answer(parent, title, suggested, filters):
        asked.append(filters.split(";;"))
        return str(path), file_type

    monkeypatch.setattr(models_view.QFileDialog, "getSaveFileName", answer)
    return asked


def test_export_onnx_through_the_save_dialog(qtbot, view, library, tmp_path, monkeypatch):
    import onnxruntime as ort  # in the test extra; the base install has neither
    asked = _choose_in_save_dialog(monkeypatch, tmp_path / "report-l2", ONNX_FILTER)
    view.ask_export_path = view._dialog_export_path          # the real dialog code, patched Qt dialog
    click_row(qtbot, view, "report-l2")
    view.export_button.click()
    assert ONNX_FILTER in asked[0]
    assert not view.rec.errors
    out = tmp_path / "report-l2.onnx"                        # the dialog's type adds the suffix
    assert view.rec.infos[-1] == f"Exported the network of “report-l2” to {out}."
    x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {"pixels": x})
    want = library.get("report-l2").network.predict_proba(x)
    assert np.abs(probabilities - want).max() < 1e-5
    assert np.array_equal(probabilities.argmax(1), want.argmax(1))


def test_export_onnx_without_the_extra_says_how_to_get_it_in_a_message_box(qtbot, library, tmp_path,
                                                                           monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    monkeypatch.setitem(sys.modules, "onnx", None)     # as on a base install: import onnx fails
    v = ModelsView(library)                                  # its own message boxes, not a recorder
    qtbot.addWidget(v)
    v.resize(1280, 760)
    v.show()
    qtbot.waitExposed(v)
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append((box.windowTitle(), box.text()))
                        or QMessageBox.StandardButton.Ok)
    _choose_in_save_dialog(monkeypatch, tmp_path / "net.onnx", ONNX_FILTER)
    click_row(qtbot, v, "report-l2")
    v.export_button.click()
    assert shown == [("Cannot export the weights",
                      "ONNX export needs the onnx package: pip install 'digitlab[onnx]'")]
    assert list(tmp_path.glob("net*")) == []
    assert v.isVisible() and v.export_button.isEnabled()     # the view carries on


def test_save_copy(qtbot, view, library, tmp_path):
    click_row(qtbot, view, "report-no-l2")
    dest = tmp_path / "elsewhere" / "copy.h5"
    view.ask_save_path = lambda filename: str(dest)
    view.copy_button.click()
    assert dest.exists()
    assert io.load_model(dest).name == "report-no-l2"
    assert len(library) == 2                       # a copy outside the user folder is not listed


def test_compare_two_models_in_draw(qtbot, view, library, tmp_path):
    view.open_model_file(make_model(tmp_path / "c.h5", "challenger", seed=11, batch_norm=True))
    draw = DrawView(library)
    qtbot.addWidget(draw)
    shown = []
    # the main window connects these to its pair (tests/gui/test_wiring.py drives that)
    view.compare_requested.connect(lambda a, b: (draw.set_models(a, b), shown.append(True)))
    view.draw_side_requested.connect(lambda e, side: draw.set_model(side, e))
    click_row(qtbot, view, "report-l2")
    assert not view.compare_button.isEnabled()
    click_row(qtbot, view, "challenger", Qt.KeyboardModifier.ControlModifier)
    assert view.compare_button.isEnabled()
    with qtbot.waitSignal(view.compare_requested, timeout=1000) as blocker:
        view.compare_button.click()
    a, b = blocker.args
    assert {a.name, b.name} == {"report-l2", "challenger"}
    assert {draw.models()[0].name, draw.models()[1].name} == {"report-l2", "challenger"}
    assert shown
    # draw something: both chosen models answer
    draw.resize(1280, 760)
    draw.show()
    c = draw.canvas
    r = c.target_rect()
    pts = [QPoint(int(r.x() + r.width() * 0.5), int(r.y() + r.height() * f)) for f in (0.2, 0.4, 0.6, 0.8)]
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(c, p)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=pts[-1])
    x = draw.current_input()
    np.testing.assert_allclose(draw.bars_a.probabilities(), draw.models()[0].network.predict_one(x),
                               rtol=1e-6)
    np.testing.assert_allclose(draw.bars_b.probabilities(), draw.models()[1].network.predict_one(x),
                               rtol=1e-6)
    # "Use as A" with one selection
    click_row(qtbot, view, "report-no-l2")
    view.use_a_button.click()
    assert draw.models()[0].name == "report-no-l2"


def test_the_view_follows_changes_made_elsewhere(view, library, tmp_path):
    library.import_file(make_model(tmp_path / "z.h5", "from the train view"))
    assert "from the train view" in row_names(view)


def test_empty_library_says_what_to_do(qtbot, tmp_path, isolated_home):
    empty = tmp_path / "empty"
    empty.mkdir()
    v = ModelsView(ModelLibrary(bundled_dir=empty))
    qtbot.addWidget(v)
    v.show()
    assert v.empty_label.isVisible() and not v.table.isVisible()
    assert "No models yet" in v.empty_label.text()


def test_deleting_an_unsaved_run_says_what_is_lost(qtbot, view, library):
    """An unsaved run has no file: the question says the run is lost, not that a file is removed."""
    net = Network((784, 20, 7, 5, 10), seed=7)
    run = library.add_run(io.SavedModel(network=net, config=training.TrainConfig(seed=7), name="a run",
                                        metrics={"test_accuracy": 0.5}))
    view.select(run)
    view.rec.confirm_answer = True
    assert view.delete_selected() is True
    assert view.rec.confirm_asked[-1].startswith("Delete the model “a run")
    assert "never saved, so what it learned is lost" in view.rec.confirm_asked[-1]
    assert run not in library.listing()
