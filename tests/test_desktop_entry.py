"""digitlab's freedesktop entry and icons: the bundled files, and the user-level install and removal
that ``digitlab-app --install-desktop-entry`` / ``--uninstall-desktop-entry`` do."""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from digitlab import app, desktop_entry
from digitlab.desktop_entry import APP_ID, ICON_SIZES, MARKER_KEY, DesktopEntryError

ROOT = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="desktop entries are Linux's")


def read_entry(text: str) -> dict[str, str]:
    """The [Desktop Entry] group's keys, case kept, no interpolation (values hold % and ;)."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), comment_prefixes=("#",))
    parser.optionxform = str
    parser.read_string(text)
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def split_exec(value: str) -> list[str]:
    """An Exec value back to its arguments, by the desktop entry spec (string escapes, then quoting)."""
    value = value.replace("\\\\", "\x00").replace("\\s", " ").replace("\x00", "\\")
    args, arg, quoted, i, started = [], "", False, 0, False
    while i < len(value):
        c = value[i]
        if quoted and c == "\\":
            arg, i = arg + value[i + 1], i + 2
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if started or arg:
                args.append(arg)
            arg, started = "", False
        else:
            arg += c
        i += 1
    if started or arg:
        args.append(arg)
    return [a.replace("%%", "%") for a in args]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# ---------------------------------------------------------------------------- the bundled files
def test_the_bundled_entry_has_the_keys_a_menu_needs():
    keys = read_entry(desktop_entry.desktop_file().read_text(encoding="utf-8"))
    assert keys["Type"] == "Application"
    assert keys["Name"] == "digitlab"
    assert keys["GenericName"] and keys["Comment"]
    assert keys["Exec"] == "digitlab-app"            # what a packager installs; ours rewrites it
    assert keys["Icon"] == APP_ID
    assert keys["Terminal"] == "false"
    assert keys["StartupWMClass"] == APP_ID
    assert keys["Categories"].endswith(";") and "Education" in keys["Categories"].split(";")
    assert "TryExec" not in keys                     # a relative TryExec would hide an absolute Exec
    assert MARKER_KEY not in keys


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_the_bundled_entry_passes_desktop_file_validate():
    out = subprocess.run(["desktop-file-validate", str(desktop_entry.desktop_file())],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "error" not in out.stdout, out.stdout


def test_the_icon_ships_as_svg_and_as_png_at_every_size():
    assert desktop_entry.icon_svg().read_text(encoding="utf-8").lstrip().startswith("<?xml")
    for size in ICON_SIZES:
        assert png_size(desktop_entry.icon_png(size)) == (size, size)


# ---------------------------------------------------------------------------- Exec
def test_exec_quotes_and_escapes_what_the_spec_reserves():
    command = ["/opt/my apps/bin/python", "/home/x/100% \"sure\"/main.py", "/plain/$HOME`x`\\y"]
    line = desktop_entry.exec_line(command)
    assert line.startswith('"/opt/my apps/bin/python" ')
    assert "%%" in line and "%" not in line.replace("%%", "")
    assert split_exec(line) == command
    assert desktop_entry.exec_line(["/usr/bin/digitlab-app"]) == "/usr/bin/digitlab-app"


def test_a_line_break_in_the_path_is_refused_in_words():
    with pytest.raises(DesktopEntryError, match="line break"):
        desktop_entry.exec_line(["/odd\nplace/digitlab-app"])


def test_the_launcher_is_the_digitlab_app_that_ran(tmp_path):
    script = tmp_path / "bin" / "digitlab-app"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    assert desktop_entry.launcher_command(str(script)) == [str(script.resolve())]


def test_from_main_py_the_launcher_is_this_interpreters_digitlab_app_or_main_py():
    command = desktop_entry.launcher_command(str(ROOT / "main.py"))
    beside = Path(sys.executable).absolute().parent / "digitlab-app"
    if beside.is_file():
        assert command == [str(beside)]
    else:
        assert command == [str(Path(sys.executable).absolute()), str((ROOT / "main.py").resolve())]


# ---------------------------------------------------------------------------- install, uninstall
@linux_only
def test_install_writes_the_entry_and_icons_under_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    command = ["/opt/digit lab/bin/digitlab-app"]
    written = desktop_entry.install(command=command)
    entry = tmp_path / "share" / "applications" / "digitlab.desktop"
    assert set(written) == set(desktop_entry.planned_files()) and entry in written
    keys = read_entry(entry.read_text(encoding="utf-8"))
    assert split_exec(keys["Exec"]) == command
    assert keys[MARKER_KEY] == "digitlab-app --install-desktop-entry"
    assert keys["Icon"] == APP_ID
    icons = tmp_path / "share" / "icons" / "hicolor"
    for size in ICON_SIZES:
        installed = icons / f"{size}x{size}" / "apps" / "digitlab.png"
        assert installed.read_bytes() == desktop_entry.icon_png(size).read_bytes()
    svg = icons / "scalable" / "apps" / "digitlab.svg"
    assert svg.read_bytes() == desktop_entry.icon_svg().read_bytes()
    assert len(written) == len(ICON_SIZES) + 2


@linux_only
def test_uninstall_removes_exactly_what_install_wrote(tmp_path):
    share = tmp_path / "share"
    neighbour = share / "applications" / "other.desktop"
    other_icon = share / "icons" / "hicolor" / "48x48" / "apps" / "other.png"
    for path in (neighbour, other_icon):
        path.parent.mkdir(parents=True)
        path.write_text("someone else's")
    before = {p for p in share.rglob("*") if p.is_file()}
    written = desktop_entry.install(share, command=["/usr/bin/digitlab-app"])
    assert {p for p in share.rglob("*") if p.is_file()} == before | set(written)

    result = desktop_entry.uninstall(share)
    assert sorted(result.removed) == sorted(written) and result.kept == []
    assert {p for p in share.rglob("*") if p.is_file()} == before
    again = desktop_entry.uninstall(share)
    assert again.removed == [] and again.kept == []


@linux_only
def test_uninstall_keeps_a_digitlab_entry_it_did_not_write(tmp_path):
    entry = tmp_path / "applications" / "digitlab.desktop"
    entry.parent.mkdir(parents=True)
    entry.write_text("[Desktop Entry]\nType=Application\nName=digitlab (my own)\nExec=/x/digitlab-app\n")
    result = desktop_entry.uninstall(tmp_path)
    assert result.kept == [entry] and result.removed == []
    assert entry.read_text().count("my own") == 1


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_elsewhere_the_options_say_they_are_for_linux_and_exit_2(platform, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    for option in ("--install-desktop-entry", "--uninstall-desktop-entry"):
        assert app.main(["digitlab-app", option]) == 2
        err = capsys.readouterr().err
        assert "Linux" in err and "macOS and Windows" in err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- the app's options
@linux_only
def test_the_app_options_install_and_uninstall(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert app.main(["digitlab-app", "--install-desktop-entry"]) == 0
    out = capsys.readouterr().out
    entry = tmp_path / "applications" / "digitlab.desktop"
    assert str(entry) in out and "--uninstall-desktop-entry" in out
    assert split_exec(read_entry(entry.read_text())["Exec"]) == desktop_entry.launcher_command()
    assert app.main(["digitlab-app", "--uninstall-desktop-entry"]) == 0
    out = capsys.readouterr().out
    assert out.count("removed ") == len(ICON_SIZES) + 2
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_two_options_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        app.main(["digitlab-app", "--install-desktop-entry", "--uninstall-desktop-entry"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_help_describes_the_app_its_options_and_an_example(capsys):
    with pytest.raises(SystemExit) as exit_:
        app.main(["/somewhere/bin/digitlab-app", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: digitlab-app [-h] [--version]")
    assert "neural network" in out and "MNIST" in out
    for option in ("--version", "--install-desktop-entry", "--uninstall-desktop-entry", "-platform"):
        assert option in out
    assert "examples:" in out and "digitlab --help" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        app.main(["digitlab-app", "--version"])
    assert exit_.value.code == 0
    from digitlab import __version__
    assert capsys.readouterr().out == f"digitlab {__version__}\n"


def test_main_py_shows_the_same_help_and_refuses_an_unknown_option():
    helped = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: python main.py [-h]")
    assert "--install-desktop-entry" in helped.stdout
    bad = subprocess.run([sys.executable, "main.py", "-platform", "offscreen", "--bogus"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "unrecognized arguments: --bogus" in bad.stderr


@linux_only
def test_a_file_that_cannot_be_removed_is_named_and_the_app_exits_2(tmp_path, monkeypatch, capsys):
    import errno

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    desktop_entry.install(command=["/usr/bin/digitlab-app"])

    def refuse(self, missing_ok=False):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    assert app.main(["digitlab-app", "--uninstall-desktop-entry"]) == 2
    err = capsys.readouterr().err
    assert f"cannot remove {tmp_path / 'applications' / 'digitlab.desktop'}: permission was denied" in err
