"""Noise vectors of every frame from per-frame signals: the base path (or section themes), pulse, beat hits and
motion. Pure numpy, arrays in, arrays out.

Every random choice is drawn by a ``draw_*`` function from an explicit ``numpy.random.Generator``; the maths
that uses the draws is deterministic, so it can be checked against 0.4's own numbers draw for draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from scipy.stats import truncnorm

# 0.4's constants. Each frame keeps this share of the previous frame's pulse and motion step.
SMOOTHING = 0.75
MOTION_RESEED_SECONDS = 4.0
# A motion step is ``motion_react * MOTION_SPEED / fps`` per frame: 0.4 tuned the speed at 43 fps.
MOTION_SPEED = 20.0
# Latents stay within ±MOTION_BOUND * truncation; 0.4 turns a dimension back ``motion_react`` before the bound.
MOTION_BOUND = 2.0


# The beat component decays with this time constant after each hit: short, so the change of the picture falls
# on the hit itself (measured on real songs, benchmarks/beat_sync.py). Every beat picks a new direction among
# this many, so successive hits look different but the picture keeps coming back to the song's look.
BEAT_DECAY_SECONDS = 0.08
BEAT_DIRECTIONS = 4
# Where sections change, the base latents cross-fade to the new section's over this many seconds.
SECTION_FADE_SECONDS = 0.5
# Within a section the key latents vary around the section's own centre by this share; the rest is the centre,
# so the picture travels within a theme and changes theme at the section boundaries.
SECTION_SPREAD = 0.5


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal samples truncated to [-2, 2]."""
    return truncnorm.rvs(-2, 2, size=shape, random_state=rng)


def interpolate_keys(keys: np.ndarray, n_frames: int) -> np.ndarray:
    """Keys spread evenly over the frames and linearly interpolated. keys : [shape=(k, dim)], k >= 1."""
    return interpolate_at(keys, np.linspace(0, len(keys) - 1, n_frames))


