"""digitlab on a Linux desktop: its icon files, its freedesktop ``.desktop`` file, and their install.

``digitlab-app --install-desktop-entry`` puts digitlab into the applications menu of the user who
runs it (no root, nothing outside ``$XDG_DATA_HOME``, by default ``~/.local/share``):

* ``applications/digitlab.desktop``: the bundled ``resources/digitlab.desktop`` with ``Exec`` set
  to the absolute path of the ``digitlab-app`` that ran the command, so the menu starts this very
  install whatever ``PATH`` the desktop session has;
* ``icons/hicolor/<N>x<N>/apps/digitlab.png`` for each size in :data:`ICON_SIZES` and
  ``icons/hicolor/scalable/apps/digitlab.svg``: the ``Icon=digitlab`` the entry names.

``--uninstall-desktop-entry`` removes those files again. An entry it did not write (one without
the :data:`MARKER_KEY` line) is left alone, so a hand-made ``digitlab.desktop`` is never deleted.

The icon files themselves live in ``resources/icons/``: ``digitlab.svg`` is the master drawing and
the PNGs are rendered from it by ``python -m digitlab.gui.app_icon``. Standard library only: no Qt.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from digitlab.atomic import output_error, write_bytes_atomic, write_text_atomic
from digitlab.paths import resources_dir

__all__ = ["ICON_SIZES", "APP_ID", "MARKER_KEY", "DesktopEntryError", "icon_svg", "icon_png",
           "desktop_file", "data_home", "launcher_command", "exec_line", "installed_entry_text",
           "planned_files", "install", "uninstall", "UninstallResult"]

#: The PNG sizes shipped in resources/icons/ (the hicolor theme's usual ones, up to 256 for HiDPI).
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)

#: The desktop file id and icon name; also QGuiApplication.desktopFileName, which Wayland
#: compositors use to match the window to its entry (X11 uses StartupWMClass).
APP_ID = "digitlab"

#: A key only entries written by --install-desktop-entry carry ("X-" keys are for applications).
MARKER_KEY = "X-Digitlab-Installed-By"
_MARKER_LINE = f"{MARKER_KEY}=digitlab-app --install-desktop-entry"


class DesktopEntryError(RuntimeError):
    """The desktop entry cannot be installed here; ``str()`` says why and what to do."""


def icon_svg() -> Path:
    """The master drawing of the icon."""
    return resources_dir() / "icons" / f"{APP_ID}.svg"


def icon_png(size: int) -> Path:
    """The icon rendered at ``size`` x ``size`` pixels."""
    return resources_dir() / "icons" / f"{APP_ID}-{size}.png"


def desktop_file() -> Path:
    """The bundled desktop entry (``Exec=digitlab-app``, as a packager would install it)."""
    return resources_dir() / f"{APP_ID}.desktop"


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute (the spec's rule)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher_command(argv0: str | None = None) -> list[str]:
    """The command the menu entry runs: the ``digitlab-app`` of this install, by absolute path.

    ``argv0`` (default ``sys.argv[0]``) is what started this process: the ``digitlab-app`` script
    itself, or ``main.py`` in a source checkout, or something else (``python -m digitlab.app``).
    The script beside ``sys.executable`` is the one pip installed with this interpreter; failing
    that, this interpreter runs the module, which starts the same code.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    started = Path(argv0) if os.sep in argv0 else Path(shutil.which(argv0) or argv0)
    if started.stem == "digitlab-app" and started.is_file():
        return [str(started.resolve())]
    # not resolved: a venv's python is a symlink to the base interpreter, which lacks the venv
    python = Path(sys.executable).absolute()
    beside = python.parent / "digitlab-app"
    if beside.is_file():
        return [str(beside)]
    if started.suffix == ".py" and started.is_file():
        return [str(python), str(started.resolve())]
    return [str(python), "-m", "digitlab.app"]


# The desktop entry spec: an argument holding one of these must be quoted, and inside the quotes
# these four are escaped with a backslash; "%" starts a field code, so a literal one is doubled.
_RESERVED = set(" \t\"'\\><~|&;$*?#()`")
_ESCAPED_IN_QUOTES = set('"`$\\')


