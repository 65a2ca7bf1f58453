"""The built-in effects, contrast and flash: each one's picture function, its settings, its defaults and the rule
that switches it on live together here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from .generator import EffectsGenerator


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


@dataclass(frozen=True)
class BuiltinEffect:
    """A built-in effect as ``hallucinate`` sets it (``<name>_strength``, ``<name>_percussive``, and the
    ``<name>_audio`` stem): on when any of the three is given (0.4's rule), at strength 0.5 and driven by the
    percussive part unless they say otherwise."""

    strength: float | None = None
    percussive: bool | None = None

    DEFAULT_STRENGTH = 0.5
    DEFAULT_PERCUSSIVE = True

    @staticmethod
    def func(array: np.ndarray, strength: float, amplitude: float) -> np.ndarray:
        raise NotImplementedError

    def generator(self, audio: Path | None) -> EffectsGenerator | None:
        """The effect to apply, or ``None`` when it is off."""
        if audio is None and self.strength is None and self.percussive is None:
            return None
        return EffectsGenerator(
            type(self).func, audio=audio,
            strength=self.DEFAULT_STRENGTH if self.strength is None else self.strength,
            percussive=self.DEFAULT_PERCUSSIVE if self.percussive is None else self.percussive,
        )


@dataclass(frozen=True)
class Contrast(BuiltinEffect):
    func = staticmethod(contrast_effect)


@dataclass(frozen=True)
class Flash(BuiltinEffect):
    func = staticmethod(flash_effect)


@dataclass(frozen=True)
class EffectSettings:
    """The effects of one render: the built-in ones as set, then the user's own, in the order they apply."""

    contrast: Contrast
    flash: Flash
    custom: tuple[EffectsGenerator, ...] = ()

    def chosen(self, contrast_audio: Path | None, flash_audio: Path | None) -> list[EffectsGenerator]:
        """The effects that are on (a built-in one also by its stem being given), in the order they apply."""
        built_in = [self.contrast.generator(contrast_audio), self.flash.generator(flash_audio)]
        return [fx for fx in built_in if fx is not None] + list(self.custom)


def check_custom(custom_effects: object) -> tuple[EffectsGenerator, ...]:
    """``custom_effects``: ``None`` or a list of :class:`EffectsGenerator`."""
    if custom_effects is None:
        return ()
    if isinstance(custom_effects, (str, bytes)) or not hasattr(custom_effects, "__iter__"):
        raise TypeError("custom_effects must be a list of EffectsGenerator objects")
    effects = tuple(custom_effects)
    for fx in effects:
        if not isinstance(fx, EffectsGenerator):
            raise TypeError(f"custom_effects must hold EffectsGenerator objects, got {type(fx).__name__}")
    return effects
