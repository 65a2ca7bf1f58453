"""The noise and class vectors of one render, composed from its signals and settings with :mod:`latents`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import latents
from .settings import RenderSettings
from .signals import Signals


@dataclass(frozen=True)
class Draws:
    """Independent random generators for each random part of a render, all from one seed."""

    classes: np.random.Generator
    base: np.random.Generator
    motion: np.random.Generator
    style: np.random.Generator
    beat: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Draws:
        # The order is part of "same seed, same video": append new generators, never reorder.
        return cls(*(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)))


@dataclass(frozen=True)
class Vectors:
    noise: np.ndarray  # [shape=(n, dim)] float32
    classes: np.ndarray  # [shape=(n, num_classes)] float32
    class_order: list[int] | None  # the classes the 12 pitches drive
    drives: dict[str, np.ndarray]  # the per-frame pulse, motion and beat signals as used, for plots


def compose(signals: Signals, settings: RenderSettings, draws: Draws, dim: int, num_classes: int) -> Vectors:
    """Noise vectors (base path, pulse, beat, motion) and class vectors for every frame of ``signals``."""
    n, fps = signals.n_frames, signals.fps
    motion, beat = settings.motion, settings.beat
    if beat.sections and len(signals.section_frames):
        noise = latents.section_latents(draws.base, signals.section_frames, n, dim, fps, motion.speed_fpm,
                                        motion.truncation)
    else:
        noise = latents.base_latents(draws.base, n, dim, fps, motion.speed_fpm, motion.truncation)
    pulse = latents.pulse(signals.pulse, settings.pulse.react)
    hits = latents.hit_envelope(signals.hits, fps)
    noise = noise + pulse[:, None]
    if beat.react:
        noise = noise + latents.beat_offsets(hits, signals.beat_frames, latents.draw_beat_directions(draws.beat, dim),
                                             beat.react)
    noise = latents.add_motion(noise, signals.motion, latents.draw_motion(draws.motion, n, dim, fps, motion.randomness),
                               fps=fps, react=motion.react, truncation=motion.truncation)

    cls = settings.classes
    order = None
    if num_classes:
        order = latents.repeat_to_twelve(cls.classes or latents.default_classes(draws.classes, num_classes))
    shuffle_at = latents.shuffle_frames(cls.shuffle_seconds, settings.output.start, fps, n)
    if beat.sections:
        shuffle_at |= set(signals.section_frames.tolist())
    class_vecs = latents.class_vectors(
        signals.chroma, order or [], num_classes, fps,
        pitch_react=cls.pitch_react, complexity=cls.complexity, smooth_seconds=cls.smooth_seconds,
        shuffle_at=shuffle_at, shuffle_shift=int(round(cls.shuffle_strength * 12)), dominant_first=cls.dominant_first,
    )
    drives = {"pulse": pulse, "motion": motion.react * signals.motion, "beat": beat.react * hits}
    return Vectors(noise.astype(np.float32), class_vecs.astype(np.float32), order, drives)
