"""Effects: a frame and an amplitude in [0, 1] in, a frame out.

:mod:`.generator` holds :class:`EffectsGenerator` (any ``func(array, strength, amplitude)``); :mod:`.builtin`
the contrast and flash effects with their settings and the rule that turns them on.
"""

from __future__ import annotations

from .builtin import Contrast, EffectSettings, Flash, contrast_effect, flash_effect
from .generator import EffectsGenerator

__all__ = ["Contrast", "EffectSettings", "EffectsGenerator", "Flash", "contrast_effect", "flash_effect"]
