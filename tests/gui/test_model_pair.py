"""Networks A and B without a window: the pair's default and choice, the choosers that show and
set it, what it remembers in QSettings between launches, how it follows the library (deleted,
renamed, saved), and a model found damaged on first use refused with the pair unchanged. Also
``LibraryEvents``, the library's changes as Qt signals."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from digitlab.gui.library_events import LibraryEvents
from digitlab.gui.model_pair import ModelPair, PairChooser
from digitlab.io import SavedModel, save_model
from digitlab.library import ModelLibrary
from digitlab.nn import Network
from digitlab.training import TrainConfig


def model(name: str, seed: int) -> SavedModel:
    return SavedModel(network=Network((784, 20, 7, 5, 10), seed=seed), config=TrainConfig(seed=seed),
                      name=name, metrics={"test_accuracy": 0.5})


@pytest.fixture
def folders(tmp_path):
    """A bundled folder with both default pairs' models, a user folder with two of the person's."""
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    bundled.mkdir()
    user.mkdir()
    for seed, name in enumerate(("pad", "pad-l2", "report-no-l2", "report-l2")):
        save_model(bundled / f"{name}.h5", model(name, seed))
    save_model(user / "mine.h5", model("mine", 10))
    save_model(user / "other.h5", model("other", 11))
    return bundled, user


@pytest.fixture
def library(folders):
    return ModelLibrary(*folders)


@pytest.fixture
def pair(library):
    return ModelPair(library)


def names(pair: ModelPair) -> tuple:
    return tuple(e.name if e is not None else None for e in (pair.a, pair.b))


def spoil_arrays(path: Path) -> None:
    """Attributes fine, arrays bad: listed normally, refused only when the weights are read."""
    with h5py.File(path, "r+") as f:
        f["layers/1/b"][...] = np.nan


def choose(chooser: PairChooser, display_name: str) -> None:
    """Pick an entry the way the combo box's list does (by its row)."""
    index = chooser.findText(display_name)
    offered = [chooser.itemText(i) for i in range(chooser.count())]
    assert index >= 0, f"{display_name} is not offered: {offered}"
    chooser.setCurrentIndex(index)


# ------------------------------------------------------------------ the default and the choice
def test_the_default_is_the_pad_pair_then_the_reports(folders):
    bundled, user = folders
    assert names(ModelPair(ModelLibrary(bundled, user))) == ("pad", "pad-l2")
    for name in ("pad", "pad-l2"):
        (bundled / f"{name}.h5").unlink()
    assert names(ModelPair(ModelLibrary(bundled, user))) == ("report-no-l2", "report-l2")


def test_a_choice_changes_one_side_and_says_so_once(qtbot, pair, library):
    mine = library.get("mine")
    with qtbot.waitSignal(pair.changed, timeout=1000):
        assert pair.set_a(mine) is True
    assert names(pair) == ("mine", "pad-l2") and pair.entry("a") is mine
    assert pair.names_text() == "A: mine · B: pad-l2"
    with qtbot.assertNotEmitted(pair.changed):
        assert pair.set("A", mine) is True            # the same model again: nothing changes
    assert pair.set_b(None) is True
    assert names(pair) == ("mine", None) and pair.entries() == [mine]
    assert pair.names_text() == "A: mine · B: (none)"


def test_what_is_not_a_side_or_an_entry_is_refused_in_words(pair):
    with pytest.raises(ValueError, match="side must be 'A' or 'B', got 'C'"):
        pair.set("C", None)
    with pytest.raises(TypeError, match="library entries.*got str"):
        pair.set_a("mine")
    assert names(pair) == ("pad", "pad-l2")


def test_set_pair_changes_both_with_one_signal(qtbot, pair, library):
    seen = []
    pair.changed.connect(lambda: seen.append(names(pair)))
    assert pair.set_pair(library.get("other"), library.get("report-l2")) is True
    assert seen == [("other", "report-l2")]


# ------------------------------------------------------------------ the choosers
def test_choosers_of_a_side_show_and_set_the_same_model(qtbot, pair, library):
    draw_a, evaluate_a = PairChooser(pair, "A"), PairChooser(pair, "a")
    b = PairChooser(pair, "B", allow_none=True)
    for c in (draw_a, evaluate_a, b):
        qtbot.addWidget(c)
    offered = [draw_a.itemText(i) for i in range(draw_a.count())]
    assert sorted(offered) == ["mine", "other", "pad", "pad-l2", "report-l2", "report-no-l2"]
    assert (draw_a.currentText(), evaluate_a.currentText(), b.currentText()) == ("pad", "pad", "pad-l2")
    choose(draw_a, "other")
    assert pair.a is library.get("other") and evaluate_a.currentText() == "other"
    # the keyboard too: one step down in the list chooses the next model for the whole window
    choose(evaluate_a, offered[0])
    evaluate_a.setFocus()
    qtbot.keyClick(evaluate_a, Qt.Key.Key_Down)
    assert pair.a.display_name == offered[1] == draw_a.currentText()
    choose(b, "(none)")
    assert pair.b is None and b.currentText() == "(none)"
    assert draw_a.findText("(none)") < 0          # A always holds a model


def test_a_chooser_follows_the_library(qtbot, pair, library):
    chooser = PairChooser(pair, "A")
    qtbot.addWidget(chooser)
    run = library.add_run(model("my run", 20))
    assert chooser.findText("my run (unsaved)") >= 0
    choose(chooser, "my run (unsaved)")
    assert pair.a is run
    saved = library.add_model(run.model, "kept")     # saving a run: the same entry, now a file
    assert saved is run and pair.a is run and chooser.currentText() == "kept"


