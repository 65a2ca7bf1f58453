"""Auffusion's spectrogram images: the pixel layout, the log-mel against a torch reference, the way back to sound,
telling the formats apart, and the errors."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import soundfile
import torch
from conftest import write
from PIL import Image

from lucidsonicdreams.spectrogram import (
    FORMATS,
    audio_to_image,
    auffusion,
    image_to_audio,
    image_to_wav,
    song_to_image,
)

SR = 16000


def tone(freq: float, seconds: float = 2.0, sr: int = SR, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def mixture(seconds: float = 2.0) -> np.ndarray:
    """Two tones, one gated, over quiet noise, after a silence: loud, quiet and floor-clamped cells all appear."""
    t = np.arange(int(seconds * SR)) / SR
    gate = (t % 0.5) < 0.25
    noise = 0.01 * np.random.default_rng(0).standard_normal(len(t))
    y = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.3 * gate * np.sin(2 * np.pi * 2500 * t) + noise
    return (y * (t >= 0.25)).astype(np.float32)


def expected_row(freq: float) -> int:
    """The image row (from the top) of the Slaney mel band centred nearest ``freq``."""
    centres = librosa.mel_frequencies(n_mels=258, fmin=0, fmax=8000)[1:-1]
    return 255 - int(np.argmin(np.abs(centres - freq)))


def reference_log_mel(x: np.ndarray) -> np.ndarray:
    """The log-mel computed the plain way, as Auffusion's converter computes it."""
    y = torch.from_numpy((x.astype(np.float64) / np.abs(x).max() * 0.95).astype(np.float32))
    y = torch.nn.functional.pad(y[None, None], (944, 944), mode="reflect")[0, 0]
    spec = torch.stft(y, 2048, hop_length=160, win_length=1024, window=torch.hann_window(1024), center=False,
                      return_complex=True)
    magnitude = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    filters = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=2048, n_mels=256, fmin=0, fmax=8000))
    return torch.log(torch.clamp(filters @ magnitude, min=1e-5)).numpy()


def peak_hz(samples: np.ndarray, rate: int = SR) -> float:
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(np.abs(np.fft.rfft(samples)))])


@pytest.mark.parametrize("freq", [250.0, 1000.0, 4000.0])
def test_a_tone_lights_its_band_row_from_the_top_in_a_256_high_grey_image(freq):
    image = audio_to_image(tone(freq), SR, format="auffusion")
    assert image.size == (32000 // 160, 256) and image.mode == "RGB"
    pixels = np.asarray(image)
    assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])
    brightest = int(np.argmax(pixels[..., 0][:, 20:180].astype(float).mean(axis=1)))
    assert abs(brightest - expected_row(freq)) <= 1, (brightest, expected_row(freq))
    assert image.getexif()[auffusion.EXIF_TAG] == auffusion.EXIF_VALUE


def test_n_samples_make_n_over_160_columns_and_other_rates_are_resampled():
    assert auffusion.log_mel(tone(440.0, 1.0)).shape == (256, 100)
    assert auffusion.log_mel(tone(440.0, 1.0)[:16123]).shape == (256, 100)
    resampled = auffusion.log_mel(tone(1000.0, 1.0, sr=44100), 44100)
    assert resampled.shape == (256, 100) and resampled.dtype == np.float32
    assert 255 - int(np.argmax(resampled[:, 10:90].mean(axis=1))) == expected_row(1000.0)


def test_the_log_mel_equals_a_torch_stft_reference():
    x = mixture()
    ours, theirs = auffusion.log_mel(x), reference_log_mel(x)
    assert ours.shape == theirs.shape == (256, 200)
    assert theirs.min() == pytest.approx(math.log(1e-5)) and theirs.max() > 0  # floor and loud cells both tested
    assert np.abs(ours - theirs).max() < 1e-4


def test_the_level_and_channels_do_not_matter_the_peak_is_normalised():
    x = mixture(1.0)
    assert np.allclose(auffusion.log_mel(0.1 * x), auffusion.log_mel(x), atol=1e-4)
    assert np.allclose(auffusion.log_mel(np.stack([x, x])), auffusion.log_mel(x), atol=1e-6)


