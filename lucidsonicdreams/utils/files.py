"""Writing output files whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[str], None]) -> Path:
    """Call ``write(temporary_path)`` on a file beside ``path``, then rename it to ``path``: a failed or
    interrupted write never leaves half a file, and an existing file is only replaced by a complete one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes the file private; give it a new file's permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _read_umask() -> int:
    """The process's file-creation mask. Reading it means setting it, so this runs once, at import, before any
    thread of ours could create a file in the moment it is 0."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()
