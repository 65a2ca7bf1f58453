from __future__ import annotations

import numpy as np
import pytest

from lucidsonicdreams import latents


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_base_latents_interpolate_between_keys(rng):
    fps, n = 30, 30 * 60  # one minute
    base = latents.base_latents(rng, n, 8, fps, speed_fpm=12, truncation=0.5)
    assert base.shape == (n, 8)
    assert np.abs(base).max() <= 1.0  # truncated normal in [-2, 2] times truncation
    steps = np.linalg.norm(np.diff(base, axis=0), axis=1)
    assert steps.max() < 0.1  # smooth: no jumps between frames
    # 12 keys per minute -> the path is piecewise linear with 11 pieces: second differences vanish
    kinks = np.sum(np.linalg.norm(np.diff(base, 2, axis=0), axis=1) > 1e-9)
    assert 1 <= kinks <= 2 * 11


def test_base_latents_fixed_when_fewer_than_two_keys(rng):
    base = latents.base_latents(rng, 100, 4, 30, speed_fpm=0, truncation=1)
    assert np.all(base == base[0])


def test_smooth_keeps_three_quarters_of_the_previous_value():
    out = latents.smooth(np.array([4.0, 0.0, 0.0, 8.0]))
    np.testing.assert_allclose(out, [4.0, 3.0, 2.25, 0.75 * 2.25 + 2.0])


def test_pulse_swells_on_hits_and_fades():
    amp = np.zeros(40)
    amp[10] = 1.0
    p = latents.pulse(amp, react=0.5)
    assert p[:10].max() == 0
    assert p.argmax() == 10 and p[10] == pytest.approx(0.125)
    assert np.all(np.diff(p[10:]) < 0)


def motion(rng, latents_in, amplitude, fps, react, randomness, truncation):
    draws = latents.draw_motion(rng, len(latents_in), latents_in.shape[1], fps, randomness)
    return latents.add_motion(latents_in, amplitude, draws, fps=fps, react=react, truncation=truncation)


def test_motion_moves_only_with_amplitude(rng):
    still = motion(rng, np.zeros((50, 16)), np.zeros(50), 30, 0.5, 0.5, 1.0)
    assert np.all(still == 0)
    moving = motion(rng, np.zeros((50, 16)), np.ones(50), 30, 0.5, 0.0, 1.0)
    speed = np.abs(np.diff(moving[:4], axis=0))  # before any dimension reaches the bound
    np.testing.assert_allclose(speed, 0.5 * 20 / 30)


def test_motion_turns_back_react_before_twice_the_truncation(rng):
    """0.4 turns a dimension around once it is within motion_react of the bound 2 * truncation."""
    n, truncation, react = 3000, 0.6, 0.5
    path = motion(rng, np.zeros((n, 32)), np.ones(n), 30, react, 0.5, truncation)
    step = react * 20 / 30
    turn = 2 * truncation - react
    assert np.abs(path).max() <= turn + 4 * step  # turns back there (plus the smoothed overshoot)
    assert np.abs(path).max() >= turn - step  # and does reach it


def test_motion_randomness_slows_a_subset(rng):
    path = motion(rng, np.zeros((20, 400)), np.ones(20), 30, 0.5, 0.8, 1.0)
    speeds = np.abs(path[3] - path[2])  # before any dimension reaches the bound
    fast, slow = speeds.max(), speeds.min()
    assert slow == pytest.approx(0.2 * fast, rel=1e-6)
    assert 100 < np.sum(np.isclose(speeds, fast)) < 300


def test_motion_speed_factors_are_redrawn_every_four_seconds(rng):
    draws = latents.draw_motion(rng, 300, 64, 30, 0.5)
    assert draws.factors.shape == (3, 64)  # frames 0, 120, 240
    assert set(np.unique(draws.factors)) == {0.5, 1.0}
    assert not np.array_equal(draws.factors[0], draws.factors[1])