def test_pixels_are_the_clamped_log_mel_rounded_and_come_back_within_half_a_grey_level():
    lm = auffusion.log_mel(mixture())
    pixels = np.asarray(auffusion.log_mel_to_image(lm))[..., 0][::-1].astype(np.float64)
    unit = np.clip((lm - math.log(1e-5)) / (math.log(200) - math.log(1e-5)), 0, 1)
    assert np.array_equal(pixels, np.round(unit * 255))
    back = auffusion.image_to_log_mel(auffusion.log_mel_to_image(lm))
    step = (auffusion.LOG_MAX - auffusion.LOG_MIN) / 255
    assert back.shape == lm.shape and back.dtype == np.float32
    assert np.abs(back - lm).max() <= step / 2 + 1e-5


def test_float_images_in_any_layout_give_the_log_mel_without_rounding():
    rng = np.random.default_rng(1)
    unit = rng.random((256, 40), dtype=np.float32)
    expected = unit[::-1] * (auffusion.LOG_MAX - auffusion.LOG_MIN) + auffusion.LOG_MIN
    chw = np.repeat(unit[None], 3, axis=0)
    for form in (unit, chw, np.moveaxis(chw, 0, -1), torch.from_numpy(chw)):
        assert np.allclose(auffusion.image_to_log_mel(form), expected, atol=1e-5)
    # Channels are averaged; a VAE's overshoot is clipped.
    spread = chw * 0.8 + np.array([0.05, 0.1, 0.15], np.float32)[:, None, None]
    assert np.allclose(auffusion.image_to_log_mel(spread), auffusion.image_to_log_mel(chw * 0.8 + 0.1), atol=1e-5)
    assert np.allclose(auffusion.image_to_log_mel(np.full((3, 256, 4), 1.7, np.float32)), auffusion.LOG_MAX)


def test_griffin_lim_gives_160_samples_a_column_the_same_sound_per_seed_and_the_tone_back():
    image = audio_to_image(tone(1000.0, 1.0), SR, format="auffusion")
    lm = auffusion.image_to_log_mel(image)
    a, b, c = (auffusion.griffin_lim(lm, iterations=16, seed=s) for s in (0, 0, 1))
    assert a.shape == (100 * 160,) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert abs(peak_hz(a) - 1000.0) < 15
    assert 0.5 < np.abs(a).max() <= 1  # the image's own level: a clip made here peaks near 0.95
    # And its log-mel is the image's, more or less.
    assert np.corrcoef(auffusion.log_mel(a).ravel(), lm.ravel())[0, 1] > 0.95


def test_image_to_audio_tells_the_formats_apart(tmp_path):
    made = audio_to_image(tone(2000.0, 1.0), SR, format="auffusion")
    path = tmp_path / "a.png"
    made.save(path, exif=made.getexif())
    samples, rate = image_to_audio(path, iterations=4)
    assert rate == 16000 and samples.shape == (100 * 160,)
    assert abs(peak_hz(samples) - 2000.0) < 30
    # 256 high without any tag (e.g. Auffusion's own images): Auffusion's.
    plain = Image.fromarray(np.asarray(made))
    assert not plain.getexif() and image_to_audio(plain, iterations=2)[1] == 16000
    # Riffusion's tags win whatever the height; other heights without tags stay Riffusion's.
    riffusion = audio_to_image(tone(2000.0, 1.0, sr=44100), 44100)
    assert image_to_audio(riffusion, iterations=2)[1] == 44100
    with pytest.raises(ValueError, match="512 pixels high"):
        image_to_audio(Image.new("RGB", (300, 200)))
    # A format given decides.
    with pytest.raises(ValueError, match="Auffusion spectrogram image is 256 pixels high"):
        image_to_audio(riffusion, format="auffusion")
    with pytest.raises(ValueError, match="512 pixels high"):
        image_to_audio(plain, format="riffusion")


