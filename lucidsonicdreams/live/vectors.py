"""Noise and class vectors frame by frame, from what has been heard so far: the latent stage's own per-frame
maths (:class:`MotionState`, :class:`HitEnvelope`, :class:`ClassWeights`) fed causally.

Where an offline render looks at the whole song, this looks back only: levels and onsets are scaled over the
last ``NORMALISE_SECONDS``, the base path has a key every ``60 / speed_fpm`` seconds for as long as the sound lasts,
and the class weights are averaged over the last ``class_smooth_seconds`` rather than around each frame.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..audio.signals import HIT_QUANTILE
from ..latents import classes as cls_math
from ..latents import noise as noise_math
from ..latents.compose import Draws

# Levels and onset strength are scaled as an offline render scales them over the whole song, over the last
# this many seconds instead: a louder passage counts at once, a quieter one reads quiet until the louder has
# passed out of the window (as it would offline). Shorter windows made the picture move as much in a quiet
# intro as in the chorus, and follow the onsets less than an offline render does.
NORMALISE_SECONDS = 30.0
# The onsets are scaled over a song's length: over 30 s, a quiet passage's noise made hits as strong as the
# loud passage's drums had (on an orchestral song the hits followed the onsets at r 0.57 instead of 0.78).
HIT_SECONDS = 120.0
# An onset this soon after a predicted beat is that beat, heard.
HEARD_BEAT_SECONDS = 0.08
# A predicted beat hits (before it is heard) only while this share of the recent predictions were then heard;
# each beat counts this much against the ones before. A click track qualifies after a few beats. On music a
# prediction that is right most of the time still draws hits where nothing sounds: on six songs the frames
# followed the onsets less than an offline render's by 0.06 on average at 0.7, by 0.04 at 0.9.
CONFIDENT = 0.9
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
    sections: bool = False  # a new look where the music changes (on the next beat, once the change has lasted)


@dataclass(frozen=True)
class FrameSignals:
    """What one video frame is driven by, heard up to its time."""

    pulse: float  # [0, 1]
    motion: float  # [0, 1]
    hit: float  # [0, 1]: an onset heard, or a beat predicted, within this frame
    beat: bool  # a beat falls within this frame (heard or predicted)
    chroma: np.ndarray  # [shape=(12,)]
    percussive: float  # [0, 1], for the effects
    section: bool = False  # a new look begins in this frame


class RunningScale:
    """A signal scaled to [0, 1] over its last ``seconds``, as :func:`audio.feature.normalize` (min-max) or
    :func:`audio.signals.hit_strength` (``quantile`` of the non-zero values) scale it over a whole song."""

    def __init__(self, fps: float, seconds: float = NORMALISE_SECONDS, quantile: float | None = None) -> None:
        self.values: deque[float] = deque(maxlen=max(1, int(round(seconds * fps))))
        self.quantile = quantile

    def __call__(self, value: float) -> float:
        self.values.append(float(value))
        recent = np.fromiter(self.values, dtype=np.float64, count=len(self.values))
        if self.quantile is None:
            low, high = float(recent.min()), float(recent.max())
        else:
            active = recent[recent > 1e-6]
            low, high = 0.0, float(np.quantile(active, self.quantile)) if len(active) else 0.0
        return float(np.clip((value - low) / (high - low), 0.0, 1.0)) if high > low else 0.0


class LiveVectors:
    """One noise vector and one class vector per :meth:`step`, in the order of an offline render's composition:
    base path, plus pulse, plus the beat's push, then motion."""

    def __init__(self, draws: Draws, dim: int, num_classes: int, fps: float, settings: LiveSettings,
                 classes: list[int] | None = None) -> None:
        self.draws, self.dim, self.fps, self.settings = draws, dim, fps, settings
        self._keys: dict[int, np.ndarray] = {}  # the keys of the current section by number, drawn when needed
        self._origin = 0  # the frame the current section's keys start at
        self._section_at: int | None = None
        self._centre: np.ndarray | None = None  # the current section's, once a section has begun
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
            # Away from where the picture is, and every key of the section around that centre, as offline.
            self._centre = noise_math.new_centre(self.draws.base, self._last_base / max(s.truncation, 1e-6),
                                                 self.dim)
            self._fade_from, self._origin = self._last_base, i
            self._keys = {0: self._centre}
        position = 0.0 if s.speed_fpm <= 0 else (i - self._origin) / self.fps / (60.0 / s.speed_fpm)
        lower = int(position)
        for k in range(lower, lower + 2):
            if k not in self._keys:
                self._keys[k] = (noise_math.truncated_normal(self.draws.base, (self.dim,)) if self._centre is None
                                 else noise_math.keys_around(self.draws.base, self._centre, 1)[0])
        for k in [k for k in self._keys if k < lower]:  # passed: a long show keeps two keys, not one per key
            del self._keys[k]
        weight = position - lower
        base = s.truncation * ((1 - weight) * self._keys[lower] + weight * self._keys[lower + 1])
        fade = max(1, int(round(noise_math.SECTION_FADE_SECONDS * self.fps)))
        if self._fade_from is not None and i - self._origin < fade:
            w = noise_math.smoothstep((i - self._origin + 1) / fade)  # as offline
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
    """Each frame's hit: the onset strength heard in it (scaled by a high quantile of the recent ones, as offline
    over the song), and a beat predicted to fall by the frame's time (a quarter frame later at most), at the
    strength of the beats heard lately (so the hit is drawn with its sound, not a frame after it), while the
    predictions keep coming true.

    The beat moves on (the push takes its next direction) where a beat is drawn: a predicted beat drawn ahead, or
    else a predicted beat as it is heard. Offline, the beats fall on onsets; a prediction that is not heard moved
    the picture where nothing sounds."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.scale = RunningScale(fps, seconds=HIT_SECONDS, quantile=HIT_QUANTILE)
        self.last_beat = -np.inf  # the latest predicted beat drawn or awaited
        self.upcoming = np.inf  # the next beat as the frame before predicted it
        self.pending: float | None = None  # the latest predicted beat, until it is heard or missed
        self.drawn = False  # the pending beat was drawn before it was heard
        self.strength = 0.5  # of the beats heard lately
        self.confidence = 0.0  # share of predictions heard lately

    def __call__(self, t: float, new: list, latest) -> tuple[float, float, bool]:
        """(onset strength, the beat's hit or 0, whether the beat moves on) for the frame at ``t`` that heard the
        analysis frames ``new`` (``latest``: the newest heard)."""
        strength = self.scale(max((f.flux for f in new), default=0.0))
        onset = next((f.time for f in new if f.onset > 0), None)
        if self.pending is not None and t - self.pending >= HEARD_BEAT_SECONDS:
            self.confidence -= BEAT_WEIGHT * self.confidence  # predicted, never heard
            self.pending = None
        # A beat is drawn on the first frame less than a quarter frame before it: with its sound, or just before.
        # Drawn on the nearest frame, half the predicted hits came a frame before the onsets as an offline render
        # places them (benchmarks/bench_live.py --song). The prediction the frame before made counts too, as the
        # newest analysis may have passed a beat that fell since.
        ahead = latest.next_beat if latest is not None and latest.next_beat is not None else np.inf
        predicted = next((b for b in sorted((self.upcoming, ahead))
                          if b - self.last_beat > HEARD_BEAT_SECONDS and b <= t + 0.25 / self.fps), None)
        self.upcoming = ahead
        drawn = False
        if predicted is not None:
            self.last_beat = self.pending = predicted
            drawn = self.drawn = self.confidence >= CONFIDENT
        heard = False
        if onset is not None and self.pending is not None and abs(onset - self.pending) < HEARD_BEAT_SECONDS:
            self.confidence += BEAT_WEIGHT * (1 - self.confidence)
            self.strength += BEAT_WEIGHT * (strength - self.strength)
            heard = not self.drawn
            self.pending = None
        return strength, self.strength if drawn else 0.0, drawn or heard
