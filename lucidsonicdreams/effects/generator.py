"""``EffectsGenerator``: a function ``func(array, strength, amplitude)`` applied to every frame, driven by an
audio file (or the song) and a part of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..utils import checks as validation

EffectFunc = Callable[..., np.ndarray]


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

