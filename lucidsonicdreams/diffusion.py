"""Diffusion models as styles: the prompts are the classes, the music drives the initial latent noise.

Built on ``diffusers`` (``pip install lucidsonicdreams[diffusion]``). Weights load from safetensors only, so a
model never runs code: pickled weights are refused before diffusers sees the folder, and a ``model_index.json``
may only name diffusers' and transformers' own classes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from . import validation
from .catalog import find_style
from .device import resolve_device
from .errors import DownloadError, ModelFileError
from .style import RenderOptions, Style

# Weight files that are pickles: loading one can run any code stored in it.
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
# Schedulers that add fresh noise at every step; each is swapped for the deterministic Euler sampler so that
# the same latent always gives the same picture (no flicker while the music holds still).
_STOCHASTIC_SCHEDULERS = ("EulerAncestralDiscreteScheduler", "DPMSolverSDEScheduler", "DDPMScheduler",
                          "KDPM2AncestralDiscreteScheduler", "LCMScheduler")
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
        if _is_pipeline(model):
            self.default_size = None
            self.pipe = _deterministic(model)
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

    def __repr__(self) -> str:
        return f"DiffusionStyle({len(self.prompts)} prompts, steps={self.steps}, guidance={self.guidance_scale})"


def resolve_model(model: object) -> tuple[str | Path, int | None]:
    """What to load (a folder, a file or a hub id) and the default size from the catalog, if it has one."""
    if not isinstance(model, (str, Path)) or not str(model).strip():
        raise TypeError(f"model must be a hub id, a folder or a .safetensors file, got {model!r}")
    path = Path(model).expanduser()
    if path.exists():
        return path, None
    entry = find_style(str(model)) if isinstance(model, str) else None
    if entry is not None:
        if entry.format != "diffusers":
            raise ValueError(f"style {entry.name!r} is not a diffusion model, and prompts need one (e.g. "
                             f"'sd-turbo'); use {entry.name!r} without prompts")
        return entry.hub_id, entry.resolution
    if isinstance(model, str) and _HUB_ID.fullmatch(model):
        return model, None
    raise FileNotFoundError(f"model {str(model)!r} is neither a catalog name, a hub id (owner/name), nor an "
                            "existing folder or .safetensors file")


def check_folder(folder: Path) -> None:
    """Refuse a diffusers folder that would run code: pickled weights, or classes from outside diffusers and
    transformers in its ``model_index.json``. Nothing in the folder is imported or unpickled."""
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise ModelFileError(f"{str(folder)!r} is not a diffusers folder: it has no model_index.json")
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{index_file}: not readable JSON ({exc})") from None
    import diffusers

    pipeline = index.get("_class_name") if isinstance(index, dict) else None
    if not isinstance(pipeline, str) or not isinstance(getattr(diffusers, pipeline, None), type):
        raise ModelFileError(f"{index_file}: _class_name {pipeline!r} is not a diffusers pipeline; custom pipeline "
                             "code is not run")
    for name, value in index.items():
        # Components are [library, class] pairs; anything else is a plain setting such as a flag.
        if name.startswith("_") or not isinstance(value, list) or value == [None, None]:
            continue
        if not (len(value) == 2 and _known_library(value[0])):
            raise ModelFileError(f"{index_file}: component {name!r} is {value!r}; only diffusers and transformers "
                                 "classes are loaded")
    for weights in sorted(folder.rglob("*")):
        if weights.suffix.lower() in PICKLE_SUFFIXES and not any(weights.parent.glob("*.safetensors")):
            raise ModelFileError(f"{weights} is a pickled weight file, and loading a pickle can run code; "
                                 "convert the model to safetensors (diffusers: save_pretrained(..., "
                                 "safe_serialization=True)) and try again")


def _known_library(name: object) -> bool:
    """diffusers, transformers, or one of diffusers' own pipeline packages (e.g. ``stable_diffusion``)."""
    if name in ("diffusers", "transformers"):
        return True
    return isinstance(name, str) and name.isidentifier() and importlib.util.find_spec(
        f"diffusers.pipelines.{name}") is not None


