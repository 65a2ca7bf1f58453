"""beat_react, sections, the noise floor and plot_signals, end to end through the public API."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import C_MAJOR, SR, Recorder, chord_track, kick_track, write
from PIL import Image
from test_structure import three_section_song

from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.cli import main


def recorded(song, recorder=None, **kwargs):
    recorder = recorder or Recorder()
    return recorder, LucidSonicDream(song, style=recorder, input_shape=16, num_possible_classes=12, **kwargs)


@pytest.fixture
def groove(tmp_path):
    """8 s: kicks on an uneven pattern over a steady chord."""
    seconds = 8.0
    kicks = [0.5, 1.0, 1.75, 2.0, 2.5, 3.25, 3.5, 4.0, 4.5, 5.25, 5.5, 6.0, 6.5, 7.25]
    y = 0.8 * kick_track(kicks, seconds) + 0.2 * chord_track(C_MAJOR, seconds)
    return write(tmp_path / "groove.wav", y), kicks


def test_beat_react_zero_is_exactly_the_04_behaviour(groove, tmp_path):
    song, _ = groove
    a, dream = recorded(song)
    dream.hallucinate(tmp_path / "a.mp4", fps=20, seed=5)
    b, dream = recorded(song)
    dream.hallucinate(tmp_path / "b.mp4", fps=20, seed=5, beat_react=0, sections=False)
    assert np.array_equal(a.noise_array, b.noise_array) and np.array_equal(a.class_array, b.class_array)


def test_beat_react_makes_every_kick_move_the_vectors(groove, tmp_path):
    song, kicks = groove
    fps = 30
    kick_frames = [int(round(k * fps)) for k in kicks]
    rec, dream = recorded(song)
    dream.hallucinate(tmp_path / "b.mp4", fps=fps, seed=5, beat_react=0.5, motion_react=0, speed_fpm=0)
    change = np.linalg.norm(np.diff(rec.noise_array, axis=0), axis=1)
    on_kick = np.array([change[f - 2 : f + 2].max() for f in kick_frames])
    quiet = np.delete(change, [f + d for f in kick_frames for d in range(-3, 5) if 0 <= f + d < len(change)])
    assert on_kick.min() > 5 * np.median(quiet)
    # With the default motion on, the image still travels with the chord, and the kicks stand out of it.
    rec, dream = recorded(song)
    dream.hallucinate(tmp_path / "b.mp4", fps=fps, seed=5, beat_react=0.5)
    change = np.linalg.norm(np.diff(rec.noise_array, axis=0), axis=1)
    hits = np.zeros(len(change))
    hits[np.array(kick_frames) - 1] = 1
    assert np.corrcoef(change, hits)[0, 1] > 0.4
    plain, dream = recorded(song)
    dream.hallucinate(tmp_path / "p.mp4", fps=fps, seed=5)
    plain_change = np.linalg.norm(np.diff(plain.noise_array, axis=0), axis=1)
    assert np.corrcoef(plain_change, hits)[0, 1] < 0.3  # 0.4's signals barely show the kicks


def test_near_silent_stems_drive_nothing_and_the_drum_stem_drives_the_hits(tmp_path):
    seconds = 6.0
    rng = np.random.default_rng(3)
    song = write(tmp_path / "mix.wav", 0.8 * kick_track([1, 2, 3, 4, 5], seconds) + 0.3 * chord_track(C_MAJOR, seconds))
    dither = write(tmp_path / "dither.wav", 10 ** (-90 / 20) * rng.uniform(-1, 1, int(seconds * SR)) * np.sqrt(3))
    drums = write(tmp_path / "drums.wav", 0.8 * kick_track([1, 2, 3, 4, 5], seconds))
    rec, dream = recorded(song, motion_audio=dither, class_audio=dither, pulse_audio=drums)
    fps = 20
    dream.hallucinate(tmp_path / "s.mp4", fps=fps, seed=1, speed_fpm=0, beat_react=0.5)
    change = np.abs(np.diff(rec.noise_array, axis=0)).max(axis=1)
    moving = np.flatnonzero(change > 0.01 * change.max()) + 1  # the pulse's smoothing leaves a tail after a kick
    near_a_kick = [min(abs(f / fps - k) for k in (1, 2, 3, 4, 5)) <= 0.8 for f in moving]
    assert len(moving) and all(near_a_kick)  # only the drums move the image
    assert np.all(rec.class_array == rec.class_array[0])  # the silent class stem changes no class


def test_sections_make_the_biggest_changes_at_the_boundaries(tmp_path):
    song = write(tmp_path / "three.wav", three_section_song())
    fps = 10
    rec, dream = recorded(song)
    dream.hallucinate(tmp_path / "s.mp4", fps=fps, seed=2, motion_react=0, pulse_react=0, sections=True)
    boundaries = dream.signals.section_times
    assert boundaries == pytest.approx([10.0, 20.0], abs=1.0)
    noise, window = rec.noise_array, 2 * fps

    def change(i: int) -> float:
        return float(np.linalg.norm(noise[i : i + window].mean(axis=0) - noise[i - window : i].mean(axis=0)))

    at = [change(int(round(t * fps))) for t in boundaries]
    elsewhere = np.median([change(i) for i in range(window, len(noise) - window)
                           if min(abs(i / fps - t) for t in boundaries) > 2])
    assert min(at) >= 3 * elsewhere


def test_plot_signals_needs_a_render_then_draws_a_wide_png(groove, tmp_path):
    song, _ = groove
    dream = LucidSonicDream(song)
    with pytest.raises(RuntimeError, match="hallucinate"):
        dream.plot_signals(tmp_path / "early.png")
    assert not (tmp_path / "early.png").exists()
    dream.hallucinate(tmp_path / "v.mp4", fps=15, resolution=32, seed=1, beat_react=0.5, sections=True)
    path = dream.plot_signals(tmp_path / "signals")
    assert path == str(tmp_path / "signals.png")
    with Image.open(path) as image:
        assert image.width >= 800 and image.height >= 400
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_plot_signals(groove, tmp_path, capsys):
    song, _ = groove
    code = main(["render", str(song), "-o", str(tmp_path / "v.mp4"), "--resolution", "32", "--fps", "12",
                 "--duration", "3", "--beat-react", "0.5", "--sections", "--plot-signals", str(tmp_path / "p.png")])
    assert code == 0
    assert (tmp_path / "v.mp4").is_file() and (tmp_path / "p.png").is_file()
    code = main(["render", str(song), "-o", str(tmp_path / "w.mp4"), "--plot-signals", str(tmp_path / "no" / "p.png")])
    assert code == 2 and "--plot-signals" in capsys.readouterr().err
    assert not (tmp_path / "w.mp4").exists()


@pytest.mark.parametrize("kwargs, error", [
    ({"beat_react": -0.1}, ValueError), ({"beat_react": "lots"}, ValueError),  # a string is a schedule
    ({"beat_react": "0:(0.2), 2:(-1)"}, ValueError), ({"sections": "yes"}, ValueError),
    ({"beat_react": [1]}, TypeError),
    ({"sections": 1}, TypeError), ({"resolution": 20000}, ValueError), ({"resolution": (8192, 8192)}, ValueError),
    ({"resolution": (1, 64)}, ValueError),
])
def test_bad_new_arguments_fail_before_any_decoding(groove, tmp_path, monkeypatch, kwargs, error):
    import lucidsonicdreams.audio.analysis as analysis

    song, _ = groove
    monkeypatch.setattr(analysis, "load_mono", lambda *a, **k: pytest.fail("decoded before checking arguments"))
    with pytest.raises(error):
        LucidSonicDream(song).hallucinate(tmp_path / "bad.mp4", **kwargs)
    assert list(tmp_path.glob("bad*")) == []
