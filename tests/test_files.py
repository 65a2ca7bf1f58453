"""Outputs are written whole or not at all."""

from __future__ import annotations

import os

import pytest

from lucidsonicdreams.utils.files import UMASK, write_atomically


def test_a_complete_write_replaces_the_file_with_a_new_files_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_atomically(target, lambda tmp: open(tmp, "w").write("new"))
    assert target.read_text() == "new" and sorted(os.listdir(tmp_path)) == ["out.txt"]
    assert target.stat().st_mode & 0o777 == 0o666 & ~UMASK


def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def half_then_fail(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["out.txt"]
