"""Which audio drives what: the per-frame signals of one render, routed from the song and its stems.

Pulse, motion, beat, class and every effect each read one audio file (a stem, or else the song) and one part
of it (whole, harmonic or percussive). This module samples those analyses at the frame times; the maths that
turns signals into vectors lives in :mod:`latents`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..audio.analysis import AnalysisCache, Part, TrackAnalysis
from ..audio.beat import Beats, track_beats
from ..audio.feature import GRID_SECONDS, peak_at_frames
from ..audio.segment import Sections, song_sections

# Onset strength is scaled so that this quantile of the frames with any onset reads 1: the strong hits of a
# song reach full strength, not only its single loudest one, and hits keep their relative sizes.
HIT_QUANTILE = 0.99


@dataclass(frozen=True)
class Routing:
    """The audio source of each component: a stem path (or ``None`` for the song) and the part of it."""

    pulse: tuple[Path | None, Part]
    motion: tuple[Path | None, Part]
    chroma: Path | None
    effects: tuple[tuple[Path | None, Part], ...] = ()


@dataclass
class Signals:
    """Everything that drove one render, per frame (``n_frames`` rows at ``fps``)."""

    fps: float
    start: float
    pulse: np.ndarray  # [shape=(n,)] in [0, 1]
    motion: np.ndarray  # [shape=(n,)] in [0, 1]
    chroma: np.ndarray  # [shape=(n, 12)]
    hits: np.ndarray  # [shape=(n,)] in [0, 1]: onset strength of the pulse's audio (the song, or its stem)
    beat_frames: np.ndarray  # frames on a beat
    tempo: float  # beats per minute, 0 without beats
    section_frames: np.ndarray  # first frame of every section after the first
    section_labels: tuple[str, ...] = ("A",)  # every section's label, the first included: the same, the same music
    effects: list[np.ndarray] = field(default_factory=list)  # [shape=(n,)] each, in [0, 1]
    song: TrackAnalysis | None = field(default=None, repr=False)
    settings: dict[str, np.ndarray] = field(default_factory=dict)  # [shape=(n,)] each: what a timeline sets
    keyframes: tuple[tuple[int, int, str], ...] = ()  # a timeline's (frame, transition frames, what it sets)

    @property
    def n_frames(self) -> int:
        return len(self.pulse)

    def __getstate__(self) -> dict:
        # The song's analysis (its decoded audio, caches and a lock) stays in the process that made it.
        return {**self.__dict__, "song": None}

    def shifted(self, frames: int) -> Signals:
        """These signals ``frames`` later (earlier where negative): every level, hit, beat and section moves by that
        many frames; the levels hold their first and last values at the ends."""
        if frames == 0:
            return self
        n = self.n_frames
        source = np.clip(np.arange(n) - frames, 0, n - 1)
        # A level holds at the ends; a hit is an event, so nothing comes in from beyond them.
        hits = np.where(np.arange(n) - frames == source, self.hits[source], 0.0)

        def moved(marks: np.ndarray) -> np.ndarray:
            marks = np.asarray(marks) + frames
            return marks[(marks >= 0) & (marks < n)]

        # A section that now starts before frame 0 is the one the render starts in; one moved past the end is gone.
        starts = np.asarray(self.section_frames) + frames
        labels = list(self.section_labels)
        first = labels[0] if not np.any(starts <= 0) else labels[int(np.flatnonzero(starts <= 0)[-1]) + 1]
        kept = (starts > 0) & (starts < n)
        return replace(self, pulse=self.pulse[source], motion=self.motion[source], chroma=self.chroma[source],
                       hits=hits, beat_frames=moved(self.beat_frames), section_frames=starts[kept],
                       section_labels=(first, *(label for label, keep in zip(labels[1:], kept) if keep)),
                       effects=[e[source] for e in self.effects])

    @property
    def beat_times(self) -> np.ndarray:
        return self.start + self.beat_frames / self.fps

    @property
    def section_times(self) -> np.ndarray:
        return self.start + self.section_frames / self.fps


def track_structure(track: TrackAnalysis) -> tuple[Beats, Sections]:
    """The beats and sections of an excerpt (grid frames from its start). They depend on neither the frame rate
    nor the mel-band count (onsets and timbre use their own bands): found once per excerpt, for every later
    render and style."""
    beats = track.cached(("beats",), lambda: track_beats(track.grid("onset")))
    return beats, track.cached(("sections",), lambda: song_sections(track.chroma_grid(), track.grid("timbre"),
                                                                       beats))


def hit_strength(onset: np.ndarray) -> np.ndarray:
    """Onset strength scaled to [0, 1] by a high quantile of its non-zero values (silence stays 0)."""
    onset = np.maximum(np.asarray(onset, dtype=np.float64), 0.0)
    active = onset[onset > 1e-6]
    if len(active) == 0:
        return np.zeros_like(onset)
    return np.clip(onset / np.quantile(active, HIT_QUANTILE), 0.0, 1.0)


def _labels_of(grid_starts: np.ndarray, labels: tuple[str, ...], fps: float, n_frames: int,
               frames: np.ndarray) -> tuple[str, ...]:
    """The labels of the sections that begin in the render, the first included, in the order of ``frames``
    (:func:`to_frames` of ``grid_starts``: sections that land on one frame count once, the later label)."""
    at = np.round(np.asarray(grid_starts) * GRID_SECONDS * fps).astype(int)
    by_frame = {0: labels[0]}
    for frame, label in zip(at, labels[1:]):
        if 0 <= frame < n_frames:
            by_frame[int(frame)] = label
    return tuple(by_frame[f] for f in [0, *frames.tolist()] if f in by_frame)


def to_frames(grid_frames: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Analysis-grid positions as (unique, ascending) video frames."""
    frames = np.unique(np.round(np.asarray(grid_frames) * GRID_SECONDS * fps).astype(int))
    return frames[(frames >= 0) & (frames < n_frames)]


