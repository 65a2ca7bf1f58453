"""Noise and class vectors frame by frame, from what has been heard so far: the latent stage's own per-frame
maths (:class:`MotionState`, :class:`HitEnvelope`, :class:`ClassWeights`) fed causally.

Where an offline render looks at the whole song, this looks back only: levels are normalised by their peak
over the last seconds, the base path has a key every ``60 / speed_fpm`` seconds for as long as the sound lasts,
and the class weights are averaged over the last ``class_smooth_seconds`` rather than around each frame.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..latents import classes as cls_math
from ..latents import noise as noise_math
from ..latents.compose import Draws

# A level reads 1 at its loudest over about this many seconds: the peak it is divided by halves this often.
NORMALISE_HALF_LIFE = 4.0
# An onset this soon after a predicted beat is that beat, heard.
HEARD_BEAT_SECONDS = 0.08
# A predicted beat hits (before it is heard) only while this share of the recent predictions were then heard;
# each beat counts this much against the ones before. A click track qualifies at once, music with its beats
# played off the pulse does not: there a hit drawn ahead would fall where nothing sounds.
CONFIDENT = 0.7
BEAT_WEIGHT = 0.25


@dataclass
class LiveSettings:
    """What shapes the picture while it plays; every field can change between two frames (the page's sliders,
    OSC). The names and meanings are ``hallucinate``'s."""

    pulse_react: float = 0.5
    pulse_percussive: bool = True
    motion_react: float = 0.5
    motion_percussive: bool = False
    motion_randomness: float = 0.5
    speed_fpm: float = 12.0
    truncation: float = 1.0
    beat_react: float = 0.5
    class_pitch_react: float = 0.5
    class_complexity: float = 1.0
    class_smooth_seconds: float = 1.0
    flash_strength: float = 0.0
    contrast_strength: float = 0.0


@dataclass(frozen=True)
class FrameSignals:
    """What one video frame is driven by, heard up to its time."""

    pulse: float  # [0, 1]
    motion: float  # [0, 1]
    hit: float  # [0, 1]: an onset heard, or a beat predicted, within this frame
    beat: bool  # a beat falls within this frame (heard or predicted)
    chroma: np.ndarray  # [shape=(12,)]
    percussive: float  # [0, 1], for the effects


class RunningPeak:
    """``value / peak``, where the peak follows the largest recent value and halves every ``half_life`` seconds."""

    def __init__(self, fps: float, half_life: float = NORMALISE_HALF_LIFE) -> None:
        self.keep = 0.5 ** (1.0 / (half_life * fps))
        self.peak = 0.0

    def __call__(self, value: float) -> float:
        self.peak = max(value, self.peak * self.keep)
        return float(value / self.peak) if self.peak > 0 else 0.0


