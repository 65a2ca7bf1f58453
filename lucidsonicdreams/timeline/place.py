"""Keyframes and schedules placed on a render's frames, once the song's beats and sections are known.

A keyframe starts its transition on the frame nearest its time (frame ``i`` shows the song at
``start + i / fps``); a setting moves from the value it had there to the keyframe's over the transition, along
the ease, and holds until the next keyframe that sets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..audio.analysis import TrackAnalysis
from ..audio.feature import GRID_SECONDS
from ..audio.signals import Signals, track_structure
from ..latents.noise import smoothstep
from .keyframes import Keyframe, TimelineSettings, Transition
from .positions import Position

SNAPS = ("beat", "bar")


@dataclass(frozen=True)
class Grid:
    """What positions are counted on: the detected beats (song seconds), the sections' starts (song seconds, the
    first at 0) and their labels, and the song's length. Bars are ``beats_per_bar`` beats from bar 1, which
    starts on the beat nearest ``anchor`` (default: the first beat)."""

    beats: np.ndarray
    sections: np.ndarray = field(default_factory=lambda: np.zeros(1))
    labels: tuple[str, ...] = ()
    duration: float = float("inf")
    beats_per_bar: int = 4
    anchor: float | None = None

    @property
    def first_downbeat(self) -> int:
        if self.anchor is None or not len(self.beats):
            return 0
        return int(np.argmin(np.abs(self.beats - self.anchor)))

    def seconds(self, position: Position, what: str) -> float:
        """The song time of ``position``; ``what`` names it in errors."""
        if position.kind == "time":
            t = float(position.value)
        elif position.kind in ("beat", "bar"):
            index = position.value - 1 if position.kind == "beat" else (
                self.first_downbeat + (position.value - 1) * self.beats_per_bar)
            if index >= len(self.beats):
                last = (len(self.beats) if position.kind == "beat" else
                        max(0, (len(self.beats) - 1 - self.first_downbeat) // self.beats_per_bar + 1))
                raise ValueError(f"{what}: {position} is past the song's last {position.kind} ({position.kind} "
                                 f"{last} of the beats found)")
            t = float(self.beats[index])
        elif isinstance(position.value, int):
            if position.value > len(self.sections):
                raise ValueError(f"{what}: {position} does not exist; the song has {len(self.sections)} sections")
            t = float(self.sections[position.value - 1])
        else:
            if position.value not in self.labels:
                known = ", ".join(sorted(set(self.labels))) or "none (sections='repeat' labels them)"
                raise ValueError(f"{what}: no section is labelled {position.value!r}; the labels are {known}")
            t = float(self.sections[self.labels.index(position.value)])
        if t > self.duration:
            raise ValueError(f"{what}: {position} is past the end of the song ({self.duration:.2f} s)")
        return t

    def snap(self, t: float, to: str) -> float:
        """``t`` moved to the nearest beat or bar line (unchanged without beats)."""
        lines = self.beats if to == "beat" else self.beats[self.first_downbeat :: self.beats_per_bar]
        return float(lines[np.argmin(np.abs(lines - t))]) if len(lines) else t

    def span(self, t: float, transition: Transition) -> float:
        """A transition's length in seconds from ``t``: beats and bars are counted on the detected beats."""
        if transition.unit == "seconds" or transition.amount == 0:
            return transition.amount
        beats = transition.amount * (self.beats_per_bar if transition.unit == "bars" else 1)
        if len(self.beats) < 2:
            raise ValueError(f"a transition of {transition.amount:g} {transition.unit} needs beats, and none were "
                             "found in this song; give it in seconds")
        period = float(np.median(np.diff(self.beats)))
        at = float(np.interp(t, self.beats, np.arange(len(self.beats)), left=np.nan, right=np.nan))
        if np.isnan(at) or at + beats > len(self.beats) - 1:  # outside the beats: their median period
            return beats * period
        return float(np.interp(at + beats, np.arange(len(self.beats)), self.beats)) - t


@dataclass(frozen=True)
class Scene:
    """New base latents from ``seed``, faded in over ``frames`` from ``frame`` (before frame 0 where it started
    before the render) along ``ease``."""

    frame: int
    frames: int
    ease: str
    seed: int


@dataclass(frozen=True)
class Placed:
    """A timeline on a render's frames: each keyframe's frame (in the order written), every setting that the
    timeline or a schedule sets at every frame, and the scenes in time order."""

    frames: tuple[int, ...]
    values: dict[str, np.ndarray]
    scenes: tuple[Scene, ...]
    spans: tuple[int, ...] = ()  # each keyframe's transition, in frames
    # (frame, the classes the pitches drive from it, its transition in frames, its ease), in order; the frame may
    # come before the render's first one, as a scene's
    classes: tuple[tuple[int, tuple[int, ...], int, str], ...] = ()
    # (frame, the style's name, its transition in frames, its ease), in order, as for classes
    styles: tuple[tuple[int, str, int, str], ...] = ()

    def marks(self, keyframes: tuple[Keyframe, ...]) -> tuple[tuple[int, int, str], ...]:
        """(frame, transition frames, what it sets) of every keyframe, for plots."""
        def what(k: Keyframe) -> str:
            parts = ([f"scene {k.scene}"] if k.scene is not None else []) + (
                [f"style {k.style}"] if k.style is not None else []) + (
                [f"prompts {list(k.prompts)}"] if k.prompts is not None else
                [f"classes {list(k.classes)}"] if k.classes is not None else []) + [
                f"{name} {value:g}" for name, value in k.settings.items()]
            return f"{k.number}: " + ", ".join(parts)

        return tuple((frame, span, what(k)) for frame, span, k in zip(self.frames, self.spans, keyframes))


