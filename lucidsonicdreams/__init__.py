"""lucidsonicdreams: music videos from generative image models driven by the song.

The package is the pipeline, one subpackage per stage (data flows one way, and no stage imports a later one):

    audio/ -> latents/ -> style/ (+ models/, catalog/) -> effects/ -> render/      spectrogram/, canvas/, app/, cli
    files     vectors      frames                          frames      plan, loop, video
"""

from __future__ import annotations

from .canvas import SoundImage, images_that_sound
from .catalog.download import download_style
from .catalog.entries import show_styles
from .dream import LucidSonicDream
from .effects import EffectsGenerator, contrast_effect, flash_effect
from .errors import (
    AudioDecodeError,
    DownloadError,
    EncoderError,
    LucidSonicDreamsError,
    ModelFileError,
    WorkerError,
)
from .models.loader import load_network
from .render.loop import render_window, write_video
from .render.plan import RenderPlan, RenderResult
from .spectrogram import audio_to_image, image_to_audio
from .spectrogram.riffuse import riffuse
from .style import DiffusionStyle, FunctionStyle, RenderOptions, Style
from .version import __version__ as __version__

__all__ = [
    "AudioDecodeError",
    "DiffusionStyle",
    "DownloadError",
    "EffectsGenerator",
    "EncoderError",
    "FunctionStyle",
    "LucidSonicDream",
    "LucidSonicDreamsError",
    "ModelFileError",
    "RenderOptions",
    "RenderPlan",
    "RenderResult",
    "SoundImage",
    "Style",
    "WorkerError",
    "audio_to_image",
    "contrast_effect",
    "download_style",
    "flash_effect",
    "image_to_audio",
    "images_that_sound",
    "load_network",
    "render_window",
    "riffuse",
    "show_styles",
    "write_video",
]
