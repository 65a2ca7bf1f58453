"""A render as a value: :class:`RenderPlan` holds everything needed to draw any frame of it, and pickles, so a
window of frames can be drawn in another process or on another machine. :class:`RenderResult` is what a
finished render returns."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.signals import Signals
from ..effects.generator import EffectsGenerator
from ..style.base import RenderOptions
from ..style.resolve import StyleSource
from .arguments import Output

# progress(done, total, what): called as work advances; ``total`` may be None when unknown.
Progress = Callable[[int, "int | None", str], None]


@dataclass(frozen=True)
class PlannedEffect:
    """An effect and its amplitude for every frame of the render, [shape=(n_frames,)] in [0, 1]."""

    effect: EffectsGenerator
    amplitude: np.ndarray


@dataclass(frozen=True)
class RenderPlan:
    """Everything a render draws, decided: frame ``i`` shows the song at ``start + i / fps`` seconds.

    style, style_seed, device : what draws the frames (loaded where the plan is drawn; the seed matters for the
        built-in style only)
    noise, classes : [shape=(n_frames, dim)] and [shape=(n_frames, num_classes)] float32 vectors of every frame
    effects : the effects that are on, with their per-frame amplitudes, in the order they apply
    options : what every style gets with every batch (size, truncation_psi)
    output : the file, its audio, size, batching and whether frames are saved
    audio : the audio muxed into the video (``output_audio``, else the song)
    """

    style: StyleSource
    style_seed: int
    device: str
    seed: int
    fps: float
    start: float  # seconds into the song of frame 0
    length: float  # seconds
    noise: np.ndarray
    classes: np.ndarray
    class_order: list[int] | None
    effects: tuple[PlannedEffect, ...]
    options: RenderOptions
    output: Output
    audio: Path
    drives: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # pulse, motion, beat as used

    @property
    def n_frames(self) -> int:
        return len(self.noise)

    def window(self, at: float, seconds: float) -> tuple[int, int]:
        """The frames ``[first, end)`` of ``seconds`` from song time ``at`` (at least one frame)."""
        first = int(round((at - self.start) * self.fps))
        if not 0 <= first < self.n_frames:
            raise ValueError(f"at={at:g} s is {'before the start' if first < 0 else 'past the end'} of the part "
                             f"to render ({self.start:g} to {self.start + self.length:.2f} s)")
        return first, min(self.n_frames, first + max(1, int(round(seconds * self.fps))))


class RenderResult(str):
    """A finished render: the video file, the seed it used (give it back for the same video), the signals that
    drove it, the frames drawn, the seconds it took and its plan.

    It is also the video's path as a string, which is what ``hallucinate`` returned before: scripts that use the
    return value as a path (``open``, ``Path``, ``"..." + result``, ``==``) keep working.
    """

    file: Path
    seed: int
    signals: Signals
    frames: int
    seconds: float
    plan: RenderPlan

    def __new__(cls, file: Path, seed: int, signals: Signals, frames: int, seconds: float,
                plan: RenderPlan) -> RenderResult:
        result = super().__new__(cls, os.fspath(file))
        result.file, result.seed, result.signals = Path(file), seed, signals
        result.frames, result.seconds, result.plan = frames, seconds, plan
        return result

    def __repr__(self) -> str:
        return (f"RenderResult(file={str(self.file)!r}, seed={self.seed}, frames={self.frames}, "
                f"seconds={self.seconds:.2f})")

    def __reduce__(self):
        return (RenderResult, (self.file, self.seed, self.signals, self.frames, self.seconds, self.plan))
