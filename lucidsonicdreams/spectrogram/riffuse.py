"""Music from prompts, Riffusion's way: a diffusion model paints spectrogram images, which become sound.

Each 5.11 s clip is an img2img pass over a seed spectrogram (our own, made by :func:`audio_to_image` from the
demo's synthesized beat), so every clip keeps its rhythm. Along the piece the prompts' text embeddings are
interpolated, and so is the starting noise (spherically, between one seed per prompt), one clip per step; the
clips are joined with short crossfades. Built on ``diffusers`` like the diffusion styles (safetensors only).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..audio.demo import BPM as SEED_BPM
from ..audio.demo import synthesize_song
from ..dream import LucidSonicDream
from ..models.pipelines import check_source, deterministic, is_pipeline, is_sdxl, load_pipeline, resolve_model
from ..style.resolve import resolve_style
from ..utils import checks as validation
from ..utils.device import resolve_device
from ..utils.files import write_atomically
from .format import CLIP_SECONDS, DEFAULT_FORMAT, clip_samples
from .images import audio_to_image, image_to_audio

DEFAULT_MODEL = "riffusion/riffusion-model-v1"
# Clips start a whole number of the seed beat's bars apart (5 s = 10 beats at 120 bpm), so the kicks of two
# clips coincide in the crossfade instead of flamming.
CROSSFADE_SECONDS = round(CLIP_SECONDS - 10 * 60 / SEED_BPM, 6)
# Riffusion's defaults: how much of the seed image is repainted, steps of a full denoise, guidance.
STRENGTH, STEPS, GUIDANCE_SCALE = 0.75, 50, 7.0


@dataclass(frozen=True)
class RiffuseSettings:
    """What to generate, checked before any model loads."""

    prompts: list[str]
    seconds: float
    seed: int
    steps: int
    strength: float
    guidance_scale: float
    negative_prompt: str | None

    @classmethod
    def parse(cls, prompts: object, seconds: object, *, seed: object = 0, steps: object = STEPS,
              strength: object = STRENGTH, guidance_scale: object = GUIDANCE_SCALE,
              negative_prompt: object = None) -> RiffuseSettings:
        return cls(
            prompts=validation.prompts(prompts),
            seconds=validation.number("seconds", seconds, low=0, low_open=True, high=3600),
            seed=int(validation.number("seed", seed, low=0, high=2**63 - 1, integer=True)),
            steps=int(validation.number("steps", steps, low=1, high=1000, integer=True)),
            strength=validation.number("strength", strength, low=0, low_open=True, high=1),
            guidance_scale=validation.number("guidance_scale", guidance_scale, low=0, high=100),
            negative_prompt=validation.text("negative_prompt", negative_prompt, optional=True),
        )

    def __post_init__(self) -> None:
        prompts = len(self.prompts)
        if self.clip_count() < prompts:  # a prompt between two clips would never be heard
            needed = CLIP_SECONDS + (prompts - 1) * (CLIP_SECONDS - CROSSFADE_SECONDS)
            raise ValueError(f"{len(self.prompts)} prompts need at least {needed:.2f} seconds (one {CLIP_SECONDS} s "
                             f"clip each), got seconds={self.seconds:g}; give more seconds or fewer prompts")

    def keys(self) -> list[tuple[str, int]]:
        """(prompt, seed) at the keys of the path: one per prompt (a single prompt moves between two seeds)."""
        prompts = self.prompts if len(self.prompts) > 1 else self.prompts * 2
        return [(prompt, self.seed + k) for k, prompt in enumerate(prompts)]

    def clip_count(self) -> int:
        """Clips that cover ``seconds`` once joined with crossfades."""
        return max(1, math.ceil((self.seconds - CROSSFADE_SECONDS) / (CLIP_SECONDS - CROSSFADE_SECONDS) - 1e-9))


def riffuse(
    prompts: Sequence[str] | str,
    seconds: float,
    *,
    model: object = DEFAULT_MODEL,
    seed: int = 0,
    steps: int = STEPS,
    strength: float = STRENGTH,
    guidance_scale: float = GUIDANCE_SCALE,
    negative_prompt: str | None = None,
    device: str | None = None,
) -> tuple[np.ndarray, int]:
    """Generate ``seconds`` of music from prompts with a spectrogram diffusion model; returns (samples, rate),
    mono float32 samples at 44.1 kHz. The same arguments give the same samples.

    model : a hub id (default: Riffusion's checkpoint), a local diffusers folder, a ``.safetensors`` file, or a
        diffusers pipeline object.
    steps, strength, guidance_scale : the denoising steps of a full pass (``strength`` of them run), how much of
        the seed spectrogram is repainted (0-1), and classifier-free guidance (Riffusion: 50, 0.75, 7).
    """
    settings = RiffuseSettings.parse(prompts, seconds, seed=seed, steps=steps, strength=strength,
                                     guidance_scale=guidance_scale, negative_prompt=negative_prompt)
    return _generate(settings, _checked_model(model), device)


def riffuse_to_file(
    output: str | Path,
    prompts: Sequence[str] | str,
    seconds: float,
    *,
    video: str | Path | None = None,
    video_style: object = "sd-turbo",
    model: object = DEFAULT_MODEL,
    device: str | None = None,
    **generation,
) -> Path:
    """:func:`riffuse` into a 16-bit WAV file; with ``video``, also render the music's video with
    ``video_style`` (a diffusion model) on the same prompts and seed. ``generation``: riffuse's ``seed``,
    ``steps``, ``strength``, ``guidance_scale`` and ``negative_prompt``. Returns the WAV's path."""
    settings = RiffuseSettings.parse(prompts, seconds, **generation)
    target = validation.output_file("output", output, ".wav")
    model = _checked_model(model)
    if video is not None:
        video = validation.video_path(video, "video")
        # Everything that needs no loading, so that a bad style fails now, not after the music is made.
        resolve_style(video_style, prompts=settings.prompts)
    samples, rate = _generate(settings, model, device)
    write_atomically(target, lambda tmp: soundfile.write(tmp, samples, rate, subtype="PCM_16", format="WAV"))
    if video is not None:
        dream = LucidSonicDream(target, style=video_style, prompts=settings.prompts, device=device)
        dream.hallucinate(video, seed=settings.seed)
    return target


def _checked_model(model: object) -> object:
    """The pipeline object, or the hub id, folder or file to load, with everything checked that can be known
    before loading."""
    if not is_pipeline(model):
        model = resolve_model(model)[0]
        check_source(model)
    if is_sdxl(model):
        raise _sdxl_refused(model)
    return model


def _sdxl_refused(model: object) -> ValueError:
    name = repr(str(model)) if isinstance(model, (str, Path)) else type(model).__name__
    return ValueError(f"model {name} is not a Stable Diffusion 1.x/2.x pipeline (SDXL and its kin take extra "
                      "conditioning); riffuse needs one like Riffusion's checkpoint")


def _generate(settings: RiffuseSettings, model: object, device: str | None) -> tuple[np.ndarray, int]:
    painter = SpectrogramPainter(model, settings, device)
    music = join_clips(painter.clips(), settings.seconds)
    # Each clip peaks at 0.98; where two overlap the sum may go higher.
    peak = float(np.abs(music).max())
    return (music * (0.98 / peak) if peak > 0.98 else music), DEFAULT_FORMAT.sample_rate


class SpectrogramPainter:
    """A text-to-image diffusers pipeline driven as img2img over the seed spectrogram, clip by clip.

    model : a pipeline object, or the hub id, folder or file to load, as :func:`_checked_model` gives them.
    """

    def __init__(self, model: object, settings: RiffuseSettings, device: str | None) -> None:
        self.settings = settings
        self.device = resolve_device(device)
        dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        if is_pipeline(model):
            self.pipe = deterministic(model).to(self.device)
        else:
            # Only the network parts are used: no safety checker to load (it would black out spectrograms).
            self.pipe = load_pipeline(model, self.device, dtype, safety_checker=None, requires_safety_checker=False)
            if is_sdxl(self.pipe):  # a hub model is known only now
                raise _sdxl_refused(model)
        from diffusers import EulerDiscreteScheduler

        # Euler adds no noise of its own, and starts part-way through the schedule as img2img needs.
        self.scheduler = EulerDiscreteScheduler.from_config(self.pipe.scheduler.config)
        self.dtype = self.pipe.unet.dtype
        self.cfg = settings.guidance_scale > 1

    def clips(self) -> Iterator[np.ndarray]:
        """Every clip's sound, in order, one at a time."""
        keys = self.settings.keys()
        embeddings = [self._embed(prompt) for prompt, _ in keys]
        start = self._encode(seed_image())
        noises = [torch.randn(start.shape, generator=torch.Generator().manual_seed(seed)) for _, seed in keys]
        n = self.settings.clip_count()
        for i in tqdm(range(n), desc="Riffusing", unit="clip", leave=False):
            position = i * (len(keys) - 1) / max(n - 1, 1)
            k = min(int(position), len(keys) - 2)
            alpha = position - k
            embedding = embeddings[k] + alpha * (embeddings[k + 1] - embeddings[k])
            noise = slerp(noises[k], noises[k + 1], alpha).to(self.device, self.dtype)
            image = self._paint(start, noise, embedding)
            yield image_to_audio(image, seed=self.settings.seed + i)[0]

    @torch.inference_mode()
    def _embed(self, prompt: str) -> torch.Tensor:
        """Text embeddings [shape=(2 or 1, tokens, width)]: the negative prompt's first when guidance is on."""
        positive, negative = self.pipe.encode_prompt(prompt, self.device, 1, self.cfg,
                                                     negative_prompt=self.settings.negative_prompt)[:2]
        return torch.cat([negative, positive]) if self.cfg else positive

    @torch.inference_mode()
    def _encode(self, image: Image.Image) -> torch.Tensor:
        pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1)
        vae = self.pipe.vae
        pixels = pixels.permute(2, 0, 1)[None].to(self.device, vae.dtype)
        return (vae.encode(pixels).latent_dist.mean * vae.config.scaling_factor).to(self.dtype)

    @torch.inference_mode()
    def _paint(self, start: torch.Tensor, noise: torch.Tensor, embedding: torch.Tensor) -> Image.Image:
        """img2img: ``start`` noised to ``strength`` of the way, then denoised towards the embedding."""
        scheduler, settings = self.scheduler, self.settings
        scheduler.set_timesteps(settings.steps, device=self.device)
        first = settings.steps - max(1, min(settings.steps, int(settings.steps * settings.strength)))
        timesteps = scheduler.timesteps[first * scheduler.order:]
        scheduler.set_begin_index(first * scheduler.order)
        latents = scheduler.add_noise(start, noise, timesteps[:1])
        for t in timesteps:
            batch = torch.cat([latents] * 2) if self.cfg else latents
            prediction = self.pipe.unet(scheduler.scale_model_input(batch, t), t,
                                        encoder_hidden_states=embedding).sample
            if self.cfg:
                unconditional, conditional = prediction.chunk(2)
                prediction = unconditional + settings.guidance_scale * (conditional - unconditional)
            latents = scheduler.step(prediction, t, latents).prev_sample
        vae = self.pipe.vae
        pixels = vae.decode((latents / vae.config.scaling_factor).to(vae.dtype)).sample[0]
        rgb = ((pixels.float().permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return Image.fromarray(rgb.cpu().numpy())


def slerp(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    """Spherical interpolation between two noise tensors (keeps the noise's spread, unlike a straight line)."""
    a64, b64 = a.double().flatten(), b.double().flatten()
    cos = torch.dot(a64, b64) / (a64.norm() * b64.norm())
    angle = torch.arccos(cos.clamp(-1, 1))
    if angle < 1e-4:
        return a + alpha * (b - a)
    mix = (torch.sin((1 - alpha) * angle) * a.double() + torch.sin(alpha * angle) * b.double()) / torch.sin(angle)
    return mix.to(a.dtype)


def join_clips(clips: Iterable[np.ndarray], seconds: float) -> np.ndarray:
    """The clips one after another, each overlapping the next by ``CROSSFADE_SECONDS`` (equal-power fades),
    cut to ``seconds``. Clips are added as they come, into one array of the final length."""
    fade = int(round(CROSSFADE_SECONDS * DEFAULT_FORMAT.sample_rate))
    angle = np.linspace(0, np.pi / 2, fade, dtype=np.float32)
    total = clip_samples(seconds)
    out = np.zeros(total, dtype=np.float32)
    end = 0  # where the music so far stops
    for clip in clips:
        start = max(end - fade, 0)
        if start >= total:
            break
        clip = clip[: total - start].astype(np.float32)
        overlap = min(end - start, len(clip))
        out[start : start + overlap] = np.cos(angle[:overlap]) * out[start : start + overlap] + \
            np.sin(angle[:overlap]) * clip[:overlap]
        out[start + overlap : start + len(clip)] = clip[overlap:]
        end = start + len(clip)
    if end < total:
        raise ValueError(f"the clips cover {end} samples, not the {total} asked for")
    return out


@lru_cache(maxsize=1)
def seed_image() -> Image.Image:
    """The seed spectrogram: one 5.11 s image of the demo's synthesized 120 bpm beat (drums, bass, chords)."""
    beat = synthesize_song(CLIP_SECONDS + 0.1, sr=DEFAULT_FORMAT.sample_rate, seed=0).mean(axis=1)
    return audio_to_image(beat[: clip_samples()], DEFAULT_FORMAT.sample_rate)
