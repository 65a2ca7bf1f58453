"""Spectrograms as pictures and back, in Riffusion's image format (the default) or Auffusion's, and music from
prompts.

In: audio samples or files (:func:`audio_to_image`, :func:`song_to_image`), spectrogram images or their files
(:func:`image_to_audio`, :func:`image_to_wav`), or prompts (:func:`.riffuse.riffuse`). Out: spectrogram images,
512 pixels high with their format in the EXIF (one column per 10 ms: 5.11 s make a 512x512 image), or with
``format="auffusion"`` 256 pixels high (10.24 s make 256x1024), and float32 samples (44.1 kHz; 16 kHz mono from
Auffusion's images) or 16-bit WAV files.

:mod:`.format` holds Riffusion's format and its mel filters, :mod:`.inversion` the way back from magnitudes to
sound, :mod:`.auffusion` Auffusion's format and its way back, :mod:`.images` the conversions and the files (either
format, told apart by the image), and :mod:`.riffuse` the prompts (not imported here: its name is also its
function's).
"""

from __future__ import annotations

from .format import CLIP_SECONDS, DEFAULT_FORMAT, EXIF_TAGS, SpectrogramFormat, clip_samples
from .images import FORMATS, audio_to_image, image_to_audio, image_to_wav, mel_spectrogram, song_to_image

__all__ = [
    "CLIP_SECONDS",
    "DEFAULT_FORMAT",
    "EXIF_TAGS",
    "FORMATS",
    "SpectrogramFormat",
    "audio_to_image",
    "clip_samples",
    "image_to_audio",
    "image_to_wav",
    "mel_spectrogram",
    "song_to_image",
]
