"""Bad model files from strangers in the person's models folder: the window still opens at once,
each bad file is listed as damaged with the reason in words, none is offered as a model, memory
stays bounded; and files that change or vanish underneath the library give a message, not a
traceback."""

from __future__ import annotations

import faulthandler
import os
import resource
import shutil
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitlab import paths
from digitlab.gui.main_window import MainWindow
from digitlab.gui.models_view import ModelsView
from digitlab.library import ModelLibrary

SECRET = b"TOP-SECRET-" * 16            # what an external-storage model would leak if read
HANG_LIMIT_S = 120                       # a blocking open of the FIFO must fail the run, not hang it


def bundled(name: str = "report-l2") -> Path:
    return paths.bundled_models_dir() / f"{name}.h5"


def copy_with_name(dest: Path, name: str) -> Path:
    shutil.copyfile(bundled(), dest)
    with h5py.File(dest, "r+") as f:
        f.attrs["name"] = name
    return dest


def make_huge_history(dest: Path) -> Path:
    """A small file whose /history declares 10^8 rows (5.6 GB as float64), never written."""
    copy_with_name(dest, "huge history")
    with h5py.File(dest, "r+") as f:
        columns = f["history"].attrs["columns"]
        del f["history"]
        ds = f.create_dataset("history", shape=(10**8, 7), dtype="f8", chunks=(1024, 7))
        ds.attrs["columns"] = columns
    assert dest.stat().st_size < 1_000_000
    return dest


def make_external_storage(dest: Path, secret: Path) -> Path:
    """A model whose first bias is stored in another file (HDF5 external storage): the secret."""
    copy_with_name(dest, "external storage")
    with h5py.File(dest, "r+") as f:
        del f["layers/1/b"]
        f.create_dataset("layers/1/b", shape=(20,), dtype="<f4", external=[(str(secret), 0, 80)])
    return dest


def make_nan_weights(dest: Path) -> Path:
    """Attributes fine, arrays bad: a first bias full of NaN (found only when the model is loaded)."""
    copy_with_name(dest, "nan weights")
    with h5py.File(dest, "r+") as f:
        f["layers/1/b"][...] = np.nan
    return dest


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux


def vm_size_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.fixture
def memory_fence():
    """Cap the address space 3 GB above what is in use, for this test only: a reader that tries
    to allocate the 5.6 GB history gets a MemoryError instead of the machine's OOM killer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = vm_size_bytes() + 3 * 1024**3
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture
def strangers_folder(tmp_path, isolated_home):
    """The person's models folder with one good model and every kind of bad file."""
    folder = paths.user_models_dir()
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    copy_with_name(folder / "good.h5", "my good model")
    os.mkfifo(folder / "x.h5")
    data = bundled().read_bytes()
    (folder / "truncated.h5").write_bytes(data[: len(data) // 2])
    (folder / "notes.h5").write_text("These are my notes, not a model.\n")
    make_huge_history(folder / "huge-history.h5")
    make_external_storage(folder / "external.h5", secret)
    return folder


#: file name -> a phrase the reason must contain (case-insensitive)
EXPECTED_DAMAGE = {
    "x.h5": "not a regular file",
    "truncated.h5": "truncated",
    "notes.h5": "text file",
    "huge-history.h5": "history",          # needs the model reader's size caps
    "external.h5": "external",             # needs the model reader's refusal of external storage
}


#: the name written inside the files whose attributes are readable (what a chooser would show)
INNER_NAMES = {"huge-history.h5": "huge history", "external.h5": "external storage"}


def table_rows(view: ModelsView) -> dict[str, dict]:
    """What the Models view's table shows: name -> {column texts, tooltip}."""
    m = view.proxy
    rows = {}
    for r in range(m.rowCount()):
        texts = [m.index(r, c).data() for c in range(m.columnCount())]
        rows[texts[0]] = {"texts": texts, "tooltip": m.index(r, 0).data(Qt.ItemDataRole.ToolTipRole)}
    return rows


def combo_texts(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def click_row(qtbot, view, name):
    m = view.proxy
    names = [m.index(r, 0).data() for r in range(m.rowCount())]
    rect = view.table.visualRect(m.index(names.index(name), 0))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.fixture
def hang_guard():
    """A blocking open() cannot be interrupted from Python: end the process instead of hanging."""
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def start_window(qtbot, make_settings) -> tuple[MainWindow, float, list]:
    errors: list = []
    start = time.perf_counter()
    window = MainWindow(settings=make_settings())
    window.confirm_close = lambda: True
    window.show_error = lambda title, text, details=None: errors.append((title, text))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window, timeout=5000)
    return window, time.perf_counter() - start, errors


def test_window_opens_at_once_beside_every_kind_of_bad_file(qtbot, make_settings, strangers_folder,
                                                            memory_fence, hang_guard):
    rss_before = peak_rss_bytes()
    window, seconds, errors = start_window(qtbot, make_settings)
    try:
        assert window.isVisible() and seconds < 10, f"the window took {seconds:.1f} s"
        window.show_view("models")
        rows = table_rows(window.models_view)
        assert "my good model" in rows
        assert "damaged" not in rows["my good model"]["texts"][1]
        assert "damaged" in window.models_view.problems_label.text()
        offered = combo_texts(window.draw_view.combo_a) + combo_texts(window.draw_view.combo_b)
        assert any("my good model" in t for t in offered)
        # the details pane says why, in words; a damaged file can be deleted, not used
        click_row(qtbot, window.models_view, "x.h5")
        details = window.models_view.details.toPlainText()
        assert "Damaged" in details and "not a regular file" in details
        assert not window.models_view.use_a_button.isEnabled()
        assert window.models_view.delete_button.isEnabled()
        shown = "\n".join(str(r) for r in rows.values()) + details + str(errors)
        assert SECRET.decode()[:10] not in shown
        growth = peak_rss_bytes() - rss_before
        assert growth < 1.5 * 1024**3, f"memory grew by {growth / 1024**3:.2f} GB"
    finally:
        assert window.shutdown(30000)


@pytest.mark.parametrize("filename", sorted(EXPECTED_DAMAGE))
def test_each_bad_file_is_listed_damaged_and_never_offered(qtbot, make_settings, strangers_folder,
                                                           memory_fence, hang_guard, filename):
    window, _seconds, _errors = start_window(qtbot, make_settings)
    try:
        row = table_rows(window.models_view).get(filename)
        assert row is not None, f"{filename} is not listed as a damaged file"
        assert "damaged" in row["texts"][1]
        assert EXPECTED_DAMAGE[filename] in (row["tooltip"] or "").lower()
        draw = window.draw_view
        offered = combo_texts(draw.combo_a) + combo_texts(draw.combo_b)
        names = {filename, INNER_NAMES.get(filename, filename)}
        assert not any(t.split("  (")[0] in names for t in offered), offered
        assert SECRET.decode()[:10] not in str(row)
    finally:
        assert window.shutdown(30000)


def test_a_damaged_file_can_be_deleted_from_the_view(qtbot, isolated_home, hang_guard):
    folder = paths.user_models_dir()
    os.mkfifo(folder / "x.h5")
    (folder / "notes.h5").write_text("not a model\n")
    view = ModelsView(ModelLibrary())
    qtbot.addWidget(view)
    view.ask_confirm = lambda title, text: True
    view.show()
    click_row(qtbot, view, "notes.h5")
    view.delete_button.click()
    assert not (folder / "notes.h5").exists()
    assert "notes.h5" not in table_rows(view)
    click_row(qtbot, view, "x.h5")
    view.delete_button.click()
    assert not (folder / "x.h5").exists()


def test_a_model_found_damaged_on_first_use_keeps_the_previous_choice(qtbot, make_settings,
                                                                      isolated_home, hang_guard):
    make_nan_weights(paths.user_models_dir() / "nan.h5")
    window, _seconds, errors = start_window(qtbot, make_settings)
    try:
        draw = window.draw_view
        window.show_view("draw")
        before = draw.models()[0].name
        combo = draw.combo_a
        index = next(i for i, t in enumerate(combo_texts(combo)) if "nan weights" in t)
        combo.setCurrentIndex(index)        # the person picks it from the chooser
        assert draw.models()[0].name == before
        assert errors and "nan.h5" in errors[-1][1] and "non-finite" in errors[-1][1]
        assert not any("nan weights" in t for t in combo_texts(draw.combo_a))
        assert combo.currentText().startswith(before)
        rows = table_rows(window.models_view)
        assert "damaged" in rows["nan.h5"]["texts"][1]
        assert "nan.h5" in window.statusBar().currentMessage()
    finally:
        assert window.shutdown(30000)


def test_files_that_vanish_or_change_underneath(qtbot, isolated_home, tmp_path):
    folder = paths.user_models_dir()
    copy_with_name(folder / "one.h5", "one")
    copy_with_name(folder / "two.h5", "two")
    copy_with_name(folder / "three.h5", "three")
    view = ModelsView(ModelLibrary(bundled_dir=tmp_path / "no-bundled"))
    qtbot.addWidget(view)
    errors = []
    view.show_error = lambda title, text, details=None: errors.append(text)
    view.ask_confirm = lambda title, text: True
    view.show()

    click_row(qtbot, view, "one")
    (folder / "one.h5").unlink()                       # another program deletes it
    assert view.rename_selected("uno") is None
    assert "no longer" in errors[-1] and "refreshed" in errors[-1]
    assert "one" not in table_rows(view)

    click_row(qtbot, view, "two")
    (folder / "two.h5").unlink()
    assert view.delete_selected(confirmed=True) is False
    assert "no longer" in errors[-1] and "two" not in table_rows(view)

    click_row(qtbot, view, "three")
    time.sleep(0.01)
    with h5py.File(folder / "three.h5", "r+") as f:  # another program rewrites it
        f.attrs["name"] = "three, rewritten"
    assert view.save_copy_selected(tmp_path / "copy.h5") is None
    assert "changed on disk" in errors[-1]
    assert not (tmp_path / "copy.h5").exists()
    assert "three, rewritten" in table_rows(view)


def test_library_files_never_replace_an_existing_file(isolated_home, tmp_path):
    folder = paths.user_models_dir()
    library = ModelLibrary(bundled_dir=tmp_path / "no-bundled")
    first = library.import_file(copy_with_name(tmp_path / "mine.h5", "mine"))
    (folder / "mine-2.h5").write_bytes(b"someone else's file")   # not a model, but not ours to replace
    (tmp_path / "other").mkdir()
    second = library.import_file(copy_with_name(tmp_path / "other" / "mine.h5", "mine again"))
    assert (first.path.name, second.path.name) == ("mine.h5", "mine-3.h5")
    renamed = library.rename(second, "mine 2")                    # its file name would be mine-2.h5
    assert renamed is second                                      # one entry per model, renamed in place
    assert renamed.path.name == "mine-2-2.h5" and not (folder / "mine-3.h5").exists()
    assert (folder / "mine-2.h5").read_bytes() == b"someone else's file"
    assert sorted(e.name for e in library) == ["mine", "mine 2"]


def test_evaluate_keeps_its_model_when_the_chosen_one_is_found_damaged(qtbot, make_settings,
                                                                      isolated_home, hang_guard):
    make_nan_weights(paths.user_models_dir() / "nan.h5")
    window, _seconds, errors = start_window(qtbot, make_settings)
    try:
        window.show_view("evaluate")
        chooser = window.evaluate_view.chooser_a
        before = chooser.currentText()
        qtbot.waitUntil(lambda: window.evaluate_view.eval_a is not None, timeout=60000)  # computed when shown
        chooser.setCurrentIndex(chooser.findText("nan weights"))   # the person picks it
        assert chooser.currentText() == before
        qtbot.waitUntil(lambda: not window.evaluate_view.is_evaluating(), timeout=60000)
        assert window.evaluate_view.eval_a is not None and window.evaluate_view.eval_a.name == before
        assert errors and "nan.h5" in errors[-1][1]
        assert chooser.findText("nan weights") < 0
    finally:
        assert window.shutdown(30000)


def test_names_from_files_are_shown_as_characters_not_rendered(qtbot, monkeypatch, isolated_home):
    """A name such as '<img src=...>' in a stranger's file must not be rendered as rich text (which
    would also make Qt read the named file): message boxes and name labels show plain text."""
    from PySide6.QtWidgets import QMessageBox

    from digitlab.gui import messages
    from digitlab.gui.evaluate_view import EvaluateView
    from digitlab.gui.probability_bars import ProbabilityBars

    shown = []
    monkeypatch.setattr(QMessageBox, "exec",
                        lambda box: shown.append((box.textFormat(), box.text()))
                                    or QMessageBox.StandardButton.No)
    name = "<b>bold</b><img src='/etc/hostname'>"
    messages.warn(None, "Cannot use the model", f"cannot open model {name}.h5")
    assert not messages.ask_yes_no(None, "Replace?", f"{name}.h5 already exists")
    assert shown == [(Qt.TextFormat.PlainText, f"Cannot open model {name}.h5"),   # a capital first
                     (Qt.TextFormat.PlainText, f"{name}.h5 already exists")]

    bars = ProbabilityBars("Network A")
    qtbot.addWidget(bars)
    bars.set_model_name(name, detail=name)
    assert bars._name.textFormat() == bars._detail.textFormat() == Qt.TextFormat.PlainText
    evaluate = EvaluateView(ModelLibrary(bundled_dir=paths.bundled_models_dir()))
    qtbot.addWidget(evaluate)
    assert evaluate.headline.textFormat() == Qt.TextFormat.PlainText
