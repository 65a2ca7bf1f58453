"""Per-file audio analysis: amplitude envelopes, onsets, loudness, band energies and chroma on a fine grid.

Each file's excerpt is decoded once and separated into harmonic and percussive parts at most once. Every
signal is computed on an analysis grid of ``HOP`` samples, block by block so memory stays flat, and sampled at
the exact frame times ``i / fps``. Audio below an absolute noise floor counts as silence and drives nothing.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

import librosa
import numpy as np
from scipy.ndimage import median_filter

from .audio import fit_length, load_mono

# Two librosa warnings that say nothing to our users, silenced once here: ``warnings.catch_warnings`` is not
# thread-safe, and the chroma runs in a thread of its own. Above ~200 bands some mel filters of a 2048-point FFT
# are empty (0.4 used them all the same); excerpts under a second make the lowest octaves' CQT filters longer
# than the signal (the chroma is fine).
warnings.filterwarnings("ignore", message="Empty filters detected", module="librosa")
warnings.filterwarnings("ignore", message="n_fft=.* is too large", module="librosa")

ANALYSIS_SR = 22050
N_FFT = 2048
# ~11.6 ms between analysis frames; a multiple of 64 so that the constant-Q chroma accepts it.
HOP = 256
GRID_SECONDS = HOP / ANALYSIS_SR
# The harmonic/percussive separation uses librosa's (and 0.4's) STFT: hop 512, 31-frame median filters.
SEPARATION_HOP = 512
SEPARATION_KERNEL = 31
# Long songs are analysed in blocks of ~30 s with ~3 s of context on each side: more than the longest filter
# (the lowest constant-Q bin, ~1.6 s) or the separation's median filter (~0.7 s) reaches.
BLOCK_FRAMES = 2560
MARGIN_FRAMES = 256

# Frames quieter than this (RMS, dB relative to a full-scale square wave) count as silence; the gate opens
# fully NOISE_FLOOR_RAMP_DB above it, so normal music is untouched and a dithered silent stem drives nothing.
NOISE_FLOOR_DBFS = -60.0
NOISE_FLOOR_RAMP_DB = 10.0
# Log-mel powers are clipped this far below a full-scale sine's, so inaudible bands add no spectral flux.
ONSET_RANGE_DB = 80.0
ONSET_MELS = 128
# Rough kick / snare / hi-hat bands, in Hz.
BANDS_HZ = ((20.0, 150.0), (150.0, 2500.0), (2500.0, ANALYSIS_SR / 2))

Part = Literal["full", "harmonic", "percussive"]
PARTS: tuple[Part, ...] = ("full", "harmonic", "percussive")


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
    grid_times = np.arange(values.shape[-1]) * GRID_SECONDS
    frame_times = np.arange(n_frames) / fps
    flat = values.reshape(-1, values.shape[-1])
    out = np.stack([np.interp(frame_times, grid_times, row) for row in flat], axis=-1)
    return out.reshape((n_frames,) + values.shape[:-1])


def peak_at_frames(values: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """The largest grid value within half a frame of each frame time, so short peaks (onsets) are never
    missed between frames. values : [shape=(n_grid,)]; returns [shape=(n_frames,)]."""
    values = np.asarray(values, dtype=np.float64)
    half = 0.5 / fps
    centres = np.arange(n_frames) / fps
    lo = np.clip(np.ceil((centres - half) / GRID_SECONDS - 1e-9).astype(int), 0, len(values) - 1)
    hi = np.clip(np.floor((centres + half) / GRID_SECONDS - 1e-9).astype(int), 0, len(values) - 1)
    hi = np.maximum(hi, lo)
    # Running maxima over variable windows: a sparse table answers each window in O(1).
    table = [values]
    while (1 << len(table)) <= len(values):
        prev, step = table[-1], 1 << (len(table) - 1)
        table.append(np.maximum(prev[:-step], prev[step:]))
    level = np.floor(np.log2(hi - lo + 1)).astype(int)
    out = np.empty(n_frames)
    for k in np.unique(level):
        sel = level == k
        out[sel] = np.maximum(table[k][lo[sel]], table[k][hi[sel] - (1 << k) + 1])
    return out


def normalize(x: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1]; a constant signal (silence) gives zeros, never NaN."""
    x = np.asarray(x, dtype=np.float64)
    span = x.max() - x.min() if x.size else 0.0
    if not np.isfinite(span) or span <= 0:
        return np.zeros_like(x)
    return (x - x.min()) / span


