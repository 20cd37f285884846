"""Writes that never destroy (issue 7): kills, races, full disks, odd targets and leftovers.

The kill and race tests run real processes (SIGKILL, two writers released by one barrier); the
full-disk tests use a 64 KiB tmpfs when running as root can mount one, and a file size limit in a
child process otherwise (that one runs everywhere).
"""

import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab import atomic
from digitlab.atomic import (
    OutputError,
    OutputExistsError,
    atomic_folder,
    atomic_path,
    check_output,
    clean_leftovers,
    output_lock,
    replace_folder,
    staging_folder,
    write_bytes_atomic,
    write_text_atomic,
)

ROOT = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
N_FILES = 12


def _run(script: str, *args, env=None, **kwargs) -> subprocess.Popen:
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=full_env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _fill(folder: Path, tag: str) -> None:
    for i in range(N_FILES):
        (folder / f"f{i:02d}").write_text(tag)


def _tag_of_complete(folder: Path) -> str:
    """The one tag every file of a complete folder holds; fails for a missing or mixed folder."""
    assert folder.is_dir(), f"{folder} is missing"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"f{i:02d}" for i in range(N_FILES)], names
    tags = {(folder / n).read_text() for n in names}
    assert len(tags) == 1, tags
    return tags.pop()


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------------------- kill -9
SWAPPER = f"""
import os, sys
from pathlib import Path
from digitlab.atomic import staging_folder, replace_folder
target = Path(sys.argv[1])
n = 0
while True:
    n += 1
    staged = staging_folder(target)
    for i in range({N_FILES}):
        (staged / f"f{{i:02d}}").write_text(f"{{os.getpid()}}-{{n}}")
    replace_folder(staged, target, replace=True)
    if n == 1:
        print("ready", flush=True)
"""


