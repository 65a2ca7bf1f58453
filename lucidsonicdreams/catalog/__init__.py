"""The style catalog: named models (shipped in ``styles/``, overridable) and their downloads.

In: a style name. Out: its :class:`CatalogEntry`, and with :func:`download_style` a verified file in the cache.
"""

from __future__ import annotations

from .download import download_style
from .entries import BUILTIN_STYLES, CatalogEntry, find_style, load_catalog, show_styles, style_key

__all__ = ["BUILTIN_STYLES", "CatalogEntry", "download_style", "find_style", "load_catalog", "show_styles",
           "style_key"]
