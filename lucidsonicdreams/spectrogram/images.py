"""Audio as spectrogram images and spectrogram images as sound, in Riffusion's format (:mod:`.format`, the
default) or Auffusion's (:mod:`.auffusion`, ``format="auffusion"``), so images made here work there and the other
way round; and the same for files (:func:`song_to_image`, :func:`image_to_wav`).

Sound comes back by inverting the mel filters (least squares, negatives cut) and estimating the phase with
Griffin-Lim (:mod:`.inversion`; for Auffusion, librosa's in :mod:`.auffusion`). Decoding tells the formats apart
by themselves: Riffusion's EXIF tags, else Auffusion's tag or height (256 pixels), else Riffusion's defaults.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import librosa
import numpy as np
import soundfile
from PIL import Image
from tqdm.auto import tqdm

from ..audio.decode import fit_length, load_channels, readable_duration
from ..utils import checks as validation
from ..utils.files import write_atomically
from . import auffusion
from .format import (
    CLIP_SECONDS,
    DEFAULT_FORMAT,
    EXIF_TAGS,
    INT16_SCALE,
    SpectrogramFormat,
    clip_samples,
    mel_filters,
)
from .inversion import GRIFFIN_LIM_ITERATIONS, centre_pad, griffin_lim, inverse_mel, spectra

# Columns transformed at once when making an image (about 100 MB of FFT frames).
_BLOCK_FRAMES = 512
# Griffin-Lim's 32 iterations take about a second per 100 columns on a CPU: images up to two clips wide (and
# riffuse's clips, under its own bar) decode without a progress bar of their own.
_QUIET_COLUMNS = 1024
# The image formats by name; the first is the default.
FORMATS = ("riffusion", "auffusion")
RIFFUSION, AUFFUSION = FORMATS


def _format_name(value: object, *, optional: bool = False) -> str | None:
    """``format`` checked: one of :data:`FORMATS` (or ``None``, "find out from the image", where optional)."""
    if optional and value is None:
        return None
    if not isinstance(value, str) or value not in FORMATS:
        choices = ", ".join(repr(name) for name in FORMATS) + (" or None (detect)" if optional else "")
        raise ValueError(f"format must be one of {choices}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Audio -> image


def audio_to_image(samples: np.ndarray, sample_rate: int, *, stereo: bool | None = None,
                   format: str = RIFFUSION) -> Image.Image:
    """The spectrogram image of ``samples`` (float in [-1, 1], shape ``(n,)`` or ``(channels, n)``).

    ``format="riffusion"``: ``stereo=None`` keeps what the samples are (two channels give a stereo image);
    ``False`` mixes them to mono; ``True`` makes a stereo image (mono is copied to both sides). Audio at another
    sample rate is resampled to 44.1 kHz first. The image is 512 pixels high and one column per 10 ms wide (plus
    one).

    ``format="auffusion"``: mono only (``stereo`` None or False; channels are mixed), resampled to 16 kHz and
    peak-normalised; the image is 256 pixels high and ``n // 160`` columns wide at 16 kHz (10 ms each).
    """
    kind = _format_name(format)
    channels = _channels(samples, stereo)
    rate = int(validation.number("sample_rate", sample_rate, low=1, integer=True))
    if kind == AUFFUSION:
        if stereo:
            raise ValueError(f"stereo={stereo!r}: Auffusion's images are mono (channels are mixed); leave stereo "
                             "as None or False, or use format='riffusion' for a stereo image")
        return auffusion.log_mel_to_image(auffusion.log_mel(channels, rate))
    if rate != DEFAULT_FORMAT.sample_rate:
        channels = librosa.resample(channels, orig_sr=rate, target_sr=DEFAULT_FORMAT.sample_rate, axis=-1)
    fmt = dataclasses.replace(DEFAULT_FORMAT, stereo=len(channels) == 2)
    mel = mel_spectrogram(channels * INT16_SCALE, fmt)
    return spectrogram_to_image(mel, fmt)


def _channels(samples: object, stereo: bool | None) -> np.ndarray:
    """``samples`` as float32 (channels, n) with one or two channels, as ``stereo`` asks."""
    try:
        x = np.asarray(samples, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"samples must be an array of floats, got {type(samples).__name__}") from None
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[0] not in (1, 2):
        raise ValueError(f"samples must have shape (n,) or (channels, n) with 1 or 2 channels, got {x.shape}; "
                         "mix other layouts down to mono or stereo first")
    if x.shape[1] < 2:
        raise ValueError(f"samples hold {x.shape[1]} sample(s) per channel; a spectrogram needs at least 2")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain NaN or infinite values")
    if stereo is not None and not isinstance(stereo, (bool, np.bool_)):
        raise TypeError(f"stereo must be True, False or None, got {stereo!r}")
    if stereo is False and len(x) == 2:
        x = x.mean(axis=0, keepdims=True)
    elif stereo is True and len(x) == 1:
        x = np.repeat(x, 2, axis=0)
    return x


def mel_spectrogram(channels: np.ndarray, fmt: SpectrogramFormat = DEFAULT_FORMAT) -> np.ndarray:
    """Mel magnitudes [shape=(channels, num_frequencies, 1 + n // hop)] of (channels, n) samples, worked out
    ``_BLOCK_FRAMES`` columns at a time so memory stays flat however long the audio."""
    n_frames = 1 + channels.shape[-1] // fmt.hop_length
    filters = mel_filters(fmt).T
    out = []
    for x in channels:
        padded = centre_pad(x, fmt)
        out.append(np.concatenate([np.abs(spectra(padded, fmt, first, min(_BLOCK_FRAMES, n_frames - first)))
                                   @ filters for first in range(0, n_frames, _BLOCK_FRAMES)]).T)
    return np.stack(out)


def spectrogram_to_image(mel: np.ndarray, fmt: SpectrogramFormat) -> Image.Image:
    """The image of mel magnitudes [shape=(1 or 2, bands, frames)], its format and max value in the EXIF."""
    max_value = float(mel.max())
    scaled = (mel / max_value) ** fmt.power_for_image if max_value > 0 else np.zeros_like(mel)
    # Truncation to an integer, not rounding: Riffusion's pixels.
    pixels = (255 - scaled * 255).astype(np.uint8)[:, ::-1]  # low frequencies at the bottom
    if len(pixels) == 1:
        rgb = np.repeat(pixels[0][..., None], 3, axis=-1)
    else:
        rgb = np.stack([np.zeros_like(pixels[0]), pixels[0], pixels[1]], axis=-1)
    image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    image.getexif().update(fmt.exif(max_value))
    return image


# ---------------------------------------------------------------------------------------------------------------
# Image -> audio


def image_to_audio(image: Image.Image | str | Path, *, iterations: int = GRIFFIN_LIM_ITERATIONS,
                   seed: int = 0, format: str | None = None) -> tuple[np.ndarray, int]:
    """Sound from a spectrogram image: (samples, sample_rate), float32 samples of shape ``(n,)`` for a mono
    image or ``(2, n)`` for a stereo one.

    The format comes from the image's EXIF (Riffusion's defaults without it). With the stored max value the
    sound keeps the loudness of the audio the image was made from (scaled down only if it would clip);
    without it, as in a picture painted by a model, it peaks just under full scale. ``seed`` fixes
    Griffin-Lim's starting phase, so the same image always gives the same sound. Images wider than two clips
    (10 s of sound) show Griffin-Lim's progress.

    ``format``: ``None`` tells by the image: Riffusion's EXIF tags make it Riffusion's; without them, Auffusion's
    tag or a height of 256 pixels make it Auffusion's, which decodes to 16 kHz mono samples, 160 a column, at the
    image's own level (:func:`.auffusion.griffin_lim`); anything else is Riffusion's. ``"riffusion"`` or
    ``"auffusion"`` decide instead.
    """
    iterations = int(validation.number("iterations", iterations, low=1, high=10_000, integer=True))
    seed = int(validation.number("seed", seed, low=0, integer=True))
    kind = _format_name(format, optional=True)
    image = _open_image(image)
    if (kind or _image_format(image)) == AUFFUSION:
        return _auffusion_audio(image, iterations, seed), auffusion.SAMPLE_RATE
    rng = np.random.default_rng(seed)
    fmt, max_value = SpectrogramFormat.from_exif(image.getexif())
    if image.height != fmt.num_frequencies:
        raise ValueError(f"image: a spectrogram image is {fmt.num_frequencies} pixels high (one row per mel band), "
                         f"this one is {image.width}x{image.height}; it is not a spectrogram image")
    if image.width < 2:
        raise ValueError("image: a spectrogram image needs at least 2 columns (10 ms each)")
    # Griffin-Lim keeps the whole spectrum, its phase, the last estimate and temporaries: about 0.6 MB a column.
    validation.memory_fits(f"an image {image.width} columns wide", image.width * (1 + fmt.n_fft // 2) * 64,
                           "cut the image into shorter pieces")
    mel = image_to_spectrogram(image, fmt, 1.0 if max_value is None else max_value)
    linear = inverse_mel(mel, fmt)
    with tqdm(total=iterations * len(linear), desc="Griffin-Lim", unit="iteration",
              disable=image.width <= _QUIET_COLUMNS) as bar:
        audio = np.stack([griffin_lim(channel, fmt, iterations, rng, progress=bar.update)
                          for channel in linear]) / INT16_SCALE
    peak = float(np.abs(audio).max())
    if peak > 0 and (max_value is None or peak > 1):
        audio *= 0.98 / peak
    return (audio[0] if len(audio) == 1 else audio).astype(np.float32), fmt.sample_rate


def _image_format(image: Image.Image) -> str:
    exif = image.getexif()
    if any(tag in exif for tag in EXIF_TAGS.values()):
        return RIFFUSION
    if exif.get(auffusion.EXIF_TAG) == auffusion.EXIF_VALUE or image.height == auffusion.N_MELS:
        return AUFFUSION
    return RIFFUSION


def _auffusion_audio(image: Image.Image, iterations: int, seed: int) -> np.ndarray:
    if image.height != auffusion.N_MELS:
        raise ValueError(f"image: an Auffusion spectrogram image is {auffusion.N_MELS} pixels high (one row per mel "
                         f"band), this one is {image.width}x{image.height}; it is not an Auffusion image")
    # librosa's Griffin-Lim keeps the spectrum, two phase estimates, the rebuilt one and temporaries.
    validation.memory_fits(f"an image {image.width} columns wide", image.width * (1 + auffusion.N_FFT // 2) * 48,
                           "cut the image into shorter pieces")
    return auffusion.griffin_lim(auffusion.image_to_log_mel(image), iterations=iterations, seed=seed)


def _open_image(image: object) -> Image.Image:
    if isinstance(image, (str, Path)):
        path = Path(image).expanduser()
        validation.existing_file("image", path, "an image")
        try:
            with Image.open(path) as opened:
                opened.load()
                return opened
        except (OSError, SyntaxError) as exc:
            raise ValueError(f"image: cannot read {str(path)!r} as a picture ({exc})") from None
    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL image or the path of one, got {type(image).__name__}")
    return image


def image_to_spectrogram(image: Image.Image, fmt: SpectrogramFormat, max_value: float) -> np.ndarray:
    """Mel magnitudes [shape=(1 or 2, bands, columns)] from an image's pixels (red for mono; green and blue for
    stereo), scaled so that white is 0 and black is ``max_value``."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)[::-1]  # back to low frequencies first
    pixels = rgb[..., 1:3] if fmt.stereo else rgb[..., :1]
    level = (255 - np.moveaxis(pixels, -1, 0)) / 255
    return level ** (1 / fmt.power_for_image) * max_value


