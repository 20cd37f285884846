"""Every package of the source tree is listed in pyproject.toml, so the wheel ships it.

setuptools installs only the packages listed under [tool.setuptools] packages; an editable install
(``pip install -e .``) finds the others anyway, so a forgotten one only fails for whoever installs
the wheel (digitlab.library was missing: the CLI and the app could not import it)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_in_the_source_tree_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "digitlab").rglob("__init__.py")}
    assert "digitlab.library" in on_disk and "digitlab.gui" in on_disk
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    # the two that live outside digitlab/ in the checkout but ship inside it
    assert config["package-dir"]["digitlab.resources"] == "resources"
    assert config["package-dir"]["digitlab.models"] == "models"
    assert {"digitlab.resources", "digitlab.models"} <= listed