@lru_cache(maxsize=8)
def _mel_basis(n_mels: int) -> np.ndarray:
    return librosa.filters.mel(sr=ANALYSIS_SR, n_fft=N_FFT, n_mels=n_mels)


def power_spectrogram(y: np.ndarray) -> np.ndarray:
    """|STFT|² on the analysis grid. y : [shape=(n,)]; returns [shape=(1 + N_FFT // 2, 1 + n // HOP)]."""
    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2


# 0.4 uses as many mel bands as the noise vector is long (512 for StyleGAN). A diffusion latent is far longer
# (16384 at 512 px): beyond the 1025 bins of the FFT more bands only add empty filters, so the count stops here.
MAX_MELS = 512


def amplitude_envelope(power: np.ndarray, n_mels: int) -> np.ndarray:
    """The loudest mel band's power in every frame (0.4's amplitude, with ``n_mels`` = the noise length, at most
    ``MAX_MELS``)."""
    return (_mel_basis(min(n_mels, MAX_MELS)) @ power).max(axis=0)


@lru_cache(maxsize=1)
def _full_scale_mel_db() -> float:
    """The loudest log-mel level (dB) of a full-scale 1 kHz sine: the reference of the absolute floor."""
    t = np.arange(ANALYSIS_SR) / ANALYSIS_SR
    power = power_spectrogram(np.sin(2 * np.pi * 1000 * t))
    return float(librosa.power_to_db(_mel_basis(ONSET_MELS) @ power, ref=1.0, amin=1e-20, top_db=None).max())


def loudness_db(power: np.ndarray) -> np.ndarray:
    """Frame RMS in dB (0 dB = a full-scale square wave; a full-scale sine reads about -3 dB)."""
    rms = librosa.feature.rms(S=np.sqrt(power), frame_length=N_FFT)[0]
    return 20 * np.log10(np.maximum(rms, 1e-10))


def silence_gate(power: np.ndarray) -> np.ndarray:
    """0 for frames below the noise floor, 1 from ``NOISE_FLOOR_RAMP_DB`` above it, linear in between."""
    return np.clip((loudness_db(power) - NOISE_FLOOR_DBFS) / NOISE_FLOOR_RAMP_DB, 0.0, 1.0)


