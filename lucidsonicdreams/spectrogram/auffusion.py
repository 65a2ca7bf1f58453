"""Auffusion's spectrogram image format (a Stable Diffusion fine-tuned on mel spectrograms), next to Riffusion's.

- 16 kHz mono audio, peak-normalised to 0.95 first (as Auffusion does with every clip);
- a 2048-point FFT of 1024-sample periodic Hann windows (centred in the FFT frame, as ``torch.stft`` places them),
  10 ms hops (160 samples), not centred: the signal is reflected by (2048 - 160) / 2 = 944 samples at both ends
  instead, so ``n`` samples make ``n // 160`` frames;
- magnitude ``sqrt(re² + im² + 1e-9)``, 256 Slaney mel bands over 0-8 kHz (librosa's default filters), and the
  natural log of the bands floored at 1e-5;
- pixel = (log-mel - ln 1e-5) / (ln 200 - ln 1e-5), clamped to [0, 1], times 255 rounded; the same value in R, G and
  B; high frequencies at the top. The image is 256 pixels high and one column per 10 ms wide (10.24 s make 1024).

Auffusion turns its images into sound with a HiFi-GAN vocoder; without one, :func:`griffin_lim` estimates the phase
and gives the same length (160 samples a column). Images written here carry EXIF tag :data:`EXIF_TAG` set to
:data:`EXIF_VALUE`, outside Riffusion's tags (11000-11080), so Riffusion's reader never sees it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import librosa
import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from ..utils import checks as validation

SAMPLE_RATE = 16000
N_FFT = 2048
HOP_LENGTH = 160
WIN_LENGTH = 1024
N_MELS = 256
F_MAX = 8000
LOG_MIN = math.log(1e-5)  # the floor of the log-mel, pixel 0
LOG_MAX = math.log(200)  # pixel 255
# Auffusion scales every clip to this peak before its spectrogram.
PEAK = 0.95
# The length of one 1024-column image, the width Auffusion generates.
CLIP_SECONDS = 10.24
EXIF_TAG = 11100
EXIF_VALUE = "auffusion"
GRIFFIN_LIM_ITERATIONS = 32
GRIFFIN_LIM_MOMENTUM = 0.99

# The reflection at each end that makes n samples n // hop frames without centring.
_PAD = (N_FFT - HOP_LENGTH) // 2
# Reflecting 944 samples needs more than 944 (torch refuses fewer, as Auffusion's code would).
MIN_SAMPLES = _PAD + 1
# Frames transformed at once (about 25 MB of FFT frames), so memory stays flat however long the audio.
_BLOCK_FRAMES = 2048


# ---------------------------------------------------------------------------------------------------------------
# Audio -> log-mel -> image


def log_mel(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Auffusion's log-mel spectrogram of ``samples``.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,) or (channels, n)]
        Float samples; several channels are mixed to mono. Another rate than 16 kHz is resampled first. The clip is
        peak-normalised to 0.95, so its level does not matter.
    sample_rate : int
        Hz.

    Returns
    -------
    np.ndarray [shape=(256, n // 160), dtype=float32]
        ln(max(mel, 1e-5)) per band (low frequencies first) and 10 ms frame, ``n`` counted at 16 kHz.
    """
    x = _mono(samples)
    rate = int(validation.number("sample_rate", sample_rate, low=1, integer=True))
    if rate != SAMPLE_RATE:
        x = librosa.resample(x, orig_sr=rate, target_sr=SAMPLE_RATE)
    if len(x) < MIN_SAMPLES:
        raise ValueError(f"samples hold {len(x)} samples at 16 kHz; Auffusion's spectrogram needs at least "
                         f"{MIN_SAMPLES} ({MIN_SAMPLES / SAMPLE_RATE * 1000:.0f} ms: it reflects {_PAD} samples at "
                         "each end)")
    x64 = x.astype(np.float64)
    peak = np.abs(x64).max()
    # Division then scaling in float64, as librosa.util.normalize(audio) * 0.95 does; silence stays silence.
    if peak > np.finfo(np.float64).tiny:
        x64 = x64 / peak * PEAK
    padded = np.pad(x64.astype(np.float32), _PAD, mode="reflect")
    n_frames = len(x) // HOP_LENGTH
    mel = np.concatenate([_filters() @ _magnitudes(padded, first, min(_BLOCK_FRAMES, n_frames - first))
                          for first in range(0, n_frames, _BLOCK_FRAMES)], axis=1)
    return np.log(np.maximum(mel, np.float32(1e-5)))


