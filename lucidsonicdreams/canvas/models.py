"""The two denoisers of a canvas, loaded as data: a UNet, its VAE, its text encoder and tokenizer, and for a model
that makes spectrograms (Auffusion), its HiFi-GAN vocoder.

Each is a hub id, a diffusers folder, or (Stable Diffusion only) a single-file ``.safetensors`` checkpoint.
Auffusion publishes its UNet and text encoder as ``.bin`` pickles: they are read as data (never run) and kept as
safetensors in the cache (:func:`..models.weights.safe_folder`). Only diffusers' and transformers' own classes
are built; nothing in a model folder names code to import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import DownloadError, ModelFileError
from ..models.pipelines import (
    check_source,
    first_line,
    is_pipeline,
    is_sdxl,
    load_pipeline,
    quiet_loading,
    resolve_model,
)
from ..models.weights import safe_folder

# The parts a denoiser is built from, each a subfolder of a diffusers folder.
_PARTS = ("unet", "vae", "text_encoder")
_TEXT_ENCODERS = ("CLIPTextModel",)
# Weight files of one part, in the order they are preferred: safetensors, or else pickles read as data.
_SAFE_WEIGHTS = re.compile(r"(diffusion_pytorch_model|model)(-\d+-of-\d+)?\.safetensors(\.index\.json)?")
_PICKLED_WEIGHTS = re.compile(r"(diffusion_pytorch_model|pytorch_model)(-\d+-of-\d+)?\.bin(\.index\.json)?")


@dataclass
class Denoiser:
    """One model's parts, on one device. ``vocoder`` is ``None`` for a model with no vocoder folder."""

    name: str
    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: object
    vocoder: torch.nn.Module | None = None

    @property
    def device(self) -> torch.device:
        return self.unet.device

    @property
    def dtype(self) -> torch.dtype:
        return self.unet.dtype

    @torch.inference_mode()
    def embed(self, prompt: str, negative: str) -> torch.Tensor:
        """Text embeddings for classifier-free guidance [shape=(2, tokens, width)]: the negative prompt's first,
        each encoded on its own, as diffusers' StableDiffusionPipeline does."""
        return torch.cat([self._encode(negative), self._encode(prompt)]).to(self.dtype)

    def _encode(self, text: str) -> torch.Tensor:
        tokens = self.tokenizer(text, padding="max_length", truncation=True, return_tensors="pt",
                                max_length=self.tokenizer.model_max_length)
        return self.text_encoder(tokens.input_ids.to(self.device))[0]

    @torch.inference_mode()
    def guided_noise(self, latents: torch.Tensor, t: torch.Tensor, embeddings: torch.Tensor,
                     guidance: float) -> torch.Tensor:
        """The guided noise estimate (float32) of ``latents`` [shape=(1, 4, h, w)] at timestep ``t``."""
        batch = torch.cat([latents] * 2).to(self.dtype)
        unconditional, conditional = self.unet(batch, t, encoder_hidden_states=embeddings).sample.chunk(2)
        return (unconditional + guidance * (conditional - unconditional)).float()

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """The VAE's picture of ``latents``, floats in [0, 1] [shape=(3, H, W)] on the CPU."""
        scaled = (latents / self.vae.config.scaling_factor).to(self.vae.dtype)
        pixels = self.vae.decode(scaled).sample[0].float()
        return (pixels / 2 + 0.5).clamp(0, 1).cpu()

    def latent_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)


