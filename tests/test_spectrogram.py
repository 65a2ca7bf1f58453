"""Riffusion's spectrogram images: audio -> image -> audio, the format's details, the files and the commands."""

from __future__ import annotations

import dataclasses
import subprocess

import librosa
import numpy as np
import pytest
import soundfile
import torch
from conftest import C_MAJOR, SR, chord_track, kick_track, write
from PIL import Image

from lucidsonicdreams.cli import main
from lucidsonicdreams.spectrogram import (
    CLIP_SECONDS,
    DEFAULT_FORMAT,
    EXIF_TAGS,
    SpectrogramFormat,
    audio_to_image,
    image_to_audio,
    images,
    inversion,
    song_to_image,
)
from lucidsonicdreams.spectrogram.format import mel_filters

N_CLIP = 225351  # 5.11 s at 44.1 kHz: 512 columns


def tone(freq: float, seconds: float = CLIP_SECONDS, sr: int = SR, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def music(seconds: float = CLIP_SECONDS) -> np.ndarray:
    y = 0.6 * kick_track([0.25 + 0.5 * k for k in range(int(seconds * 2))], seconds)
    return (y + 0.3 * chord_track(C_MAJOR, seconds))[: int(round(seconds * SR))].astype(np.float32)


def log_mel_r(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the log-mel spectrograms of two signals (the measure of the issue)."""
    n = min(len(a), len(b))
    spec = [librosa.power_to_db(librosa.feature.melspectrogram(y=x[:n], sr=SR, n_mels=128), ref=np.max, top_db=80)
            for x in (a, b)]
    return float(np.corrcoef(spec[0].ravel(), spec[1].ravel())[0, 1])


def expected_row(freq: float) -> int:
    """The image row of the mel band centred nearest ``freq``: 512 HTK bands between 0 and 10 kHz, band k centred
    at mel (k + 1) / 513 of the top, low frequencies at the bottom."""
    mel = 2595 * np.log10(1 + freq / 700)
    top = 2595 * np.log10(1 + 10000 / 700)
    band = int(round(mel / top * 513)) - 1
    return 511 - band


def test_a_5_11_s_clip_is_one_512_by_512_image_with_the_format_in_its_exif():
    image = audio_to_image(music(), SR)
    assert image.size == (512, 512) and image.mode == "RGB"
    exif = image.getexif()
    assert {tag: exif[tag] for tag in EXIF_TAGS.values() if tag != EXIF_TAGS["max_value"]} == {
        11000: 44100, 11005: False, 11010: 10, 11020: 100, 11030: 400, 11040: 512, 11050: 0, 11060: 10000,
        11070: 0.25}
    assert exif[11080] > 1e5  # the maximum on Riffusion's 16-bit scale
    pixels = np.asarray(image)
    assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])
    assert pixels.min() == 0  # the loudest bin is black, as 255 - 255 * (S / max) ** 0.25 gives


@pytest.mark.parametrize("freq", [200.0, 1000.0, 4000.0])
def test_a_tone_lights_its_mel_band_row(freq):
    pixels = np.asarray(audio_to_image(tone(freq), SR))[..., 0].astype(float)
    darkest = int(np.argmin(pixels[:, 100:400].mean(axis=1)))
    assert abs(darkest - expected_row(freq)) <= 1, (darkest, expected_row(freq))
    # And nothing far from it: the rows 40 bands away are near white.
    assert pixels[max(darkest - 40, 0), 100:400].mean() > 200 and pixels[min(darkest + 40, 511), 100:400].mean() > 200


def test_stereo_keeps_its_channels_apart_in_green_and_blue():
    left, right = tone(500.0), tone(3000.0)
    image = audio_to_image(np.stack([left, right]), SR)
    pixels = np.asarray(image).astype(float)
    assert image.getexif()[11005] is True or image.getexif()[11005] == 1
    assert np.all(pixels[..., 0] == 0)
    green, blue = pixels[..., 1][:, 100:400].mean(axis=1), pixels[..., 2][:, 100:400].mean(axis=1)
    low, high = expected_row(500.0), expected_row(3000.0)
    assert green[low] < 100 < 200 < green[high] and blue[high] < 100 < 200 < blue[low]
    # Mixed to mono on request: both tones in every channel.
    mono = np.asarray(audio_to_image(np.stack([left, right]), SR, stereo=False))[..., 0][:, 100:400].mean(axis=1)
    assert mono[low] < 120 and mono[high] < 120


def test_pixels_equal_a_reference_built_the_way_riffusion_builds_them():
    """Riffusion: torch.stft (centred, reflect-padded, a 4410-sample Hann window inside a 17640-point FFT) of the
    16-bit sample values, magnitude, HTK mel filters, then 255 - 255 * (S / max) ** 0.25 truncated, flipped.
    Ours skip the FFT padding's zeros and build the filters at once; the pixels must be the same."""
    x = music(2.0)
    stft = torch.stft(torch.from_numpy(x * 32768), n_fft=17640, hop_length=441, win_length=4410,
                      window=torch.hann_window(4410), center=True, pad_mode="reflect", return_complex=True).abs()
    filters = librosa.filters.mel(sr=44100, n_fft=17640, n_mels=512, fmin=0, fmax=10000, htk=True, norm=None)
    mel = filters @ stft.numpy()
    reference = (255 - 255 * (mel / mel.max()) ** 0.25).astype(np.uint8)[::-1]
    ours = np.asarray(audio_to_image(x, SR))[..., 0].astype(int)
    assert ours.shape == reference.shape
    difference = np.abs(ours - reference)
    # Both are float32: near white (1e-7 of the peak) the FFTs' rounding shows as a grey level or two.
    assert difference.mean() < 0.1 and difference[reference < 240].max() <= 1
    assert audio_to_image(x, SR).getexif()[11080] == pytest.approx(mel.max(), rel=1e-4)


def test_the_mel_filters_equal_librosas_htk_filters():
    theirs = librosa.filters.mel(sr=44100, n_fft=17640, n_mels=512, fmin=0, fmax=10000, htk=True, norm=None)
    assert np.allclose(mel_filters(DEFAULT_FORMAT), theirs, atol=1e-6)
    # Every band has some bins (the inverse needs full rank).
    assert np.all(mel_filters(DEFAULT_FORMAT).max(axis=1) > 0)


def test_round_trip_song_image_sound_keeps_the_log_mel_and_the_length():
    y = music()
    back, rate = image_to_audio(audio_to_image(y, SR))
    assert rate == 44100 and back.shape == (N_CLIP,) and back.dtype == np.float32
    assert log_mel_r(y, back) >= 0.85
    # The stored maximum brings back the loudness (within a few dB).
    ratio_db = 20 * np.log10(np.sqrt(np.mean(back**2)) / np.sqrt(np.mean(y**2)))
    assert abs(ratio_db) < 4


def test_the_same_seed_gives_the_same_sound_and_another_seed_another_phase():
    image = audio_to_image(music(2.0), SR)
    a, b, c = (image_to_audio(image, seed=s)[0] for s in (0, 0, 1))
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_exif_survives_png_save_and_load_and_sets_the_decoding(tmp_path):
    image = audio_to_image(np.stack([tone(300.0, 2.0), tone(2000.0, 2.0)]), SR)
    path = tmp_path / "stereo.png"
    image.save(path, exif=image.getexif())
    loaded = Image.open(path)
    assert dict(loaded.getexif()) == dict(image.getexif())
    samples, rate = image_to_audio(path)
    assert samples.shape == (2, 441 * (image.width - 1)) and rate == 44100
    # The left channel holds the low tone, the right the high one.
    spectra = [np.abs(np.fft.rfft(ch)) for ch in samples]
    freqs = np.fft.rfftfreq(samples.shape[1], 1 / rate)
    assert abs(freqs[np.argmax(spectra[0])] - 300) < 10 and abs(freqs[np.argmax(spectra[1])] - 2000) < 30


def test_an_image_without_exif_decodes_with_riffusions_defaults_at_full_scale():
    """Images painted by a model (or Riffusion's seed images, palette PNGs) carry no EXIF."""
    painted = audio_to_image(music(), SR).convert("P")  # convert drops the EXIF
    assert not painted.getexif()
    samples, rate = image_to_audio(painted)
    assert rate == 44100 and samples.shape == (N_CLIP,)
    assert 0.9 < np.abs(samples).max() <= 0.99
    assert log_mel_r(music(), samples) >= 0.85


def test_other_sample_rates_are_resampled_and_images_may_be_longer_than_512_columns():
    y = librosa.resample(music(8.0), orig_sr=SR, target_sr=22050)
    image = audio_to_image(y, 22050)
    assert image.size == (801, 512) and image.getexif()[11000] == 44100


def test_bad_input_is_refused_with_a_clear_error_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="512 pixels high"):
        image_to_audio(Image.new("RGB", (300, 200)))
    with pytest.raises(ValueError, match="1 or 2 channels"):
        audio_to_image(np.zeros((6, 1000), dtype=np.float32), SR)
    with pytest.raises(ValueError, match="NaN"):
        audio_to_image(np.full(1000, np.nan), SR)
    with pytest.raises(ValueError, match="sample_rate"):
        audio_to_image(music(1.0), 0)
    with pytest.raises(TypeError, match="stereo"):
        audio_to_image(music(1.0), SR, stereo="yes")
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="cannot read"):
        image_to_audio(text)
    with pytest.raises(FileNotFoundError, match="image"):
        image_to_audio(tmp_path / "missing.png")