# ------------------------------------------------------------------ remembered between launches
def test_the_pair_is_remembered_by_file(tmp_path, folders, pair, library):
    ini = str(tmp_path / "pair.ini")
    pair.set_pair(library.get("mine"), library.get("report-no-l2"))
    pair.save_state(QSettings(ini, QSettings.Format.IniFormat))
    stored = QSettings(ini, QSettings.Format.IniFormat)
    assert Path(stored.value("pair/a")) == library.get("mine").path
    assert Path(stored.value("pair/b")) == library.get("report-no-l2").path
    again = ModelPair(ModelLibrary(*folders))                 # the next launch
    assert names(again) == ("pad", "pad-l2")
    again.restore_state(QSettings(ini, QSettings.Format.IniFormat))
    assert names(again) == ("mine", "report-no-l2")


def test_an_empty_b_is_remembered_and_a_gone_file_gives_the_default(tmp_path, folders, pair, library):
    ini = str(tmp_path / "pair.ini")
    pair.set_pair(library.get("mine"), None)
    pair.save_state(QSettings(ini, QSettings.Format.IniFormat))
    (folders[1] / "mine.h5").unlink()
    again = ModelPair(ModelLibrary(*folders))
    again.restore_state(QSettings(ini, QSettings.Format.IniFormat))
    assert names(again) == ("pad", None)


def test_nothing_remembered_keeps_the_default(tmp_path, folders):
    again = ModelPair(ModelLibrary(*folders))
    again.restore_state(QSettings(str(tmp_path / "never.ini"), QSettings.Format.IniFormat))
    assert names(again) == ("pad", "pad-l2")


@pytest.mark.parametrize("side", ["A", "B"])
def test_an_unsaved_run_is_not_remembered(tmp_path, folders, pair, library, side):
    """A run has no file: the next launch starts that side from the default, not from nothing
    (before, "" was stored, which reads back as "none" and left A empty)."""
    ini = str(tmp_path / "pair.ini")
    pair.set_pair(library.get("mine"), library.get("other"))
    pair.save_state(QSettings(ini, QSettings.Format.IniFormat))       # an earlier choice, then a run
    pair.set(side, library.add_run(model("my run", 21)))
    pair.save_state(QSettings(ini, QSettings.Format.IniFormat))
    again = ModelPair(ModelLibrary(*folders))
    again.restore_state(QSettings(ini, QSettings.Format.IniFormat))
    assert names(again) == (("pad", "other") if side == "A" else ("mine", "pad-l2"))


# ------------------------------------------------------------------ following the library
def test_a_deleted_model_gives_way_to_the_default(qtbot, pair, library):
    pair.set_pair(library.get("mine"), library.get("other"))
    with qtbot.waitSignal(pair.changed, timeout=1000):
        library.delete(library.get("mine"))
    assert names(pair) == ("pad", "other")


def test_a_renamed_model_stays_chosen_under_its_new_name(pair, library):
    mine = library.get("mine")
    pair.set_a(mine)
    library.rename(mine, "yours")
    assert pair.a is mine and pair.names_text() == "A: yours · B: pad-l2"


# ------------------------------------------------------------------ a damaged model
def test_a_model_found_damaged_is_refused_and_the_pair_keeps_its_choice(qtbot, folders):
    spoil_arrays(folders[1] / "mine.h5")
    library = ModelLibrary(*folders)
    pair = ModelPair(library)
    chooser = PairChooser(pair, "A")
    qtbot.addWidget(chooser)
    damaged_heard = []
    pair.events.damaged.connect(damaged_heard.append)
    mine = library.get("mine")
    assert not mine.damaged and chooser.findText("mine") >= 0    # listed: its attributes are fine
    with qtbot.waitSignal(pair.refused, timeout=1000) as refused:
        choose(chooser, "mine")
    reason, _detail = refused.args
    assert "mine.h5" in reason and "non-finite" in reason
    assert names(pair) == ("pad", "pad-l2")
    assert chooser.currentText() == "pad"                        # the chooser shows what is kept
    assert damaged_heard == [mine] and mine.damaged
    assert chooser.findText("mine") < 0                          # never offered again
    assert pair.set_a(mine) is False and names(pair) == ("pad", "pad-l2")


def test_a_remembered_model_found_damaged_leaves_the_default(tmp_path, folders):
    ini = str(tmp_path / "pair.ini")
    first = ModelPair(ModelLibrary(*folders))
    first.set_a(first.library.get("mine"))
    first.save_state(QSettings(ini, QSettings.Format.IniFormat))
    spoil_arrays(folders[1] / "mine.h5")
    again = ModelPair(ModelLibrary(*folders))
    reasons = []
    again.refused.connect(lambda reason, _detail: reasons.append(reason))
    again.restore_state(QSettings(ini, QSettings.Format.IniFormat))
    assert names(again) == ("pad", "pad-l2")
    assert len(reasons) == 1 and "mine.h5" in reasons[0]


# ------------------------------------------------------------------ LibraryEvents
def test_library_events_turn_the_librarys_calls_into_signals(qtbot, folders):
    spoil_arrays(folders[1] / "other.h5")
    library = ModelLibrary(*folders)
    events = LibraryEvents(library)
    changes, damaged = [], []
    events.changed.connect(lambda: changes.append(len(library)))
    events.damaged.connect(damaged.append)
    library.add_run(model("run", 30))
    assert changes == [7]                                  # six files and the run
    library.rename(library.get("mine"), "renamed")
    assert len(changes) == 2
    other = library.get("other")
    with pytest.raises(Exception, match="non-finite"):
        library.load(other)
    assert damaged == [other] and changes[-1] == 6         # no longer counted as usable