def load_pipeline(source: str | Path, device: torch.device, dtype: torch.dtype, **overrides):
    """A text-to-image diffusers pipeline on ``device``, its weights read from safetensors only; ``overrides``
    replace components (e.g. ``safety_checker=None``) of a folder or hub model."""
    try:
        import diffusers
    except ImportError:
        raise ImportError("diffusion styles need diffusers and transformers: pip install "
                          "'lucidsonicdreams[diffusion]'") from None
    with _quiet():
        if isinstance(source, Path) and source.is_file():
            pipe = _load_single_file(diffusers, source, dtype)
        else:
            if isinstance(source, Path):
                check_folder(source)
            try:
                pipe = diffusers.AutoPipelineForText2Image.from_pretrained(
                    str(source), torch_dtype=dtype, use_safetensors=True, **overrides)
            except OSError as exc:
                if isinstance(source, Path):
                    raise ModelFileError(f"could not load the diffusion model {str(source)!r}: "
                                         f"{_first_line(exc)}") from None
                raise DownloadError(f"could not get the diffusion model {source!r} from the Hugging Face hub: "
                                    f"{_first_line(exc)}. Check the network (and log in with `hf auth login` for "
                                    "a gated model), or download the model folder and give its path") from None
        pipe = _deterministic(pipe)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _is_pipeline(model: object) -> bool:
    return all(hasattr(model, name) for name in ("unet", "vae", "scheduler", "encode_prompt"))


def _deterministic(pipe):
    """The pipeline with a sampler that adds no noise of its own (stochastic ones become Euler)."""
    if type(pipe.scheduler).__name__ in _STOCHASTIC_SCHEDULERS:
        from diffusers import EulerDiscreteScheduler

        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    return pipe


def _load_single_file(diffusers, path: Path, dtype: torch.dtype):
    """A checkpoint in the original (CompVis / A1111) layout, as model sites share them. diffusers builds the
    pipeline from the configuration of the matching hub model (e.g. Stable Diffusion 1.5's), fetched once and
    cached; only the tensors come from the file."""
    if path.suffix.lower() != ".safetensors":
        raise ModelFileError(f"{path} is not a .safetensors file; pickled checkpoints (.ckpt, .pt, .bin) are "
                             "refused because loading them can run code")
    from diffusers.loaders.single_file_utils import SingleFileComponentError, fetch_diffusers_config
    from huggingface_hub.errors import LocalEntryNotFoundError

    checkpoint = _LazyCheckpoint(path)
    if not any(key.startswith("model.diffusion_model.") for key in checkpoint):
        raise ModelFileError(f"{path} is not a Stable Diffusion checkpoint: it has no UNet weights "
                             "(model.diffusion_model.*); give a single-file SD 1.x, 2.x or XL checkpoint, a "
                             "diffusers folder or a hub id")
    config = fetch_diffusers_config(checkpoint)["pretrained_model_name_or_path"]
    # SDXL (and its relatives) condition on two text encoders, kept under conditioner.embedders.
    xl = any(key.startswith("conditioner.embedders.") for key in checkpoint)
    cls = diffusers.StableDiffusionXLPipeline if xl else diffusers.StableDiffusionPipeline
    try:
        return cls.from_single_file(str(path), torch_dtype=dtype)
    except LocalEntryNotFoundError as exc:
        raise DownloadError(f"{path.name} needs its configuration from the Hugging Face hub ({config}) the "
                            f"first time it is loaded, and the hub could not be reached ({_first_line(exc)}). "
                            "Connect once (it is cached after that), or convert the checkpoint to a diffusers "
                            "folder and give the folder") from None
    except (OSError, ValueError, KeyError, SingleFileComponentError) as exc:
        raise ModelFileError(f"could not load {path} as a single-file {config} checkpoint: "
                             f"{_first_line(exc)}") from None


class _LazyCheckpoint(Mapping):
    """A safetensors file's tensors by name, each read only when asked for: enough to tell the model type
    without loading gigabytes twice."""

    def __init__(self, path: Path) -> None:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                self._keys = list(f.keys())
        except (OSError, SafetensorError) as exc:
            raise ModelFileError(f"{path} is not a readable safetensors file: {_first_line(exc)}") from None
        self._path = path

    def __getitem__(self, key: str) -> torch.Tensor:
        from safetensors import safe_open

        if key not in self._keys:
            raise KeyError(key)
        with safe_open(str(self._path), framework="pt") as f:
            return f.get_tensor(key)

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def _quiet():
    """diffusers and transformers report deprecations and progress while loading; the user needs none of it."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    loggers = [logging.getLogger(name) for name in ("diffusers", "transformers")]
    levels = [lg.level for lg in loggers]
    bars = [(m, m.is_progress_bar_enabled()) for m in (diffusers_logging, transformers_logging)]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    for module, _ in bars:
        module.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        for module, enabled in bars:
            if enabled:
                module.enable_progress_bar()
