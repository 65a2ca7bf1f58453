"""Diffusion models as styles: the prompts are the classes, the music drives the initial latent noise.

Built on ``diffusers`` (``pip install lucidsonicdreams[diffusion]``); loading lives in
:mod:`lucidsonicdreams.models.pipelines`.
"""

from __future__ import annotations

import copyreg
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..models.pipelines import deterministic, is_pipeline, load_pipeline, resolve_model
from ..utils import checks as validation
from ..utils.device import resolve_device
from .base import RenderOptions, Style

_MAX_STEPS = 1000


class DiffusionStyle(Style):
    """A text-to-image diffusion model (Stable Diffusion, SD-Turbo, SDXL-Turbo, ...) as a style.

    Parameters
    ----------
    model : str, path or pipeline
        A catalog name (``"sd-turbo"``, ``"sdxl-turbo"``), a hub id (``"stabilityai/sd-turbo"``), a local
        diffusers folder (with ``model_index.json``), a single-file ``.safetensors`` checkpoint, or a diffusers
        text-to-image pipeline object you built yourself (used as it is, moved to ``device``).
    prompts : list of str
        The classes: the 12 pitches of the music weight them, and their text embeddings are mixed by those
        weights for every frame (every ``class_*`` argument of ``hallucinate`` applies).
    negative_prompt : str, optional
        Used when ``guidance_scale > 1``.
    steps : int
        Denoising steps per frame (1 for the turbo models).
    guidance_scale : float
        Classifier-free guidance; 0 (or anything <= 1) turns it off, as the turbo models want.
    device : str, optional
        ``'cuda'`` (fp16), ``'mps'`` or ``'cpu'``; ``None`` picks the best available.
    """

    def __init__(
        self,
        model: str | Path,
        prompts: Sequence[str] | str,
        *,
        negative_prompt: str | None = None,
        steps: int = 1,
        guidance_scale: float = 0.0,
        device: str | None = None,
    ) -> None:
        self.prompts = validation.prompts(prompts)
        self.negative_prompt = validation.text("negative_prompt", negative_prompt, optional=True)
        self.steps = validation.number("steps", steps, low=1, high=_MAX_STEPS, integer=True)
        self.guidance_scale = validation.number("guidance_scale", guidance_scale, low=0, high=100)
        self.device = resolve_device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        # How to build it again, where it was built from a name, folder or file: a pickled style (in a render
        # plan sent to another process) is then this recipe, not the model's weights.
        self._recipe = None if is_pipeline(model) else (model, self.prompts, {
            "negative_prompt": self.negative_prompt, "steps": self.steps, "guidance_scale": self.guidance_scale,
            "device": str(self.device)})
        if is_pipeline(model):
            self.default_size = None
            self.pipe = deterministic(model)
            self.pipe.set_progress_bar_config(disable=True)
            self.pipe.to(self.device)
            self.dtype = self.pipe.unet.dtype
        else:
            source, self.default_size = resolve_model(model)
            self.pipe = load_pipeline(source, self.device, self.dtype)
        self.scale = int(self.pipe.vae_scale_factor)
        self.latent_channels = int(self.pipe.unet.config.in_channels)
        if self.default_size is None:
            self.default_size = int(self.pipe.unet.config.sample_size) * self.scale
        self.num_possible_classes = len(self.prompts)
        self.input_shape = self.input_shape_for(RenderOptions())
        self._embeddings = self._encode_prompts()

    def generation_size(self, options: RenderOptions) -> tuple[int, int]:
        """(width, height) the model draws at: the video's size rounded up to a multiple of the latent scale
        (the frame is then filled and centre-cropped as for every style), or the model's own size."""
        width, height = options.size or (self.default_size, self.default_size)
        return (math.ceil(width / self.scale) * self.scale, math.ceil(height / self.scale) * self.scale)

    def input_shape_for(self, options: RenderOptions) -> int:
        """The initial latent's size: channels x (height / scale) x (width / scale)."""
        width, height = self.generation_size(options)
        return self.latent_channels * (height // self.scale) * (width // self.scale)

    @torch.inference_mode()
    def _encode_prompts(self) -> dict[str, torch.Tensor]:
        """Text embeddings of every prompt (and of the negative prompt), encoded once."""
        cfg = self.guidance_scale > 1
        out = self.pipe.encode_prompt(self.prompts, device=self.device, num_images_per_prompt=1,
                                      do_classifier_free_guidance=cfg,
                                      # None, not "": SDXL then uses zeros, as its own pipeline does
                                      negative_prompt=[self.negative_prompt] * len(self.prompts)
                                      if cfg and self.negative_prompt else None)
        names = (("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")
                 if len(out) == 4 else ("prompt_embeds", "negative_prompt_embeds"))
        embeddings = {name: tensor for name, tensor in zip(names, out) if tensor is not None}
        if not cfg:
            embeddings = {k: v for k, v in embeddings.items() if not k.startswith("negative")}
        return embeddings

    def _mix(self, class_batch: np.ndarray) -> dict[str, torch.Tensor]:
        """Per-frame embeddings: the prompts' embeddings weighted by the class vector (equal weights when all
        are 0, e.g. in silence)."""
        weights = torch.as_tensor(np.asarray(class_batch, dtype=np.float32), device=self.device)
        total = weights.sum(dim=1, keepdim=True)
        weights = torch.where(total > 0, weights / total.clamp_min(1e-12), 1.0 / weights.shape[1])
        mixed = {}
        for name, table in self._embeddings.items():
            if name.startswith("negative"):  # one negative prompt: the same for every frame
                mixed[name] = table[:1].expand(len(weights), *table.shape[1:])
            else:
                mixed[name] = torch.einsum("bp,p...->b...", weights.to(table.dtype), table)
        return mixed

    @torch.inference_mode()
    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        width, height = self.generation_size(options)
        shape = (len(noise_batch), self.latent_channels, height // self.scale, width // self.scale)
        latents = torch.as_tensor(np.asarray(noise_batch, dtype=np.float32).reshape(shape), device=self.device)
        # The model expects unit-variance noise, but a path between key vectors is shorter in between (a midpoint
        # has 0.7 of the spread): without this the picture would lose detail between keys. The music stays in
        # the direction of the vector.
        latents = latents * latents.pow(2).mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12).rsqrt()
        images = self.pipe(
            **self._mix(class_batch),
            latents=latents.to(self.dtype),
            num_inference_steps=self.steps,
            guidance_scale=self.guidance_scale,
            height=height,
            width=width,
            output_type="pt",
            # The deterministic sampler needs no randomness; a fixed generator covers any pipeline that asks.
            generator=torch.Generator(self.device).manual_seed(0),
        ).images
        # On the device, so only uint8 crosses to the host.
        frames = (images.permute(0, 2, 3, 1).float() * 255 + 0.5).clamp(0, 255).to(torch.uint8)
        return frames.cpu().numpy()

    def __reduce__(self):
        if self._recipe is None:  # a pipeline object of the user's: nothing to rebuild it from but itself
            return (copyreg.__newobj__, (type(self),), self.__dict__)
        model, prompts, settings = self._recipe
        return (_rebuild, (model, prompts, settings))

    def __repr__(self) -> str:
        return f"DiffusionStyle({len(self.prompts)} prompts, steps={self.steps}, guidance={self.guidance_scale})"


def _rebuild(model: str | Path, prompts: list[str], settings: dict) -> DiffusionStyle:
    return DiffusionStyle(model, prompts, **settings)
