"""A short synthesized demo song (drums, bass and chords), so the package can show itself offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 44100
BPM = 120
# A minor, F major, C major, G major: one chord per bar, as MIDI note numbers.
PROGRESSION = ((57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62))


def _hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.35 * sr)) / sr
    pitch = 45 + 90 * np.exp(-t * 30)
    return np.sin(2 * np.pi * np.cumsum(pitch) / sr) * np.exp(-t * 9)


def _noise_hit(rng: np.random.Generator, sr: int, seconds: float, decay: float, highpass: bool) -> np.ndarray:
    noise = rng.uniform(-1, 1, int(seconds * sr))
    if highpass:
        noise = np.diff(noise, prepend=0.0)
    return noise * np.exp(-np.arange(len(noise)) / sr * decay)


def _tone(freq: float, seconds: float, sr: int, harmonics: int, decay: float) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    envelope = np.minimum(1, t / 0.01) * np.exp(-t * decay)
    return wave * envelope


def synthesize_song(seconds: float = 16.0, sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A stereo 120 bpm loop: kick on every beat, snare on 2 and 4, eighth-note hats, bass and chords.

    Returns np.ndarray [shape=(n, 2), dtype=float32] in [-1, 1].
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    beat = 60 / BPM
    drums, bass, chords = np.zeros(n + sr), np.zeros(n + sr), np.zeros(n + sr)

    def add(track: np.ndarray, at: float, sound: np.ndarray) -> None:
        i = int(at * sr)
        if i < n:
            track[i : i + len(sound)] += sound[: len(track) - i]

    kick = _kick(sr)
    for b in range(int(seconds / beat) + 1):
        t = b * beat
        add(drums, t, 0.9 * kick)
        if b % 2 == 1:
            add(drums, t, 0.35 * _noise_hit(rng, sr, 0.2, 25, highpass=False))
        for half in (0, 0.5):
            add(drums, t + half * beat, 0.12 * _noise_hit(rng, sr, 0.05, 90, highpass=True))
        chord = PROGRESSION[(b // 4) % len(PROGRESSION)]
        add(bass, t, 0.35 * _tone(_hz(chord[0] - 24), beat, sr, 3, 4))
        if b % 4 == 0:
            for note in chord:
                add(chords, t, 0.12 * _tone(_hz(note), 4 * beat, sr, 6, 0.6))
    left = drums + bass + 1.1 * chords
    right = drums + bass + 0.9 * chords
    song = np.stack([left, right], axis=1)[:n]
    return (0.9 * song / np.abs(song).max()).astype(np.float32)


def write_demo_song(path: str | Path, seconds: float = 16.0) -> Path:
    """Write the demo song as a 44.1 kHz stereo WAV file and return its path."""
    path = Path(path)
    soundfile.write(str(path), synthesize_song(seconds), SAMPLE_RATE)
    return path
