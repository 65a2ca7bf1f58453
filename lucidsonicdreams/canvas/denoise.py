"""Joint denoising: one latent, denoised by an image model and an audio model at once (Chen, Geng and Owens, 2024).

At every DDIM step each model makes its own classifier-free-guided noise estimate of the same latent, and the
step takes their mix ε = (1 − W)·ε_image + W·ε_audio. The image model joins only from ``image_start_step``:
before it the audio model alone lays out the spectrogram's structure.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .models import Denoiser
from .settings import LATENT_FACTOR, CanvasSettings

# Stable Diffusion 1.5's scheduler configuration (its scheduler/scheduler_config.json), as a DDIM sampler: the
# paper's code builds its one shared scheduler from it. Fixed here, so no model's own sampler changes a canvas.
SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
}


def ddim_scheduler():
    """A fresh DDIM scheduler (eta 0: no noise of its own) with Stable Diffusion 1.5's configuration."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(**SCHEDULER_CONFIG)


def initial_latents(seed: int, height: int, width: int) -> torch.Tensor:
    """The starting noise of a candidate [shape=(1, 4, height / 8, width / 8)]: float32 from a CPU generator,
    so a CPU and a GPU run start alike."""
    generator = torch.Generator("cpu").manual_seed(seed)
    shape = (1, 4, height // LATENT_FACTOR, width // LATENT_FACTOR)
    return torch.randn(shape, generator=generator, dtype=torch.float32)


@torch.inference_mode()
def joint_denoise(image: Denoiser, audio: Denoiser, settings: CanvasSettings, latents: torch.Tensor,
                  embeddings: tuple[torch.Tensor, torch.Tensor],
                  step_done: Callable[[], object] | None = None) -> torch.Tensor:
    """The denoised latent (float32, on the image model's device) from ``latents``; ``embeddings`` are the image
    and the audio model's :meth:`Denoiser.embed`. ``step_done`` is called after each step."""
    scheduler = ddim_scheduler()
    scheduler.set_timesteps(settings.steps)
    weight = settings.audio_weight
    latents = latents.to(image.device, torch.float32)
    for i, t in enumerate(scheduler.timesteps):
        joined = i >= settings.image_start_step
        # A model whose weight is 0 adds nothing: it is not run (and the other's estimate is taken as it is).
        image_noise = image.guided_noise(latents, t, embeddings[0], settings.image_guidance) \
            if joined and weight < 1 else None
        audio_noise = audio.guided_noise(latents.to(audio.device), t, embeddings[1], settings.audio_guidance).to(
            latents.device) if not joined or weight > 0 else None
        if image_noise is None:
            noise = audio_noise
        elif audio_noise is None:
            noise = image_noise
        else:
            noise = (1 - weight) * image_noise + weight * audio_noise
        latents = scheduler.step(noise, t, latents, eta=0.0).prev_sample
        if step_done is not None:
            step_done()
    return latents
