"""Atomic writes: the target is either the old file or the complete new one, never a mix."""

import pytest

from digitlab.atomic import atomic_path, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.md"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk full (simulated)")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]


def test_a_successful_write_replaces_the_file_with_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "table.md"
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o044        # readable by others, unlike mkstemp's 0600
