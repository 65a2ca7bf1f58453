"""Spectrograms as pictures and back, in Riffusion's image format, and music from prompts.

In: audio samples or files (:func:`audio_to_image`, :func:`song_to_image`), spectrogram images or their files
(:func:`image_to_audio`, :func:`image_to_wav`), or prompts (:func:`.riffuse.riffuse`). Out: spectrogram images,
512 pixels high with their format in the EXIF (one column per 10 ms: 5.11 s make a 512x512 image), and 44.1 kHz
float32 samples or 16-bit WAV files.

:mod:`.format` holds the format and its mel filters, :mod:`.inversion` the way back from magnitudes to sound,
:mod:`.images` the conversions and the files, and :mod:`.riffuse` the prompts (not imported here: its name is
also its function's).
"""

from __future__ import annotations

from .format import CLIP_SECONDS, DEFAULT_FORMAT, EXIF_TAGS, SpectrogramFormat, clip_samples
from .images import audio_to_image, image_to_audio, image_to_wav, mel_spectrogram, song_to_image

__all__ = [
    "CLIP_SECONDS",
    "DEFAULT_FORMAT",
    "EXIF_TAGS",
    "SpectrogramFormat",
    "audio_to_image",
    "clip_samples",
    "image_to_audio",
    "image_to_wav",
    "mel_spectrogram",
    "song_to_image",
]
