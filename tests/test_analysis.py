from __future__ import annotations

import functools

import librosa
import numpy as np
import pytest
from conftest import C_MAJOR, KICKS, SONG_SECONDS, STEM_KICKS, chord_track, kick_track, write

from lucidsonicdreams.audio.analysis import (
    ANALYSIS_SR,
    AnalysisCache,
    TrackAnalysis,
    choose_part,
    normalize,
    sample_at_frames,
)


def peak_frames(signal: np.ndarray, threshold: float = 0.5) -> list[int]:
    """Frames where the signal crosses the threshold upwards."""
    above = signal >= threshold
    return [i for i in range(len(signal)) if above[i] and (i == 0 or not above[i - 1])]


@pytest.mark.parametrize("percussive, harmonic, part", [
    (True, False, "percussive"), (False, True, "harmonic"), (True, True, "full"), (False, False, "full"),
])
def test_choose_part(percussive, harmonic, part):
    assert choose_part(percussive, harmonic) == part


@pytest.mark.parametrize("fps", [24, 30, 43, 60])
def test_percussive_amplitude_peaks_on_the_kicks(song, fps):
    n = round(SONG_SECONDS * fps)
    amp = TrackAnalysis(song, 0.0, SONG_SECONDS).amplitude("percussive", fps, n)
    assert amp.shape == (n,)
    assert amp.min() == 0.0 and amp.max() == 1.0
    onsets = peak_frames(amp)
    assert len(onsets) == len(KICKS)
    for frame, kick in zip(onsets, KICKS):
        assert abs(frame / fps - kick) <= 1.5 / fps


def test_harmonic_part_follows_the_chord_not_the_kicks(tmp_path):
    seconds = 4.0
    swell = chord_track(C_MAJOR, seconds, envelope=lambda t: t / seconds)
    path = write(tmp_path / "swell.wav", 0.3 * swell + 0.8 * kick_track((0.5, 1.5, 2.5, 3.5), seconds))
    track = TrackAnalysis(path, 0.0, seconds)
    fps, n = 30, 120
    harmonic = track.amplitude("harmonic", fps, n)
    percussive = track.amplitude("percussive", fps, n)
    ramp = np.arange(n) / n
    assert np.corrcoef(harmonic, ramp ** 2)[0, 1] > 0.95
    assert np.corrcoef(percussive, ramp ** 2)[0, 1] < 0.5


def test_chroma_follows_the_chord(song):
    chroma = TrackAnalysis(song, 0.0, SONG_SECONDS).chroma(30, 105)
    assert chroma.shape == (105, 12)
    top3 = np.argsort(chroma.mean(axis=0))[-3:]
    assert set(top3) == {0, 4, 7}


def test_separation_runs_once_per_file(song, monkeypatch):
    import lucidsonicdreams.audio.analysis as analysis

    calls = []
    real = analysis.separate
    monkeypatch.setattr(analysis, "separate", lambda y: calls.append(1) or real(y))
    track = AnalysisCache().track(song, 0.0, SONG_SECONDS)
    track.amplitude("percussive", 30, 105)
    track.amplitude("harmonic", 30, 105)
    track.amplitude("percussive", 24, 84)
    assert len(calls) == 1


def test_separated_parts_are_kept_only_when_asked(song):
    assert AnalysisCache().track(song, 0.0, SONG_SECONDS).keep_separation is False
    plain = AnalysisCache().track(song, 0.0, SONG_SECONDS)
    plain.amplitude("percussive", 30, 105)
    assert plain._parts == {}