def test_motion_is_seeded():
    a = motion(np.random.default_rng(5), np.zeros((30, 8)), np.ones(30), 30, 0.5, 0.5, 1)
    b = motion(np.random.default_rng(5), np.zeros((30, 8)), np.ones(30), 30, 0.5, 0.5, 1)
    c = motion(np.random.default_rng(6), np.zeros((30, 8)), np.ones(30), 30, 0.5, 0.5, 1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_hit_envelope_attacks_at_once_and_decays():
    hits = np.zeros(60)
    hits[[10, 40]] = [1.0, 0.5]
    env = latents.hit_envelope(hits, fps=30, decay_seconds=0.2)
    assert env[:10].max() == 0 and env[10] == 1.0
    np.testing.assert_allclose(env[16], np.exp(-6 / 6), rtol=1e-9)  # one time constant (0.2 s) later
    assert env[40] == 0.5 and np.all(np.diff(env[10:40]) < 0)


def test_beat_offsets_change_direction_on_every_beat(rng):
    directions = latents.draw_beat_directions(rng, 8)
    env = np.ones(40)
    offsets = latents.beat_offsets(env, [10, 20], directions, react=0.5)
    np.testing.assert_allclose(offsets[5], 0.5 * directions[0])
    np.testing.assert_allclose(offsets[15], 0.5 * directions[1])
    np.testing.assert_allclose(offsets[30], 0.5 * directions[2])
    assert np.all(latents.beat_offsets(np.zeros(40), [10], directions, react=0.5) == 0)


def test_section_latents_jump_at_boundaries_and_drift_within(rng):
    fps, n, dim = 30, 30 * 60, 64
    starts = [600, 1200]
    base = latents.section_latents(rng, starts, n, dim, fps, speed_fpm=12, truncation=1.0)
    assert base.shape == (n, dim) and np.abs(base).max() <= 2
    window = 2 * fps

    def change(t: int) -> float:
        return float(np.linalg.norm(base[t : t + window].mean(0) - base[t - window : t].mean(0)))

    elsewhere = np.median([change(t) for t in range(window, n - window, 15) if min(abs(t - s) for s in starts) > 90])
    assert min(change(s) for s in starts) > 3 * elsewhere
    steps = np.linalg.norm(np.diff(base, axis=0), axis=1)
    assert steps.max() < 0.25 * np.linalg.norm(base[650] - base[550])  # a short fade, not a cut


def chord_chroma(n: int, pitches) -> np.ndarray:
    chroma = np.full((n, 12), 0.05)
    chroma[:, list(pitches)] = 1.0
    return chroma


def test_class_weights_follow_the_pitches():
    classes = [100 + i for i in range(12)]
    vecs = latents.class_vectors(chord_chroma(60, (0, 4, 7)), classes, 1000, 30, smooth_seconds=0)
    assert vecs.shape == (60, 1000)
    top = set(np.argsort(vecs[-1])[-3:])
    assert top == {100, 104, 107}
    assert vecs.min() >= 0 and vecs.max() <= 1


def test_class_complexity_scales_and_smoothing_averages():
    chroma = chord_chroma(90, (2,))
    chroma[45:] = chord_chroma(45, (9,))
    sharp = latents.class_vectors(chroma, list(range(12)), 12, 30, smooth_seconds=0, complexity=0.5)
    assert sharp.max() == pytest.approx(0.5)
    smooth = latents.class_vectors(chroma, list(range(12)), 12, 30, smooth_seconds=1)
    assert np.abs(np.diff(smooth, axis=0)).max() < np.abs(np.diff(2 * sharp, axis=0)).max()


def test_dominant_classes_first_gives_the_most_present_pitch_the_first_class():
    chroma = chord_chroma(30, (5,))
    classes = [40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51]
    vecs = latents.class_vectors(chroma, classes, 60, 30, smooth_seconds=0, dominant_first=True)
    assert vecs[-1].argmax() == 40
    plain = latents.class_vectors(chroma, classes, 60, 30, smooth_seconds=0)
    assert plain[-1].argmax() == 45


def test_class_shuffle_rotates_the_assignment():
    chroma = chord_chroma(60, (0,))
    vecs = latents.class_vectors(chroma, list(range(12)), 12, 30, smooth_seconds=0, shuffle_at={30},
                                 shuffle_shift=3, pitch_react=100)
    assert vecs[29].argmax() == 0
    assert vecs[59].argmax() == 3


def test_shuffle_frames_from_period_or_timestamps():
    assert latents.shuffle_frames(None, 0, 30, 300) == set()
    assert latents.shuffle_frames(2, 0, 30, 200) == {60, 120, 180}
    assert latents.shuffle_frames([11.0, 12.5, 99], 10.0, 30, 300) == {30, 75}


def test_unconditional_models_get_empty_class_vectors():
    assert latents.class_vectors(chord_chroma(10, (0,)), [], 0, 30).shape == (10, 0)


def test_silent_chroma_gives_zero_classes_without_nan():
    vecs = latents.class_vectors(np.zeros((40, 12)), list(range(12)), 12, 30)
    assert np.all(vecs == 0)


def test_classes_repeat_to_twelve_and_default_classes_are_distinct(rng):
    assert latents.repeat_to_twelve([1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5] * 2 + [1, 2]
    picked = latents.default_classes(rng, 1000)
    assert len(picked) == 12 == len(set(picked))
    assert sorted(latents.default_classes(rng, 5)) == [0, 1, 2, 3, 4]
