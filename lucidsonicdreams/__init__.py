"""lucidsonicdreams: music videos from generative image models driven by the song."""

from __future__ import annotations

from .diffusion import DiffusionStyle
from .download import download_style
from .dream import LucidSonicDream
from .effects import EffectsGenerator, contrast_effect, flash_effect
from .errors import AudioDecodeError, DownloadError, EncoderError, LucidSonicDreamsError, ModelFileError
from .models.loader import load_network
from .style import RenderOptions, Style, show_styles

__version__ = "1.0.0.dev0"

__all__ = [
    "AudioDecodeError",
    "DiffusionStyle",
    "DownloadError",
    "EffectsGenerator",
    "EncoderError",
    "LucidSonicDream",
    "LucidSonicDreamsError",
    "ModelFileError",
    "RenderOptions",
    "Style",
    "contrast_effect",
    "download_style",
    "flash_effect",
    "load_network",
    "show_styles",
]
