"""The model library without a window: display names, one entry per file, unsaved runs, renames."""

from __future__ import annotations

import os

import pytest

from digitlab.io import SavedModel, load_model, save_model
from digitlab.library import BUNDLED, USER, LibraryError, ModelLibrary
from digitlab.nn import Network
from digitlab.training import TrainConfig


def model(name, seed=0):
    return SavedModel(network=Network((784, 20, 7, 5, 10), seed=seed), config=TrainConfig(seed=seed),
                      name=name, metrics={"test_accuracy": 0.5})


@pytest.fixture
def folders(tmp_path):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    bundled.mkdir()
    user.mkdir()
    save_model(bundled / "report-bn.h5", model("report-bn", 1))
    save_model(bundled / "report-l2.h5", model("report-l2", 2))
    return bundled, user


def test_display_names_are_unique_across_the_library(folders):
    bundled, user = folders
    save_model(user / "mine.h5", model("report-bn", 3))          # the person's model, same name
    save_model(user / "again-1.h5", model("again", 4))
    save_model(user / "again-2.h5", model("again", 5))
    lib = ModelLibrary(bundled, user)
    names = sorted(e.display_name for e in lib)
    assert names == ["again", "again (2)", "report-bn", "report-bn (bundled)", "report-l2"]
    assert lib.get("report-bn (bundled)").source == BUNDLED and lib.get("report-bn").source == USER
    assert len(set(names)) == len(names)


def test_one_entry_per_file_however_it_is_opened(folders, tmp_path):
    bundled, user = folders
    lib = ModelLibrary(bundled, user)
    outside = save_model(tmp_path / "outside.h5", model("outside", 7))
    first = lib.import_file(outside)
    assert lib.import_file(outside) is first                      # the same bytes: not copied again
    link = tmp_path / "link.h5"
    os.link(first.path, link)
    assert lib.import_file(link) is first                         # the same file by another name
    assert lib.import_file(bundled / "report-l2.h5") is lib.get("report-l2")
    assert len(list(user.glob("*.h5"))) == 1
    lib.refresh()
    assert lib.get(first.path) is first                           # a rescan keeps the entry


def test_a_run_is_an_unsaved_entry_until_saved_then_the_same_entry(folders):
    bundled, user = folders
    lib = ModelLibrary(bundled, user)
    run = lib.add_run(model("my run", 9))
    assert lib.add_run(run.model) is run and run.unsaved and run.path is None
    assert run.display_name == "my run (unsaved)" and run in lib.entries()
    saved = lib.add_model(run.model, "my run")
    assert saved is run and run.source == USER and run.path.parent == user.resolve()
    assert run.display_name == "my run" and load_model(run.path).name == "my run"
    with pytest.raises(LibraryError):
        lib.rename(lib.get("report-l2"), "x")                    # bundled models are read-only


def test_a_rename_keeps_the_entry(folders):
    bundled, user = folders
    save_model(user / "mine.h5", model("mine", 3))
    lib = ModelLibrary(bundled, user)
    e = lib.get("mine")
    renamed = lib.rename(e, "yours")
    assert renamed is e and e.name == "yours" and e.path.name == "yours.h5"
    assert not (user / "mine.h5").exists()
