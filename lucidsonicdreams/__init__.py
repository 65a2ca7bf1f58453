"""lucidsonicdreams: music videos from generative image models driven by the song."""

from __future__ import annotations

from .diffusion import DiffusionStyle
from .download import download_style
from .dream import LucidSonicDream
from .effects import EffectsGenerator, contrast_effect, flash_effect
from .errors import AudioDecodeError, DownloadError, EncoderError, LucidSonicDreamsError, ModelFileError
from .models.loader import load_network
from .prompt_music import riffuse
from .spectrogram import audio_to_image, image_to_audio
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
    "audio_to_image",
    "contrast_effect",
    "download_style",
    "flash_effect",
    "image_to_audio",
    "load_network",
    "riffuse",
    "show_styles",
]
