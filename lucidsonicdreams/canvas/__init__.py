"""Images that sound: one canvas that is a picture and, played as a spectrogram, a sound.

In: an image prompt and an audio prompt, and two diffusion models that share one latent space (Stable Diffusion
1.5 and Auffusion, SD 1.5 fine-tuned on spectrograms). Out: :class:`.result.SoundImage` values (the picture, its
sound at 16 kHz, the spectrogram reading) and their files: a PNG, a WAV, an MP4 with a playhead.

:mod:`.settings` checks the arguments, :mod:`.models` loads the two denoisers as data, :mod:`.denoise` runs the
joint DDIM sampler, :mod:`.generate` ties them together (:func:`images_that_sound`), :mod:`.result` reads and
writes a finished canvas.
"""

from __future__ import annotations

from .generate import images_that_sound
from .result import SoundImage

__all__ = ["SoundImage", "images_that_sound"]