def check_model(name: str, model: object) -> Path | str | object:
    """What to load for the argument ``name``, checked as far as files allow before any loading: a pipeline
    object, a folder or file (refused if it cannot be a Stable-Diffusion-family model, or is a pickled
    checkpoint), or a hub id."""
    if is_pipeline(model):
        if is_sdxl(model):
            raise _sdxl(name, type(model).__name__)
        return model
    if isinstance(model, (str, Path)) and Path(model).expanduser().suffix.lower() in (".ckpt", ".pt", ".pth",
                                                                                       ".bin", ".pkl"):
        raise ModelFileError(f"{name}: {str(model)!r} is a pickled checkpoint, and loading one can run code; give "
                             "a diffusers folder, a hub id or a .safetensors file")
    try:
        source = resolve_model(model)[0]
    except (TypeError, FileNotFoundError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
    if isinstance(source, Path) and source.is_dir():
        missing = [part for part in _PARTS if not (source / part).is_dir()]
        if not (source / "tokenizer").is_dir() and not any((source / "text_encoder" / name).is_file()
                                                           for name in ("vocab.json", "tokenizer.json")):
            missing.append("tokenizer")
        if missing:
            raise ModelFileError(f"{name}: {str(source)!r} is not a Stable Diffusion-style folder: it has no "
                                 f"{', '.join(missing)} subfolder(s)")
        _check_text_encoder(name, source / "text_encoder" / "config.json")
    elif isinstance(source, Path):
        check_source(source)
    if is_sdxl(source):
        raise _sdxl(name, str(source))
    return source


def _check_text_encoder(name: str, config_file: Path) -> None:
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{name}: {config_file} is not readable JSON ({exc})") from None
    kinds = config.get("architectures") if isinstance(config, dict) else None
    if not (isinstance(kinds, list) and kinds and all(kind in _TEXT_ENCODERS for kind in kinds)):
        raise ModelFileError(f"{name}: {config_file} names the text encoder {kinds!r}; only "
                             f"{', '.join(_TEXT_ENCODERS)} (Stable Diffusion 1.x and Auffusion) is loaded")


def _sdxl(name: str, what: str) -> ModelFileError:
    return ModelFileError(f"{name}: {what} is SDXL or one of its kin (its UNet takes extra conditioning); images "
                          "that sound need Stable Diffusion 1.x-family models such as SD 1.5 and Auffusion")


@dataclass(frozen=True)
class Prepared:
    """A model ready to load: ``label`` names it to the user, ``source`` is what loads."""

    label: str
    source: object


def prepare_model(name: str, source: object) -> Prepared:
    """A source that :func:`check_model` passed, made ready to load with nothing left to refuse: a hub model
    downloaded and checked, a folder's pickled weights (and vocoder) read as data and cached as safetensors.
    Run for both models before either loads, so a bad file costs no loading time."""
    label = type(source).__name__ if is_pipeline(source) else str(source)
    if is_pipeline(source) or (isinstance(source, Path) and source.is_file()):
        return Prepared(label, source)
    folder = source if isinstance(source, Path) else _download(str(source))
    if not isinstance(source, Path):
        check_model(name, folder)  # a hub model's files are known only now
    safe = safe_folder(folder)
    if (safe / "vocoder").is_dir():
        from ..models.hifigan import load_vocoder

        load_vocoder(safe / "vocoder", "cpu")  # converted (or refused) now; loading it again later reads the cache
    return Prepared(label, safe)


def load_denoiser(model: Prepared, device: torch.device, dtype: torch.dtype) -> Denoiser:
    """The denoiser of a model that :func:`prepare_model` made ready."""
    source = model.source
    if is_pipeline(source):
        return _from_pipeline(model.label, source.to(device), None)
    if source.is_file():
        pipe = load_pipeline(source, device, dtype, safety_checker=None, requires_safety_checker=False)
        return _from_pipeline(model.label, pipe, None)
    return _load_folder(model.label, source, device, dtype)


def _from_pipeline(name: str, pipe: object, vocoder: object) -> Denoiser:
    return Denoiser(name, pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer, vocoder)


def _load_folder(name: str, folder: Path, device: torch.device, dtype: torch.dtype) -> Denoiser:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from ..models.hifigan import load_vocoder

    try:
        with quiet_loading():
            unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=dtype,
                                                        use_safetensors=True)
            vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=dtype, use_safetensors=True)
            text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=dtype,
                                                         use_safetensors=True)
            # Auffusion's adapter models keep the tokenizer beside the text encoder.
            tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer" if (folder / "tokenizer").is_dir()
                                                      else folder / "text_encoder")
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"could not load the model {name!r}: {first_line(exc)}") from None
    if getattr(unet.config, "addition_embed_type", None) is not None:
        raise _sdxl("model", repr(name))
    vocoder = load_vocoder(folder / "vocoder", device) if (folder / "vocoder").is_dir() else None
    for part in (unet, vae, text_encoder):
        part.to(device).eval()
    return Denoiser(name, unet, vae, text_encoder, tokenizer, vocoder)


def _download(repo_id: str) -> Path:
    """A hub model's folder in the Hugging Face cache, with only what a denoiser reads: per part, its
    safetensors, or its ``.bin`` pickles where it has no safetensors (Auffusion), and the small files."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        files = HfApi().list_repo_files(repo_id)
    except (HfHubHTTPError, OSError, ValueError):
        files = None  # offline: the cached snapshot, if any, has only the files wanted before
    patterns = wanted_files(files) if files is not None else ["*"]
    try:
        with quiet_loading():
            return Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=files is None))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise DownloadError(f"could not get the model {repo_id!r} from the Hugging Face hub: {first_line(exc)}. "
                            "Check the network, or download the model folder and give its path") from None


def wanted_files(files: list[str]) -> list[str]:
    """Of a hub model's files, those a denoiser needs: the configs, the tokenizer, the vocoder, and each part's
    weights (safetensors where there are any, else its pickles; never fp16 variants or EMA copies)."""
    def small(f: str) -> bool:
        if f.endswith(".index.json"):  # shard indexes go with their weights, below
            return False
        if f.startswith(("tokenizer/", "vocoder/")):
            return True
        # Auffusion's adapter models keep their tokenizer's vocab.json and merges.txt beside the text encoder.
        return f.endswith(".json") or f.startswith("text_encoder/") and f.endswith(".txt")

    wanted = [f for f in files if f == "model_index.json" or f.count("/") == 1 and small(f)]
    for part in ("unet", "vae", "text_encoder"):
        names = [f.split("/", 1)[1] for f in files if f.startswith(part + "/") and f.count("/") == 1]
        safe = [n for n in names if _SAFE_WEIGHTS.fullmatch(n)]
        wanted += [f"{part}/{n}" for n in (safe or [n for n in names if _PICKLED_WEIGHTS.fullmatch(n)])]
    return sorted(set(wanted))
