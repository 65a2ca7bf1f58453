"""The one place that decides what a ``style=`` value is, and loads it.

:func:`resolve_style` checks the value (and ``input_shape``, ``num_possible_classes``, ``prompts``) without
loading anything and returns a :class:`StyleSource`, a small picklable record; :func:`load_style` builds the
style from it without checking again. The style families (:mod:`.cppn`, :mod:`.stylegan`, :mod:`.function`,
:mod:`.diffusion`) know nothing of each other or of this module.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import torch

from ..catalog.download import download_style
from ..catalog.entries import BUILTIN_STYLES, find_style, style_key
from ..errors import ModelFileError
from ..models.loader import load_network
from ..models.pipelines import check_source, resolve_model
from ..utils import checks as validation
from .base import Style
from .cppn import CPPNStyle
from .crossfade import CrossfadeStyle
from .diffusion import DiffusionStyle
from .function import FunctionStyle
from .stylegan import StyleGANStyle

DEFAULT_STYLE = "cppn"
KINDS = ("builtin", "file", "catalog", "object", "function", "diffusion")


@dataclass(frozen=True)
class StyleSource:
    """A checked ``style=`` value: what kind it is and what to load.

    kind : ``builtin`` (the seeded CPPN), ``file`` (a StyleGAN pickle), ``catalog`` (a named StyleGAN, downloaded
        on first use), ``object`` (a :class:`Style`), ``function`` (``f(noise_batch, class_batch)``) or
        ``diffusion`` (a diffusion model with prompts), or ``timeline`` (a render's style and those its timeline
        switches to)
    value : the name, path, object, function or model; for ``timeline``, (the render's source, ((source, seed),
        ...) of the others)
    """

    kind: str
    value: object
    input_shape: int | None = None
    num_possible_classes: int | None = None
    prompts: tuple[str, ...] | None = None

    @property
    def seeded(self) -> bool:
        """Whether the render's seed changes the style itself (the built-in network's weights come from it)."""
        return self.kind == "builtin" or (self.kind == "timeline" and self.value[0].seeded)

    @property
    def eager(self) -> bool:
        """Whether to load it when the song is given, so that a bad file or model is reported before anything
        else happens (cheap styles wait for the render's seed)."""
        return self.kind not in ("builtin", "function")

    def describe(self) -> str:
        """The style's identity in words, for messages and manifests."""
        if self.kind == "function":
            return f"function {getattr(self.value, '__qualname__', type(self.value).__name__)}"
        if self.kind == "object":
            return repr(self.value)
        if self.kind == "timeline":
            own, others = self.value
            return " then ".join([own.describe(), *(f"{s.describe()} (seed {seed})" for s, seed in others)])
        return f"{self.kind} {self.value}" + (f" with prompts {list(self.prompts)}" if self.prompts else "")


def is_builtin(style: object) -> bool:
    return isinstance(style, (str, Path)) and style_key(str(style)) in BUILTIN_STYLES


def resolve_style(style: object, input_shape: int | None = None, num_possible_classes: int | None = None,
                  prompts: object = None) -> StyleSource:
    """Check a ``style=`` value and what goes with it, loading nothing; raises ``TypeError``, ``ValueError``,
    ``FileNotFoundError`` or :class:`ModelFileError` naming the argument and the fix. A :class:`StyleSource` is
    already checked and is returned as it is."""
    if isinstance(style, StyleSource):
        return style
    if prompts is not None:
        if isinstance(style, Style) or callable(style) or is_builtin(style):
            raise ValueError("prompts are for diffusion styles: give a diffusion model as style (a catalog name "
                             "such as 'sd-turbo', a hub id, a diffusers folder or a .safetensors file), or leave "
                             "prompts out")
        checked = tuple(validation.prompts(prompts))
        check_source(resolve_model(style)[0])
        return StyleSource("diffusion", style, prompts=checked)
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
        return StyleSource("object", style, int(style.input_shape), int(style.num_possible_classes))
    if callable(style):
        validation.function("style function", style, ("noise_batch", "class_batch"))
        if input_shape is None or num_possible_classes is None:
            raise TypeError(
                "style is a function, so input_shape (the noise vector length) and num_possible_classes "
                "(0 for an unconditional model) must be given too"
            )
        return StyleSource("function", style, int(validation.number("input_shape", input_shape, low=1, integer=True)),
                           int(validation.number("num_possible_classes", num_possible_classes, low=0, integer=True)))
    if not isinstance(style, (str, Path)):
        raise TypeError(f"style must be a style name, a model file path, a Style or a function, got "
                        f"{type(style).__name__}")
    if is_builtin(style):
        return StyleSource("builtin", DEFAULT_STYLE)
    if not str(style).strip():
        raise ValueError("style is empty; give a style name (show_styles() lists them) or a model file path")
    path = Path(style).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".safetensors"):
        # StyleGAN files are pickles; folders and .safetensors checkpoints are diffusion models.
        kind = "a folder" if path.is_dir() else "a .safetensors checkpoint"
        raise ValueError(f"style {str(style)!r} is {kind}: a diffusion model needs prompts, e.g. "
                         f"LucidSonicDream(song, style={str(style)!r}, prompts=['a forest', 'the sea'])")
    if path.is_file():
        return StyleSource("file", path.resolve())
    entry = find_style(style) if isinstance(style, str) else None
    if entry is not None:
        if not entry.supported:
            raise ModelFileError(f"style {entry.name!r} cannot be used: {entry.unsupported_reason}")
        if entry.format == "diffusers":
            raise ValueError(f"style {entry.name!r} is a diffusion model and needs prompts, e.g. "
                             f"LucidSonicDream(song, style={entry.name!r}, prompts=['a forest', 'the sea'])")
        return StyleSource("catalog", entry.name)
    if isinstance(style, Path) or str(style).lower().endswith(".pkl"):
        raise FileNotFoundError(f"style file {str(style)!r} does not exist")
    raise ValueError(f"unknown style {style!r}; show_styles() (or `lucidsonicdreams styles`) lists the available "
                     "ones, and a model file can be given by its path")


def load_style(source: StyleSource, device: torch.device, seed: int) -> Style:
    """Build the style of a checked source on ``device`` (the built-in network's weights come from ``seed``)."""
    if source.kind == "builtin":
        return CPPNStyle(seed, device)
    if source.kind == "timeline":
        own, others = source.value
        return CrossfadeStyle([load_style(own, device, seed), *(load_style(s, device, k) for s, k in others)])
    if source.kind == "object":
        return source.value
    if source.kind == "function":
        return FunctionStyle(source.value, source.input_shape, source.num_possible_classes)
    if source.kind == "diffusion":
        return DiffusionStyle(source.value, list(source.prompts), device=device)
    if source.kind == "catalog":
        return StyleGANStyle(load_network(download_style(source.value), device))
    return StyleGANStyle(load_network(source.value, device))