def route_signals(
    cache: AnalysisCache,
    song: Path,
    routing: Routing,
    *,
    start: float,
    length: float,
    fps: float,
    n_frames: int,
    n_mels: int,
    structure: bool,
    classes: bool = True,
) -> Signals:
    """Sample every driver of a render at the frame times. ``structure`` also finds the hits of the pulse's audio
    and the beats and sections of the song (needed by ``beat_react`` and ``sections``); without it they are
    empty and no extra analysis runs. Without ``classes`` (a style with none) the chroma is zeros and its
    analysis is skipped, unless the sections need it."""

    def track(path: Path | None) -> TrackAnalysis:
        return cache.track(path or song, start, length)

    def amplitude(source: tuple[Path | None, Part]) -> np.ndarray:
        path, part = source
        return track(path).amplitude(part, fps, n_frames, n_mels)

    song_track = track(None)
    if classes:
        track(routing.chroma).start_chroma()
    if structure:
        song_track.start_chroma()  # the sections compare the song's harmony
    hits = np.zeros(n_frames)
    beats, sections, labels = Beats(0.0, np.zeros(0, dtype=int)), np.zeros(0, dtype=int), ("A",)
    if structure:
        # Hits are the onsets of the pulse's audio as a whole: the attacks of every instrument, drums included.
        hits = hit_strength(peak_at_frames(track(routing.pulse[0]).grid("onset", n_mels), fps, n_frames))
        beats, found = track_structure(song_track)
        sections, labels = found.boundaries, found.labels
    return Signals(
        fps=fps,
        start=start,
        pulse=amplitude(routing.pulse),
        motion=amplitude(routing.motion),
        chroma=track(routing.chroma).chroma(fps, n_frames) if classes else np.zeros((n_frames, 12)),
        hits=hits,
        beat_frames=to_frames(beats.frames, fps, n_frames),
        tempo=beats.tempo,
        section_frames=(section_frames := to_frames(sections, fps, n_frames)),
        section_labels=_labels_of(sections, labels, fps, n_frames, section_frames),
        effects=[amplitude(source) for source in routing.effects],
        song=song_track,
    )