def log_mel(power: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram (dB) clipped at an absolute floor, so that blocks join exactly and inaudible noise
    adds no spectral flux. Returns [shape=(ONSET_MELS, n_grid)]."""
    mel_db = librosa.power_to_db(_mel_basis(ONSET_MELS) @ power, ref=1.0, amin=1e-20, top_db=None)
    return np.maximum(mel_db, _full_scale_mel_db() - ONSET_RANGE_DB)


def onset_envelope(mel_db: np.ndarray) -> np.ndarray:
    """Spectral flux of a log-mel spectrogram: librosa's onset strength. Returns [shape=(n_grid,)]."""
    return librosa.onset.onset_strength(S=mel_db, sr=ANALYSIS_SR, hop_length=HOP)


def band_energies(power: np.ndarray) -> np.ndarray:
    """Power in the low, mid and high bands of ``BANDS_HZ`` per frame. Returns [shape=(3, n_grid)]."""
    freqs = librosa.fft_frequencies(sr=ANALYSIS_SR, n_fft=N_FFT)
    return np.stack([power[(freqs >= lo) & (freqs < hi)].sum(axis=0) for lo, hi in BANDS_HZ])


def _running_median(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Median filter along one axis. scipy's 1-D path is ~10x faster than its N-D one with a 1-wide footprint;
    the result is the same."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for i in np.ndindex(moved.shape[:-1]):
        out[i] = median_filter(moved[i], size=size, mode="reflect")
    return np.moveaxis(out, -1, axis)


def separate(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive parts of ``y``: the same masks and resynthesis as ``librosa.effects.hpss``, with
    faster median filters."""
    stft = librosa.stft(y, n_fft=N_FFT, hop_length=SEPARATION_HOP)
    mag = np.abs(stft)
    harmonic = _running_median(mag, SEPARATION_KERNEL, axis=1)
    percussive = _running_median(mag, SEPARATION_KERNEL, axis=0)
    parts = []
    for mask in _soft_masks(harmonic, percussive):
        parts.append(librosa.istft(stft * mask, n_fft=N_FFT, hop_length=SEPARATION_HOP, length=len(y),
                                   dtype=y.dtype))
    return parts[0], parts[1]


def _soft_masks(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``librosa.util.softmask(a, b, power=2, split_zeros=True)`` and the same with ``a`` and ``b`` swapped, with
    the same operations (so the same bits) but the shared terms computed once: a third of the separation time."""
    scale = np.maximum(a, b)
    zero = scale < np.finfo(scale.dtype).tiny
    scale[zero] = 1
    a_sq, b_sq = (a / scale) ** 2, (b / scale) ** 2
    total = a_sq + b_sq
    total[zero] = 1
    a_mask, b_mask = a_sq / total, b_sq / total
    a_mask[zero] = b_mask[zero] = 0.5
    return a_mask, b_mask


def chromagram(y: np.ndarray, tuning: float = 0.0) -> np.ndarray:
    """Constant-Q chroma, each frame scaled so its strongest pitch is 1; frames below the noise floor are 0.

    tuning : float, deviation of the recording from A440 in fractions of a semitone
    Returns np.ndarray [shape=(12, n_grid)]
    """
    n_grid = 1 + len(y) // HOP
    gate = silence_gate(power_spectrogram(y))
    if not np.any(gate):
        return np.zeros((12, n_grid))
    chroma = librosa.feature.chroma_cqt(y=y, sr=ANALYSIS_SR, hop_length=HOP, tuning=tuning)
    return np.nan_to_num(chroma) * (gate > 0)


def estimate_tuning(y: np.ndarray) -> float:
    """The recording's tuning (fractions of a semitone from A440): the median of per-block estimates, so that
    every block's chroma uses the same one."""
    block = BLOCK_FRAMES * HOP
    estimates = [librosa.estimate_tuning(y=y[i : i + block], sr=ANALYSIS_SR)
                 for i in range(0, len(y), block) if np.any(y[i : i + block])]
    return float(np.median(estimates)) if estimates else 0.0


def blockwise(y: np.ndarray, feature: Callable[[np.ndarray], np.ndarray | dict]) -> np.ndarray | dict:
    """Apply a framewise ``feature`` to a long signal in overlapping blocks, so memory stays flat.

    ``feature(segment)`` must return an array [shape=(..., 1 + len(segment) // HOP)] whose frame ``j`` is
    centred on sample ``j * HOP`` of the segment, or a dict of such arrays. Each block gets ``MARGIN_FRAMES``
    of context on both sides, more than any filter used here reaches, so the joined result equals the
    feature of the whole signal.

    Returns np.ndarray [shape=(..., 1 + len(y) // HOP)], or a dict of them
    """
    n_grid = 1 + len(y) // HOP
    parts: list = []
    for first in range(0, n_grid, BLOCK_FRAMES):
        lo = max(0, first - MARGIN_FRAMES)
        hi = min(n_grid, first + BLOCK_FRAMES + MARGIN_FRAMES)
        values = feature(y[lo * HOP : hi * HOP])
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


def separated_features(y: np.ndarray, n_mels: int) -> dict[str, np.ndarray]:
    """Amplitude envelopes of the harmonic and percussive parts (each gated by its own loudness) and the
    percussive part's onsets."""
    harmonic, percussive = separate(y)
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
    _grid: dict = field(default_factory=dict, repr=False)
    _signals: dict = field(default_factory=dict, repr=False)
    _chroma_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def samples(self) -> np.ndarray:
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
        if key not in self._grid:
            separated = name in ("harmonic", "percussive", "percussive_onset")
            features = blockwise(self.samples, lambda y: (separated_features if separated else whole_features)(
                y, n_mels))
            for k, v in features.items():
                self._grid[(k, n_mels) if k in PARTS else k] = v
        return self._grid[key]

    def amplitude(self, part: Part, fps: float, n_frames: int, n_mels: int = 128) -> np.ndarray:
        """Per-frame amplitude in [0, 1], shape (n_frames,): 0.4's loudest mel band, min-max normalised."""
        return self.cached(("amplitude", part, fps, n_frames, n_mels),
                           lambda: normalize(sample_at_frames(self.grid(part, n_mels), fps, n_frames)))

    def cached(self, key: tuple, compute):
        """``compute()``, worked out once per key for this excerpt (for results derived from its analysis, such
        as beats and sections)."""
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
    """Keeps one :class:`TrackAnalysis` per (file, start, duration), so repeated renders re-use the work."""

    def __init__(self) -> None:
        self._tracks: dict[tuple[str, float, float], TrackAnalysis] = {}

    def track(self, path: str | Path, start: float, duration: float) -> TrackAnalysis:
        key = (str(Path(path).resolve()), float(start), float(duration))
        if key not in self._tracks:
            self._tracks[key] = TrackAnalysis(Path(path), float(start), float(duration))
        return self._tracks[key]
