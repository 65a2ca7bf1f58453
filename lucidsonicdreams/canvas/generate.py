""":func:`images_that_sound`: prompts in, canvases out (each a picture, a spectrogram and its sound)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..render.loop import reporting
from ..render.plan import Progress
from ..spectrogram import auffusion
from ..utils.device import resolve_device
from .denoise import initial_latents, joint_denoise
from .models import Denoiser, check_model, load_denoiser, prepare_model
from .result import SoundImage
from .settings import (
    AUDIO_MODEL,
    AUDIO_WEIGHT,
    GUIDANCE,
    HEIGHT,
    IMAGE_MODEL,
    IMAGE_START_STEP,
    STEPS,
    WIDTH,
    CanvasSettings,
)


def images_that_sound(
    image_prompt: str,
    audio_prompt: str,
    *,
    image_model: object = IMAGE_MODEL,
    audio_model: object = AUDIO_MODEL,
    steps: int = STEPS,
    audio_weight: float = AUDIO_WEIGHT,
    image_guidance: float = GUIDANCE,
    audio_guidance: float = GUIDANCE,
    image_start_step: int = IMAGE_START_STEP,
    negative_image_prompt: str = "",
    negative_audio_prompt: str = "",
    seed: int | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    num_images: int = 1,
    device: str | torch.device | None = None,
    progress: Progress | None = None,
) -> SoundImage | list[SoundImage]:
    """One canvas that is a picture of ``image_prompt`` and, played as a spectrogram, the sound of
    ``audio_prompt`` ("Images that Sound", Chen, Geng and Owens, 2024).

    Stable Diffusion 1.5 (``image_model``) and Auffusion (``audio_model``, SD 1.5 fine-tuned on spectrograms)
    denoise one latent together with a DDIM sampler: ε = (1 − audio_weight)·ε_image + audio_weight·ε_audio, each
    with its own classifier-free guidance; the image model joins from step ``image_start_step``. The picture is
    the image model's VAE decode, the sound the audio model's decode read as Auffusion's spectrogram and vocoded
    (its HiFi-GAN, or Griffin-Lim where it has none). Returns a :class:`SoundImage`, or with ``num_images=N`` a
    list of N (candidate i from ``seed + i``): most samples fail, the paper says, so pick from many. The same
    seed gives the same picture and sound. ``progress(done, total, what)`` replaces the tqdm bar.

    Models are hub ids, diffusers folders, or (the image model) a single-file ``.safetensors``; Auffusion's
    ``.bin`` weights are read as data, never run, and cached as safetensors.
    """
    settings = CanvasSettings.parse(
        image_prompt, audio_prompt, steps=steps, audio_weight=audio_weight, image_guidance=image_guidance,
        audio_guidance=audio_guidance, image_start_step=image_start_step,
        negative_image_prompt=negative_image_prompt, negative_audio_prompt=negative_audio_prompt, seed=seed,
        width=width, height=height, num_images=num_images)
    if progress is not None and not callable(progress):  # reporting() checks it too, but only after loading
        raise TypeError(f"progress must be a function progress(done, total, what), got {type(progress).__name__}")
    sources = check_model("image_model", image_model), check_model("audio_model", audio_model)
    chosen = resolve_device(device)
    results = make_canvases(settings, *sources, chosen, progress)
    return results if settings.num_images > 1 else results[0]


def make_canvases(settings: CanvasSettings, image_source: object, audio_source: object, device: torch.device,
                  progress: Progress | None = None) -> list[SoundImage]:
    """Every candidate of ``settings``, from model sources that :func:`.models.check_model` passed."""
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    ready = prepare_model("image_model", image_source), prepare_model("audio_model", audio_source)
    image, audio = (load_denoiser(model, device, dtype) for model in ready)
    _check_pair(image, audio, settings)
    embeddings = (image.embed(settings.image_prompt, settings.negative_image_prompt),
                  audio.embed(settings.audio_prompt, settings.negative_audio_prompt))
    total = settings.steps * settings.num_images
    with reporting(progress) as report:
        steps = iter(range(1, total + 1))  # every candidate's steps, counted as one task

        def step_done() -> None:
            report(next(steps), total, "Denoising")

        results = []
        for seed in settings.candidate_seeds():
            latents = joint_denoise(image, audio, settings, initial_latents(seed, settings.height, settings.width),
                                    embeddings, step_done)
            results.append(read_canvas(latents, image, audio, seed))
        return results


def _check_pair(image: Denoiser, audio: Denoiser, settings: CanvasSettings) -> None:
    """The two models must share one latent space: the same latent channels and VAE factor."""
    for name, model in (("image_model", image), ("audio_model", audio)):
        channels = (model.unet.config.in_channels, model.unet.config.out_channels, model.vae.config.latent_channels)
        if channels != (4, 4, 4):
            raise ValueError(f"{name} {model.name!r} works on {channels[0]}-channel latents; images that sound need "
                             "Stable Diffusion 1.x-family models (4 latent channels) such as SD 1.5 and Auffusion")
        if model.latent_factor() != 8:
            raise ValueError(f"{name} {model.name!r} has a VAE that shrinks pictures {model.latent_factor()} times; "
                             "the canvas needs one that shrinks them 8 times, as SD 1.5's and Auffusion's do")
        if model.vocoder is not None and name == "audio_model" and model.vocoder.num_mels != settings.height:
            raise ValueError(f"audio_model {model.name!r}: its vocoder reads {model.vocoder.num_mels} mel bands, "
                             f"the canvas is {settings.height} rows high")


@torch.inference_mode()
def read_canvas(latents: torch.Tensor, image: Denoiser, audio: Denoiser, seed: int) -> SoundImage:
    """The picture and the sound of a denoised latent, each from its own model's VAE."""
    picture = _to_pil(image.decode(latents))
    spectrogram = audio.decode(latents.to(audio.device))
    log_mel = auffusion.image_to_log_mel(spectrogram.numpy())
    if audio.vocoder is not None:
        mel = torch.from_numpy(log_mel)[None].to(audio.device, torch.float32)
        sound, vocoder = audio.vocoder(mel)[0].float().cpu().numpy(), "hifigan"
    else:
        sound, vocoder = auffusion.griffin_lim(log_mel, seed=seed), "griffin-lim"
    return SoundImage(image=picture, audio=np.ascontiguousarray(sound, dtype=np.float32),
                      sample_rate=auffusion.SAMPLE_RATE, spectrogram=auffusion.log_mel_to_image(log_mel),
                      vocoder=vocoder, seed=seed, latents=latents.float().cpu())


def _to_pil(pixels: torch.Tensor) -> Image.Image:
    """A (3, H, W) float image in [0, 1] as an 8-bit RGB PIL image, rounded (as diffusers' numpy_to_pil)."""
    return Image.fromarray((pixels.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