def test_song_to_image_reads_an_excerpt_and_writes_nothing_on_bad_input(tmp_path):
    song = write(tmp_path / "song.wav", np.concatenate([tone(440.0, 3.0), tone(1000.0, 6.0)]))
    out = song_to_image(song, tmp_path / "clip", start=3.0)
    assert out.name == "clip.png" and Image.open(out).size == (512, 512)
    row = np.asarray(Image.open(out))[..., 0][:, 100:400].mean(axis=1).argmin()
    assert abs(row - expected_row(1000.0)) <= 1  # the excerpt from 3 s: the 1 kHz part
    with pytest.raises(ValueError, match="past the end"):
        song_to_image(song, tmp_path / "late.png", start=60)
    with pytest.raises(ValueError, match="duration"):
        song_to_image(song, tmp_path / "none.png", duration=0)
    with pytest.raises(FileNotFoundError, match="folder"):
        song_to_image(song, tmp_path / "nowhere" / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.png", "song.wav"]


def test_the_spectrogram_and_sonify_commands(tmp_path, capsys):
    song = tmp_path / "song.wav"
    soundfile.write(song, np.stack([music(6.0), 0.5 * music(6.0)], axis=1), SR)
    assert main(["spectrogram", str(song), "-o", str(tmp_path / "mono.png")]) == 0
    assert main(["spectrogram", str(song), "-o", str(tmp_path / "stereo.png"), "--stereo", "--duration", "2"]) == 0
    assert Image.open(tmp_path / "mono.png").size == (512, 512)
    stereo = Image.open(tmp_path / "stereo.png")
    assert stereo.size == (201, 512) and stereo.getexif()[11005] == 1
    assert main(["sonify", str(tmp_path / "stereo.png"), "-o", str(tmp_path / "back.wav")]) == 0
    samples, rate = soundfile.read(tmp_path / "back.wav")
    assert rate == 44100 and samples.shape == (200 * 441, 2)
    assert "wrote" in capsys.readouterr().out
    assert main(["sonify", str(song), "-o", str(tmp_path / "x.wav")]) == 2
    assert "cannot read" in capsys.readouterr().err and not (tmp_path / "x.wav").exists()


def test_the_inverse_stft_undoes_the_stft_and_odd_windows_sit_where_torch_puts_them():
    x = music(1.0)
    back = inversion.istft(inversion.stft(x, DEFAULT_FORMAT), DEFAULT_FORMAT, len(x) - len(x) % 441)
    assert np.abs(back - x[: len(back)]).max() < 1e-4
    # At 22.05 kHz the window (2205 samples) is odd: it must sit where torch.stft centres it.
    fmt = SpectrogramFormat(sample_rate=22050)
    y = librosa.resample(x, orig_sr=SR, target_sr=22050)
    ours = np.abs(inversion.stft(y, fmt)).T
    theirs = torch.stft(torch.from_numpy(y), n_fft=fmt.n_fft, hop_length=fmt.hop_length, win_length=fmt.win_length,
                        window=torch.hann_window(fmt.win_length), center=True, pad_mode="reflect",
                        return_complex=True).abs().numpy()
    assert np.abs(ours - theirs).max() < 1e-4 * theirs.max()


def test_an_image_with_impossible_exif_is_refused_naming_the_tag():
    image = audio_to_image(music(1.0), SR)
    image.getexif()[11000] = 0
    with pytest.raises(ValueError, match=r"11000 \(sample_rate\)"):
        image_to_audio(image)
    image.getexif()[11000] = 44100
    image.getexif()[11070] = "high"
    with pytest.raises(ValueError, match=r"11070 \(power_for_image\)"):
        image_to_audio(image)


def test_bad_arguments_stop_image_to_audio_before_the_inverse(monkeypatch):
    monkeypatch.setattr(images, "inverse_mel", lambda *a: pytest.fail("the decoding started"))
    image = audio_to_image(music(1.0), SR)
    with pytest.raises(ValueError, match="seed"):
        image_to_audio(image, seed=-1)
    with pytest.raises(ValueError, match="iterations"):
        image_to_audio(image, iterations=0)
    with pytest.raises(ValueError, match="512 pixels high"):
        image_to_audio(image.crop((0, 0, 50, 100)))


def test_a_clip_read_by_ffmpeg_is_still_512_columns_and_stereo_stays_stereo(tmp_path):
    from lucidsonicdreams.audio.decode import ffmpeg_exe

    wav = tmp_path / "song.wav"
    soundfile.write(wav, np.stack([tone(300.0, 8.0), tone(2000.0, 8.0)], axis=1), SR)
    m4a = tmp_path / "song.m4a"  # AAC at 48 kHz: decoded by ffmpeg, resampled, a few samples short
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(wav), "-ar", "48000", "-c:a", "aac", str(m4a)],
                   check=True)
    image = Image.open(song_to_image(m4a, tmp_path / "clip.png", start=1.0, stereo=True))
    assert image.size == (512, 512) and image.getexif()[11005] == 1
    pixels = np.asarray(image).astype(float)[:, 100:400]
    green, blue = pixels[..., 1].mean(axis=1), pixels[..., 2].mean(axis=1)
    assert green[expected_row(300.0)] < 100 < 200 < blue[expected_row(300.0)]


