"""Latent (noise) and class vectors for every frame: pure numpy, driven by an explicit random generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import lfilter
from scipy.stats import truncnorm

# Each frame keeps this share of the previous frame's pulse and motion step (as in lucidsonicdreams 0.4).
SMOOTHING = 0.75
MOTION_RESEED_SECONDS = 4.0


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal samples truncated to [-2, 2]."""
    return truncnorm.rvs(-2, 2, size=shape, random_state=rng)


def base_latents(
    rng: np.random.Generator, n_frames: int, dim: int, fps: float, speed_fpm: float, truncation: float
) -> np.ndarray:
    """Key latent vectors, ``speed_fpm`` per minute, linearly interpolated across the frames.

    Returns np.ndarray [shape=(n_frames, dim)]
    """
    n_keys = int(round(n_frames / fps / 60 * speed_fpm))
    if n_keys < 2:
        return np.repeat(truncation * truncated_normal(rng, (1, dim)), n_frames, axis=0)
    keys = truncation * truncated_normal(rng, (n_keys, dim))
    position = np.linspace(0, n_keys - 1, n_frames)
    lower = np.minimum(position.astype(int), n_keys - 2)
    weight = (position - lower)[:, None]
    return (1 - weight) * keys[lower] + weight * keys[lower + 1]


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


def add_motion(
    rng: np.random.Generator,
    latents: np.ndarray,
    amplitude: np.ndarray,
    fps: float,
    react: float,
    randomness: float,
    truncation: float,
) -> np.ndarray:
    """Move latents along per-dimension directions by ``react * 20 / fps * amplitude`` per frame.

    A dimension turns back when it would pass ``±2 * truncation``; ``randomness`` slows a random subset of
    dimensions (re-drawn every 4 seconds). Steps are smoothed and accumulated, in O(frames).

    latents : np.ndarray [shape=(n_frames, dim)], the vectors to move (base latents plus pulse)
    amplitude : np.ndarray [shape=(n_frames,)] in [0, 1]
    """
    n_frames, dim = latents.shape
    step = react * 20 / fps
    bound = 2 * truncation
    reseed_every = max(1, int(round(fps * MOTION_RESEED_SECONDS)))
    signs = rng.choice([-1.0, 1.0], size=dim)
    out = np.empty_like(latents, dtype=np.float64)
    velocity = np.zeros(dim)
    travelled = np.zeros(dim)
    for i in range(n_frames):
        if i % reseed_every == 0:
            factors = np.where(rng.random(dim) < 0.5, 1.0, 1.0 - randomness)
        move = step * amplitude[i] * signs * factors
        velocity = move if i == 0 else SMOOTHING * velocity + (1 - SMOOTHING) * move
        travelled += velocity
        out[i] = latents[i] + travelled
        signs = np.where(out[i] - step < -bound, 1.0, np.where(out[i] + step >= bound, -1.0, signs))
    return out


def default_classes(rng: np.random.Generator, num_classes: int) -> list[int]:
    """Up to 12 distinct random class indices."""
    return [int(c) for c in rng.choice(num_classes, size=min(num_classes, 12), replace=False)]


def repeat_to_twelve(classes: Sequence[int]) -> list[int]:
    """Repeat a class list until it has one entry per pitch class."""
    classes = list(classes)
    return (classes * -(-12 // len(classes)))[:12]


def shuffle_frames(spec: float | Sequence[float] | None, start: float, fps: float, n_frames: int) -> set[int]:
    """Frames at which the pitch-to-class assignment rotates: every ``spec`` seconds, or at listed timestamps."""
    if spec is None:
        return set()
    if isinstance(spec, (int, float)):
        period = max(1, int(round(spec * fps)))
        return set(range(period, n_frames, period))
    frames = {int(round((t - start) * fps)) for t in spec}
    return {f for f in frames if 0 < f < n_frames}


def class_vectors(
    chroma: np.ndarray,
    classes: Sequence[int],
    num_classes: int,
    fps: float,
    *,
    pitch_react: float = 0.5,
    complexity: float = 1.0,
    smooth_seconds: float = 1.0,
    shuffle_at: set[int] = frozenset(),
    shuffle_shift: int = 6,
    dominant_first: bool = False,
) -> np.ndarray:
    """Class weights per frame driven by the 12 pitch classes.

    Pitch ``p`` drives class ``classes[p]`` (or, with ``dominant_first``, the k-th most present pitch drives
    ``classes[k]``). Each frame adds ``pitch_react * 43 / fps`` times the chroma to the previous weights and
    re-normalises them to [0, 1]; the result is averaged over ``smooth_seconds`` and scaled by ``complexity``.

    chroma : np.ndarray [shape=(n_frames, 12)]
    Returns np.ndarray [shape=(n_frames, num_classes)]
    """
    n_frames = len(chroma)
    if num_classes == 0:
        return np.zeros((n_frames, 0))
    classes = np.asarray(repeat_to_twelve(classes))
    if dominant_first:
        totals = (chroma / np.maximum(chroma.sum(axis=1, keepdims=True), 1e-12)).sum(axis=0)
        rank = np.argsort(np.argsort(-totals, kind="stable"), kind="stable")
        classes = classes[rank]
    rate = pitch_react * 43 / fps
    out = np.zeros((n_frames, num_classes))
    weights = np.zeros(num_classes)
    started = False
    for i in range(n_frames):
        if i in shuffle_at:
            classes = np.roll(classes, -shuffle_shift)
        update = np.zeros(num_classes)
        np.add.at(update, classes, chroma[i])
        if not started:
            # Start from the first frame that has pitch content, so a silent intro does not wash out the start.
            started = bool(update.any())
            weights = update
        else:
            weights = weights + rate * update
        span = weights.max() - weights.min()
        if span > 0:
            weights = (weights - weights.min()) / span
        out[i] = weights
    window = int(round(smooth_seconds * fps))
    if window > 1:
        out = uniform_filter1d(out, size=window, axis=0, mode="nearest")
    return out * complexity
