"""The user's data folder: DIGITLAB_HOME, the platform's folder, and moving an older digitlab's."""

import errno
import os
from pathlib import Path

import platformdirs
import pytest

from digitlab import paths


def test_digitlab_home_overrides_the_platform_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "elsewhere"))
    assert paths.user_data_dir() == tmp_path / "elsewhere"
    assert paths.user_models_dir() == tmp_path / "elsewhere" / "models"
    assert (tmp_path / "elsewhere" / "models").is_dir()


def test_the_test_session_never_uses_the_real_data_folder():
    home = Path(os.environ["DIGITLAB_HOME"])
    assert home != paths.platform_data_dir() and home != paths.legacy_data_dir()
    assert os.environ["DIGITLAB_LOG"] == "off"


def test_without_digitlab_home_it_is_the_platform_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DIGITLAB_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))      # honoured on Linux and BSD
    monkeypatch.setenv("APPDATA", str(tmp_path / "roaming"))        # read on Windows
    expected = Path(platformdirs.user_data_dir("digitlab", appauthor=False))
    assert paths.user_data_dir() == expected
    assert expected.is_dir()
    if os.name == "posix" and not expected.as_posix().startswith(str(Path.home() / "Library")):
        # Linux: the folder of older digitlabs is the platform's own; nothing moves
        assert expected == tmp_path / "xdg" / "digitlab" == paths.legacy_data_dir()


MODEL = (paths.bundled_models_dir() / "best.h5").read_bytes()


def put_data(folder: Path) -> None:
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "mine.h5").write_bytes(MODEL)
    (folder / "my-digits.npz").write_bytes(b"my digits")


def test_an_older_folder_with_data_is_moved_to_the_new_place(tmp_path):
    old, new = tmp_path / "share" / "digitlab", tmp_path / "Application Support" / "digitlab"
    put_data(old)
    assert paths.adopt_data_dir(new, old) == new
    assert (new / "models" / "mine.h5").read_bytes() == MODEL
    assert (new / "my-digits.npz").read_bytes() == b"my digits"
    assert not old.exists()
    assert f"Moved the data folder from {old} to {new}" in paths.data_dir_notes()


def test_an_empty_new_folder_does_not_stop_the_move(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    put_data(old)
    (new / "models" / "mnist").mkdir(parents=True)     # made on demand by an earlier start, empty
    assert paths.adopt_data_dir(new, old) == new
    assert (new / "models" / "mine.h5").is_file() and not old.exists()


def test_a_file_in_the_new_folder_is_never_removed_to_make_room(tmp_path, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    put_data(old)
    (new / "models").mkdir(parents=True)
    real_has_files = paths._has_files
    # a file that appears in the new folder after the check (another digitlab saving a model)
    monkeypatch.setattr(paths, "_has_files", lambda folder: folder == old or real_has_files(folder))
    (new / "models" / "just-saved.h5").write_bytes(b"saved a moment ago")
    assert paths.adopt_data_dir(new, old) == new      # the other process's folder is the one to use
    assert (new / "models" / "just-saved.h5").read_bytes() == b"saved a moment ago"
    assert (old / "models" / "mine.h5").read_bytes() == MODEL


def test_the_new_folder_wins_once_it_holds_data_and_the_old_is_left_alone(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    put_data(old)
    new.mkdir()
    (new / "best-of-mine.h5").write_bytes(b"newer")
    assert paths.adopt_data_dir(new, old) == new
    assert (old / "models" / "mine.h5").read_bytes() == MODEL
    assert not (new / "models").exists()


def test_an_old_folder_without_files_is_not_moved(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "models").mkdir(parents=True)
    assert paths.adopt_data_dir(new, old) == new
    assert old.is_dir() and not new.exists()


def test_a_folder_that_cannot_be_moved_is_used_where_it_is(tmp_path, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    put_data(old)

    def across_drives(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link", str(src))

    monkeypatch.setattr(paths.os, "rename", across_drives)
    assert paths.adopt_data_dir(new, old) == old
    assert (old / "models" / "mine.h5").read_bytes() == MODEL
    assert any(note.startswith(f"Kept the data folder {old}") for note in paths.data_dir_notes())


@pytest.mark.parametrize("moved", [True, False], ids=["moved", "kept"])
def test_user_data_dir_finds_the_models_of_an_older_digitlab(tmp_path, monkeypatch, moved):
    """macOS and Windows: the platform's folder differs from where digitlab 0.x kept things."""
    old, new = tmp_path / "old" / "digitlab", tmp_path / "new" / "digitlab"
    put_data(old)
    monkeypatch.delenv("DIGITLAB_HOME")
    monkeypatch.setattr(paths, "platform_data_dir", lambda: new)
    monkeypatch.setattr(paths, "legacy_data_dir", lambda: old)
    if not moved:
        monkeypatch.setattr(paths.os, "rename", lambda src, dst: (_ for _ in ()).throw(PermissionError(dst)))
    folder = new if moved else old
    assert paths.user_data_dir() == folder
    assert (paths.user_models_dir() / "mine.h5").read_bytes() == MODEL
    from digitlab.library import ModelLibrary
    library = ModelLibrary(bundled_dir=tmp_path / "none")
    assert [(e.file_name, e.path.parent) for e in library.entries()] == [("mine.h5", folder / "models")]
