"""A render as a value: :class:`RenderPlan` holds everything needed to draw any frame of it, and pickles, so a
window of frames can be drawn in another process or on another machine. :class:`RenderResult` is what a
finished render returns."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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


def frame_window(at: float, seconds: float, *, start: float, length: float, fps: float) -> tuple[int, int]:
    """The frames ``[first, end)`` that show ``seconds`` from song time ``at`` of a render of ``length`` seconds
    from ``start`` (at least one frame); ``ValueError`` when ``at`` is outside it."""
    n_frames = int(round(length * fps))
    first = int(round((at - start) * fps))
    if first < 0:
        raise ValueError(f"at={at:g} s is before the start of the part to render ({start:g} s)")
    if first >= n_frames:
        raise ValueError(f"at={at:g} s is past the end of the part to render ({start + length:.2f} s)")
    return first, min(n_frames, first + max(1, int(round(seconds * fps))))


@dataclass(frozen=True, eq=False)
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
    settings_key: str | None = None  # the arguments that made it, less the seed: an unfinished render's seed is reused
    own_classes: int | None = None  # class columns of the render's own style, where a timeline's models follow

    @property
    def n_frames(self) -> int:
        return len(self.noise)

    def __getstate__(self) -> dict:
        # What cannot travel is named here, not deep inside pickle: a function defined in another function or a
        # lambda (as a style or an effect) has no name another process could import.
        parts = {"style": self.style.value} if self.style.kind == "function" else {}
        parts.update({f"effects[{i}].func": fx.effect.func for i, fx in enumerate(self.effects)})
        for where, func in parts.items():
            try:
                pickle.dumps(func)
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise TypeError(f"this RenderPlan cannot be pickled: its {where} ({getattr(func, '__qualname__', func)}"
                                f") cannot ({exc}); define it at the top level of a module") from None
        return self.__dict__

    def window(self, at: float, seconds: float) -> tuple[int, int]:
        """The frames ``[first, end)`` of ``seconds`` from song time ``at`` (at least one frame)."""
        return frame_window(at, seconds, start=self.start, length=self.length, fps=self.fps)


class RenderResult(str):
    """A finished render: the video file, the seed it used (give it back for the same video), the signals that
    drove it, the frames drawn and the seconds it took. Small: it keeps neither the vectors nor the song's
    analysis, so a list of results holds no more than their numbers.

    It is also the video's path as a string, which is what ``hallucinate`` returned before: scripts that use the
    return value as a path (``open``, ``Path``, ``"..." + result``, ``==``) keep working.
    """

    file: Path
    seed: int
    signals: Signals
    frames: int
    seconds: float

    def __new__(cls, file: Path, seed: int, signals: Signals, frames: int, seconds: float) -> RenderResult:
        result = super().__new__(cls, os.fspath(file))
        result.file, result.seed, result.frames, result.seconds = Path(file), seed, frames, seconds
        result.signals = replace(signals, song=None)  # the song's analysis stays with the LucidSonicDream
        return result

    def __repr__(self) -> str:
        return (f"RenderResult(file={str(self.file)!r}, seed={self.seed}, frames={self.frames}, "
                f"seconds={self.seconds:.2f})")

    def __reduce__(self):
        return (RenderResult, (self.file, self.seed, self.signals, self.frames, self.seconds))
