"""Per-file audio analysis: each excerpt decoded once, separated at most once, its features computed block by
block (memory stays flat) and cached for every later render.

In: an audio file, an excerpt (start, duration). Out: grid and per-frame signals of :mod:`.feature`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import librosa
import numpy as np

from .decode import fit_length, load_mono
from .decompose import separate
from .feature import (
    ANALYSIS_SR,
    BLOCK_FRAMES,
    HOP,
    MARGIN_FRAMES,
    amplitude_envelope,
    band_energies,
    chromagram,
    estimate_tuning,
    log_mel,
    loudness_db,
    normalize,
    onset_envelope,
    power_spectrogram,
    sample_at_frames,
    silence_gate,
)

# The separated parts of a song are kept up to this size (about 10 minutes of audio; a 4-minute song takes 50 MB),
# so that a style with another noise length does not separate the song again.
SEPARATION_CACHE_BYTES = 128 * 2**20

Part = Literal["full", "harmonic", "percussive"]
PARTS: tuple[Part, ...] = ("full", "harmonic", "percussive")


def choose_part(percussive: bool, harmonic: bool) -> Part:
    """The part of a song picked by a ``*_percussive``/``*_harmonic`` pair: one of them, or (both or neither) all."""
    if percussive == harmonic:
        return "full"
    return "percussive" if percussive else "harmonic"


def blockwise(y: np.ndarray, feature: Callable[..., np.ndarray | dict], *, indexed: bool = False) -> np.ndarray | dict:
    """Apply a framewise ``feature`` to a long signal in overlapping blocks, so memory stays flat.

    ``feature(segment)`` (``feature(segment, block_index)`` when ``indexed``) must return an array
    [shape=(..., 1 + len(segment) // HOP)] whose frame ``j`` is centred on sample ``j * HOP`` of the segment, or
    a dict of such arrays. Each block gets ``MARGIN_FRAMES`` of context on both sides, more than any filter used
    here reaches, so the joined result equals the feature of the whole signal.

    Returns np.ndarray [shape=(..., 1 + len(y) // HOP)], or a dict of them
    """
    n_grid = 1 + len(y) // HOP
    parts: list = []
    for index, first in enumerate(range(0, n_grid, BLOCK_FRAMES)):
        lo = max(0, first - MARGIN_FRAMES)
        hi = min(n_grid, first + BLOCK_FRAMES + MARGIN_FRAMES)
        segment = y[lo * HOP : hi * HOP]
        values = feature(segment, index) if indexed else feature(segment)
        keep = slice(first - lo, first - lo + min(BLOCK_FRAMES, n_grid - first))
        parts.append({k: v[..., keep] for k, v in values.items()} if isinstance(values, dict) else values[..., keep])
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}
    return np.concatenate(parts, axis=-1)


def whole_features(y: np.ndarray, n_mels: int) -> dict[str, np.ndarray]:
    """Features of the whole (unseparated) signal: the gated amplitude envelope, loudness, onsets, band
    energies and timbre (13 MFCCs)."""
    power = power_spectrogram(y)
    mel_db = log_mel(power)
    return {"full": amplitude_envelope(power, n_mels) * silence_gate(power), "loudness": loudness_db(power),
            "onset": onset_envelope(mel_db), "bands": band_energies(power),
            "timbre": librosa.feature.mfcc(S=mel_db, n_mfcc=13)}


def separated_features(y: np.ndarray, n_mels: int,
                       separation: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
                       ) -> dict[str, np.ndarray]:
    """Amplitude envelopes of the harmonic and percussive parts (each gated by its own loudness) and the
    percussive part's onsets. ``separation(y)`` gives the parts (default: :func:`separate`)."""
    harmonic, percussive = (separation or separate)(y)
    h_power, p_power = power_spectrogram(harmonic), power_spectrogram(percussive)
    return {"harmonic": amplitude_envelope(h_power, n_mels) * silence_gate(h_power),
            "percussive": amplitude_envelope(p_power, n_mels) * silence_gate(p_power),
            "percussive_onset": onset_envelope(log_mel(p_power))}


@dataclass
class TrackAnalysis:
    """One audio file's excerpt ``[start, start + duration)``, decoded and analysed on demand, once.

    Shorter files are zero-padded and longer ones trimmed to ``duration``, so stems line up with the song.
    Grid signals (``HOP`` samples apart) are cached per mel-band count; frame signals per frame rate.
    """

    path: Path
    start: float
    duration: float
    keep_separation: bool = False  # keep the separated parts for other mel-band counts (SEPARATION_CACHE_BYTES)
    _grid: dict = field(default_factory=dict, repr=False)
    _signals: dict = field(default_factory=dict, repr=False)
    _parts: dict = field(default_factory=dict, repr=False)  # block -> (harmonic, percussive) samples
    # Renders in several threads may share an analysis (the web app's styles of one song): each result is worked
    # out once, under the lock, and the chroma has its own lock so that it can run beside the rest.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _decode_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _chroma_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def samples(self) -> np.ndarray:
        with self._decode_lock:
            if "samples" in self.__dict__:  # decoded by another thread while this one waited
                return self.__dict__["samples"]
            y = load_mono(self.path, ANALYSIS_SR, self.start, self.duration)
            return fit_length(y, int(round(self.duration * ANALYSIS_SR)))

    @property
    def n_grid(self) -> int:
        return 1 + len(self.samples) // HOP

    def grid(self, name: str, n_mels: int = 128) -> np.ndarray:
        """A grid signal: ``full``/``harmonic``/``percussive`` amplitude envelopes (``n_mels`` bands),
        ``loudness`` (dB), ``onset`` and ``percussive_onset`` strength, ``bands`` [shape=(3, n_grid)], ``timbre``
        [shape=(13, n_grid)]."""
        per_mels = name in PARTS
        key = (name, n_mels) if per_mels else name
        with self._lock:
            return self._grid[key] if key in self._grid else self._compute_grid(key, name, n_mels)

    def _compute_grid(self, key: object, name: str, n_mels: int) -> np.ndarray:
        if name in ("harmonic", "percussive", "percussive_onset"):
            features = blockwise(self.samples, lambda y, block: separated_features(
                y, n_mels, lambda segment: self._separation(block, segment)), indexed=True)
        else:
            features = blockwise(self.samples, lambda y: whole_features(y, n_mels))
        for k, v in features.items():
            self._grid[(k, n_mels) if k in PARTS else k] = v
        return self._grid[key]

    def _separation(self, block: int, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The harmonic and percussive parts of one analysis block, separated once: another mel-band count (a
        style with another noise length) needs only their spectra again. Kept while they fit in
        ``SEPARATION_CACHE_BYTES`` when the cache keeps them; a longer song separates again instead."""
        if block in self._parts:
            return self._parts[block]
        parts = separate(segment)
        kept = sum(p.nbytes for pair in self._parts.values() for p in pair)
        if self.keep_separation and kept + 2 * segment.nbytes <= SEPARATION_CACHE_BYTES:
            self._parts[block] = parts
        return parts

    def amplitude(self, part: Part, fps: float, n_frames: int, n_mels: int = 128) -> np.ndarray:
        """Per-frame amplitude in [0, 1], shape (n_frames,): 0.4's loudest mel band, min-max normalised."""
        return self.cached(("amplitude", part, fps, n_frames, n_mels),
                           lambda: normalize(sample_at_frames(self.grid(part, n_mels), fps, n_frames)))

    def cached(self, key: tuple, compute):
        """``compute()``, worked out once per key for this excerpt (for results derived from its analysis, such
        as beats and sections)."""
        with self._lock:
            if key not in self._signals:
                self._signals[key] = compute()
            return self._signals[key]

    def chroma_grid(self) -> np.ndarray:
        """Chroma on the analysis grid, [shape=(12, n_grid)]. A second caller waits for the first one's result."""
        with self._chroma_lock:
            if "chroma" not in self._grid:
                tuning = estimate_tuning(self.samples)
                self._grid["chroma"] = blockwise(self.samples, lambda y: chromagram(y, tuning))
        return self._grid["chroma"]

    def start_chroma(self) -> None:
        """Work out the chroma in a background thread while the caller goes on (with the separation, say): on two
        cores the two together take about a sixth less time, as parts of each leave the interpreter lock free.
        A failure there is left for the caller's own :meth:`chroma_grid` call to meet and report."""
        if "chroma" in self._grid:
            return
        _ = self.samples  # decoded here, once, before two threads want it

        def work() -> None:
            try:
                self.chroma_grid()
            except BaseException:
                pass  # raised again, with its traceback, when the render asks for the chroma

        threading.Thread(target=work, name="chroma", daemon=True).start()

    def chroma(self, fps: float, n_frames: int) -> np.ndarray:
        """Per-frame chroma, shape (n_frames, 12), each row's strongest pitch near 1."""
        return self.cached(("chroma", fps, n_frames), lambda: sample_at_frames(self.chroma_grid(), fps, n_frames))


class AnalysisCache:
    """Keeps one :class:`TrackAnalysis` per (file, start, duration), so repeated renders re-use the work; safe to
    share between threads.

    ``keep_separation`` also keeps each excerpt's separated parts (up to ``SEPARATION_CACHE_BYTES`` each), for
    renders in styles of other noise lengths (the web app); a single style never needs them again.
    """

    def __init__(self, *, keep_separation: bool = False) -> None:
        self._tracks: dict[tuple[str, float, float], TrackAnalysis] = {}
        self._lock = threading.Lock()
        self.keep_separation = keep_separation

    def track(self, path: str | Path, start: float, duration: float) -> TrackAnalysis:
        key = (str(Path(path).resolve()), float(start), float(duration))
        with self._lock:
            if key not in self._tracks:
                self._tracks[key] = TrackAnalysis(Path(path), float(start), float(duration), self.keep_separation)
            return self._tracks[key]
