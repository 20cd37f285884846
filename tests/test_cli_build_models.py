"""digitlab build-models: into the person's models folder by default, never into the package."""

from pathlib import Path

import pytest

from digitlab import cli, paths
from digitlab.io import load_model
from digitlab.library import ModelLibrary


@pytest.fixture
def quick_runs(monkeypatch):
    """The shipped recipes on 2,000 images for one epoch: where the files go is what is tested."""
    real_splits = cli._splits
    monkeypatch.setattr(cli, "_splits", lambda config, dataset=None: real_splits(
        config.replace(train_subset=2000, max_epochs=1), dataset))


def test_by_default_the_models_go_to_the_users_models_folder(quick_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    shipped = paths.bundled_models_dir() / "best.h5"
    before = shipped.read_bytes()
    assert cli.main(["build-models", "--only", "best"]) == 0
    built = tmp_path / "home" / "models" / "best.h5"
    assert capsys.readouterr().out.startswith(f"{built}: test accuracy ")
    assert load_model(built).name == "best"
    assert shipped.read_bytes() == before                 # the package's own copy is untouched
    mine = [e for e in ModelLibrary().entries() if e.path.parent == paths.user_models_dir().resolve()]
    assert [e.file_name for e in mine] == ["best.h5"]     # listed as the person's own


def test_dir_writes_where_it_says(quick_runs, tmp_path, capsys):
    out = tmp_path / "checkout" / "models"
    out.mkdir(parents=True)
    assert cli.main(["build-models", "--dir", str(out), "--only", "best"]) == 0
    assert load_model(out / "best.h5").name == "best"
    assert not (paths.user_models_dir() / "best.h5").exists()
    assert capsys.readouterr().out.startswith(f"{out / 'best.h5'}: ")


def test_an_empty_dir_is_refused_in_words(capsys):
    assert cli.main(["build-models", "--dir", " ", "--only", "best"]) == 2
    assert "--dir is empty; give a file or folder name" in capsys.readouterr().err


def test_models_readme_rebuilds_the_shipped_models_with_dir_models():
    text = (Path(__file__).resolve().parents[1] / "models" / "README.md").read_text()
    assert "    digitlab build-models --dir models\n" in text
