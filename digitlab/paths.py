"""Where digitlab finds its bundled files and where it keeps the user's.

The repository keeps ``resources/`` and ``models/`` at its top level; an installed wheel carries
them as the packages ``digitlab.resources`` and ``digitlab.models``. Both layouts are looked up
here so that nothing else needs to know which one it runs from.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

log = logging.getLogger(__name__)


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


#: The environment variable that puts the user's data folder somewhere else (the tests use it).
HOME_ENV = "DIGITLAB_HOME"

# The platform folder, once chosen (and once moved from the old place), per (new, old) pair: the
# choice is made once per process but follows XDG_DATA_HOME and friends if they change.
_chosen: dict[tuple[Path, Path], Path] = {}
# What adopt_data_dir did, for the log file: it runs before the log exists (the log is in the folder).
_notes: list[str] = []


def platform_data_dir() -> Path:
    """The per-user data folder of this platform, from ``platformdirs`` (not created here).

    Linux: ``$XDG_DATA_HOME/digitlab`` (``~/.local/share/digitlab``); macOS:
    ``~/Library/Application Support/digitlab``; Windows: ``%LOCALAPPDATA%\\digitlab``.
    """
    import platformdirs  # imported here: only a run that needs the user's folder pays for it

    return Path(platformdirs.user_data_dir("digitlab", appauthor=False))


def legacy_data_dir() -> Path:
    """Where digitlab 0.x kept the user's data before it used ``platformdirs``.

    ``%APPDATA%\\digitlab`` on Windows and ``$XDG_DATA_HOME/digitlab`` (``~/.local/share``)
    everywhere else, macOS included. On Linux that is the folder ``platformdirs`` gives too.
    """
    if os.name == "nt":
        return Path(os.environ.get("APPDATA") or Path.home()) / "digitlab"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "digitlab"


def _has_files(folder: Path) -> bool:
    """Does ``folder`` hold at least one file (an empty ``models/`` made on demand is not data)?"""
    try:
        return any(p.is_file() for p in folder.rglob("*"))
    except OSError:
        return False  # unreadable: nothing digitlab could use there either


def adopt_data_dir(new: Path, old: Path) -> Path:
    """The folder to use when the platform's folder is ``new`` and an older digitlab used ``old``.

    ``new`` when it already holds files, or when ``old`` holds none (the usual case, and every
    case on Linux, where the two are the same). Otherwise the person's models, digits and logs are
    in ``old`` only: the folder is moved to ``new`` with one rename, which is atomic and never
    leaves a half-copied folder. When the rename cannot be done (``old`` on another drive, as
    with a redirected Windows profile, or no permission), ``old`` is used where it is: nothing is
    lost and nothing is copied. Another digitlab process that moved it first is noticed too.
    """
    if new == old or _has_files(new) or not _has_files(old):
        return new
    try:
        new.parent.mkdir(parents=True, exist_ok=True)
        if new.is_dir():                # no files (checked above): the rename needs the name free
            for folder in sorted(new.rglob("*"), reverse=True) + [new]:
                folder.rmdir()          # never a file: one that appeared meanwhile stops the move
        os.rename(old, new)
    except OSError as exc:
        if _has_files(new):             # another process moved it a moment ago
            return new
        _note(f"Kept the data folder {old} (could not move it to {new}: {exc})")
        return old
    _note(f"Moved the data folder from {old} to {new}")
    return new


def _note(text: str) -> None:
    log.warning("%s", text)     # on the terminal (logging's last resort) before the log is set up
    _notes.append(text)


def data_dir_notes() -> list[str]:
    """What was done to the data folder in this process (a move from the old place), in words."""
    return list(_notes)


def user_data_dir() -> Path:
    """The user's own folder for trained models, personal digits, downloads and the log (created
    on demand).

    ``DIGITLAB_HOME`` overrides it (the tests use it to keep the real home untouched); otherwise
    it is :func:`platform_data_dir`, where the folder of an older digitlab is moved on first use
    (:func:`adopt_data_dir`).
    """
    override = os.environ.get(HOME_ENV)
    if override:
        base = Path(override)
    else:
        new, old = platform_data_dir(), legacy_data_dir()
        base = _chosen.get((new, old))
        if base is None:
            base = _chosen[(new, old)] = adopt_data_dir(new, old)
    base.mkdir(parents=True, exist_ok=True)
    return base


def user_models_dir() -> Path:
    """The user's models: ``models/`` in :func:`user_data_dir`, what the library lists as theirs."""
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
