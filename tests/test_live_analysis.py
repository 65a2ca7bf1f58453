"""The causal analysis of live sound: onsets on time, a beat predicted ahead, the same frames whatever the block
size, and nothing from the future."""

from __future__ import annotations

import numpy as np
import pytest

from lucidsonicdreams.live.analysis import GRID, CausalAnalysis

SR = 22050


def click_track(bpm: float, seconds: float, sr: int = SR, tone: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Noise bursts (5 ms decay) on every beat from 0.5 s, over a held 220 Hz tone; returns (samples, click times)."""
    y = tone * np.sin(2 * np.pi * 220 * np.arange(int(sr * seconds)) / sr)
    clicks = np.arange(0.5, seconds - 0.1, 60 / bpm)
    rng = np.random.default_rng(0)
    n = int(0.03 * sr)
    for at in clicks:
        i = int(round(at * sr))
        y[i : i + n] += 0.6 * np.exp(-np.arange(n) / (0.005 * sr)) * rng.standard_normal(n)
    return y.astype(np.float32), clicks


def analyse(y: np.ndarray, block: int = 512, sr: int = SR) -> list:
    analysis = CausalAnalysis(sr)
    frames = []
    for i in range(0, len(y), block):
        frames += analysis.feed(y[i : i + block])
    return frames


def landed_beats(frames) -> np.ndarray:
    """The predicted beats, each as it was predicted just before its time came."""
    return np.array([a.next_beat for a, b in zip(frames, frames[1:]) if a.next_beat is not None and
                     b.time >= a.next_beat])


@pytest.mark.parametrize("bpm", [123, 97])
def test_every_click_is_an_onset_within_a_few_hops(bpm):
    y, clicks = click_track(bpm, 20)
    frames = analyse(y)
    onsets = np.array([f.time for f in frames if f.onset > 0])
    delays = np.array([onsets[onsets >= c].min() - c for c in clicks])
    assert np.all(delays < 0.03) and np.median(delays) < 0.015
    assert len(onsets) <= len(clicks) + 1  # one onset a click (the tone's start may be one more)


@pytest.mark.parametrize("bpm", [123, 97, 150])
def test_the_beat_is_predicted_on_time_after_warm_up(bpm):
    y, clicks = click_track(bpm, 20)
    frames = analyse(y)
    assert abs(frames[-1].tempo - bpm) < 1.0
    beats = landed_beats(frames)
    late = clicks[clicks > 4.0]
    errors = np.array([np.abs(beats - c).min() for c in late])
    assert np.mean(errors <= 0.05) >= 0.9
    # Predicted means ahead: each was known one analysis frame or more before its time.
    assert all(f.next_beat > f.time for f in frames if f.next_beat is not None)


def test_block_sizes_change_nothing():
    y, _ = click_track(123, 6)
    one, other = analyse(y, block=256), analyse(y, block=4410)
    assert len(one) == len(other) == len(y) // 256
    for a, b in zip(one, other):
        assert (a.time, a.onset, a.amplitude, a.next_beat) == (b.time, b.onset, b.amplitude, b.next_beat)


def test_the_future_changes_nothing_that_came_before():
    y, _ = click_track(123, 8)
    changed = y.copy()
    changed[int(5.0 * SR):] = np.random.default_rng(1).standard_normal(len(y) - int(5.0 * SR)) * 0.3
    before, after = analyse(y), analyse(changed)
    cut = int(5.0 / GRID) - 1
    for a, b in zip(before[:cut], after[:cut]):
        assert (a.time, a.onset, a.amplitude, a.flux, a.next_beat) == (b.time, b.onset, b.amplitude, b.flux,
                                                                     b.next_beat)
        np.testing.assert_array_equal(a.chroma, b.chroma)
    assert any(a.flux != b.flux for a, b in zip(before[cut + 2:], after[cut + 2:]))


def test_silence_is_gated_and_levels_split_drums_from_tones():
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * SR) / SR).astype(np.float32)
    drums, _ = click_track(120, 2, tone=0.0)
    quiet = analyse(np.zeros(SR, np.float32))
    assert all(f.gate == 0 and f.onset == 0 and not f.chroma.any() for f in quiet)
    held = analyse(tone)[-20:]
    hits = [f for f in analyse(drums) if f.onset > 0]
    assert all(f.harmonic > 10 * f.percussive for f in held)
    assert all(f.percussive > f.harmonic for f in hits)
    assert all(int(np.argmax(f.chroma)) == 9 for f in held)  # A


def test_another_sample_rate_is_resampled():
    y, clicks = click_track(123, 8, sr=44100)
    frames = analyse(y, sr=44100)
    assert abs(len(frames) - 8 / GRID) <= 4  # the resampler holds back a few ms
    onsets = np.array([f.time for f in frames if f.onset > 0])
    assert all(np.any(np.abs(onsets - c - 0.01) < 0.02) for c in clicks)


def test_levels_and_onsets_are_scaled_over_the_window_as_offline_over_the_song():
    from lucidsonicdreams.audio.feature import normalize
    from lucidsonicdreams.audio.signals import HIT_QUANTILE, hit_strength
    from lucidsonicdreams.live.vectors import RunningScale

    values = np.abs(np.random.default_rng(3).standard_normal(300)) ** 3
    values[::7] = 0.0
    levels, onsets = RunningScale(30, seconds=4), RunningScale(30, seconds=4, quantile=HIT_QUANTILE)
    for i, value in enumerate(values):
        window = values[max(0, i - 119) : i + 1]  # the last 4 s at 30 fps
        assert levels(value) == pytest.approx(normalize(window)[-1])
        assert onsets(value) == pytest.approx(hit_strength(window)[-1])


@pytest.mark.parametrize("bpm", [97, 160, 200])
def test_the_tempo_is_the_one_an_offline_render_finds(bpm):
    """Read as offline reads it (the tempogram under librosa's prior): clicks at 200 BPM are a beat of 100 there,
    where a rule preferring the faster pulse took 200 (and hit twice as often as the offline render)."""
    from lucidsonicdreams.audio.beat import track_beats
    from lucidsonicdreams.audio.feature import log_mel, onset_envelope, power_spectrogram

    y, _ = click_track(bpm, 20)
    offline = track_beats(onset_envelope(log_mel(power_spectrogram(y)))).tempo
    assert offline == pytest.approx(bpm if bpm < 200 else bpm / 2, rel=0.02)
    assert all(f.tempo == pytest.approx(offline, rel=0.02) for f in analyse(y) if f.time > 8)  # a full window


def test_no_beat_is_followed_where_offline_finds_none():
    """A held chord that swells every 0.6 s: a period, but onsets too weak for offline's beat tracker."""
    from lucidsonicdreams.audio.beat import track_beats
    from lucidsonicdreams.audio.feature import log_mel, onset_envelope, power_spectrogram

    t = np.arange(20 * SR) / SR
    chord = sum(np.sin(2 * np.pi * 220 * 2 ** (k / 12) * t) for k in (0, 4, 7))
    y = (0.05 * (0.6 + 0.4 * np.sin(2 * np.pi * t / 0.6)) * chord).astype(np.float32)
    assert track_beats(onset_envelope(log_mel(power_spectrogram(y)))).tempo == 0
    assert all(f.tempo == 0 and f.next_beat is None for f in analyse(y))


def test_a_drum_shows_in_the_levels_as_it_sounds():
    """The percussive level peaks within a hop or two of each click: its window is short, as a live window ends
    at the newest sample (on the 93 ms window of the chroma the peak came 46 ms after the click)."""
    y, clicks = click_track(123, 8)
    frames = analyse(y)
    times = np.array([f.time for f in frames])
    level = np.array([f.percussive for f in frames])
    delays = []
    for click in clicks:
        near = (times >= click) & (times < click + 0.1)
        delays.append(times[near][np.argmax(level[near])] - click)
    assert np.median(delays) <= 0.025 and max(delays) <= 0.035
