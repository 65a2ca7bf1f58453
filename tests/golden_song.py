"""A deterministic ~6 s synthetic song for golden fixtures (0.4's signals recorded on it) and for tests.

Everything happens at known times on a 120 bpm grid (a beat every 0.5 s), after 0.3 s of silence:

* kicks: short pitched-down sine thumps on every beat, ``KICKS``;
* hats: bursts of seeded white noise (``np.random.default_rng(0)``) on the off-beats, ``HATS``;
* a held chord, C major until ``CHORD_CHANGE`` then A minor, each half swelling from quiet to loud so the
  harmonic loudness varies.

The same numbers come out on every machine; the WAV is float32 at 22050 Hz so nothing is resampled on load.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

SR = 22050
SECONDS = 6.0
SILENT_UNTIL = 0.3  # seconds of digital silence at the start
BEAT = 0.5  # 120 bpm
KICKS = tuple(BEAT * k for k in range(1, 12))  # 0.5, 1.0, ... 5.5 s
HATS = tuple(BEAT * k + BEAT / 2 for k in range(1, 12))  # 0.75, 1.25, ... 5.75 s
CHORD_CHANGE = 3.0  # seconds
C_MAJOR = (261.63, 329.63, 392.00)  # C4 E4 G4 -> pitch classes 0, 4, 7
A_MINOR = (220.00, 261.63, 329.63)  # A3 C4 E4 -> pitch classes 9, 0, 4


def _place(out: np.ndarray, hit: np.ndarray, times, sr: int) -> None:
    for start in times:
        i = int(round(start * sr))
        out[i : i + len(hit)] += hit[: len(out) - i]


def golden_song(sr: int = SR) -> np.ndarray:
    """The song as mono float32 samples at ``sr``; peak below 0.9."""
    n = int(SECONDS * sr)
    t = np.arange(n) / sr
    out = np.zeros(n)

    th = np.arange(int(0.12 * sr)) / sr
    pitch = 50 + 120 * np.exp(-th * 40)  # Hz, falling
    _place(out, 0.55 * np.sin(2 * np.pi * np.cumsum(pitch) / sr) * np.exp(-th * 35), KICKS, sr)

    tn = np.arange(int(0.05 * sr)) / sr
    burst = np.random.default_rng(0).uniform(-1.0, 1.0, len(tn))
    _place(out, 0.12 * np.diff(burst, prepend=0.0) * np.exp(-tn * 80), HATS, sr)  # diff: brighter, hat-like

    first = t < CHORD_CHANGE
    local = np.where(first, t - SILENT_UNTIL, t - CHORD_CHANGE)  # seconds into each chord
    length = np.where(first, CHORD_CHANGE - SILENT_UNTIL, SECONDS - CHORD_CHANGE)
    swell = 0.05 + 0.25 * np.clip(local / length, 0.0, 1.0) ** 2
    fade = np.clip(np.minimum(local, length - local) / 0.02, 0.0, 1.0)  # 20 ms ramps, no clicks
    c_major = sum(np.sin(2 * np.pi * f * t) for f in C_MAJOR) / 3
    a_minor = sum(np.sin(2 * np.pi * f * t) for f in A_MINOR) / 3
    out += np.where(first, c_major, a_minor) * swell * fade

    out[t < SILENT_UNTIL] = 0.0
    return out.astype(np.float32)


def write_golden_song(path) -> Path:
    """Write :func:`golden_song` as a float32 WAV at 22050 Hz and return its path."""
    path = Path(path)
    soundfile.write(str(path), golden_song(SR), SR, subtype="FLOAT")
    return path