def _mono(samples: object) -> np.ndarray:
    try:
        x = np.asarray(samples, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"samples must be an array of floats, got {type(samples).__name__}") from None
    if x.ndim == 2 and x.shape[0] in (1, 2):
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ValueError(f"samples must have shape (n,) or (channels, n) with 1 or 2 channels, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain NaN or infinite values")
    return x


@lru_cache(maxsize=1)
def _filters() -> np.ndarray:
    """Slaney mel filters [shape=(256, 1025)], librosa's defaults as Auffusion builds them."""
    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=0, fmax=F_MAX).astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.hanning(WIN_LENGTH + 1)[:-1].astype(np.float32)  # periodic Hann, as torch.hann_window


def _magnitudes(padded: np.ndarray, first: int, count: int) -> np.ndarray:
    """``sqrt(|X|² + 1e-9)`` [shape=(1025, count)] of ``count`` frames from ``first`` of the reflected signal.

    Only the window's 1024 samples in the middle of each 2048-sample frame are non-zero: they are transformed
    zero-padded at the end instead, which turns every bin's phase by a fixed amount and leaves the magnitudes."""
    frames = np.zeros((count, N_FFT), dtype=np.float32)
    windows = sliding_window_view(padded[(N_FFT - WIN_LENGTH) // 2 :], WIN_LENGTH)[::HOP_LENGTH]
    np.multiply(windows[first : first + count], _window(), out=frames[:, :WIN_LENGTH])
    spectrum = scipy.fft.rfft(frames, axis=1).T
    return np.sqrt(spectrum.real**2 + spectrum.imag**2 + np.float32(1e-9))


def log_mel_to_image(log_mel: np.ndarray) -> Image.Image:
    """The Auffusion image [256 x frames, RGB, 8-bit] of a log-mel [shape=(256, frames)], tagged in its EXIF.

    Values outside [ln 1e-5, ln 200] are clamped, as Auffusion's pipeline does."""
    x = _check_log_mel(log_mel)
    unit = np.clip((x - LOG_MIN) / (LOG_MAX - LOG_MIN), 0, 1)
    pixels = np.round(unit[::-1] * 255).astype(np.uint8)  # high frequencies at the top
    image = Image.fromarray(np.ascontiguousarray(np.repeat(pixels[..., None], 3, axis=-1)), mode="RGB")
    image.getexif()[EXIF_TAG] = EXIF_VALUE
    return image


def _check_log_mel(log_mel: object) -> np.ndarray:
    x = np.asarray(log_mel, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != N_MELS or x.shape[1] < 1:
        raise ValueError(f"log_mel must have shape ({N_MELS}, frames) with at least one frame, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("log_mel contains NaN or infinite values")
    return x


# ---------------------------------------------------------------------------------------------------------------
# Image -> log-mel -> sound


def image_to_log_mel(image: Image.Image | np.ndarray) -> np.ndarray:
    """The log-mel [shape=(256, width), dtype=float32] of an Auffusion image, low frequencies first.

    ``image``: a PIL image, a uint8 array, or a float array in [0, 1] (values outside are clipped, as Auffusion's
    pipeline clamps its decoded images), shaped ``(256, W)``, ``(3, 256, W)`` or ``(256, W, 3)``; a torch tensor
    (e.g. a VAE's decoded image) is taken as its float array. Floats are used as they are, without rounding to 8
    bits. The channels are averaged, as images-that-sound does.
    """
    unit = _unit_levels(image).mean(axis=0)[::-1]
    return (unit * np.float32(LOG_MAX - LOG_MIN) + np.float32(LOG_MIN)).astype(np.float32)


def _unit_levels(image: object) -> np.ndarray:
    """Levels in [0, 1] [shape=(channels, 256, W), dtype=float32] of an image in any of the accepted forms."""
    if isinstance(image, Image.Image):
        rgb = np.asarray(image.convert("RGB"))
        if rgb.shape[0] != N_MELS:
            raise ValueError(f"image: an Auffusion spectrogram image is {N_MELS} pixels high (one row per mel band), "
                             f"this one is {image.width}x{image.height}")
        x = np.moveaxis(rgb, -1, 0)
    else:
        if hasattr(image, "detach"):  # a torch tensor, on any device, in any float type
            image = image.detach().float().cpu().numpy()
        x = np.asarray(image)
        if x.ndim == 2:
            x = x[None]
        elif x.ndim == 3 and x.shape[0] not in (1, 3) and x.shape[-1] in (1, 3):
            x = np.moveaxis(x, -1, 0)
        if x.ndim != 3 or x.shape[0] not in (1, 3) or x.shape[1] != N_MELS:
            raise ValueError(f"image must have shape ({N_MELS}, W), (3, {N_MELS}, W) or ({N_MELS}, W, 3) (one row "
                             f"per mel band), got {np.shape(image)}")
    if x.shape[2] < 1:
        raise ValueError("image has no columns")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"image must hold uint8 pixels or floats in [0, 1], got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("image contains NaN or infinite values")
    return np.clip(x.astype(np.float32), 0, 1)


def griffin_lim(log_mel: np.ndarray, *, iterations: int = GRIFFIN_LIM_ITERATIONS, seed: int = 0) -> np.ndarray:
    """Sound from a log-mel [shape=(256, frames)] without a vocoder: float32 samples [shape=(frames * 160,)] at
    16 kHz, the length Auffusion's HiFi-GAN gives.

    The mel bands are spread back onto the FFT bins by the filters' pseudo-inverse (negatives cut: as good as
    librosa's non-negative least squares here, and 80 times faster), and fast Griffin-Lim (momentum 0.99) estimates
    the phase of the reflected signal Auffusion's STFT saw, which is then trimmed back. ``seed`` fixes the starting
    phase, so the same log-mel always gives the same sound. The level is the image's (a clip made here peaks near
    0.95), scaled down only where it would clip.
    """
    x = _check_log_mel(log_mel)
    iterations = int(validation.number("iterations", iterations, low=1, high=10_000, integer=True))
    seed = int(validation.number("seed", seed, low=0, integer=True))
    magnitude = np.maximum(_pseudo_inverse() @ np.exp(x), 0)
    padded = librosa.griffinlim(magnitude, n_iter=iterations, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                                n_fft=N_FFT, window="hann", center=False, momentum=GRIFFIN_LIM_MOMENTUM,
                                random_state=np.random.default_rng(seed), dtype=np.float32)
    audio = padded[_PAD : _PAD + x.shape[1] * HOP_LENGTH]
    peak = float(np.abs(audio).max())
    if peak > 1:
        audio = audio * (PEAK / peak)
    return np.ascontiguousarray(audio, dtype=np.float32)


@lru_cache(maxsize=1)
def _pseudo_inverse() -> np.ndarray:
    """F^T (F F^T)^-1 [shape=(1025, 256)]: the 256 filters are independent (every band's rising half holds a bin
    of its own: 11.7 Hz mel steps over 7.8 Hz bins at the bottom), and F F^T is well conditioned (about 23)."""
    filters = _filters().astype(np.float64)
    return (filters.T @ np.linalg.inv(filters @ filters.T)).astype(np.float32)
