"""Spectrograms as pictures and back (Riffusion's format), and music from prompts (:func:`riffuse`)."""

from __future__ import annotations

from .images import *  # noqa: F403
from .images import CLIP_SECONDS, DEFAULT_FORMAT, audio_to_image, image_to_audio, song_to_image  # noqa: F401
