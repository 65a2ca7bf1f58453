"""Framewise features on the analysis grid (``HOP`` samples apart): amplitude envelopes, loudness, the noise
floor, onsets, band energies and chroma, and sampling grid values at video frame times.

Arrays in, arrays out: no files, no state.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import librosa
import numpy as np

# Two librosa warnings that say nothing to our users, silenced once here (by message: librosa attributes them to
# the caller): ``warnings.catch_warnings`` is not thread-safe, and the chroma runs in a thread of its own. Above
# ~200 bands some mel filters of a 2048-point FFT are empty (0.4 used them all the same; the live levels'
# 512-point FFT has more); excerpts under a second make the lowest octaves' CQT filters longer than the signal
# (the chroma is fine).
warnings.filterwarnings("ignore", message="Empty filters detected")
warnings.filterwarnings("ignore", message="n_fft=.* is too large")

ANALYSIS_SR = 22050
N_FFT = 2048
# ~11.6 ms between analysis frames; a multiple of 64 so that the constant-Q chroma accepts it.
HOP = 256
GRID_SECONDS = HOP / ANALYSIS_SR


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
def mel_basis(n_mels: int, n_fft: int = N_FFT) -> np.ndarray:
    return librosa.filters.mel(sr=ANALYSIS_SR, n_fft=n_fft, n_mels=n_mels)


def power_spectrogram(y: np.ndarray) -> np.ndarray:
    """|STFT|² on the analysis grid. y : [shape=(n,)]; returns [shape=(1 + N_FFT // 2, 1 + n // HOP)]."""
    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2


# 0.4 uses as many mel bands as the noise vector is long (512 for StyleGAN). A diffusion latent is far longer
# (16384 at 512 px): beyond the 1025 bins of the FFT more bands only add empty filters, so the count stops here.
MAX_MELS = 512


def amplitude_envelope(power: np.ndarray, n_mels: int) -> np.ndarray:
    """The loudest mel band's power in every frame (0.4's amplitude, with ``n_mels`` = the noise length, at most
    ``MAX_MELS``)."""
    return (mel_basis(min(n_mels, MAX_MELS)) @ power).max(axis=0)


@lru_cache(maxsize=4)
def full_scale_mel_db(n_mels: int = ONSET_MELS, n_fft: int = N_FFT) -> float:
    """The loudest log-mel level (dB) of a full-scale 1 kHz sine: the reference of the absolute floor."""
    t = np.arange(ANALYSIS_SR) / ANALYSIS_SR
    power = np.abs(librosa.stft(np.sin(2 * np.pi * 1000 * t), n_fft=n_fft, hop_length=HOP)) ** 2
    return float(librosa.power_to_db(mel_basis(n_mels, n_fft) @ power, ref=1.0, amin=1e-20, top_db=None).max())


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
    mel_db = librosa.power_to_db(mel_basis(ONSET_MELS) @ power, ref=1.0, amin=1e-20, top_db=None)
    return np.maximum(mel_db, full_scale_mel_db() - ONSET_RANGE_DB)


def onset_envelope(mel_db: np.ndarray) -> np.ndarray:
    """Spectral flux of a log-mel spectrogram: librosa's onset strength. Returns [shape=(n_grid,)]."""
    return librosa.onset.onset_strength(S=mel_db, sr=ANALYSIS_SR, hop_length=HOP)


def band_energies(power: np.ndarray) -> np.ndarray:
    """Power in the low, mid and high bands of ``BANDS_HZ`` per frame. Returns [shape=(3, n_grid)]."""
    freqs = librosa.fft_frequencies(sr=ANALYSIS_SR, n_fft=N_FFT)
    return np.stack([power[(freqs >= lo) & (freqs < hi)].sum(axis=0) for lo, hi in BANDS_HZ])


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