def test_files_either_way(tmp_path):
    song = write(tmp_path / "song.wav", np.concatenate([tone(440.0, 1.0, 44100), tone(3000.0, 11.0, 44100)]),
                 sr=44100)
    out = song_to_image(song, tmp_path / "clip", start=1.0, format="auffusion")
    image = Image.open(out)
    assert image.size == (1024, 256) and image.getexif()[auffusion.EXIF_TAG] == "auffusion"
    assert abs(int(np.argmax(np.asarray(image)[..., 0][:, 100:900].mean(axis=1))) - expected_row(3000.0)) <= 1
    assert Image.open(song_to_image(song, tmp_path / "riff.png", duration=1.0)).size == (101, 512)
    wav = image_to_wav(out, tmp_path / "back.wav", seed=3)
    samples, rate = soundfile.read(wav)
    assert rate == 16000 and samples.shape == (1024 * 160,)


def test_bad_arguments_are_refused_naming_them(tmp_path):
    x = tone(440.0, 1.0)
    for call in (lambda: audio_to_image(x, SR, format="mel"), lambda: image_to_audio(Image.new("RGB", (4, 256)),
                                                                                       format="Auffusion")):
        with pytest.raises(ValueError, match=r"format must be one of 'riffusion', 'auffusion'"):
            call()
    assert FORMATS == ("riffusion", "auffusion")
    with pytest.raises(ValueError, match=r"stereo=True: Auffusion's images are mono"):
        audio_to_image(np.stack([x, x]), SR, stereo=True, format="auffusion")
    with pytest.raises(TypeError, match="stereo"):
        audio_to_image(x, SR, stereo="yes", format="auffusion")
    song = write(tmp_path / "song.wav", x, sr=SR)
    with pytest.raises(ValueError, match="stereo=True"):
        song_to_image(song, tmp_path / "s.png", stereo=True, format="auffusion")
    with pytest.raises(ValueError, match=r"duration=0.05 s: the excerpt is shorter than Auffusion's"):
        song_to_image(song, tmp_path / "s.png", duration=0.05, format="auffusion")
    with pytest.raises(ValueError, match="at least 945"):
        auffusion.log_mel(x[:900])
    with pytest.raises(ValueError, match=r"log_mel must have shape \(256, frames\)"):
        auffusion.griffin_lim(np.zeros((128, 10)))
    with pytest.raises(ValueError, match="seed"):
        auffusion.griffin_lim(np.zeros((256, 10)), seed=-1)
    with pytest.raises(ValueError, match=r"image must have shape \(256, W\)"):
        auffusion.image_to_log_mel(np.zeros((3, 128, 10), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        auffusion.image_to_log_mel(np.full((256, 10), np.nan, np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["song.wav"]


def test_riffusions_tags_win_over_the_auffusion_tag_and_ignore_it():
    image = audio_to_image(tone(440.0, 1.0, sr=44100), 44100)
    image.getexif()[auffusion.EXIF_TAG] = auffusion.EXIF_VALUE
    assert image_to_audio(image, iterations=1)[1] == 44100


def test_the_command_line_speaks_both_formats(tmp_path, capsys):
    from lucidsonicdreams.cli import main

    song = write(tmp_path / "song.wav", tone(1000.0, 3.0, 44100), sr=44100)
    assert main(["spectrogram", str(song), "-o", str(tmp_path / "clip.png"), "--format", "auffusion",
                 "--duration", "2"]) == 0
    assert Image.open(tmp_path / "clip.png").size == (200, 256)
    assert main(["sonify", str(tmp_path / "clip.png"), "-o", str(tmp_path / "clip.wav")]) == 0
    samples, rate = soundfile.read(tmp_path / "clip.wav")
    assert rate == 16000 and len(samples) == 200 * 160 and abs(peak_hz(samples) - 1000) < 20
    assert main(["sonify", str(tmp_path / "clip.png"), "-o", str(tmp_path / "riff.wav"), "--format", "riffusion"]) == 2
    assert "512" in capsys.readouterr().err
