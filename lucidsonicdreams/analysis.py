"""Per-frame signals of an audio excerpt: amplitude (of the whole, harmonic or percussive part) and chroma.

Each file's excerpt is decoded once and separated into harmonic and percussive parts at most once; every
signal is computed on a fine analysis grid, block by block, and sampled at the exact frame times ``i / fps``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import librosa
import numpy as np

from .audio import fit_length, load_mono

ANALYSIS_SR = 22050
# ~11.6 ms between analysis frames; a multiple of 64 so that the constant-Q chroma accepts it.
HOP = 256
N_MELS = 128
# Long songs are analysed in blocks of ~30 s with ~3 s of context on each side: more than the longest filter
# (the lowest constant-Q bin, ~1.6 s) or the separation's median filter (~0.7 s) reaches.
BLOCK_FRAMES = 2560
MARGIN_FRAMES = 256

Part = Literal["full", "harmonic", "percussive"]


def choose_part(percussive: bool, harmonic: bool) -> Part:
    """The part of a song picked by a ``*_percussive``/``*_harmonic`` pair: one of them, or (both or neither) all."""
    if percussive == harmonic:
        return "full"
    return "percussive" if percussive else "harmonic"


def sample_at_frames(values: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Linearly interpolate analysis-grid values (last axis) at the frame times ``i / fps``.

    values : np.ndarray [shape=(..., n_grid)]
    Returns np.ndarray [shape=(n_frames, ...)]
    """
    grid_times = np.arange(values.shape[-1]) * (HOP / ANALYSIS_SR)
    frame_times = np.arange(n_frames) / fps
    flat = values.reshape(-1, values.shape[-1])
    out = np.stack([np.interp(frame_times, grid_times, row) for row in flat], axis=-1)
    return out.reshape((n_frames,) + values.shape[:-1])


def normalize(x: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1]; a constant signal (silence) gives zeros, never NaN."""
    x = np.asarray(x, dtype=np.float64)
    span = x.max() - x.min() if x.size else 0.0
    if not np.isfinite(span) or span <= 0:
        return np.zeros_like(x)
    return (x - x.min()) / span


def amplitude_envelope(y: np.ndarray) -> np.ndarray:
    """The loudest mel band's power in every analysis frame.

    y : np.ndarray [shape=(n,)] at ``ANALYSIS_SR``
    Returns np.ndarray [shape=(n_grid,)]
    """
    mel = librosa.feature.melspectrogram(y=y, sr=ANALYSIS_SR, hop_length=HOP, n_mels=N_MELS)
    return mel.max(axis=0)


def chromagram(y: np.ndarray, tuning: float = 0.0) -> np.ndarray:
    """Constant-Q chroma, each analysis frame scaled so its strongest pitch is 1 (silence stays 0).

    tuning : float, deviation of the recording from A440 in fractions of a semitone
    Returns np.ndarray [shape=(12, n_grid)]
    """
    if not np.any(y):
        return np.zeros((12, 1 + len(y) // HOP))
    with warnings.catch_warnings():
        # Excerpts under a second make the lowest octaves' filters longer than the signal; the result is fine.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large")
        chroma = librosa.feature.chroma_cqt(y=y, sr=ANALYSIS_SR, hop_length=HOP, tuning=tuning)
    return np.nan_to_num(chroma)


def estimate_tuning(y: np.ndarray) -> float:
    """The recording's tuning (fractions of a semitone from A440): the median of per-block estimates, so that
    every block's chroma uses the same one."""
    block = BLOCK_FRAMES * HOP
    estimates = [librosa.estimate_tuning(y=y[i : i + block], sr=ANALYSIS_SR)
                 for i in range(0, len(y), block) if np.any(y[i : i + block])]
    return float(np.median(estimates)) if estimates else 0.0


def blockwise(y: np.ndarray, feature: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a framewise ``feature`` to a long signal in overlapping blocks, so memory stays flat.

    ``feature(segment)`` must return an array [shape=(..., 1 + len(segment) // HOP)] whose frame ``j`` is
    centred on sample ``j * HOP`` of the segment. Each block gets ``MARGIN_FRAMES`` of context on both sides,
    more than any filter used here reaches, so the joined result equals the feature of the whole signal.

    Returns np.ndarray [shape=(..., 1 + len(y) // HOP)]
    """
    n_grid = 1 + len(y) // HOP
    parts = []
    for first in range(0, n_grid, BLOCK_FRAMES):
        lo = max(0, first - MARGIN_FRAMES)
        hi = min(n_grid, first + BLOCK_FRAMES + MARGIN_FRAMES)
        values = feature(y[lo * HOP : hi * HOP])
        parts.append(values[..., first - lo : first - lo + min(BLOCK_FRAMES, n_grid - first)])
    return np.concatenate(parts, axis=-1)


def separated_envelopes(y: np.ndarray) -> np.ndarray:
    """Amplitude envelopes of the harmonic and the percussive part. Returns [shape=(2, n_grid)]."""
    harmonic, percussive = librosa.effects.hpss(y)
    return np.stack([amplitude_envelope(harmonic), amplitude_envelope(percussive)])


@dataclass
class TrackAnalysis:
    """One audio file's excerpt ``[start, start + duration)``, decoded and analysed on demand, once.

    Shorter files are zero-padded and longer ones trimmed to ``duration``, so stems line up with the song.
    """

    path: Path
    start: float
    duration: float
    _signals: dict = field(default_factory=dict, repr=False)

    @cached_property
    def samples(self) -> np.ndarray:
        y = load_mono(self.path, ANALYSIS_SR, self.start, self.duration)
        return fit_length(y, int(round(self.duration * ANALYSIS_SR)))

    @cached_property
    def _envelopes(self) -> dict[Part, np.ndarray]:
        return {"full": blockwise(self.samples, amplitude_envelope)}

    def envelope(self, part: Part) -> np.ndarray:
        """Loudest-mel-band power on the analysis grid; the harmonic/percussive separation runs once for both."""
        if part not in self._envelopes:
            harmonic, percussive = blockwise(self.samples, separated_envelopes)
            self._envelopes.update(harmonic=harmonic, percussive=percussive)
        return self._envelopes[part]

    def amplitude(self, part: Part, fps: float, n_frames: int) -> np.ndarray:
        """Per-frame amplitude in [0, 1], shape (n_frames,)."""
        key = ("amplitude", part, fps, n_frames)
        if key not in self._signals:
            self._signals[key] = normalize(sample_at_frames(self.envelope(part), fps, n_frames))
        return self._signals[key]

    def chroma(self, fps: float, n_frames: int) -> np.ndarray:
        """Per-frame chroma, shape (n_frames, 12), each row's strongest pitch near 1."""
        key = ("chroma", fps, n_frames)
        if key not in self._signals:
            tuning = estimate_tuning(self.samples)
            chroma = blockwise(self.samples, lambda y: chromagram(y, tuning))
            self._signals[key] = sample_at_frames(chroma, fps, n_frames)
        return self._signals[key]


class AnalysisCache:
    """Keeps one :class:`TrackAnalysis` per (file, start, duration), so repeated renders re-use the work."""

    def __init__(self) -> None:
        self._tracks: dict[tuple[str, float, float], TrackAnalysis] = {}

    def track(self, path: str | Path, start: float, duration: float) -> TrackAnalysis:
        key = (str(Path(path).resolve()), float(start), float(duration))
        if key not in self._tracks:
            self._tracks[key] = TrackAnalysis(Path(path), float(start), float(duration))
        return self._tracks[key]
