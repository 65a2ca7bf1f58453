"""Resolving the ``style`` argument into something that turns (noise, class) batches into uint8 frames."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from . import validation
from .catalog import BUILTIN_STYLES, find_style, load_catalog, style_key
from .errors import ModelFileError
from .frames import to_uint8_frames

DEFAULT_STYLE = "cppn"


@dataclass(frozen=True)
class RenderOptions:
    """Per-render settings, given to every style with every batch (styles are never configured by changing them).

    size : the video's (width, height) when the user chose one; styles that can render at any size use it
    truncation_psi : StyleGAN's pull towards the average latent (1 = off)
    """

    size: tuple[int, int] | None = None
    truncation_psi: float = 1.0


class Style:
    """What the renderer needs of a style: noise and class vectors in, uint8 frames out.

    Subclass it for a style of your own (``LucidSonicDream(song, style=MyStyle())``); a plain function
    ``f(noise_batch, class_batch)`` works too.
    """

    input_shape: int  # noise vector length at the style's own size
    num_possible_classes: int  # 0 for an unconditional model

    def input_shape_for(self, options: RenderOptions) -> int:
        """The noise vector length for a render with these options (most styles: always ``input_shape``)."""
        return self.input_shape

    def bytes_per_pixel(self, options: RenderOptions) -> int:
        """Memory the style holds per output pixel during a render, for the memory check before it starts."""
        return 0

    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        """Images for a batch: uint8, shape (batch, height, width, 3)."""
        raise NotImplementedError


def show_styles() -> list[str]:
    """Print the catalog as a table (name, resolution, classes, license) and return the usable style names.

    The built-in style comes first, then the others by name. Styles the package cannot load (e.g. StyleGAN1
    models) are printed with the reason but left out of the returned list, which holds exactly the names that
    ``LucidSonicDream(style=...)`` accepts.
    """
    styles = sorted(load_catalog().values(), key=lambda s: (not s.builtin, s.key))
    header = ("name", "resolution", "classes", "license", "")
    rows = [header] + [
        (
            s.name,
            "any" if s.builtin else str(s.resolution or "?"),
            "prompts" if s.format == "diffusers" else str(s.conditional) if s.conditional else "-",
            s.license or "?",
            "" if s.supported else f"unsupported: {s.unsupported_reason}",
        )
        for s in styles
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return [s.name for s in styles if s.supported]


def check_style(style: object, input_shape: int | None, num_possible_classes: int | None,
                prompts: object = None) -> None:
    """Validate the ``style`` argument (and those that go with it) without loading anything."""
    if prompts is not None:
        from .diffusion import resolve_model

        if isinstance(style, Style) or callable(style) or is_builtin(style):
            raise ValueError("prompts are for diffusion styles: give a diffusion model as style (a catalog name "
                             "such as 'sd-turbo', a hub id, a diffusers folder or a .safetensors file), or leave "
                             "prompts out")
        validation.prompts(prompts)
        resolve_model(style)
        return
    if isinstance(style, type) and issubclass(style, Style):
        raise TypeError(f"style is the class {style.__name__}; pass an instance: style={style.__name__}(...)")
    if isinstance(style, Style):
        validation.number("style.input_shape", getattr(style, "input_shape", None), low=1, integer=True)
        validation.number("style.num_possible_classes", getattr(style, "num_possible_classes", None), low=0,
                          integer=True)
        try:
            inspect.signature(style).bind(None, None, None)
        except TypeError:
            raise TypeError(f"{type(style).__name__}.__call__ must take (noise_batch, class_batch, options)") from None
        except ValueError:
            pass  # no readable signature: trusted, as for functions
        return
    if callable(style):
        validation.function("style function", style, ("noise_batch", "class_batch"))
        if input_shape is None or num_possible_classes is None:
            raise TypeError(
                "style is a function, so input_shape (the noise vector length) and num_possible_classes "
                "(0 for an unconditional model) must be given too"
            )
        validation.number("input_shape", input_shape, low=1, integer=True)
        validation.number("num_possible_classes", num_possible_classes, low=0, integer=True)
        return
    if not isinstance(style, (str, Path)):
        raise TypeError(f"style must be a style name, a model file path, a Style or a function, got "
                        f"{type(style).__name__}")
    if is_builtin(style):
        return
    if not str(style).strip():
        raise ValueError("style is empty; give a style name (show_styles() lists them) or a model file path")
    path = Path(style).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".safetensors"):
        # StyleGAN files are pickles; folders and .safetensors checkpoints are diffusion models.
        kind = "a folder" if path.is_dir() else "a .safetensors checkpoint"
        raise ValueError(f"style {str(style)!r} is {kind}: a diffusion model needs prompts, e.g. "
                         f"LucidSonicDream(song, style={str(style)!r}, prompts=['a forest', 'the sea'])")
    if path.is_file():
        return
    entry = find_style(style) if isinstance(style, str) else None
    if entry is not None:
        if not entry.supported:
            raise ModelFileError(f"style {entry.name!r} cannot be used: {entry.unsupported_reason}")
        if entry.format == "diffusers":
            raise ValueError(f"style {entry.name!r} is a diffusion model and needs prompts, e.g. "
                             f"LucidSonicDream(song, style={entry.name!r}, prompts=['a forest', 'the sea'])")
        return
    if isinstance(style, Path) or str(style).lower().endswith(".pkl"):
        raise FileNotFoundError(f"style file {str(style)!r} does not exist")
    raise ValueError(f"unknown style {style!r}; show_styles() (or `lucidsonicdreams styles`) lists the available "
                     "ones, and a model file can be given by its path")


def is_builtin(style: object) -> bool:
    return isinstance(style, (str, Path)) and style_key(str(style)) in BUILTIN_STYLES


def _is_catalog_name(style: object) -> bool:
    """A catalog style (not a built-in one), named by a string that is not an existing file."""
    return (isinstance(style, str) and not is_builtin(style) and not Path(style).expanduser().is_file()
            and find_style(style) is not None)


def load_style(
    style: object, input_shape: int | None, num_possible_classes: int | None, device, seed: int,
    prompts: list[str] | None = None,
) -> Style:
    """Build the style object for a render (the built-in network is seeded by ``seed``)."""
    check_style(style, input_shape, num_possible_classes, prompts)
    if prompts is not None:
        from .diffusion import DiffusionStyle

        return DiffusionStyle(style, prompts, device=device)
    if isinstance(style, Style):
        return style
    if callable(style):
        return FunctionStyle(style, input_shape, num_possible_classes)
    if is_builtin(style):
        from .cppn import CPPNStyle  # cppn.py builds on Style, defined here

        return CPPNStyle(seed, device)
    from .models.loader import load_network

    if _is_catalog_name(style):
        from .download import download_style

        return StyleGANStyle(load_network(download_style(style), device))
    return StyleGANStyle(load_network(Path(style).expanduser(), device))


class StyleGANStyle(Style):
    """A StyleGAN generator driven by noise vectors (z) and, for conditional models, class vectors (c)."""

    def __init__(self, generator: torch.nn.Module) -> None:
        self.generator = generator
        self.input_shape = int(generator.z_dim)
        self.num_possible_classes = int(generator.c_dim)
        self.device = next(generator.parameters()).device

    @torch.inference_mode()
    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        z = torch.as_tensor(np.asarray(noise_batch, dtype=np.float32), device=self.device)
        c = torch.as_tensor(np.asarray(class_batch, dtype=np.float32), device=self.device) if \
            self.num_possible_classes else None
        images = self.generator(z, c, truncation_psi=options.truncation_psi, noise_mode="const")
        # On the device, so only uint8 crosses to the host; the same rounding as NVIDIA's generate scripts.
        images = (images.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
        if images.shape[-1] == 1:
            images = images.expand(-1, -1, -1, 3)
        return images.cpu().numpy()


class FunctionStyle(Style):
    """A user function ``f(noise_batch, class_batch)`` that returns images.

    uint8 images are used as they are; float images are read as ``f.output_range`` (default ``(-1, 1)``,
    StyleGAN's convention; set ``f.output_range = (0, 1)`` for [0, 1] images). A function that also names
    ``size`` or ``truncation_psi`` among its parameters gets those render options, like every other style.
    """

    def __init__(self, func: Callable, input_shape: int, num_possible_classes: int) -> None:
        self.func = func
        # Only options the function names: one taking **kwargs (e.g. to pass on) gets just the two vectors.
        self.option_names = validation.keyword_parameters(
            func, [f.name for f in fields(RenderOptions)], through_kwargs=False) or []
        self.input_shape = int(input_shape)
        self.num_possible_classes = int(num_possible_classes)
        value_range = getattr(func, "output_range", (-1.0, 1.0))
        if len(value_range) != 2 or not value_range[0] < value_range[1]:
            raise ValueError(f"style function's output_range must be (low, high) with low < high, got {value_range!r}")
        self.value_range = (float(value_range[0]), float(value_range[1]))

    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        extra = {name: getattr(options, name) for name in self.option_names}
        # A copy: the function may reuse its output buffer while earlier frames still wait for the encoder.
        images = np.array(to_uint8_frames(self.func(noise_batch=noise_batch, class_batch=class_batch, **extra),
                                          self.value_range))
        if len(images) != len(noise_batch):
            raise TypeError(f"style function returned {len(images)} images for a batch of {len(noise_batch)}")
        return images
