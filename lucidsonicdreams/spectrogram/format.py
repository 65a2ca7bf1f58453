"""Riffusion's spectrogram image format: its parameters (and their EXIF tags), clip lengths, and the mel filters.

- 44.1 kHz audio, a 10 ms hop, a 100 ms Hann window and a 400 ms FFT;
- 512 mel bands over 0-10 kHz (HTK mel scale, unnormalised filters) of the STFT magnitude;
- pixel = 255 - 255 * (S / max) ** 0.25 (truncated to an integer), low frequencies at the bottom, one column per
  hop (512 columns = 5.11 s);
- mono in all three channels; stereo as left in green and right in blue (red 0);
- the parameters and the spectrogram's maximum in EXIF tags 11000-11080.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Riffusion reads samples as 16-bit integers and takes the spectrogram of those numbers, so its maxima (and the
# EXIF value) are on that scale; float samples are scaled to match.
INT16_SCALE = 32768.0
# The length of one 512-column image: 511 hops of 10 ms plus the last frame's sample.
CLIP_SECONDS = 5.11
# The tallest image taken (one row per band), whatever the FFT could resolve.
_MAX_BANDS = 4096


@dataclass(frozen=True)
class SpectrogramFormat:
    """The parameters of a spectrogram image (Riffusion's defaults), as stored in its EXIF tags."""

    sample_rate: int = 44100
    stereo: bool = False
    step_size_ms: int = 10
    window_duration_ms: int = 100
    padded_duration_ms: int = 400
    num_frequencies: int = 512
    min_frequency: int = 0
    max_frequency: int = 10000
    power_for_image: float = 0.25

    @property
    def hop_length(self) -> int:
        return int(self.step_size_ms / 1000 * self.sample_rate)

    @property
    def win_length(self) -> int:
        return int(self.window_duration_ms / 1000 * self.sample_rate)

    @property
    def n_fft(self) -> int:
        return int(self.padded_duration_ms / 1000 * self.sample_rate)

    @property
    def bin_spacing(self) -> float:
        """Hz between two FFT bins."""
        return self.sample_rate / 2 / (self.n_fft // 2)

    def max_bands(self) -> int:
        """The most mel bands whose filters this FFT can tell apart between ``min_frequency`` and
        ``max_frequency`` (the pseudo-inverse that turns an image back into sound needs them independent).

        Every band's rising half (one mel step above its lower edge) must hold an FFT bin of its own: then the
        bands' first non-zero bins strictly increase, so the filters are in echelon form and have full row rank.
        A step of a fixed number of mels is narrowest in Hz at the bottom, so only the lowest step needs to be at
        least one bin wide.
        """
        low = _hz_to_mel(self.min_frequency)
        step = _hz_to_mel(self.min_frequency + self.bin_spacing) - low
        # num_frequencies + 1 steps span the range (the last band's upper half is the last step).
        return min(_MAX_BANDS, math.floor((_hz_to_mel(self.max_frequency) - low) / step) - 1)

    def exif(self, max_value: float) -> dict[int, object]:
        """The EXIF tags (number -> value) of an image in this format whose spectrogram peaks at ``max_value``."""
        values = {**dataclasses.asdict(self), "power_for_image": float(self.power_for_image),
                  "max_value": float(max_value)}
        return {tag: values[name] for name, tag in EXIF_TAGS.items()}

    @classmethod
    def from_exif(cls, exif) -> tuple[SpectrogramFormat, float | None]:
        """The format stored in an image's EXIF (defaults for missing tags) and its max value, if stored."""
        given = {name: exif[tag] for name, tag in EXIF_TAGS.items() if tag in exif}
        max_value = given.pop("max_value", None)
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        kwargs = {}
        for name, value in given.items():
            kind = {"bool": bool, "int": int, "float": float}[types[name]]
            if not isinstance(value, (bool, int, float)) or not math.isfinite(value):
                raise _bad_tag(name, value, "not a number")
            kwargs[name] = kind(value)
        fmt = cls(**kwargs)
        fmt.check()
        if max_value is not None and (not isinstance(max_value, (int, float)) or not max_value >= 0):
            raise _bad_tag("max_value", max_value, "not a number >= 0")
        return fmt, (float(max_value) if max_value is not None else None)

    def check(self) -> None:
        """Refuse parameters no spectrogram can have (an image's EXIF may hold anything)."""
        problems = {
            "sample_rate": self.sample_rate >= 100,
            "step_size_ms": self.hop_length >= 1,
            "window_duration_ms": 2 <= self.win_length <= self.n_fft,
            "num_frequencies": self.num_frequencies >= 1,
            "min_frequency": 0 <= self.min_frequency < self.max_frequency,
            "max_frequency": self.max_frequency <= self.sample_rate / 2,
            "power_for_image": self.power_for_image > 0,
        }
        for name, ok in problems.items():
            if not ok:
                raise _bad_tag(name, getattr(self, name), "out of range")
        # Only once the FFT and the frequency range are known to be sound.
        most = self.max_bands()
        if most < 1:
            raise _bad_tag("max_frequency", self.max_frequency,
                           f"too close to min_frequency ({self.min_frequency} Hz) for even one mel band of "
                           f"{self.n_fft}-point FFTs ({self.bin_spacing:g} Hz bins)")
        if self.num_frequencies > most:
            raise _bad_tag("num_frequencies", self.num_frequencies,
                           f"more mel bands than {self.n_fft}-point FFTs ({self.bin_spacing:g} Hz bins) can tell "
                           f"apart between {self.min_frequency} and {self.max_frequency} Hz: the valid range is 1 "
                           f"to {most}")


def _bad_tag(name: str, value: object, what: str) -> ValueError:
    return ValueError(f"image: its EXIF tag {EXIF_TAGS[name]} ({name}) is {value!r}, {what}; it is not a spectrogram "
                      "image made by Riffusion or lucidsonicdreams (remove the EXIF to decode it with the defaults)")


# Riffusion's tag numbers.
EXIF_TAGS = {"sample_rate": 11000, "stereo": 11005, "step_size_ms": 11010, "window_duration_ms": 11020,
             "padded_duration_ms": 11030, "num_frequencies": 11040, "min_frequency": 11050,
             "max_frequency": 11060, "power_for_image": 11070, "max_value": 11080}
DEFAULT_FORMAT = SpectrogramFormat()


def clip_samples(seconds: float = CLIP_SECONDS, fmt: SpectrogramFormat = DEFAULT_FORMAT) -> int:
    """Samples in ``seconds`` of audio (5.11 s = 225351 samples = 512 columns)."""
    return int(math.floor(seconds * fmt.sample_rate + 0.5))


def _hz_to_mel(freq: float) -> float:
    return 2595 * math.log10(1 + freq / 700)


@lru_cache(maxsize=4)
def mel_filters(fmt: SpectrogramFormat) -> np.ndarray:
    """HTK mel filters without normalisation [shape=(num_frequencies, 1 + n_fft // 2)]: triangles from each
    band edge to the next but one, on the mel scale 2595 log10(1 + f / 700). The same numbers as librosa's
    ``filters.mel(..., htk=True, norm=None)`` and torchaudio's ``melscale_fbanks(..., mel_scale='htk')``, built in
    one vectorised step (librosa's loop takes a second for these 8821 bins)."""
    mel_low, mel_high = (2595 * np.log10(1 + f / 700) for f in (fmt.min_frequency, fmt.max_frequency))
    edges = 700 * (10 ** (np.linspace(mel_low, mel_high, fmt.num_frequencies + 2) / 2595) - 1)
    freqs = np.linspace(0, fmt.sample_rate / 2, 1 + fmt.n_fft // 2)
    widths = np.diff(edges)
    rise = (freqs - edges[:-2, None]) / widths[:-1, None]
    fall = (edges[2:, None] - freqs) / widths[1:, None]
    return np.maximum(0, np.minimum(rise, fall)).astype(np.float32)


@lru_cache(maxsize=4)
def mel_pseudo_inverse(fmt: SpectrogramFormat) -> np.ndarray:
    """The filters' pseudo-inverse [shape=(bins, bands)]: F^T (F F^T)^-1, as the filters have full row rank in a
    checked format (:meth:`SpectrogramFormat.max_bands`); a 512x512 solve instead of an SVD of the whole matrix:
    0.1 s, not 0.8 s."""
    filters = mel_filters(fmt).astype(np.float64)
    return (filters.T @ np.linalg.inv(filters @ filters.T)).astype(np.float32)
