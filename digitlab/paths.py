"""Where digitlab finds its bundled files and where it keeps the user's.

The repository keeps ``resources/`` and ``models/`` at its top level; an installed wheel carries
them as the packages ``digitlab.resources`` and ``digitlab.models``. Both layouts are looked up
here so that nothing else needs to know which one it runs from.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    installed = _PACKAGE_DIR / name          # digitlab/resources inside a wheel
    checkout = _PACKAGE_DIR.parent / name    # <repo>/resources in a source checkout
    for candidate in (installed, checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"digitlab cannot find its {name}/ folder (looked in {installed} and {checkout}); "
        "reinstall digitlab or run it from a complete source checkout."
    )


def resources_dir() -> Path:
    """The bundled resources folder (MNIST, icons)."""
    return _find("resources")


def bundled_models_dir() -> Path:
    """The models that ship with digitlab."""
    return _find("models")


def user_data_dir() -> Path:
    """The user's own folder for trained models and downloads (created on demand).

    ``DIGITLAB_HOME`` overrides it, which the tests use to keep the real home untouched.
    """
    override = os.environ.get("DIGITLAB_HOME")
    if override:
        base = Path(override)
    elif os.name == "nt":
        base = Path(os.environ.get("APPDATA", Path.home())) / "digitlab"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "digitlab"
    base.mkdir(parents=True, exist_ok=True)
    return base


def user_models_dir() -> Path:
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
