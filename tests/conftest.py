"""Synthesized test audio with known beats and pitches; nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

# No library calls home from the tests (telemetry, version checks): on a closed network such a call only waits.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")

SR = 44100
KICKS = (0.5, 1.25, 2.0, 2.75)  # seconds
STEM_KICKS = (0.875, 1.625, 2.375)
SONG_SECONDS = 3.5
C_MAJOR = (261.63, 329.63, 392.00)  # C4 E4 G4 -> pitch classes 0, 4, 7
A_MINOR = (220.00, 261.63, 329.63)  # A3 C4 E4 -> pitch classes 9, 0, 4
F_SHARP = (369.99, 466.16, 554.37)  # F#4 A#4 C#5 -> pitch classes 6, 10, 1


def kick_track(times, seconds: float, sr: int = SR) -> np.ndarray:
    """Short pitched-down sine thumps starting exactly at ``times``."""
    out = np.zeros(int(seconds * sr))
    t = np.arange(int(0.12 * sr)) / sr
    pitch = 50 + 120 * np.exp(-t * 40)
    hit = np.sin(2 * np.pi * np.cumsum(pitch) / sr) * np.exp(-t * 35)
    for start in times:
        i = int(round(start * sr))
        out[i : i + len(hit)] += hit[: len(out) - i]
    return out


def chord_track(freqs, seconds: float, sr: int = SR, envelope=None) -> np.ndarray:
    """Held sine chord, optionally shaped by ``envelope(t)``."""
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    return y * (envelope(t) if envelope is not None else 1.0)


def texture(kind: str, seconds: float, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """A: a soft C major chord of sines over low thumps on the half beat. B: a bright F# major chord of square
    waves over hi-hat noise on every eighth: another harmony and another timbre."""
    t = np.arange(int(seconds * sr)) / sr
    n = int(0.08 * sr)
    if kind == "A":
        y = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
        for at in np.arange(0, seconds, 0.5):
            i = int(at * sr)
            y[i : i + n] += 0.4 * np.sin(2 * np.pi * 60 * t[:n]) * np.exp(-t[:n] * 40)
    else:
        y = sum(0.1 * np.sign(np.sin(2 * np.pi * f * t)) for f in (370.0, 466.2, 554.4))
        for at in np.arange(0, seconds, 0.25):
            i = int(at * sr)
            y[i : i + n // 3] += 0.3 * rng.standard_normal(n // 3)
    return y.astype(np.float32)


def write(path: Path, y: np.ndarray, sr: int = SR, channels: int = 1) -> Path:
    y = np.asarray(y, dtype=np.float32)
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    soundfile.write(str(path), y, sr)
    return path


@pytest.fixture
def song(tmp_path) -> Path:
    """Stereo 44.1 kHz: kicks at KICKS over a held C major chord."""
    y = 0.8 * kick_track(KICKS, SONG_SECONDS) + 0.2 * chord_track(C_MAJOR, SONG_SECONDS)
    return write(tmp_path / "song.wav", y, channels=2)


@pytest.fixture
def drum_stem(tmp_path) -> Path:
    """A drum stem at another rate, mono, kicks at STEM_KICKS, and shorter than the song."""
    return write(tmp_path / "drums.wav", 0.8 * kick_track(STEM_KICKS, 3.0, 16000), sr=16000)


@pytest.fixture
def silence(tmp_path) -> Path:
    return write(tmp_path / "silence.wav", np.zeros(int(2 * SR)))


class Recorder:
    """A function style that records what it is given and draws flat grey frames."""

    def __init__(self, size: int = 16, classes: int = 12) -> None:
        self.noise: list[np.ndarray] = []
        self.classes: list[np.ndarray] = []
        self.size = size
        self.num_classes = classes

    def __call__(self, noise_batch, class_batch):
        self.noise.extend(noise_batch)
        self.classes.extend(class_batch)
        grey = np.clip(np.abs(noise_batch).mean(axis=1) * 60, 0, 255).astype(np.uint8)
        return np.broadcast_to(grey[:, None, None, None], (len(grey), self.size, self.size, 3)).copy()

    @property
    def noise_array(self) -> np.ndarray:
        return np.array(self.noise)

    @property
    def class_array(self) -> np.ndarray:
        return np.array(self.classes)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def probe(path: Path) -> dict:
    """Codec facts and decoded frames of an MP4, read with PyAV."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        info = {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "rate": video.average_rate,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "audio_codec": audio.codec_context.name if audio else None,
            "audio_rate": audio.rate if audio else None,
            "audio_channels": audio.codec_context.channels if audio else None,
            "audio_seconds": float(audio.duration * audio.time_base) if audio else None,
        }
        info["frames"] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    moov, mdat = head.find(b"moov"), head.find(b"mdat")
    info["faststart"] = moov != -1 and (mdat == -1 or moov < mdat)
    return info


@pytest.fixture
def model_cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder of the package's own (converted models), for this test only."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("LUCIDSONICDREAMS_CACHE", str(folder))
    return folder


@pytest.fixture
def marker(tmp_path):
    """A file that hostile fixtures try to create; it must never appear."""
    path = tmp_path / "executed.txt"
    yield path
    assert not path.exists(), "something stored in a pickle was executed"