def ease(kind: str, u: np.ndarray) -> np.ndarray:
    """The share of a change done at ``u`` in [0, 1) of its transition."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    if kind == "step":
        return (u >= 1.0).astype(np.float64)
    return u if kind == "linear" else smoothstep(u)


def transition(kind: str, frames: np.ndarray, start: int, length: int) -> np.ndarray:
    """The share done at ``frames`` of a change that starts at frame ``start`` (which may come before the render's
    first frame) and takes ``length`` frames along the ease ``kind``; a cut (0 frames) is all done at ``start``."""
    return ease(kind, (np.asarray(frames) - start + (length == 0)) / max(length, 1))


def place(keyframes: tuple[Keyframe, ...], grid: Grid, *, fps: float, n_frames: int, base: dict[str, float],
          start: float = 0.0, snap: str | None = None, offset: float = 0.0,
          schedules: dict[str, list[tuple[Position, float]]] | None = None) -> Placed:
    """Place ``keyframes`` and ``schedules`` on ``n_frames`` frames at ``fps`` from song time ``start``.
    ``base`` holds every setting's value before any keyframe; ``snap`` moves keyframes given in seconds to the
    nearest beat or bar; ``offset`` (seconds) moves every keyframe, so the picture can lead the sound."""
    times = np.arange(n_frames) / fps
    values = {}
    for name, points in (schedules or {}).items():
        at = np.array([grid.seconds(p, f"{name}: the key {p}") for p, _ in points]) + offset - start
        order = np.argsort(at, kind="stable")
        values[name] = np.interp(times, at[order], np.array([v for _, v in points])[order])
    placed, spans = [], []
    for keyframe in keyframes:
        t = grid.seconds(keyframe.at, str(keyframe))
        if snap and keyframe.at.kind == "time":
            t = grid.snap(t, snap)
        spans.append(int(round(grid.span(t, keyframe.transition) * fps)))
        placed.append(int(round((t + offset - start) * fps)))
    order = sorted(range(len(keyframes)), key=lambda k: placed[k])
    for k in order:
        keyframe, frame, length = keyframes[k], max(placed[k], 0), spans[k]
        for name, value in keyframe.settings.items():
            if name in values and name in (schedules or {}):
                raise ValueError(f"{keyframe}: {name} has a schedule too; set it in one place")
            curve = values.setdefault(name, np.full(n_frames, float(base[name])))
            if frame >= n_frames:
                continue
            before = curve[frame - 1] if frame > 0 else curve[0]
            share = transition(keyframe.ease, np.arange(frame, n_frames), placed[k], length)
            curve[frame:] = before + (value - before) * share
    # A scene keeps the frame it starts on, before the render's first one too: it is that far along by then.
    scenes = tuple(Scene(placed[k], spans[k], keyframes[k].ease, keyframes[k].scene) for k in order
                   if keyframes[k].scene is not None and placed[k] < n_frames)
    classes = tuple((placed[k], keyframes[k].classes, spans[k], keyframes[k].ease) for k in order
                    if keyframes[k].classes is not None and placed[k] < n_frames)
    styles = tuple((placed[k], keyframes[k].style, spans[k], keyframes[k].ease) for k in order
                   if keyframes[k].style is not None and placed[k] < n_frames)
    return Placed(tuple(placed), values, scenes, tuple(spans), classes, styles)


def style_weights(styles: tuple[tuple[int, str, int, str], ...], columns: dict[str, int], n_frames: int,
                  count: int) -> np.ndarray:
    """Each frame's weight of each of a render's ``count`` styles, [shape=(n_frames, count)]: column 0 (the
    render's own) alone at first, then each switch fades to its style's column (``columns``: by the keyframes'
    names)."""
    weights = np.zeros((n_frames, count))
    weights[:, 0] = 1.0
    for frame, name, span, kind in styles:
        share = transition(kind, np.arange(n_frames), frame, span)[:, None]
        weights = (1.0 - share) * weights + share * np.eye(count)[columns[name]]
    return weights


def song_grid(signals: Signals, settings: TimelineSettings, duration: float,
              whole: TrackAnalysis | None = None) -> Grid:
    """The grid a render's timeline is placed on: the beats and sections of the song (song times; found when the
    timeline needs them), and the song's length. A render that starts into the song gives ``whole``, the whole
    song's analysis, so that bars and sections count from the song's start; else those of its excerpt serve."""
    beats = sections = np.zeros(0)
    labels: tuple[str, ...] = ()
    track = whole if whole is not None else signals.song
    start = 0.0 if whole is not None else signals.start
    if track is not None and settings.needs_beats:
        found_beats, found = track_structure(track)
        beats = start + np.asarray(found_beats.frames) * GRID_SECONDS
        sections, labels = start + np.asarray(found.boundaries) * GRID_SECONDS, found.labels
    return Grid(beats=beats, sections=np.concatenate([[start], sections]), labels=labels, duration=duration,
                beats_per_bar=settings.beats_per_bar, anchor=settings.bar_one)
