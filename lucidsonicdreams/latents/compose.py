"""The noise and class vectors of one render, composed from its signals and its latent settings.

In: the per-frame :class:`~lucidsonicdreams.audio.signals.Signals`, the settings groups below and one seed's
:class:`Draws`. Out: :class:`Vectors`, one noise and one class vector per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.signals import Signals
from . import classes as cls_math
from . import noise as noise_math


@dataclass(frozen=True)
class Pulse:
    react: float
    percussive: bool
    harmonic: bool


@dataclass(frozen=True)
class Motion:
    react: float
    percussive: bool
    harmonic: bool
    randomness: float
    speed_fpm: float
    truncation: float


@dataclass(frozen=True)
class Beat:
    react: float
    sections: bool


@dataclass(frozen=True)
class Classes:
    classes: list[int] | None  # checked against the style's class count once it is loaded
    dominant_first: bool
    pitch_react: float
    smooth_seconds: float
    complexity: float
    shuffle_seconds: float | list[float] | None
    shuffle_strength: float


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


def compose(signals: Signals, *, pulse: Pulse, motion: Motion, beat: Beat, classes: Classes, start: float,
            draws: Draws, dim: int, num_classes: int) -> Vectors:
    """Noise vectors (base path, pulse, beat, motion) and class vectors for every frame of ``signals``;
    ``start`` is the song time of frame 0 (class shuffle times are song times)."""
    n, fps = signals.n_frames, signals.fps
    if beat.sections and len(signals.section_frames):
        noise = noise_math.section_latents(draws.base, signals.section_frames, n, dim, fps, motion.speed_fpm,
                                           motion.truncation)
    else:
        noise = noise_math.base_latents(draws.base, n, dim, fps, motion.speed_fpm, motion.truncation)
    pulse_drive = noise_math.pulse(signals.pulse, pulse.react)
    hits = noise_math.hit_envelope(signals.hits, fps)
    noise = noise + pulse_drive[:, None]
    if beat.react:
        noise = noise + noise_math.beat_offsets(hits, signals.beat_frames,
                                                noise_math.draw_beat_directions(draws.beat, dim), beat.react)
    noise = noise_math.add_motion(noise, signals.motion,
                                  noise_math.draw_motion(draws.motion, n, dim, fps, motion.randomness),
                                  fps=fps, react=motion.react, truncation=motion.truncation)

    order = None
    if num_classes:
        order = cls_math.repeat_to_twelve(classes.classes or cls_math.default_classes(draws.classes, num_classes))
    shuffle_at = cls_math.shuffle_frames(classes.shuffle_seconds, start, fps, n)
    if beat.sections:
        shuffle_at |= set(signals.section_frames.tolist())
    class_vecs = cls_math.class_vectors(
        signals.chroma, order or [], num_classes, fps,
        pitch_react=classes.pitch_react, complexity=classes.complexity, smooth_seconds=classes.smooth_seconds,
        shuffle_at=shuffle_at, shuffle_shift=int(round(classes.shuffle_strength * 12)),
        dominant_first=classes.dominant_first,
    )
    drives = {"pulse": pulse_drive, "motion": motion.react * signals.motion, "beat": beat.react * hits}
    return Vectors(noise.astype(np.float32), class_vecs.astype(np.float32), order, drives)