class LiveVectors:
    """One noise vector and one class vector per :meth:`step`, in the order of an offline render's composition:
    base path, plus pulse, plus the beat's push, then motion."""

    def __init__(self, draws: Draws, dim: int, num_classes: int, fps: float, settings: LiveSettings,
                 classes: list[int] | None = None) -> None:
        self.draws, self.dim, self.fps, self.settings = draws, dim, fps, settings
        self._keys: dict[int, np.ndarray] = {}  # the keys of the current section by number, drawn when needed
        self._origin = 0  # the frame the current section's keys start at
        self._section_at: int | None = None
        self._fade_from: np.ndarray | None = None
        self._last_base: np.ndarray | None = None
        self._frame = 0
        self._pulse: float | None = None
        self._period = noise_math.motion_period(fps)
        signs = draws.motion.choice([-1.0, 1.0], size=dim)  # drawn in draw_motion's order: signs, then factors
        self._motion = noise_math.MotionState(signs, fps=fps, react=settings.motion_react,
                                              truncation=settings.truncation)
        self._factors: np.ndarray | None = None
        self._hits = noise_math.HitEnvelope(fps)
        self._directions = noise_math.draw_beat_directions(draws.beat, dim)
        self._beats = 0
        self.num_classes = num_classes
        self.class_order = None
        self._weights = None
        if num_classes:
            self.class_order = cls_math.repeat_to_twelve(classes or cls_math.default_classes(draws.classes,
                                                                                             num_classes))
            self._weights = cls_math.ClassWeights(self.class_order, num_classes, fps,
                                                  pitch_react=settings.class_pitch_react,
                                                  complexity=settings.class_complexity)
        self._recent_weights: deque[np.ndarray] = deque()

    def step(self, signals: FrameSignals) -> tuple[np.ndarray, np.ndarray]:
        s = self.settings
        i = self._frame
        self._frame += 1
        latent = self._base(i)
        drive = s.pulse_react * signals.pulse
        self._pulse = drive if self._pulse is None else (noise_math.SMOOTHING * self._pulse
                                                         + (1 - noise_math.SMOOTHING) * drive)
        latent = latent + self._pulse
        if signals.beat and i > 0:
            self._beats += 1
        envelope = self._hits.step(signals.hit)
        if s.beat_react:
            latent = latent + s.beat_react * envelope * self._directions[self._beats % len(self._directions)]
        if i % self._period == 0:
            self._factors = np.where(self.draws.motion.random(self.dim) < 0.5, 1.0, 1.0 - s.motion_randomness)
        self._motion.step_size = s.motion_react * noise_math.MOTION_SPEED / self.fps  # a slider moves it at once
        self._motion.react = s.motion_react
        self._motion.bound = noise_math.MOTION_BOUND * s.truncation
        noise = self._motion.step(latent, signals.motion, self._factors)
        return noise.astype(np.float32), self._classes(signals.chroma)

    def new_section(self) -> None:
        """A new look from the next frame: the base path moves to keys around a new centre, far from the current
        one, over ``SECTION_FADE_SECONDS`` (as at an offline render's section boundary), and the pitches drive
        other classes."""
        self._section_at = self._frame
        if self._weights is not None:
            self._weights.shuffle(6)

    def _base(self, i: int) -> np.ndarray:
        """The base path: a key every ``60 / speed_fpm`` seconds from the section's start, drawn when first
        needed, linearly interpolated; cross-faded into a new section's path."""
        s = self.settings
        if self._section_at == i and self._last_base is not None:
            current = self._last_base / max(s.truncation, 1e-6)
            fresh = noise_math.truncated_normal(self.draws.base, (self.dim,))
            # Away from where the picture is: anti-correlated with it, so the change is a big one.
            centre = np.clip(np.sqrt(0.75) * fresh - 0.5 * current, -2, 2)
            self._fade_from, self._origin = self._last_base, i
            self._keys = {0: centre}
        position = 0.0 if s.speed_fpm <= 0 else (i - self._origin) / self.fps / (60.0 / s.speed_fpm)
        lower = int(position)
        for k in range(lower, lower + 2):
            if k not in self._keys:
                self._keys[k] = noise_math.truncated_normal(self.draws.base, (self.dim,))
        for k in [k for k in self._keys if k < lower]:  # passed: a long show keeps two keys, not one per key
            del self._keys[k]
        weight = position - lower
        base = s.truncation * ((1 - weight) * self._keys[lower] + weight * self._keys[lower + 1])
        fade = max(1, int(round(noise_math.SECTION_FADE_SECONDS * self.fps)))
        if self._fade_from is not None and i - self._origin < fade:
            w = (i - self._origin + 1) / fade
            w = w * w * (3 - 2 * w)  # smoothstep, as offline
            base = (1 - w) * self._fade_from + w * base
        self._last_base = base
        return base

    def _classes(self, chroma: np.ndarray) -> np.ndarray:
        if not self.num_classes:
            return np.zeros(0, np.float32)
        s = self.settings
        self._weights.rate = s.class_pitch_react * cls_math.CLASS_RATE_FPS / self.fps
        self._weights.complexity = s.class_complexity
        weights = self._weights.step(np.asarray(chroma, dtype=np.float64))
        self._recent_weights.append(weights)
        while len(self._recent_weights) > max(1, int(round(s.class_smooth_seconds * self.fps))):
            self._recent_weights.popleft()
        return np.mean(self._recent_weights, axis=0).astype(np.float32)


class BeatHits:
    """Each frame's hit: the onset strength heard in it (scaled by its recent peak, as offline by a high
    quantile), and a beat predicted to fall while the frame is shown, at the strength of the beats heard lately
    (so the hit is on time, not a frame or two after the sound), while the predictions keep coming true."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.peak = RunningPeak(fps)
        self.last_beat = -np.inf
        self.pending: float | None = None  # the latest predicted beat, until it is heard or missed
        self.strength = 0.5  # of the beats heard lately
        self.confidence = 0.0  # share of predictions heard lately

    def __call__(self, t: float, new: list, latest) -> tuple[float, float, bool]:
        """(onset strength, the beat's hit or 0, whether a beat falls in this frame) for the frame at ``t``
        that heard the analysis frames ``new`` (``latest``: the newest heard)."""
        strength = self.peak(max((f.flux for f in new), default=0.0))
        heard = any(f.onset > 0 for f in new)
        if self.pending is not None:
            if heard and t - self.pending < HEARD_BEAT_SECONDS:
                self.confidence += BEAT_WEIGHT * (1 - self.confidence)
                self.strength += BEAT_WEIGHT * (strength - self.strength)
                self.pending = None
            elif t - self.pending >= HEARD_BEAT_SECONDS:
                self.confidence -= BEAT_WEIGHT * self.confidence
                self.pending = None
        beat = latest.next_beat if latest is not None and latest.next_beat is not None else np.inf
        on_beat = beat < t + 1.0 / self.fps and beat - self.last_beat > HEARD_BEAT_SECONDS
        if on_beat:
            self.last_beat = self.pending = beat
        return strength, self.strength if on_beat and self.confidence >= CONFIDENT else 0.0, on_beat
