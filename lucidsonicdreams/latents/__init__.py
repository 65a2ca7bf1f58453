"""Latents: per-frame signals in, the noise and class vectors of every frame out.

:mod:`.noise` (base path, section themes, pulse, beat hits, motion) and :mod:`.classes` (pitches to classes)
are pure numpy with explicit random generators; :mod:`.compose` puts them together for one render.
"""

from __future__ import annotations

from .classes import (
    CLASS_RATE_FPS,
    class_vectors,
    default_classes,
    repeat_to_twelve,
    shuffle_frames,
)
from .noise import (
    BEAT_DECAY_SECONDS,
    BEAT_DIRECTIONS,
    MOTION_BOUND,
    MOTION_RESEED_SECONDS,
    MOTION_SPEED,
    SECTION_FADE_SECONDS,
    SECTION_SPREAD,
    SMOOTHING,
    MotionDraws,
    add_motion,
    base_latents,
    beat_offsets,
    draw_beat_directions,
    draw_motion,
    hit_envelope,
    interpolate_keys,
    motion_period,
    pulse,
    section_latents,
    smooth,
    truncated_normal,
)

__all__ = [
    "BEAT_DECAY_SECONDS",
    "BEAT_DIRECTIONS",
    "CLASS_RATE_FPS",
    "MOTION_BOUND",
    "MOTION_RESEED_SECONDS",
    "MOTION_SPEED",
    "MotionDraws",
    "SECTION_FADE_SECONDS",
    "SECTION_SPREAD",
    "SMOOTHING",
    "add_motion",
    "base_latents",
    "beat_offsets",
    "class_vectors",
    "default_classes",
    "draw_beat_directions",
    "draw_motion",
    "hit_envelope",
    "interpolate_keys",
    "motion_period",
    "pulse",
    "repeat_to_twelve",
    "section_latents",
    "shuffle_frames",
    "smooth",
    "truncated_normal",
]
