"""Styles: noise and class vectors in, uint8 frames out.

:mod:`.base` defines :class:`Style` and :class:`RenderOptions` and knows no concrete style; one module per
family (:mod:`.cppn`, :mod:`.stylegan`, :mod:`.function`, :mod:`.diffusion`); :mod:`.resolve` above them decides
once what a ``style=`` value is (a :class:`StyleSource`) and loads it.
"""

from __future__ import annotations

from ..catalog.entries import show_styles
from .base import RenderOptions, Style
from .cppn import CPPNStyle
from .diffusion import DiffusionStyle
from .function import FunctionStyle, to_uint8_frames
from .resolve import DEFAULT_STYLE, StyleSource, is_builtin, load_style, resolve_style
from .stylegan import StyleGANStyle

__all__ = ["CPPNStyle", "DEFAULT_STYLE", "DiffusionStyle", "FunctionStyle", "RenderOptions", "Style",
           "StyleGANStyle", "StyleSource", "is_builtin", "load_style", "resolve_style", "show_styles",
           "to_uint8_frames"]
