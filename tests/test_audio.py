from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import SR, chord_track, write

from lucidsonicdreams import AudioDecodeError, LucidSonicDream
from lucidsonicdreams.audio.decode import duration_seconds, ffmpeg_exe, fit_length, load_mono


def encode(src, dst):
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(src), str(dst)], check=True)
    return dst


@pytest.fixture
def tone(tmp_path):
    return write(tmp_path / "tone.wav", 0.5 * chord_track((440.0,), 2.0), channels=2)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3", ".m4a"])
def test_formats_decode_to_mono_at_the_asked_rate(tone, tmp_path, suffix):
    path = tone if suffix == ".wav" else encode(tone, tmp_path / f"tone{suffix}")
    assert duration_seconds(path) == pytest.approx(2.0, abs=0.08)
    y = load_mono(path, 22050, start=0.5, duration=1.0)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == pytest.approx(22050, abs=1200)
    spectrum = np.abs(np.fft.rfft(y[:16384]))
    assert np.fft.rfftfreq(16384, 1 / 22050)[spectrum.argmax()] == pytest.approx(440, abs=3)


def test_start_offsets_the_excerpt(tmp_path):
    ramp = np.linspace(0, 1, 3 * SR)
    path = write(tmp_path / "ramp.wav", ramp)
    y = load_mono(path, SR, start=1.0, duration=0.5)
    assert y[0] == pytest.approx(1 / 3, abs=1e-3) and len(y) == SR // 2


def test_not_audio_is_a_clear_package_error(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a song")
    with pytest.raises(AudioDecodeError, match="notes.txt"):
        duration_seconds(junk)
    with pytest.raises(AudioDecodeError, match="notes.txt"):
        LucidSonicDream(junk).hallucinate(tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_fit_length_pads_and_trims():
    assert np.array_equal(fit_length(np.ones(3), 5), [1, 1, 1, 0, 0])
    assert np.array_equal(fit_length(np.arange(5), 2), [0, 1])
