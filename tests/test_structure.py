"""Beats, tempo and sections of synthesized songs with known answers."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from conftest import chord_track, kick_track, write

from lucidsonicdreams.audio.analysis import TrackAnalysis
from lucidsonicdreams.audio.beat import track_beats
from lucidsonicdreams.audio.feature import ANALYSIS_SR, GRID_SECONDS, HOP
from lucidsonicdreams.audio.segment import section_boundaries

SR = 44100


def structure_of(path, seconds):
    track = TrackAnalysis(path, 0.0, seconds)
    beats = track_beats(track.grid("onset"))
    return beats, section_boundaries(track.chroma_grid(), track.grid("timbre"), beats) * 256 / ANALYSIS_SR


@pytest.mark.parametrize("bpm", [96, 120, 140])
def test_click_track_tempo_and_beats(tmp_path, bpm):
    seconds, period = 20.0, 60 / bpm
    clicks = np.arange(0.5, seconds - 0.2, period)
    path = write(tmp_path / "clicks.wav", 0.8 * kick_track(clicks, seconds))
    beats, _ = structure_of(path, seconds)
    assert beats.tempo == pytest.approx(bpm, rel=0.02)
    inner = [t for t in beats.times if 1.0 < t < seconds - 1.0]
    assert len(inner) >= 0.8 * (seconds - 2) / period
    assert max(np.min(np.abs(clicks - t)) for t in inner) <= 0.05


def three_section_song(seconds_each: float = 10.0) -> np.ndarray:
    """Three clearly different sections: kicks over a low C chord; hats and a high F# triad; a busy A minor
    with kicks on every half beat."""
    n = seconds_each
    rng = np.random.default_rng(0)
    a = 0.7 * kick_track(np.arange(0.25, n, 0.5), n) + 0.25 * chord_track((130.81, 164.81, 196.0), n)
    hats = np.zeros(int(n * SR))
    for t in np.arange(0.125, n, 0.25):
        i = int(t * SR)
        hats[i : i + 2000] += rng.standard_normal(2000) * np.exp(-np.arange(2000) / 300)
    b = 0.3 * hats + 0.3 * chord_track((739.99, 932.33, 1108.73), n)
    c = 0.7 * kick_track(np.arange(0.1, n, 0.25), n) + 0.3 * chord_track((220.0, 261.63, 329.63, 440.0), n)
    return np.concatenate([a, b, c])


def test_three_sections_are_found_within_a_second(tmp_path):
    path = write(tmp_path / "three.wav", three_section_song())
    _, boundaries = structure_of(path, 30.0)
    assert len(boundaries) == 2
    assert boundaries == pytest.approx([10.0, 20.0], abs=1.0)


@pytest.mark.parametrize("kind", ["silence", "drone"])
def test_silence_and_a_drone_have_no_beats_and_one_section(tmp_path, kind):
    seconds = 20.0
    y = np.zeros(int(seconds * SR)) if kind == "silence" else 0.3 * chord_track((110.0, 164.81, 220.0), seconds)
    beats, boundaries = structure_of(write(tmp_path / f"{kind}.wav", y), seconds)
    assert len(beats.frames) == 0 and beats.tempo == 0
    assert len(boundaries) == 0


@pytest.mark.parametrize("bpm", [87.0, 128.0, 151.0])
def test_the_strided_tempogram_gives_librosas_tempo(bpm):
    """The tempo from every TEMPO_STRIDE-th tempogram column equals librosa's from every column."""
    from lucidsonicdreams.audio.beat import _tempogram

    rng = np.random.default_rng(int(bpm))
    n = int(90 / GRID_SECONDS)
    onset = rng.gamma(1.0, 0.3, n)
    period = 60 / bpm / GRID_SECONDS
    onset[np.round(np.arange(0, n - 1, period)).astype(int)] += rng.uniform(2, 4, len(np.arange(0, n - 1, period)))
    theirs = librosa.feature.tempo(onset_envelope=onset, sr=ANALYSIS_SR, hop_length=HOP)[0]
    ours = librosa.feature.tempo(tg=_tempogram(onset), sr=ANALYSIS_SR, hop_length=HOP)[0]
    assert ours == pytest.approx(theirs, rel=1e-9) and theirs == pytest.approx(bpm, rel=0.03)
