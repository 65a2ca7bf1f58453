"""Where the package keeps downloaded and converted models."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "LUCIDSONICDREAMS_CACHE"


def cache_dir() -> Path:
    """``$LUCIDSONICDREAMS_CACHE``, else ``$XDG_CACHE_HOME/lucidsonicdreams``, else ``~/.cache/lucidsonicdreams``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "lucidsonicdreams"