# ---------------------------------------------------------------------------------------------------------------
# Files


def song_to_image(song: str | Path, output: str | Path, *, start: float = 0.0, duration: float | None = None,
                  stereo: bool = False, format: str = RIFFUSION) -> Path:
    """Write the spectrogram image of ``[start, start + duration)`` seconds of an audio file as a PNG (with its
    EXIF) and return its path. ``duration=None`` takes one image of the format: 5.11 s, a 512x512 Riffusion
    image, or 10.24 s, a 256x1024 Auffusion image (``format="auffusion"``, mono only)."""
    kind = _format_name(format)
    path = validation.audio_file("song", song)
    target = validation.output_file("output", output, ".png")
    start = validation.number("start", start, low=0)
    if duration is None:
        duration = auffusion.CLIP_SECONDS if kind == AUFFUSION else CLIP_SECONDS
    duration = validation.number("duration", duration, low=0, low_open=True)
    stereo = validation.flag("stereo", stereo)
    if kind == AUFFUSION and stereo:
        raise ValueError("stereo=True: Auffusion's images are mono; leave stereo False, or use format='riffusion' "
                         "for a stereo image")
    _check_excerpt(f"duration={duration:g} s", duration, "give a longer duration", kind)
    length = readable_duration("song", path)
    if start >= length:
        raise ValueError(f"start={start:g} s is at or past the end of the song ({length:.2f} s)")
    _check_excerpt(f"start={start:g} s leaves {length - start:.3g} s of the song ({length:.2f} s long) for "
                   f"duration={duration:g} s", length - start, "start earlier", kind)
    rate = auffusion.SAMPLE_RATE if kind == AUFFUSION else DEFAULT_FORMAT.sample_rate
    samples = load_channels(path, rate, start, duration, mono=not stereo)
    # Decoders may stop a few samples short of the excerpt: 5.11 s must make 512 columns (10.24 s, 1024).
    wanted = _samples(min(duration, length - start), rate)
    samples = np.stack([fit_length(channel, wanted) for channel in samples])
    image = audio_to_image(samples, rate, stereo=stereo, format=kind)
    return write_atomically(target, lambda tmp: image.save(tmp, format="PNG", exif=image.getexif()))