def test_threads_sharing_an_analysis_work_each_result_out_once(song, monkeypatch):
    import threading

    import lucidsonicdreams.audio.analysis as analysis

    calls = []
    real = analysis.separate
    monkeypatch.setattr(analysis, "separate", lambda y: calls.append(1) or real(y))
    track = AnalysisCache().track(song, 0.0, SONG_SECONDS)
    out = []
    threads = [threading.Thread(target=lambda: out.append(track.amplitude("percussive", 30, 105)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(a is out[0] for a in out)


@pytest.mark.parametrize("budget, separations", [(None, 1), (0, 2)])
def test_another_band_count_reuses_the_separation_while_it_fits(song, monkeypatch, budget, separations):
    """A style with another noise length needs envelopes at another mel-band count: the separated parts are kept
    (up to SEPARATION_CACHE_BYTES) and give exactly what a fresh analysis gives."""
    import lucidsonicdreams.audio.analysis as analysis

    if budget is not None:
        monkeypatch.setattr(analysis, "SEPARATION_CACHE_BYTES", budget)
    calls = []
    real = analysis.separate
    monkeypatch.setattr(analysis, "separate", lambda y: calls.append(1) or real(y))
    track = AnalysisCache(keep_separation=True).track(song, 0.0, SONG_SECONDS)
    track.amplitude("percussive", 30, 105, n_mels=128)
    reused = track.amplitude("harmonic", 30, 105, n_mels=16)
    assert len(calls) == separations
    fresh = AnalysisCache().track(song, 0.0, SONG_SECONDS).amplitude("harmonic", 30, 105, n_mels=16)
    np.testing.assert_array_equal(reused, fresh)


def test_cache_returns_the_same_track_for_the_same_excerpt(song):
    cache = AnalysisCache()
    assert cache.track(song, 0, 2.0) is cache.track(str(song), 0.0, 2.0)
    assert cache.track(song, 0, 2.0) is not cache.track(song, 0.5, 2.0)


def test_silence_gives_zeros_not_nan(silence):
    track = TrackAnalysis(silence, 0.0, 2.0)
    for part in ("full", "harmonic", "percussive"):
        amp = track.amplitude(part, 30, 60)
        assert np.all(amp == 0)
    chroma = track.chroma(30, 60)
    assert np.all(np.isfinite(chroma)) and np.all(chroma == 0)


def test_stems_of_other_rate_channels_and_length_line_up(drum_stem):
    track = TrackAnalysis(drum_stem, 0.0, 3.5)  # the stem is 3.0 s, 16 kHz mono
    assert len(track.samples) == round(3.5 * ANALYSIS_SR)
    amp = track.amplitude("full", 30, 105)
    onsets = peak_frames(amp)
    assert [round(f / 30, 1) for f in onsets] == [round(k, 1) for k in STEM_KICKS]
    assert np.all(amp[95:] == 0)  # the padding after the stem's end is silent


def test_excerpt_starts_at_start(song):
    amp = TrackAnalysis(song, 1.0, 2.0).amplitude("percussive", 40, 80)
    onsets = peak_frames(amp)
    assert [round(f / 40 + 1.0, 2) for f in onsets] == pytest.approx([1.25, 2.0, 2.75], abs=0.04)


def test_sample_at_frames_hits_the_exact_frame_times():
    grid = np.arange(1000, dtype=float) * (256 / ANALYSIS_SR)  # value = time in seconds
    frames = sample_at_frames(grid, 43, 200)
    assert frames.shape == (200,)
    np.testing.assert_allclose(frames, np.arange(200) / 43)
    two = sample_at_frames(np.stack([grid, 2 * grid]), 30, 10)
    assert two.shape == (10, 2)


def test_normalize_handles_constants_and_empties():
    assert np.all(normalize(np.full(5, 3.0)) == 0)
    assert normalize(np.array([])).shape == (0,)
    np.testing.assert_allclose(normalize(np.array([1.0, 3.0, 2.0])), [0, 1, 0.5])


@pytest.mark.parametrize("feature", ["whole_features", "separated_features", "chromagram"])
def test_blockwise_analysis_joins_seamlessly(monkeypatch, feature):
    import lucidsonicdreams.audio.analysis as analysis

    seconds = 9.0
    y = (0.8 * kick_track(np.arange(0.1, seconds, 0.37), seconds, ANALYSIS_SR)
         + 0.2 * chord_track(C_MAJOR, seconds, ANALYSIS_SR)).astype(np.float32)
    func = getattr(analysis, feature)
    func = functools.partial(func, tuning=0.2) if feature == "chromagram" else functools.partial(func, n_mels=64)
    whole = func(y)
    monkeypatch.setattr(analysis, "BLOCK_FRAMES", 300)  # ~3.5 s blocks: three joins inside the signal
    joined = analysis.blockwise(y, func)
    if not isinstance(whole, dict):
        whole, joined = {"chroma": whole}, {"chroma": joined}
    assert whole.keys() == joined.keys()
    for name in whole:
        assert joined[name].shape == whole[name].shape == whole[name].shape[:-1] + (1 + len(y) // 256,), name
        np.testing.assert_allclose(joined[name], whole[name], rtol=1e-3, atol=1e-4 * np.abs(whole[name]).max(),
                                   err_msg=name)


def test_separation_equals_librosas_hpss():
    import librosa

    from lucidsonicdreams.audio.analysis import separate

    y = (0.8 * kick_track((0.2, 0.9, 1.6), 2.5, ANALYSIS_SR)
         + 0.2 * chord_track(C_MAJOR, 2.5, ANALYSIS_SR)).astype(np.float32)
    ours, theirs = separate(y), librosa.effects.hpss(y)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("dbfs", [-90, -75])
def test_audio_below_the_noise_floor_drives_nothing(tmp_path, dbfs):
    """A stem of dither (white noise) far below normal levels is silence: no amplitude, onsets or chroma."""
    rng = np.random.default_rng(0)
    level = 10 ** (dbfs / 20)
    path = write(tmp_path / "dither.wav", level * rng.uniform(-1, 1, int(3 * 44100)) * np.sqrt(3))
    track = TrackAnalysis(path, 0.0, 3.0)
    for part in ("full", "harmonic", "percussive"):
        assert np.all(track.amplitude(part, 30, 90) == 0), part
    assert np.all(track.grid("onset") < 1e-6)
    assert np.all(track.chroma(30, 90) == 0)


def test_the_noise_floor_keeps_music_as_it_was(song):
    """Normal music is far above the floor: the gated envelope equals the plain loudest-mel-band power."""
    import lucidsonicdreams.audio.analysis as analysis

    track = TrackAnalysis(song, 0.0, SONG_SECONDS)
    power = analysis.power_spectrogram(track.samples)
    plain = analysis.amplitude_envelope(power, 128)
    gated = track.grid("full")
    assert np.corrcoef(plain, gated)[0, 1] > 0.9999


def test_quiet_intro_is_silent_but_the_music_after_it_is_not(tmp_path):
    rng = np.random.default_rng(1)
    seconds = 4.0
    y = 10 ** (-85 / 20) * rng.standard_normal(int(seconds * 44100))
    y[int(2 * 44100):] += 0.8 * kick_track((0.5, 1.0, 1.5), 2.0)  # kicks at 2.5, 3 and 3.5 s
    amp = TrackAnalysis(write(tmp_path / "intro.wav", y), 0.0, seconds).amplitude("full", 30, 120)
    assert np.all(amp[:58] == 0)
    assert amp[60:].max() == 1.0


@pytest.mark.parametrize("fps", [24, 43])
def test_peak_at_frames_keeps_short_peaks(fps):
    from lucidsonicdreams.audio.feature import GRID_SECONDS, peak_at_frames

    grid = np.zeros(400)
    grid[[37, 101, 250]] = [1.0, 0.5, 2.0]
    frames = peak_at_frames(grid, fps, int(400 * GRID_SECONDS * fps))
    assert sorted(frames[frames > 0]) == [0.5, 1.0, 2.0]
    for index, value in zip([37, 101, 250], [1.0, 0.5, 2.0]):
        assert frames[int(round(index * GRID_SECONDS * fps))] == value


def test_tuning_is_estimated_once_for_all_blocks(monkeypatch):
    import lucidsonicdreams.audio.feature as analysis

    monkeypatch.setattr(analysis, "BLOCK_FRAMES", 300)
    sharp = [f * 2 ** (0.3 / 12) for f in C_MAJOR]  # 30 cents sharp
    y = chord_track(sharp, 8.0, ANALYSIS_SR).astype(np.float32)
    assert analysis.estimate_tuning(y) == pytest.approx(0.3, abs=0.05)
    assert analysis.estimate_tuning(np.zeros(1000)) == 0.0


def test_the_soft_masks_are_librosas_bit_for_bit_zeros_included():
    from lucidsonicdreams.audio.decompose import _soft_masks

    rng = np.random.default_rng(0)
    a, b = rng.random((64, 80)).astype(np.float32), rng.random((64, 80)).astype(np.float32)
    a[:5], b[:5] = 0, 0  # both silent: split evenly
    a[5:8] = 0  # one silent
    ours = _soft_masks(a, b)
    theirs = (librosa.util.softmask(a, b, power=2, split_zeros=True),
              librosa.util.softmask(b, a, power=2, split_zeros=True))
    assert all(np.array_equal(o, t) for o, t in zip(ours, theirs))
    assert np.all(ours[0][:5] == 0.5) and np.all(ours[1][5:8] == 1)


def test_the_chroma_worked_out_in_the_background_is_the_one_the_render_gets(tmp_path, monkeypatch):
    from lucidsonicdreams.audio import analysis as module

    calls = []
    real = module.chromagram
    monkeypatch.setattr(module, "chromagram", lambda *a, **k: calls.append(1) or real(*a, **k))
    path = write(tmp_path / "chord.wav", 0.3 * chord_track(C_MAJOR, 4.0))
    track = module.TrackAnalysis(path, 0.0, 4.0)
    track.start_chroma()
    chroma = track.chroma_grid()  # waits for the background thread instead of starting again
    assert len(calls) == 1 and chroma.shape == (12, track.n_grid)
    assert set(np.argsort(chroma.mean(axis=1))[-3:]) == {0, 4, 7}  # C, E, G
