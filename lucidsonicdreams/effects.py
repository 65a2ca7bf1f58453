"""Per-frame image effects driven by the music: the built-in contrast and flash, and user effects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from . import validation

EffectFunc = Callable[..., np.ndarray]


def contrast_effect(array: np.ndarray, strength: float, amplitude: float) -> np.ndarray:
    """Raise contrast by a factor ``1 + amplitude * strength``."""
    factor = 1 + amplitude * strength
    return np.asarray(ImageEnhance.Contrast(Image.fromarray(array)).enhance(factor))


def flash_effect(array: np.ndarray, strength: float, amplitude: float) -> np.ndarray:
    """Brighten: stretch ``[0, 255 * (1 - amplitude * strength)]`` to the full range."""
    ceiling = max(255.0 * (1 - amplitude * strength), 1.0)
    if ceiling >= 255.0:
        return array
    scaled = array.astype(np.float32) * (255.0 / ceiling)
    return np.minimum(scaled + 0.5, 255).astype(np.uint8)


class EffectsGenerator:
    """An effect that reacts to the music.

    Parameters
    ----------
    func : callable
        ``func(array, strength, amplitude)`` with ``array`` an HxWx3 uint8 frame and ``amplitude`` in [0, 1];
        returns an HxWx3 uint8 array.
    audio : str or path, optional
        Audio that drives the effect (default: the song).
    strength : float
        Passed to ``func`` unchanged.
    percussive : bool
        Drive the effect from the percussive part of its audio.
    """

    def __init__(
        self, func: EffectFunc, audio: str | Path | None = None, strength: float = 0.5, percussive: bool = True
    ) -> None:
        self.func = validation.function("EffectsGenerator func", func, ("array", "strength", "amplitude"))
        self.audio = validation.audio_file("EffectsGenerator audio", audio, optional=True)
        self.strength = validation.number("EffectsGenerator strength", strength)
        self.percussive = validation.flag("EffectsGenerator percussive", percussive)

    def apply(self, array: np.ndarray, amplitude: float) -> np.ndarray:
        """Run the effect on one frame and check what it returns."""
        out = self.func(array=array, strength=self.strength, amplitude=float(amplitude))
        if not isinstance(out, np.ndarray) or out.shape != array.shape or out.dtype != np.uint8:
            got = f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
            raise TypeError(
                f"effect {_name(self.func)} must return a uint8 array of shape {array.shape}, got {got}"
            )
        return out

    def __repr__(self) -> str:
        return (
            f"EffectsGenerator({_name(self.func)}, audio={self.audio!r}, strength={self.strength}, "
            f"percussive={self.percussive})"
        )


def _name(func: Callable) -> str:
    return getattr(func, "__name__", type(func).__name__)