@pytest.mark.parametrize("mode", ["renameat2", "fallback"])
@pytest.mark.slow
def test_folder_swap_killed_at_random_moments_leaves_old_or_new_folder(tmp_path, mode):
    env = {"DIGITLAB_NO_RENAMEAT2": "1"} if mode == "fallback" else {}
    target = tmp_path / "out"
    target.mkdir()
    _fill(target, "initial")
    rng = random.Random(7)
    tags, kills_mid_write = set(), 0
    for _ in range(30 if mode == "renameat2" else 20):
        proc = _run(SWAPPER, target, env=env)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(rng.uniform(0, 0.015))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close(), proc.stderr.close(), proc.stdin.close()
        assert proc.returncode == -signal.SIGKILL
        kills_mid_write += bool(_hidden(tmp_path))
        if mode == "renameat2":
            tags.add(_tag_of_complete(target))     # complete at once: the swap is one step
        else:
            clean_leftovers(tmp_path)              # a kill between the two renames is repaired
            tags.add(_tag_of_complete(target))
    assert kills_mid_write >= 5          # the kills really landed in the middle of the work
    assert len(tags - {"initial"}) >= 5  # and new folders really were swapped in
    assert all(re.fullmatch(r"\d+-\d+", t) for t in tags - {"initial"})
    clean_leftovers(tmp_path)
    assert _hidden(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


SWAP_N = f"""
import sys
from pathlib import Path
from digitlab.atomic import staging_folder, replace_folder
target = Path(sys.argv[1])
for n in range(1, int(sys.argv[2]) + 1):
    staged = staging_folder(target)
    for i in range({N_FILES}):
        (staged / f"f{{i:02d}}").write_text(f"swap {{n}}")
    replace_folder(staged, target, replace=True)
"""


def test_a_reader_never_finds_the_folder_missing_while_it_is_swapped(tmp_path):
    if not atomic._renameat2_ok:
        pytest.skip("renameat2 is not available here; the fallback has a moment without the folder")
    target = tmp_path / "out"
    target.mkdir()
    _fill(target, "initial")
    proc = _run(SWAP_N, target, 300)
    looks = misses = 0
    while proc.poll() is None:
        looks += 1
        misses += not os.path.isdir(target)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert looks > 1000 and misses == 0
    assert _tag_of_complete(target) == "swap 300" and _hidden(tmp_path) == []


DIE_BETWEEN = """
import os, sys
from pathlib import Path
from digitlab import atomic
target = Path(sys.argv[1])
staged = atomic.staging_folder(target)
for i in range(%d):
    (staged / f"f{i:02d}").write_text("new")
if sys.argv[2] == "after-first-rename":        # fallback swap: target is aside as .old
    real = os.rename
    def rename(a, b):
        real(a, b)
        if str(b).endswith(".old"):
            os._exit(9)
    atomic.os.rename = rename
else:                                           # exchange done, old folder not yet removed
    atomic._remove = lambda path: os._exit(9)
atomic.replace_folder(staged, target, replace=True)
""" % N_FILES  # noqa: UP031 (a %-template: the script's own f-string braces stay as they are)


def test_fallback_swap_killed_between_its_renames_is_put_back_by_the_next_writer(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    _fill(target, "old")
    proc = _run(DIE_BETWEEN, target, "after-first-rename", env={"DIGITLAB_NO_RENAMEAT2": "1"})
    proc.communicate(timeout=20)
    assert proc.returncode == 9
    assert not target.exists()                           # the moment the fallback cannot avoid
    assert len([n for n in _hidden(tmp_path) if n.endswith(".old")]) == 1
    staged = staging_folder(target)                     # the next writer repairs it first
    assert _tag_of_complete(target) == "old"
    assert _hidden(tmp_path) == [staged.name]
    os.rmdir(staged)


def test_exchange_killed_before_removing_the_old_folder_keeps_the_new_one(tmp_path):
    if not atomic._renameat2_ok:
        pytest.skip("renameat2 is not available here")
    target = tmp_path / "out"
    target.mkdir()
    _fill(target, "old")
    proc = _run(DIE_BETWEEN, target, "after-exchange")
    proc.communicate(timeout=20)
    assert proc.returncode == 9
    assert _tag_of_complete(target) == "new"
    [left] = _hidden(tmp_path)
    assert _tag_of_complete(tmp_path / left) == "old"    # the old folder, under the staged name
    assert clean_leftovers(tmp_path) == [tmp_path / left]
    assert _hidden(tmp_path) == [] and _tag_of_complete(target) == "new"


# ---------------------------------------------------------------------------- races
RACER = """
import sys
from pathlib import Path
from digitlab.atomic import OutputExistsError, atomic_folder, write_bytes_atomic
path, tag, kind = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
print("ready", flush=True)
sys.stdin.readline()                       # the barrier: both start together
try:
    if kind == "file":
        write_bytes_atomic(path, tag.encode() * 500_000, replace=False)
    else:
        with atomic_folder(path, replace=False) as staged:
            for i in range(50):
                (staged / f"f{i:02d}").write_text(tag)
    print("saved", flush=True)
except OutputExistsError as exc:
    print("refused:", exc, flush=True)
"""


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_two_writers_without_replace_exactly_one_succeeds(tmp_path, kind):
    for round_ in range(4):
        target = tmp_path / f"out{round_}"
        procs = [_run(RACER, target, tag, kind) for tag in ("A", "B")]
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = {tag: p.communicate(timeout=30)[0].strip() for tag, p in zip("AB", procs)}
        winners = [tag for tag, out in outs.items() if out == "saved"]
        assert len(winners) == 1, outs
        [loser] = [out for out in outs.values() if out != "saved"]
        assert loser.startswith("refused: cannot write") and "--force" in loser, loser
        if kind == "file":
            assert target.read_bytes() == winners[0].encode() * 500_000
        else:
            assert {p.read_text() for p in target.iterdir()} == {winners[0]}
            assert len(list(target.iterdir())) == 50
    assert _hidden(tmp_path) == []


def test_a_folder_that_appears_empty_after_the_check_is_not_replaced(tmp_path, monkeypatch):
    # os.rename would silently replace an empty folder; the no-replace move must not.
    target = tmp_path / "out"
    staged = staging_folder(target)
    _fill(staged, "mine")
    target.mkdir()                                        # "another process" made it meanwhile
    (tmp_path / "theirs").mkdir()
    monkeypatch.setattr(atomic, "_check_target", lambda *a, **k: None)   # the check came earlier
    with pytest.raises(OutputExistsError, match="appeared while this was being written"):
        replace_folder(staged, target, replace=False)
    assert target.is_dir() and list(target.iterdir()) == []
    assert _tag_of_complete(staged) == "mine"


LOCKER = """
import sys
from digitlab.atomic import OutputError, output_lock
try:
    with output_lock(sys.argv[1]):
        print("locked", flush=True)
except OutputError as exc:
    print("busy:", exc, flush=True)
"""


def test_output_lock_refuses_a_second_process_while_held(tmp_path):
    model = tmp_path / "same.h5"
    with output_lock(model):
        assert (tmp_path / ".same.h5.lock").read_text().strip() == str(os.getpid())
        out = _run(LOCKER, model).communicate(timeout=20)[0].strip()
        assert out == (f"busy: another digitlab process is writing {model} right now; wait for it "
                       f"to finish or choose another output")
        with pytest.raises(OutputError, match="another digitlab process"):   # also in-process
            with output_lock(model):
                pass  # taking the lock is the test
        write_bytes_atomic(model, b"saved while locked")   # its tidying leaves a held lock alone
        assert _run(LOCKER, model).communicate(timeout=20)[0].startswith("busy:")
    assert not (tmp_path / ".same.h5.lock").exists()
    assert _run(LOCKER, model).communicate(timeout=20)[0].strip() == "locked"
    assert os.listdir(tmp_path) == ["same.h5"] and model.read_bytes() == b"saved while locked"


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    model = tmp_path / "m.h5"
    holder = _run("import sys, time\nfrom digitlab.atomic import output_lock\n"
                  "with output_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)",
                  model)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(OutputError, match="another digitlab process"):
        with output_lock(model):
            pass  # taking the lock is the test
    holder.kill()
    holder.communicate(timeout=10)
    assert (tmp_path / ".m.h5.lock").exists()             # the file stays; the kernel's lock went
    with output_lock(model):
        pass  # the lock can be taken again
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- full disk
@pytest.fixture
def small_tmpfs(tmp_path):
    """A 64 KiB tmpfs (needs root and permission to mount), unmounted afterwards."""
    if not IS_ROOT:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_is_a_clean_error_and_keeps_the_old_file(small_tmpfs):
    path = small_tmpfs / "model.h5"
    old = bytes(range(256)) * 40                          # 10 KiB
    write_bytes_atomic(path, old)
    with pytest.raises(OutputError) as info:
        write_bytes_atomic(path, b"\1" * 200_000)
    assert str(info.value) == (f"cannot write {path}: the disk is full (No space left on device); "
                               f"free some space or choose another place")
    assert path.read_bytes() == old
    assert os.listdir(small_tmpfs) == ["model.h5"]

    with pytest.raises(OutputError, match="the disk is full"):   # a writer that needs a path
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, np.zeros(50_000))          # NumPy's short write has no errno
    with pytest.raises(OutputError, match="the disk is full"):   # a folder
        with atomic_folder(small_tmpfs / "report", replace=False) as staged:
            (staged / "report.html").write_bytes(b"x" * 200_000)
    assert path.read_bytes() == old
    assert os.listdir(small_tmpfs) == ["model.h5"]


def test_read_only_file_system_is_refused_before_any_work(small_tmpfs):
    write_text_atomic(small_tmpfs / "old.txt", "kept")
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    expected = (f"cannot write {small_tmpfs / 'new.h5'}: the folder is on a read-only file system "
                f"(Read-only file system); choose a writable place")
    with pytest.raises(OutputError) as info:
        check_output(small_tmpfs / "new.h5", replace=False)
    assert str(info.value) == expected
    with pytest.raises(OutputError, match="read-only file system"):
        write_text_atomic(small_tmpfs / "old.txt", "new")
    assert (small_tmpfs / "old.txt").read_text() == "kept"


FSIZE = """
import resource, signal, sys
from digitlab.atomic import OutputError, write_bytes_atomic
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    write_bytes_atomic(sys.argv[1], b"x" * 1_000_000)
    print("saved")
except OutputError as exc:
    print(exc)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no RLIMIT_FSIZE")
def test_file_size_limit_is_a_clean_error_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"old model")
    out, err = _run(FSIZE, path).communicate(timeout=20)
    assert out.strip() == (f"cannot write {path}: the file is larger than the file size limit "
                           f"allows (File too large); raise the limit (ulimit -f) or choose "
                           f"another place"), err
    assert path.read_bytes() == b"old model"
    assert os.listdir(tmp_path) == ["model.h5"]


@pytest.mark.skipif(IS_ROOT, reason="root ignores folder permissions (the tmpfs test covers it)")
def test_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "old.txt").write_text("kept")
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission was denied.*choose a folder you can write"):
            check_output(folder / "new.txt", replace=False)
        with pytest.raises(PermissionError):                 # an OutputError that is both
            write_text_atomic(folder / "old.txt", "new")
        assert (folder / "old.txt").read_text() == "kept"
    finally:
        folder.chmod(0o755)


# ---------------------------------------------------------------------------- targets
def test_replacing_keeps_permissions_and_needs_permission_to_replace(tmp_path):
    path = tmp_path / "secret.h5"
    path.write_bytes(b"old")
    path.chmod(0o600)
    with pytest.raises(OutputExistsError) as info:
        write_bytes_atomic(path, b"new", replace=False)
    assert str(info.value) == (f"cannot write {path}: it already exists; choose another name or "
                               f"add --force to replace it")
    assert isinstance(info.value, FileExistsError) and path.read_bytes() == b"old"
    write_bytes_atomic(path, b"new", replace=True)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    fresh = write_text_atomic(tmp_path / "fresh.txt", "x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask     # not mkstemp's 0600

    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    with atomic_folder(folder, replace=True) as staged:
        (staged / "a").write_text("new")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and (folder / "a").read_text() == "new"


def test_symlink_target_is_refused_and_what_it_points_to_is_untouched(tmp_path):
    real = tmp_path / "real.h5"
    real.write_bytes(b"precious")
    link = tmp_path / "link.h5"
    link.symlink_to(real)
    for write in (lambda: write_bytes_atomic(link, b"x"), lambda: check_output(link, replace=True)):
        with pytest.raises(OutputError, match=r"link\.h5: it is a symbolic link to .*real\.h5"):
            write()
    (tmp_path / "dir").mkdir()
    (tmp_path / "dirlink").symlink_to(tmp_path / "dir")
    with pytest.raises(OutputError, match="symbolic link"):
        with atomic_folder(tmp_path / "dirlink", replace=True):
            pass  # entering is refused
    assert real.read_bytes() == b"precious" and link.is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["dir", "dirlink", "link.h5", "real.h5"]


def test_fifo_and_devices_are_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match=r"pipe: it is a FIFO \(named pipe\)"):
        write_bytes_atomic(fifo, b"x")                    # refused without opening (no hang)
    with pytest.raises(OutputError, match="/dev/null: it is a device"):
        check_output("/dev/null", replace=True)
    if IS_ROOT:
        node = tmp_path / "null"
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        with pytest.raises(OutputError, match="it is a device"):
            write_bytes_atomic(node, b"x")
        assert stat.S_ISCHR(node.lstat().st_mode)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_an_output_is_never_one_of_the_inputs(tmp_path):
    model = tmp_path / "m.h5"
    model.write_bytes(b"model")
    (tmp_path / "sub").mkdir()
    hard = tmp_path / "hard.h5"
    os.link(model, hard)
    for same in (model, tmp_path / "sub" / ".." / "m.h5", hard):
        with pytest.raises(OutputError, match=r"it is also an input .*m\.h5.*destroy"):
            check_output(same, replace=True, inputs=[model])
    with pytest.raises(OutputError, match="holds the input"):
        check_output(tmp_path, replace=True, inputs=[model], folder=True)
    from digitlab.io import export_weights
    from digitlab.nn import Network
    with pytest.raises(OutputError, match="also an input"):
        export_weights(Network((4, 3, 2)), model, "npz", inputs=[model])
    assert model.read_bytes() == b"model"
    assert check_output(tmp_path / "other.h5", replace=False, inputs=[model]) == tmp_path / "other.h5"


def test_kind_mismatch_and_bad_parent_are_sentences(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(OutputError, match=r"dir: it is a folder; choose a file name"):
        check_output(tmp_path / "dir", replace=True)
    with pytest.raises(OutputError, match=r"file: it is a file, not a folder; choose a folder name"):
        check_output(tmp_path / "file", replace=True, folder=True)
    with pytest.raises(OutputError, match=r"file is a file, not a folder; choose another place"):
        check_output(tmp_path / "file" / "deeper" / "out.h5", replace=False)
    assert check_output(tmp_path / "new" / "deeper" / "out.h5", replace=False)
    assert not (tmp_path / "new").exists()                # checking creates nothing


# ---------------------------------------------------------------------------- leftovers
def test_leftovers_of_dead_processes_are_cleaned_and_live_work_is_not(tmp_path):
    dead = _dead_pid()
    live = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / "out").mkdir()
        files = {
            f".m.h5.{dead}.0123abcd.tmp": "removed",        # dead writer's temp file
            f".m.h5.{live.pid}.0123abcd.tmp": "kept",       # live writer's temp file
            f".out.{dead}.89abcdef.old": "removed",         # swap leftover, target present
            ".m.h5.k2x_9qzt.tmp": "removed (old)",          # mkstemp name, over an hour old
            ".m.h5.ab12cd34.tmp": "kept (recent)",          # mkstemp name, maybe still in use
        }
        for name in files:
            (tmp_path / name).write_text("x")
        staged = tmp_path / f".out.{dead}.00000000.tmp"
        staged.mkdir()
        _fill(staged, "half")
        aside = tmp_path / f".rep.{dead}.11111111.old"     # swap killed between its renames
        aside.mkdir()
        _fill(aside, "old report")
        legacy_aside = tmp_path / f".exp.old-{dead}-1700000000"
        legacy_aside.mkdir()
        _fill(legacy_aside, "old export")
        hour_ago = time.time() - 7200
        for name in (".m.h5.k2x_9qzt.tmp", legacy_aside.name):
            os.utime(tmp_path / name, (hour_ago, hour_ago))

        done = clean_leftovers(tmp_path)

        assert sorted(p.name for p in done) == sorted(
            [n for n, what in files.items() if what.startswith("removed")]
            + [staged.name, aside.name, legacy_aside.name])
        assert _tag_of_complete(tmp_path / "rep") == "old report"     # put back
        assert _tag_of_complete(tmp_path / "exp") == "old export"
        assert _hidden(tmp_path) == sorted(n for n, what in files.items() if what.startswith("kept"))
        assert clean_leftovers(tmp_path) == []
    finally:
        live.kill()
        live.wait()


def test_writers_clean_their_own_names_leftovers(tmp_path):
    dead = _dead_pid()
    (tmp_path / f".m.h5.{dead}.0123abcd.tmp").write_bytes(b"half")
    (tmp_path / f".other.{dead}.0123abcd.tmp").write_bytes(b"half")
    write_bytes_atomic(tmp_path / "m.h5", b"new")
    assert sorted(os.listdir(tmp_path)) == [f".other.{dead}.0123abcd.tmp", "m.h5"]
    staged = staging_folder(tmp_path / "other")
    assert sorted(os.listdir(tmp_path)) == [staged.name, "m.h5"]