def _samples(seconds: float, rate: int) -> int:
    """Samples in ``seconds`` at ``rate`` Hz, rounded as :func:`.format.clip_samples` rounds them."""
    return int(math.floor(seconds * rate + 0.5))


def _check_excerpt(cause: str, seconds: float, fix: str, kind: str) -> None:
    """Refuse an excerpt shorter than one hop: its image would be a single column, which holds no sound. Auffusion
    needs a little more: its STFT reflects 944 samples (59 ms) at each end."""
    if kind == AUFFUSION:
        if _samples(seconds, auffusion.SAMPLE_RATE) < auffusion.MIN_SAMPLES:
            raise ValueError(f"{cause}: the excerpt is shorter than Auffusion's spectrogram takes "
                             f"({auffusion.MIN_SAMPLES / auffusion.SAMPLE_RATE * 1000:.0f} ms); {fix}")
    elif clip_samples(seconds) < DEFAULT_FORMAT.hop_length:
        raise ValueError(f"{cause}: the excerpt is shorter than one spectrogram column "
                         f"({DEFAULT_FORMAT.step_size_ms} ms); {fix}")


def image_to_wav(image: str | Path | Image.Image, output: str | Path, *, seed: int = 0,
                 format: str | None = None) -> Path:
    """Write the sound of a spectrogram image as a 16-bit WAV file and return its path. ``format`` as in
    :func:`image_to_audio` (``None`` tells Riffusion's images from Auffusion's)."""
    target = validation.output_file("output", output, ".wav")
    samples, rate = image_to_audio(image, seed=seed, format=format)
    return write_atomically(target, lambda tmp: soundfile.write(tmp, samples.T, rate, subtype="PCM_16",
                                                                format="WAV"))
