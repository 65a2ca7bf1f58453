"""Our signals and vectors against 0.4's own, recorded by running the published 0.4 code on the golden song
(``benchmarks/lsd04_golden.py``). Any change of 0.4's constants or formulas fails here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from golden_song import write_golden_song

from lucidsonicdreams import LucidSonicDream, latents
from lucidsonicdreams.audio.analysis import TrackAnalysis

GOLDEN = np.load(Path(__file__).with_name("data") / "lsd04_golden.npz")
LSD04_FPS = 43  # the rate 0.4's maths assumes; its frames really come every 512 samples
REAL_FPS = 22050 / 512


def setting(run: str, name: str, default):
    key = f"{run}_setting_{name}"
    return GOLDEN[key].tolist() if key in GOLDEN.files else default


def replay_noise(run: str) -> np.ndarray:
    """0.4's noise vectors rebuilt by our latent maths from 0.4's amplitudes and random draws."""
    truncation = setting(run, "truncation", 1)
    base = truncation * GOLDEN[f"{run}_base_keys"][0].astype(np.float32)
    n = len(GOLDEN[f"{run}_noise"])
    noise = base[None, :] + latents.pulse(GOLDEN[f"{run}_spec_norm_pulse"].astype(np.float64),
                                          setting(run, "pulse_react", 0.5))[:, None]
    noise = np.broadcast_to(noise, (n, len(base)))
    # 0.4 draws the speed factors once before its frame loop and again at frame 0: the first draw is unused.
    draws = latents.MotionDraws(GOLDEN[f"{run}_motion_signs_initial"], GOLDEN[f"{run}_rand_factors"][1:])
    return latents.add_motion(noise, GOLDEN[f"{run}_spec_norm_motion"].astype(np.float64), draws, fps=LSD04_FPS,
                              react=setting(run, "motion_react", 0.5), truncation=truncation)


@pytest.mark.parametrize("run", ["a", "b"])
def test_noise_vectors_equal_04s(run):
    np.testing.assert_allclose(replay_noise(run), GOLDEN[f"{run}_noise"], rtol=1e-6, atol=1e-6)


def test_the_motion_of_run_b_reaches_the_bounds():
    """Run b is long and fast enough that dimensions turn back at the bound, so the bound is pinned too."""
    noise = GOLDEN["b_noise"]
    steps = np.diff(noise, axis=0)
    assert np.any(np.diff(np.sign(steps), axis=0) != 0)


@pytest.mark.parametrize("run", ["a", "b"])
def test_class_vectors_equal_04s(run):
    chroma = GOLDEN[f"{run}_chrom_class"].T
    n = len(chroma)
    if run == "a":
        classes, dominant = GOLDEN["a_classes"].tolist(), False
    else:
        classes, dominant = setting(run, "classes", None), True
    shuffle = setting(run, "class_shuffle_seconds", None)
    ours = latents.class_vectors(
        chroma, classes, 12, LSD04_FPS, pitch_react=setting(run, "class_pitch_react", 0.5),
        complexity=setting(run, "class_complexity", 1), smooth_seconds=0,
        shuffle_at=latents.shuffle_frames(shuffle, 0, LSD04_FPS, n),
        shuffle_shift=int(round(setting(run, "class_shuffle_strength", 0.5) * 12)), dominant_first=dominant)
    np.testing.assert_allclose(ours, GOLDEN[f"{run}_class_vecs"], rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def golden_track(tmp_path_factory):
    song = write_golden_song(tmp_path_factory.mktemp("golden") / "golden.wav")
    return TrackAnalysis(song, 0.0, 6.0)


@pytest.mark.parametrize("key, part, n_mels", [
    ("a_spec_norm_pulse", "percussive", 16), ("a_spec_norm_motion", "harmonic", 16),
    ("a_spec_norm_class", "full", 16), ("a_effect_0_spec", "percussive", 16),
    ("b_spec_norm_pulse", "harmonic", 16), ("b_spec_norm_motion", "percussive", 16),
    ("m512_spec_norm_pulse", "percussive", 512), ("m512_spec_norm_motion", "harmonic", 512),
])
def test_amplitudes_equal_04s_at_its_frame_times(golden_track, key, part, n_mels):
    """At 0.4's real frame rate our frame times land on its frames: the amplitudes agree to float32 precision."""
    theirs = GOLDEN[key].astype(np.float64)
    ours = golden_track.amplitude(part, REAL_FPS, len(theirs), n_mels=n_mels)
    np.testing.assert_allclose(ours, theirs, atol=2e-3)
    assert np.corrcoef(ours, theirs)[0, 1] > 0.9999


