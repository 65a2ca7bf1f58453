"""Loading diffusers pipelines safely, shared by the diffusion style and riffuse: hub ids, diffusers folders and
single-file ``.safetensors`` checkpoints.

Weights load from safetensors only, so a model never runs code: pickled weights are refused before diffusers
sees the folder, and a ``model_index.json`` may only name diffusers' and transformers' own classes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from ..catalog.entries import find_style
from ..errors import DownloadError, ModelFileError

# Weight files that are pickles: loading one can run any code stored in it.
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
# Schedulers that add fresh noise at every step; each is swapped for the deterministic Euler sampler so that
# the same latent always gives the same picture (no flicker while the music holds still).
_STOCHASTIC_SCHEDULERS = ("EulerAncestralDiscreteScheduler", "DPMSolverSDEScheduler", "DDPMScheduler",
                          "KDPM2AncestralDiscreteScheduler", "LCMScheduler")
# Tensor names of single-file checkpoints (the original CompVis / A1111 layout): the UNet's weights, and SDXL's
# two text encoders (SD 1.x/2.x keep their one under cond_stage_model).
_UNET_TENSORS = "model.diffusion_model."
_SDXL_TENSORS = "conditioner.embedders."


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


def check_source(source: str | Path) -> None:
    """Refuse what would run code or could never be drawn with, reading only small files: a folder's
    ``model_index.json`` (:func:`check_folder`), a single file's suffix and tensor names. A hub id is known only
    once loaded (:func:`load_pipeline` checks it then)."""
    if not isinstance(source, Path):
        return
    if source.is_dir():
        check_folder(source)
        return
    if source.suffix.lower() != ".safetensors":
        raise ModelFileError(f"{source} is not a .safetensors file; pickled checkpoints (.ckpt, .pt, .bin) are "
                             "refused because loading them can run code")
    if not any(key.startswith(_UNET_TENSORS) for key in _LazyCheckpoint(source)):
        raise ModelFileError(f"{source} is not a Stable Diffusion checkpoint: it has no UNet weights "
                             f"({_UNET_TENSORS}*); give a single-file SD 1.x, 2.x or XL checkpoint, a diffusers "
                             "folder or a hub id")


def is_sdxl(model: object) -> bool | None:
    """Whether a model is SDXL or one of its kin, whose UNet takes extra conditioning (pooled text embeddings and
    time ids): read from a pipeline object's UNet, a folder's ``unet/config.json`` (the same setting) or a
    checkpoint's tensor names. ``None`` for a hub id, or a folder whose UNet config cannot be read (the loader
    names what is wrong with it): known only once loaded."""
    if is_pipeline(model):
        return getattr(model.unet.config, "addition_embed_type", None) is not None
    if not isinstance(model, Path):
        return None
    if model.is_file():
        return any(key.startswith(_SDXL_TENSORS) for key in _LazyCheckpoint(model))
    try:
        config = json.loads((model / "unet" / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return isinstance(config, dict) and config.get("addition_embed_type") is not None


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
    if index.get("unet") in (None, [None, None]):
        raise ModelFileError(_no_unet(f"{index_file}: {pipeline} lists"))
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
    check_source(source)
    with quiet_loading():
        if isinstance(source, Path) and source.is_file():
            pipe = _load_single_file(diffusers, source, dtype)
        else:
            try:
                pipe = diffusers.AutoPipelineForText2Image.from_pretrained(
                    str(source), torch_dtype=dtype, use_safetensors=True, **overrides)
            except OSError as exc:
                if isinstance(source, Path):
                    raise ModelFileError(f"could not load the diffusion model {str(source)!r}: "
                                         f"{first_line(exc)}") from None
                raise DownloadError(f"could not get the diffusion model {source!r} from the Hugging Face hub: "
                                    f"{first_line(exc)}. Check the network (and log in with `hf auth login` for "
                                    "a gated model), or download the model folder and give its path") from None
        if getattr(pipe, "unet", None) is None:  # a hub model is known only now
            raise ModelFileError(_no_unet(f"{str(source)!r} loaded as {type(pipe).__name__}, which has"))
        pipe = deterministic(pipe)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def is_pipeline(model: object) -> bool:
    return all(hasattr(model, name) for name in ("unet", "vae", "scheduler", "encode_prompt"))


def deterministic(pipe):
    """The pipeline, or where its sampler adds noise of its own, a new pipeline of the same components with the
    Euler sampler instead. The given pipeline is never changed: it may be the user's, used elsewhere."""
    if type(pipe.scheduler).__name__ not in _STOCHASTIC_SCHEDULERS:
        return pipe
    from diffusers import EulerDiscreteScheduler

    components = {**pipe.components, "scheduler": EulerDiscreteScheduler.from_config(pipe.scheduler.config)}
    return type(pipe)(**components)


def _load_single_file(diffusers, path: Path, dtype: torch.dtype):
    """A checkpoint in the original (CompVis / A1111) layout, as model sites share them. diffusers builds the
    pipeline from the configuration of the matching hub model (e.g. Stable Diffusion 1.5's), fetched once and
    cached; only the tensors come from the file (checked by :func:`check_source`)."""
    from diffusers.loaders.single_file_utils import SingleFileComponentError, fetch_diffusers_config
    from huggingface_hub.errors import LocalEntryNotFoundError

    checkpoint = _LazyCheckpoint(path)
    config = fetch_diffusers_config(checkpoint)["pretrained_model_name_or_path"]
    xl = any(key.startswith(_SDXL_TENSORS) for key in checkpoint)
    cls = diffusers.StableDiffusionXLPipeline if xl else diffusers.StableDiffusionPipeline
    try:
        return cls.from_single_file(str(path), torch_dtype=dtype)
    except LocalEntryNotFoundError as exc:
        raise DownloadError(f"{path.name} needs its configuration from the Hugging Face hub ({config}) the "
                            f"first time it is loaded, and the hub could not be reached ({first_line(exc)}). "
                            "Connect once (it is cached after that), or convert the checkpoint to a diffusers "
                            "folder and give the folder") from None
    except (OSError, ValueError, KeyError, SingleFileComponentError) as exc:
        raise ModelFileError(f"could not load {path} as a single-file {config} checkpoint: "
                             f"{first_line(exc)}") from None


class _LazyCheckpoint(Mapping):
    """A safetensors file's tensors by name, each read only when asked for: enough to tell the model type
    without loading gigabytes twice."""

    def __init__(self, path: Path) -> None:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                self._keys = list(f.keys())
        except (OSError, SafetensorError) as exc:
            raise ModelFileError(f"{path} is not a readable safetensors file: {first_line(exc)}") from None
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


def _no_unet(what: str) -> str:
    return (f"{what} no unet component: diffusion styles and riffuse drive a UNet (Stable Diffusion 1.x, 2.x, "
            "XL and their fine-tunes); pipelines built on a transformer instead (SD3, Flux) are not supported")


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def quiet_loading():
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
