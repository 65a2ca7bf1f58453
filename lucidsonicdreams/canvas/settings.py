"""What an Images-that-Sound canvas is made with: the prompts, the two models and the sampler's settings, checked
before any model loads. The defaults are the paper's (Chen, Geng and Owens, 2024, and its published configs)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..utils import checks as validation

IMAGE_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
AUDIO_MODEL = "auffusion/auffusion-full-no-adapter"
# The paper's settings: 100 DDIM steps, both guidances 10, the image model joining at step 10, equal weights.
STEPS, GUIDANCE, IMAGE_START_STEP, AUDIO_WEIGHT = 100, 10.0, 10, 0.5
# Auffusion's spectrograms are 256 mel bands high; 1024 columns of 10 ms make 10.24 s of sound.
WIDTH, HEIGHT = 1024, 256
# Latents are an eighth of the canvas in both directions in Stable Diffusion's VAE (and Auffusion's, the same).
LATENT_FACTOR = 8


@dataclass(frozen=True)
class CanvasSettings:
    """Everything one call makes its candidates from."""

    image_prompt: str
    audio_prompt: str
    negative_image_prompt: str
    negative_audio_prompt: str
    steps: int
    audio_weight: float
    image_guidance: float
    audio_guidance: float
    image_start_step: int
    seed: int
    width: int
    height: int
    num_images: int

    @classmethod
    def parse(cls, image_prompt: object, audio_prompt: object, *, steps: object = STEPS,
              audio_weight: object = AUDIO_WEIGHT, image_guidance: object = GUIDANCE,
              audio_guidance: object = GUIDANCE, image_start_step: object = IMAGE_START_STEP,
              negative_image_prompt: object = "", negative_audio_prompt: object = "", seed: object = None,
              width: object = WIDTH, height: object = HEIGHT, num_images: object = 1) -> CanvasSettings:
        steps = int(validation.number("steps", steps, low=1, high=1000, integer=True))
        start = int(validation.number("image_start_step", image_start_step, low=0, integer=True))
        if start >= steps:
            raise ValueError(f"image_start_step={start} must be less than steps={steps}: the image model would "
                             f"never join; use a value from 0 to {steps - 1} (the paper: 10 of 100)")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        return cls(
            image_prompt=_prompt("image_prompt", image_prompt, "a castle with bell towers, grayscale"),
            audio_prompt=_prompt("audio_prompt", audio_prompt, "bells ringing"),
            negative_image_prompt=_negative("negative_image_prompt", negative_image_prompt),
            negative_audio_prompt=_negative("negative_audio_prompt", negative_audio_prompt),
            steps=steps,
            audio_weight=validation.number("audio_weight", audio_weight, low=0, high=1),
            image_guidance=validation.number("image_guidance", image_guidance, low=0, high=100),
            audio_guidance=validation.number("audio_guidance", audio_guidance, low=0, high=100),
            image_start_step=start,
            seed=int(validation.number("seed", seed, low=0, high=2**63 - 1, integer=True)),
            width=_side("width", width, WIDTH),
            height=_height(height),
            num_images=int(validation.number("num_images", num_images, low=1, high=1000, integer=True)),
        )

    def candidate_seeds(self) -> list[int]:
        """Candidate i starts from seed + i, as the paper's code numbers its samples."""
        return [self.seed + i for i in range(self.num_images)]


def _prompt(name: str, value: object, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string such as {example!r}, got {value!r}")
    return value


def _negative(name: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string ('' for none), got {value!r}")
    return value


def _height(value: object) -> int:
    height = _side("height", value, HEIGHT)
    if height != HEIGHT:
        raise ValueError(f"height={height}: the canvas is also read as Auffusion's spectrogram, one row per mel "
                         f"band, and it has {HEIGHT}; use height={HEIGHT} (the width sets the length: 1024 "
                         "columns are 10.24 s)")
    return height


def _side(name: str, value: object, default: int) -> int:
    side = int(validation.number(name, value, low=LATENT_FACTOR, high=8192, integer=True))
    if side % LATENT_FACTOR:
        lower = side - side % LATENT_FACTOR
        raise ValueError(f"{name}={side} is not a multiple of {LATENT_FACTOR} (the VAE's factor: one latent per "
                         f"{LATENT_FACTOR}x{LATENT_FACTOR} pixels); use {lower} or {lower + LATENT_FACTOR} "
                         f"(default {default})")
    return side