def _exec_argument(arg: str) -> str:
    if any(c in arg for c in "\n\r"):
        raise DesktopEntryError(f"the path {arg!r} contains a line break, which a desktop entry cannot hold; "
                                "install digitlab in a folder whose path has none.")
    arg = arg.replace("%", "%%")
    if any(c in _RESERVED for c in arg):
        arg = '"' + "".join("\\" + c if c in _ESCAPED_IN_QUOTES else c for c in arg) + '"'
    return arg.replace("\\", "\\\\")    # the value is a string first: its backslashes are escaped


def exec_line(command: list[str]) -> str:
    """``command`` as the value of an ``Exec`` key, quoted and escaped as the spec asks."""
    return " ".join(_exec_argument(a) for a in command)


def installed_entry_text(command: list[str]) -> str:
    """The bundled desktop entry with ``Exec`` running ``command`` and the install marker added."""
    lines = desktop_file().read_text(encoding="utf-8").splitlines()
    out, in_main_group, replaced = [], False, False
    for line in lines:
        if line.startswith("["):
            if in_main_group:
                out.append(_MARKER_LINE)    # at the end of [Desktop Entry], before any action group
            in_main_group = line.strip() == "[Desktop Entry]"
        if in_main_group and line.split("=", 1)[0].strip() == "Exec":
            line, replaced = f"Exec={exec_line(command)}", True
        out.append(line)
    if in_main_group:
        out.append(_MARKER_LINE)
    if not replaced:
        raise DesktopEntryError(f"{desktop_file()} has no Exec line in [Desktop Entry]; "
                                "reinstall digitlab.")
    return "\n".join(out) + "\n"


def planned_files(home: Path | None = None) -> dict[Path, Path | None]:
    """Each file --install-desktop-entry writes, mapped to the bundled file it copies.

    The desktop entry maps to ``None``: it is written from :func:`installed_entry_text`.
    """
    home = data_home() if home is None else Path(home)
    icons = home / "icons" / "hicolor"
    files: dict[Path, Path | None] = {home / "applications" / f"{APP_ID}.desktop": None}
    for size in ICON_SIZES:
        files[icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = icon_png(size)
    files[icons / "scalable" / "apps" / f"{APP_ID}.svg"] = icon_svg()
    return files


def _require_linux() -> None:
    if not sys.platform.startswith("linux"):
        raise DesktopEntryError(
            "desktop entries are a Linux (freedesktop) feature; on macOS and Windows start digitlab "
            "with the digitlab-app command (see the README for a shortcut)."
        )


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the desktop entry and the icons under ``home`` (default :func:`data_home`).

    Files are written atomically and replace an earlier install. Returns the paths written.
    """
    _require_linux()
    files = planned_files(home)
    missing = [str(src) for src in files.values() if src is not None and not src.is_file()]
    if missing:
        raise DesktopEntryError(f"digitlab's icon files are missing ({', '.join(missing)}); "
                                "reinstall digitlab.")
    text = installed_entry_text(launcher_command() if command is None else command)
    # icons first, so a menu that sees the entry appear can already find its icon
    for target, source in files.items():
        if source is not None:
            write_bytes_atomic(target, source.read_bytes())
    entry = next(target for target, source in files.items() if source is None)
    write_text_atomic(entry, text)
    return list(files)


@dataclass
class UninstallResult:
    removed: list[Path]
    kept: list[Path]        # a digitlab.desktop that --install-desktop-entry did not write


def _written_by_us(entry: Path) -> bool:
    try:
        text = entry.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False        # not a text file, so certainly not one we wrote
    except OSError as exc:
        raise output_error(entry, exc, doing="read") from exc
    return _MARKER_LINE in text.splitlines()


def uninstall(home: Path | None = None) -> UninstallResult:
    """Remove what :func:`install` wrote under ``home``; folders stay (others may share them).

    A file that cannot be read or removed raises :class:`digitlab.atomic.OutputError` in words.
    """
    _require_linux()
    result = UninstallResult(removed=[], kept=[])
    for target, source in planned_files(home).items():
        if not (target.is_file() or target.is_symlink()):
            continue
        if source is None and not _written_by_us(target):
            result.kept.append(target)
            continue
        try:
            target.unlink()
        except OSError as exc:
            raise output_error(target, exc, doing="remove") from exc
        result.removed.append(target)
    return result