def interpolate_at(keys: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The keys linearly interpolated at fractional key positions in ``[0, k - 1]``, one row per position."""
    if len(keys) < 2:
        return np.repeat(keys[:1], len(position), axis=0)
    lower = np.minimum(position.astype(int), len(keys) - 2)
    weight = (position - lower)[:, None]
    return (1 - weight) * keys[lower] + weight * keys[lower + 1]


def paced_path(rng: np.random.Generator, length: int, dim: int, fps: float, speed_fpm: float | np.ndarray,
               centre: np.ndarray | None = None) -> np.ndarray:
    """A path of ``length`` frames with a key every ``60 / speed_fpm`` seconds from its first frame (the speed
    one value or one per frame), around ``centre`` when given: the same draws give the same path, frame for
    frame from its start, however long it runs."""
    speed = np.broadcast_to(np.asarray(speed_fpm, dtype=np.float64), (length,))
    position = np.concatenate([[0.0], np.cumsum(speed[:-1])]) / (fps * 60) if length else np.zeros(0)
    n_keys = int(position[-1]) + 2 if length and position[-1] > 0 else 1
    keys = truncated_normal(rng, (n_keys, dim)) if centre is None else keys_around(rng, centre, n_keys)
    return interpolate_at(keys, position)


def new_centre(rng: np.random.Generator, previous: np.ndarray | None, dim: int) -> np.ndarray:
    """A section's centre, far from the one before: anti-correlated with it, so a boundary is a big change."""
    fresh = truncated_normal(rng, (dim,))
    return fresh if previous is None else np.clip(np.sqrt(0.75) * fresh - 0.5 * previous, -2, 2)


def keys_around(rng: np.random.Generator, centre: np.ndarray, n_keys: int) -> np.ndarray:
    """A section's keys: varied around its centre by ``SECTION_SPREAD``."""
    spread = truncated_normal(rng, (n_keys, len(centre)))
    return np.clip(np.sqrt(1 - SECTION_SPREAD**2) * centre + SECTION_SPREAD * spread, -2, 2)


def smoothstep(u: np.ndarray) -> np.ndarray:
    """0 to 1 with no kink where it starts and ends; ``u`` in [0, 1]."""
    return u * u * (3 - 2 * u)


def truncated(path: np.ndarray, truncation: float | np.ndarray) -> np.ndarray:
    """A path scaled by the truncation: one value, or one per frame (a timeline's)."""
    return (truncation[:, None] if np.ndim(truncation) else truncation) * path


def base_latents(
    rng: np.random.Generator, n_frames: int, dim: int, fps: float, speed_fpm: float | np.ndarray,
    truncation: float | np.ndarray
) -> np.ndarray:
    """Key latent vectors, ``speed_fpm`` per minute, linearly interpolated across the frames.

    ``speed_fpm`` and ``truncation`` are one value or one per frame (a timeline's): keys then pass as fast as the
    speed of each frame says, and each frame is scaled by its own truncation. Constant arrays give what the
    values give.

    Returns np.ndarray [shape=(n_frames, dim)]
    """
    if np.ndim(speed_fpm) == 0:
        n_keys = max(1, int(round(n_frames / fps / 60 * speed_fpm)))
        path = interpolate_keys(truncated_normal(rng, (n_keys, dim)), n_frames)
    else:
        speed = np.asarray(speed_fpm, dtype=np.float64)
        keys = truncated_normal(rng, (max(1, int(round(speed.sum() / fps / 60))), dim))
        travelled = np.concatenate([[0.0], np.cumsum(speed[:-1])])
        # The keys spread over the frames as the speed passes them: a constant speed spreads them evenly.
        position = travelled / travelled[-1] * (len(keys) - 1) if travelled[-1] > 0 else np.zeros(n_frames)
        path = interpolate_at(keys, position)
    return truncated(path, truncation)


def section_latents(
    rng: np.random.Generator,
    section_starts: Sequence[int],
    n_frames: int,
    dim: int,
    fps: float,
    speed_fpm: float,
    truncation: float | np.ndarray,
) -> np.ndarray:
    """Base latents that change character at section boundaries.

    Every section has a centre of its own, drawn far from the previous section's; its keys (``speed_fpm`` per
    minute) vary around that centre, and the path cross-fades to the next section over
    ``SECTION_FADE_SECONDS`` from each boundary.

    section_starts : first frame of each section after the first, ascending
    Returns np.ndarray [shape=(n_frames, dim)]
    """
    bounds = [0] + [int(s) for s in section_starts if 0 < s < n_frames] + [n_frames]
    paths, centre = [], None
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        centre = new_centre(rng, centre, dim)
        paths.append(interpolate_keys(keys_around(rng, centre, max(1, int(round((hi - lo) / fps / 60 * speed_fpm)))),
                                      hi - lo))
    return truncated(_cross_fade(np.concatenate(paths), bounds, fps), truncation)


def repeating_section_latents(
    rng: np.random.Generator,
    section_starts: Sequence[int],
    labels: Sequence[str],
    n_frames: int,
    dim: int,
    fps: float,
    speed_fpm: float,
    truncation: float | np.ndarray,
) -> np.ndarray:
    """Base latents where every section with the same label takes the same path: a chorus that comes back
    returns to its own place, frame for frame from its start (after the cross-fade into it).

    Each label has a centre of its own (drawn in the order the labels first appear, each far from the one
    before) and keys around it every ``60 / speed_fpm`` seconds from the section's start, linearly interpolated.

    section_starts : first frame of each section after the first, ascending
    labels : every section's label, the first included
    Returns np.ndarray [shape=(n_frames, dim)]
    """
    starts, kept = [], [labels[0]]
    for start, label in zip(section_starts, labels[1:]):
        # Two sections in a row with the same label are one stretch of the same music: its path runs on.
        if 0 < start < n_frames and label != kept[-1]:
            starts.append(int(start))
            kept.append(label)
    labels = kept
    bounds = [0] + starts + [n_frames]
    spans = list(zip(bounds[:-1], bounds[1:]))
    longest: dict[str, int] = {}
    for (lo, hi), label in zip(spans, labels):
        longest[label] = max(longest.get(label, 0), hi - lo)
    paths, centre = {}, None
    for label, length in longest.items():  # in the order the labels first appear
        centre = new_centre(rng, centre, dim)
        paths[label] = paced_path(rng, length, dim, fps, speed_fpm, centre)
    out = np.concatenate([paths[label][: hi - lo] for (lo, hi), label in zip(spans, labels)])
    return truncated(_cross_fade(out, bounds, fps), truncation)


def _cross_fade(out: np.ndarray, bounds: Sequence[int], fps: float) -> np.ndarray:
    """Fade the path from where it was into each section's own over ``SECTION_FADE_SECONDS`` (in place)."""
    fade = max(1, int(round(SECTION_FADE_SECONDS * fps)))
    for start in bounds[1:-1]:
        end = min(start + fade, len(out))
        weight = smoothstep((np.arange(start, end) - start + 1) / fade)[:, None]
        out[start:end] = (1 - weight) * out[start - 1] + weight * out[start:end]
    return out


def smooth(steps: np.ndarray) -> np.ndarray:
    """``s[0] = x[0]``, ``s[i] = 0.75 s[i-1] + 0.25 x[i]`` along axis 0."""
    steps = np.asarray(steps, dtype=np.float64)
    if len(steps) == 0:
        return steps
    initial = SMOOTHING * steps[0:1]
    return lfilter([1 - SMOOTHING], [1, -SMOOTHING], steps, axis=0, zi=initial)[0]


def pulse(amplitude: np.ndarray, react: float) -> np.ndarray:
    """Offset added to every latent dimension per frame: ``react * amplitude``, smoothed. Shape (n_frames,)."""
    return smooth(react * np.asarray(amplitude, dtype=np.float64))


@dataclass(frozen=True)
class MotionDraws:
    """The random part of motion: each dimension's first direction, and its speed factor for every
    ``MOTION_RESEED_SECONDS`` period (1, or ``1 - motion_randomness`` for a random half)."""

    signs: np.ndarray  # [shape=(dim,)], ±1
    factors: np.ndarray  # [shape=(n_periods, dim)]


def motion_period(fps: float) -> int:
    """Frames between two draws of the speed factors."""
    return max(1, int(round(fps * MOTION_RESEED_SECONDS)))


def draw_motion(rng: np.random.Generator, n_frames: int, dim: int, fps: float, randomness: float) -> MotionDraws:
    signs = rng.choice([-1.0, 1.0], size=dim)
    n_periods = -(-max(n_frames, 1) // motion_period(fps))
    factors = np.where(rng.random((n_periods, dim)) < 0.5, 1.0, 1.0 - randomness)
    return MotionDraws(signs, factors)


def add_motion(
    latents: np.ndarray, amplitude: np.ndarray, draws: MotionDraws, *, fps: float, react: float | np.ndarray,
    truncation: float | np.ndarray
) -> np.ndarray:
    """Move latents along per-dimension directions by ``react * MOTION_SPEED / fps * amplitude`` per frame (0.4's
    motion).

    A dimension turns back once it is within ``react`` of ``±2 * truncation``; the speed factors of ``draws``
    slow a random subset of dimensions. Steps are smoothed and accumulated, in O(frames).

    latents : np.ndarray [shape=(n_frames, dim)], the vectors to move (base latents plus pulse)
    amplitude : np.ndarray [shape=(n_frames,)] in [0, 1]
    react, truncation : one value, or one per frame (a timeline's)
    """
    n_frames, dim = latents.shape
    period = motion_period(fps)
    per_frame = np.ndim(react) > 0  # a timeline's: the speed and the turning margin follow it frame by frame
    bounded = np.ndim(truncation) > 0  # ... and where the dimensions turn back
    state = MotionState(draws.signs, fps=fps, react=react[0] if per_frame else react,
                        truncation=truncation[0] if bounded else truncation)
    out = np.empty_like(latents, dtype=np.float64)
    for i in range(n_frames):
        if per_frame:
            state.react, state.step_size = react[i], react[i] * MOTION_SPEED / fps
        if bounded:
            state.bound = MOTION_BOUND * truncation[i]
        out[i] = state.step(latents[i], amplitude[i], draws.factors[i // period])
    return out


class MotionState:
    """0.4's motion one frame at a time (what :func:`add_motion` runs over a render, and the live mode frame by
    frame): the smoothed velocity, the distance travelled and each dimension's direction."""

    def __init__(self, signs: np.ndarray, *, fps: float, react: float, truncation: float) -> None:
        self.signs = np.asarray(signs, dtype=np.float64)
        self.step_size = react * MOTION_SPEED / fps
        self.react = react
        self.bound = MOTION_BOUND * truncation
        self.velocity: np.ndarray | None = None
        self.travelled = np.zeros(len(self.signs))

    def step(self, latent: np.ndarray, amplitude: float, factors: np.ndarray) -> np.ndarray:
        """The moved latent of the next frame, from its unmoved one and its amplitude in [0, 1]."""
        move = self.step_size * amplitude * self.signs * factors
        self.velocity = move if self.velocity is None else SMOOTHING * self.velocity + (1 - SMOOTHING) * move
        self.travelled += self.velocity
        out = latent + self.travelled
        self.signs = np.where(out - self.react < -self.bound, 1.0,
                              np.where(out + self.react >= self.bound, -1.0, self.signs))
        return out


def hit_envelope(hits: np.ndarray, fps: float, decay_seconds: float = BEAT_DECAY_SECONDS) -> np.ndarray:
    """Attack and decay: jumps to each hit at once and falls back exponentially (time constant
    ``decay_seconds``) until a stronger value comes. hits : [shape=(n_frames,)] in [0, 1]."""
    envelope = HitEnvelope(fps, decay_seconds)
    return np.array([envelope.step(value) for value in np.asarray(hits, dtype=np.float64)])


class HitEnvelope:
    """:func:`hit_envelope` one frame at a time."""

    def __init__(self, fps: float, decay_seconds: float = BEAT_DECAY_SECONDS) -> None:
        self.keep = np.exp(-1.0 / max(decay_seconds * fps, 1e-9))
        self.level = 0.0

    def step(self, hit: float) -> float:
        self.level = max(float(hit), self.level * self.keep)
        return self.level


def draw_beat_directions(rng: np.random.Generator, dim: int) -> np.ndarray:
    """Directions in latent space that the beat pushes along, [shape=(BEAT_DIRECTIONS, dim)]."""
    return truncated_normal(rng, (BEAT_DIRECTIONS, dim))


def beat_offsets(envelope: np.ndarray, beat_frames: Sequence[int], directions: np.ndarray,
                 react: float | np.ndarray) -> np.ndarray:
    """Offsets ``react * envelope * direction``; the direction moves to the next of ``directions`` on every beat.
    ``react`` is one value, or one per frame (a timeline's).

    envelope : [shape=(n_frames,)] from :func:`hit_envelope`
    Returns np.ndarray [shape=(n_frames, dim)]
    """
    which = np.zeros(len(envelope), dtype=int)
    for frame in beat_frames:
        if 0 < frame < len(envelope):
            which[frame:] += 1
    react = np.asarray(react, dtype=np.float64)
    return (react[:, None] if react.ndim else react) * envelope[:, None] * directions[which % len(directions)]
