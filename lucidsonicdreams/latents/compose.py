"""The noise and class vectors of one render, composed from its signals and its latent settings.

In: the per-frame :class:`~lucidsonicdreams.audio.signals.Signals`, the settings groups below and one seed's
:class:`Draws`. Out: :class:`Vectors`, one noise and one class vector per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.signals import Signals
from ..timeline.place import Placed, Scene, transition
from . import classes as cls_math
from . import noise as noise_math

# The settings a timeline can change frame by frame (keyframes and schedules); the rest are one value per render.
# The effect strengths are applied where the effects are planned.
PLACED_SETTINGS = ("pulse_react", "motion_react", "beat_react", "speed_fpm", "truncation", "class_pitch_react",
                   "flash_strength", "contrast_strength")


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
    sections: bool | str  # True: a new look per section; "repeat": the same look wherever a label comes back


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
            draws: Draws, dim: int, num_classes: int, timeline: Placed | None = None) -> Vectors:
    """Noise vectors (base path, pulse, beat, motion) and class vectors for every frame of ``signals``;
    ``start`` is the song time of frame 0 (class shuffle times are song times). A ``timeline`` sets the react
    settings frame by frame and switches the base path to its scenes'."""
    n, fps = signals.n_frames, signals.fps
    values = timeline.values if timeline is not None else {}
    pulse_react = values.get("pulse_react", pulse.react)
    motion_react = values.get("motion_react", motion.react)
    beat_react = values.get("beat_react", beat.react)
    speed, truncation = values.get("speed_fpm", motion.speed_fpm), values.get("truncation", motion.truncation)
    # Sections count their keys at one speed: a changing one counts at its mean.
    section_speed = float(np.mean(speed))
    repeat = beat.sections == "repeat"
    if repeat and len(signals.section_frames):
        noise = noise_math.repeating_section_latents(draws.base, signals.section_frames, signals.section_labels, n,
                                                     dim, fps, section_speed, truncation)
    elif beat.sections and len(signals.section_frames):
        noise = noise_math.section_latents(draws.base, signals.section_frames, n, dim, fps, section_speed,
                                           truncation)
    else:
        noise = noise_math.base_latents(draws.base, n, dim, fps, speed, truncation)
    for scene in timeline.scenes if timeline is not None else ():
        noise = _with_scene(noise, scene, fps, speed, truncation)
    pulse_drive = noise_math.pulse(signals.pulse, pulse_react)
    hits = noise_math.hit_envelope(signals.hits, fps)
    noise = noise + pulse_drive[:, None]
    if np.any(beat_react):
        noise = noise + noise_math.beat_offsets(hits, signals.beat_frames,
                                                noise_math.draw_beat_directions(draws.beat, dim), beat_react)
    noise = noise_math.add_motion(noise, signals.motion,
                                  noise_math.draw_motion(draws.motion, n, dim, fps, motion.randomness),
                                  fps=fps, react=motion_react, truncation=truncation)

    order = None
    if num_classes:
        order = cls_math.repeat_to_twelve(classes.classes or cls_math.default_classes(draws.classes, num_classes))
    shuffle_at = cls_math.shuffle_frames(classes.shuffle_seconds, start, fps, n)
    turns = None
    if repeat:
        # Each label has its own assignment: a fifth further round the pitch circle per new label (7 and 12 share
        # no factor, so 12 labels get 12 different ones), the same wherever the label comes back.
        seen = list(dict.fromkeys(signals.section_labels))
        turns = {frame: 7 * seen.index(label) % 12
                 for frame, label in zip([0, *signals.section_frames.tolist()], signals.section_labels)}
    elif beat.sections:
        shuffle_at |= set(signals.section_frames.tolist())

    def class_vectors(switches: dict[int, tuple[int, ...]] | None) -> np.ndarray:
        return cls_math.class_vectors(
            signals.chroma, order or [], num_classes, fps,
            pitch_react=values.get("class_pitch_react", classes.pitch_react), complexity=classes.complexity,
            smooth_seconds=classes.smooth_seconds,
            shuffle_at=shuffle_at, shuffle_shift=int(round(classes.shuffle_strength * 12)),
            dominant_first=classes.dominant_first, turns=turns, switches=switches,
        )

    switches = timeline.classes if timeline is not None else ()
    if any(span for _, _, span, _ in switches):
        # A switch with a transition fades from the classes before it to its own along its ease.
        class_vecs = class_vectors(None)
        for k, (frame, _, span, kind) in enumerate(switches):
            after = class_vectors({max(f, 0): named for f, named, _, _ in switches[: k + 1]})
            share = transition(kind, np.arange(n), frame, span)[:, None]
            class_vecs = (1.0 - share) * class_vecs + share * after
    else:
        class_vecs = class_vectors({max(frame, 0): named for frame, named, _, _ in switches} or None)
    drives = {"pulse": pulse_drive, "motion": motion_react * signals.motion, "beat": beat_react * hits}
    return Vectors(noise.astype(np.float32), class_vecs.astype(np.float32), order, drives)


def _with_scene(noise: np.ndarray, scene: Scene, fps: float, speed: float | np.ndarray,
                truncation: float | np.ndarray) -> np.ndarray:
    """``noise`` faded into a scene's own path: keys from its seed, every ``60 / speed_fpm`` seconds from the
    scene's start, so the same seed is the same place, frame for frame, wherever it comes back."""
    n, first = len(noise), max(scene.frame, 0)
    length = n - scene.frame  # from where the scene starts, before the render's first frame too
    pace = speed if not np.ndim(speed) else np.concatenate([np.full(first - scene.frame, speed[0]), speed[first:]])
    path = noise_math.paced_path(np.random.default_rng(scene.seed), length, noise.shape[1], fps, pace)
    path = noise_math.truncated(path[first - scene.frame :], truncation[first:] if np.ndim(truncation) else truncation)
    out = noise.copy()
    weight = transition(scene.ease, np.arange(first, n), scene.frame, scene.frames)[:, None]
    out[first:] = noise[first:] + weight * (path - noise[first:])
    return out