def test_more_mel_bands_than_the_fft_resolves_are_refused_before_any_decoding(monkeypatch):
    """4096 bands over 0-10 kHz put several band edges between two of the FFT's 2.5 Hz bins: some bands get no
    bin at all and the filters lose rank (numpy's "Singular matrix" in the pseudo-inverse, after the slow part
    began). The EXIF tag is named with the range that works, before anything is decoded."""
    monkeypatch.setattr(images, "inverse_mel", lambda *a: pytest.fail("the decoding started"))
    image = Image.new("RGB", (8, 4096), "white")
    image.getexif().update(dataclasses.replace(DEFAULT_FORMAT, num_frequencies=4096).exif(1.0))
    with pytest.raises(ValueError, match=r"tag 11040 \(num_frequencies\) is 4096, .*valid range is 1 to 763"):
        image_to_audio(image)
    with pytest.raises(ValueError, match=r"11060 \(max_frequency\) is 3, too close to min_frequency"):
        SpectrogramFormat(num_frequencies=1, max_frequency=3).check()


@pytest.mark.parametrize("fmt", [DEFAULT_FORMAT, SpectrogramFormat(sample_rate=22050),
                                 SpectrogramFormat(min_frequency=100, max_frequency=3000),
                                 SpectrogramFormat(padded_duration_ms=100)])
