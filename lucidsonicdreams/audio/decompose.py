"""Harmonic/percussive source separation: the masks and resynthesis of ``librosa.effects.hpss``, faster."""

from __future__ import annotations

import librosa
import numpy as np
from scipy.ndimage import median_filter

from .feature import N_FFT

# The harmonic/percussive separation uses librosa's (and 0.4's) STFT: hop 512, 31-frame median filters.
SEPARATION_HOP = 512
SEPARATION_KERNEL = 31


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