def test_chroma_agrees_with_04s_where_there_is_sound(golden_track):
    theirs = GOLDEN["a_chrom_class"].T
    ours = golden_track.chroma(REAL_FPS, len(theirs))
    sounding = np.arange(len(theirs)) / REAL_FPS > 0.4
    assert np.corrcoef(ours[sounding].ravel(), theirs[sounding].ravel())[0, 1] > 0.97
    assert np.all(ours[np.arange(len(theirs)) / REAL_FPS < 0.25] == 0)  # 0.4 reads digital silence as chroma


def _noise_through_the_api(song: Path, tmp_path: Path, dim: int, **settings) -> np.ndarray:
    """The noise vectors ``hallucinate`` gives a function style, at 0.4's real frame rate, base drift off."""
    seen = []

    def recorder(noise_batch, class_batch):
        seen.append(np.array(noise_batch, dtype=np.float64))
        return np.zeros((len(noise_batch), 8, 8, 3), dtype=np.uint8)

    dream = LucidSonicDream(song, style=recorder, input_shape=dim, num_possible_classes=12)
    dream.hallucinate(tmp_path / f"v{dim}.mp4", fps=REAL_FPS, batch_size=64, speed_fpm=0, seed=1, **settings)
    return np.concatenate(seen)


@pytest.mark.parametrize("run, dim", [("a", 16), ("m512", 512)])
def test_the_public_api_follows_04s_pulse_and_motion_speed_at_any_noise_length(tmp_path, run, dim):
    """What the issue measured through the public API: with the motion off every dimension is the base plus the
    pulse; with the pulse off the step length is the motion speed. Both against 0.4's own amplitudes."""
    song = write_golden_song(tmp_path / "golden.wav")
    theirs_amplitude = GOLDEN[f"{run}_spec_norm_pulse"].astype(np.float64)
    n = len(theirs_amplitude)
    pulse = _noise_through_the_api(song, tmp_path, dim, motion_react=0).mean(axis=1)[:n]
    # The issue asks r >= 0.99 on real songs; on this song ours is exact (r = 1 - 1e-9), while 128 mel bands
    # instead of the noise length (the old fault) gives 0.997 at 16 dims and 0.999 at 512.
    assert np.corrcoef(pulse, latents.pulse(theirs_amplitude, 0.5)[: len(pulse)])[0, 1] >= 0.99999

    # 0.4's motion speed: its step lengths with its amplitudes, from a start and draws like 0.4's (random ones, so
    # the dimensions turn back at different frames, as they do in both renders).
    motion_amplitude = GOLDEN[f"{run}_spec_norm_motion"].astype(np.float64)
    rng = np.random.default_rng(0)
    start = np.broadcast_to(np.clip(rng.standard_normal(dim), -2, 2), (n, dim))
    draws = latents.draw_motion(rng, n, dim, LSD04_FPS, 0.5)
    theirs_speed = np.linalg.norm(np.diff(latents.add_motion(start, motion_amplitude, draws, fps=LSD04_FPS,
                                                             react=0.5, truncation=1), axis=0), axis=1)
    ours = _noise_through_the_api(song, tmp_path, dim, pulse_react=0)[:n]
    ours_speed = np.linalg.norm(np.diff(ours, axis=0), axis=1)
    m = min(len(ours_speed), len(theirs_speed))
    assert np.corrcoef(ours_speed[:m], theirs_speed[:m])[0, 1] >= 0.99