def test_the_most_bands_a_format_takes_have_independent_filters_and_one_more_is_refused(fmt):
    most = dataclasses.replace(fmt, num_frequencies=fmt.max_bands())
    most.check()
    filters = mel_filters(most).astype(np.float64)
    # Well away from singular: the pseudo-inverse stays accurate.
    assert np.linalg.eigvalsh(filters @ filters.T).min() > 1e-3
    with pytest.raises(ValueError, match=rf"num_frequencies\) is {most.num_frequencies + 1}, "):
        dataclasses.replace(most, num_frequencies=most.num_frequencies + 1).check()


def test_an_excerpt_shorter_than_one_column_is_refused_naming_start_and_duration(tmp_path, monkeypatch):
    song = write(tmp_path / "song.wav", tone(440.0, 2.0))
    monkeypatch.setattr(images, "load_channels", lambda *a, **k: pytest.fail("the song was decoded"))
    with pytest.raises(ValueError, match=r"duration=1e-06 s: the excerpt is shorter than one spectrogram column "
                                         r"\(10 ms\)"):
        song_to_image(song, tmp_path / "tiny.png", duration=1e-6)
    with pytest.raises(ValueError, match=r"start=1.995 s .*duration=5.11 s.*shorter than one spectrogram column "
                                         r"\(10 ms\)"):
        song_to_image(song, tmp_path / "end.png", start=1.995)
    assert [p.name for p in tmp_path.iterdir()] == ["song.wav"]


def test_a_wide_image_shows_griffin_lims_progress_and_a_clip_stays_quiet(capsys):
    """Sound from 20000 columns (200 s) takes minutes: every iteration of every channel moves a bar."""
    rng = np.random.default_rng(0)
    wide = Image.fromarray(rng.integers(0, 256, (512, 1030, 3), dtype=np.uint8))  # just over two clips
    wide.getexif().update(dataclasses.replace(DEFAULT_FORMAT, stereo=True).exif(1e6))
    samples, _ = image_to_audio(wide, iterations=1)
    assert samples.shape == (2, 441 * 1029)
    err = capsys.readouterr().err
    assert "Griffin-Lim" in err and "2/2" in err  # 1 iteration x 2 channels, all done
    image_to_audio(audio_to_image(music(1.0), SR), iterations=2)
    assert capsys.readouterr().err == ""
