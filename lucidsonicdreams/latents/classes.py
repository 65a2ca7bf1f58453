"""Class vectors of every frame from the chromagram: 12 pitches drive 12 classes (0.4's rules), with shuffles.
Pure numpy, arrays in, arrays out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import uniform_filter1d

# Class weights move by ``class_pitch_react * CLASS_RATE_FPS / fps`` of the chroma per frame (tuned at 43 fps).
CLASS_RATE_FPS = 43.0


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
    pitch_react: float | np.ndarray = 0.5,
    complexity: float = 1.0,
    smooth_seconds: float = 1.0,
    shuffle_at: set[int] = frozenset(),
    shuffle_shift: int = 6,
    dominant_first: bool = False,
    turns: dict[int, int] | None = None,
    switches: dict[int, Sequence[int]] | None = None,
) -> np.ndarray:
    """Class weights per frame driven by the 12 pitch classes (0.4's rule).

    Pitch ``p`` drives class ``classes[p]`` (when a class appears for several pitches, the last one drives it;
    with ``dominant_first``, the k-th most present pitch drives ``classes[k]``). The first frame takes the
    chroma of the first frame with pitch content; each later frame adds ``pitch_react * CLASS_RATE_FPS / fps``
    times its chroma to the previous frame's weights, re-normalises them to [0, 1] and scales them by ``complexity``.
    The result is averaged over ``smooth_seconds``, centred on each frame. ``turns`` (frame: k) sets the
    assignment to the current one rotated by k pitches from that frame (a section's own, where sections repeat);
    ``switches`` (frame: classes) drives other classes from that frame (a timeline's keyframe).

    chroma : np.ndarray [shape=(n_frames, 12)]
    Returns np.ndarray [shape=(n_frames, num_classes)]
    """
    n_frames = len(chroma)
    if num_classes == 0:
        return np.zeros((n_frames, 0))
    chroma = np.asarray(chroma, dtype=np.float64)
    classes = np.asarray(repeat_to_twelve(classes))
    if dominant_first:
        totals = (chroma / np.maximum(chroma.sum(axis=1, keepdims=True), 1e-12)).sum(axis=0)
        rank = np.argsort(np.argsort(-totals, kind="stable"), kind="stable")
        classes = classes[rank]
    sounding = np.flatnonzero(chroma.sum(axis=1) > 0)
    out = np.zeros((n_frames, num_classes))
    per_frame = np.ndim(pitch_react) > 0  # a timeline's: how fast the weights follow, frame by frame
    weights = ClassWeights(classes, num_classes, fps, pitch_react=pitch_react[0] if per_frame else pitch_react,
                           complexity=complexity)
    for i in range(n_frames):
        if per_frame:
            weights.rate = pitch_react[i] * CLASS_RATE_FPS / fps
        if switches and i in switches:  # a timeline's: these classes, and only these, from this frame
            classes = np.asarray(repeat_to_twelve(switches[i]))
            weights.classes, weights.weights = classes, None
        if turns and i in turns:  # from this frame, the assignment turned this far from the current one
            weights.classes = np.roll(classes, -turns[i])
        if i in shuffle_at:
            weights.shuffle(shuffle_shift)
        out[i] = weights.step(chroma[sounding[0] if i == 0 and len(sounding) else i])
    window = int(round(smooth_seconds * fps))
    if window > 1:
        out = uniform_filter1d(out, size=window, axis=0, mode="nearest")
        if switches:
            # The running mean leaves ~1e-16 where classes were off all along: a switch means exactly these classes.
            out[np.abs(out) < 1e-9] = 0.0
    return out


class ClassWeights:
    """0.4's class rule one frame at a time (what :func:`class_vectors` runs over a render, and the live mode frame
    by frame): pitch ``p`` drives class ``classes[p]``; each frame adds ``pitch_react * CLASS_RATE_FPS / fps`` of
    its chroma, then the weights are re-normalised to [0, 1] and scaled by ``complexity``."""

    def __init__(self, classes: Sequence[int], num_classes: int, fps: float, *, pitch_react: float,
                 complexity: float) -> None:
        self.classes = np.asarray(repeat_to_twelve(classes))
        self.num_classes = num_classes
        self.rate = pitch_react * CLASS_RATE_FPS / fps
        self.complexity = complexity
        self.weights: np.ndarray | None = None

    def shuffle(self, shift: int) -> None:
        """Rotate which pitch drives which class."""
        self.classes = np.roll(self.classes, -shift)

    def step(self, chroma: np.ndarray) -> np.ndarray:
        """The next frame's weights from its chroma, [shape=(12,)]."""
        update = np.zeros(self.num_classes)
        update[self.classes] = chroma  # the last pitch of a class wins
        weights = update if self.weights is None else self.weights + self.rate * update
        span = weights.max() - weights.min()
        if span > 0:
            weights = (weights - weights.min()) / span
        self.weights = weights * self.complexity
        return self.weights
