"""End-to-end renders of short synthesized songs."""

from __future__ import annotations

import gc
import time
import weakref

import numpy as np
import pytest
from conftest import A_MINOR, KICKS, SONG_SECONDS, SR, STEM_KICKS, Recorder, chord_track, probe, write

from lucidsonicdreams import EffectsGenerator, LucidSonicDream, ModelFileError, Style
from lucidsonicdreams import dream as dream_module
from lucidsonicdreams.style import load_style


def recorded_dream(song, recorder, **kwargs):
    return LucidSonicDream(song, style=recorder, input_shape=16, num_possible_classes=recorder.num_classes,
                           **kwargs)


def pulse_of(recorder):
    """Per-frame pulse when motion and base movement are off: the mean offset of every dimension."""
    noise = recorder.noise_array
    return (noise - noise[0]).mean(axis=1)


def onsets(signal, fps, threshold=0.5):
    signal = (signal - signal.min()) / (signal.max() - signal.min())
    above = signal >= threshold
    return [i / fps for i in range(1, len(signal)) if above[i] and not above[i - 1]]


@pytest.mark.parametrize("fps", [24, 30, 43, 60])
def test_frame_count_codec_and_audio(song, tmp_path, fps):
    out = tmp_path / f"v{fps}"
    path = LucidSonicDream(song).hallucinate(out, fps=fps, resolution=32, duration=2.0, seed=1)
    assert path == str(tmp_path / f"v{fps}.mp4") and path.file == tmp_path / f"v{fps}.mp4"
    info = probe(path)
    assert len(info["frames"]) == round(2.0 * fps)
    assert (info["codec"], info["pix_fmt"], info["rate"]) == ("h264", "yuv420p", fps)
    assert (info["audio_codec"], info["audio_rate"], info["audio_channels"]) == ("aac", SR, 2)
    assert info["audio_seconds"] == pytest.approx(2.0, abs=1 / fps + 0.03)
    assert info["faststart"]


def test_pulse_peaks_on_the_kicks(song, tmp_path, recorder):
    recorded_dream(song, recorder).hallucinate(tmp_path / "p.mp4", fps=30, speed_fpm=0, motion_react=0, seed=2)
    assert len(recorder.noise) == round(SONG_SECONDS * 30)
    hits = onsets(pulse_of(recorder), 30, threshold=0.3)
    assert hits == pytest.approx(KICKS, abs=2 / 30)


def test_pulse_audio_stem_drives_the_pulse(song, drum_stem, tmp_path, recorder):
    recorded_dream(song, recorder, pulse_audio=drum_stem).hallucinate(
        tmp_path / "p.mp4", fps=30, speed_fpm=0, motion_react=0, seed=2)
    hits = onsets(pulse_of(recorder), 30, threshold=0.3)
    assert hits == pytest.approx(STEM_KICKS, abs=2 / 30)


def test_motion_follows_the_harmonic_part(tmp_path, recorder):
    seconds = 4.0
    swell = chord_track((261.63, 329.63, 392.0), seconds, envelope=lambda t: (t > 2.0) * 1.0)
    from conftest import kick_track

    y = 0.3 * swell + 0.8 * kick_track((0.5, 1.0, 1.5, 2.5, 3.0, 3.5), seconds)
    song = write(tmp_path / "m.wav", y)
    recorded_dream(song, recorder).hallucinate(tmp_path / "m.mp4", fps=30, speed_fpm=0, pulse_react=0,
                                               truncation=1, seed=3)
    speed = np.abs(np.diff(recorder.noise_array, axis=0)).mean(axis=1)
    assert speed[:50].mean() < 0.2 * speed[70:].mean()  # still while only drums play, moving with the chord


def test_class_weights_follow_the_chord_and_the_class_stem(song, tmp_path):
    rec = Recorder(classes=12)
    recorded_dream(song, rec).hallucinate(tmp_path / "c.mp4", fps=20, classes=list(range(12)), seed=4)
    assert set(np.argsort(rec.class_array[-10:].mean(axis=0))[-3:]) == {0, 4, 7}

    stem = write(tmp_path / "pads.wav", 0.3 * chord_track(A_MINOR, SONG_SECONDS))
    rec = Recorder(classes=12)
    recorded_dream(song, rec, class_audio=stem).hallucinate(tmp_path / "c.mp4", fps=20, classes=list(range(12)),
                                                            seed=4)
    assert set(np.argsort(rec.class_array[-10:].mean(axis=0))[-3:]) == {9, 0, 4}


def test_custom_effect_runs_once_per_frame_and_lands_in_the_video(song, tmp_path):
    amplitudes = []

    def paint_red(array, strength, amplitude):
        amplitudes.append(amplitude)
        out = np.zeros_like(array)
        out[..., 0] = 255
        return out

    path = LucidSonicDream(song).hallucinate(tmp_path / "fx.mp4", fps=20, resolution=32, duration=2, seed=5,
                                             custom_effects=[EffectsGenerator(paint_red, strength=0.5)])
    assert len(amplitudes) == 40
    assert min(amplitudes) == 0.0 and max(amplitudes) == 1.0
    frames = np.array(probe(path)["frames"])
    assert frames[..., 0].mean() > 235 and frames[..., 1:].mean() < 20


def test_same_seed_same_video_other_seed_other_video(song, tmp_path):
    dream = LucidSonicDream(song)
    a = probe(dream.hallucinate(tmp_path / "a.mp4", fps=15, resolution=32, duration=1.5, seed=11))["frames"]
    b = probe(LucidSonicDream(song).hallucinate(tmp_path / "b.mp4", fps=15, resolution=32, duration=1.5,
                                                seed=11))["frames"]
    c = probe(dream.hallucinate(tmp_path / "c.mp4", fps=15, resolution=32, duration=1.5, seed=12))["frames"]
    assert np.array_equal(np.array(a), np.array(b))
    assert np.abs(np.array(a, dtype=int) - np.array(c)).mean() > 5


def test_seed_none_picks_one_and_reports_it(song, tmp_path):
    dream = LucidSonicDream(song)
    dream.hallucinate(tmp_path / "a.mp4", fps=10, resolution=16, duration=0.5)
    assert isinstance(dream.seed, int)


def test_silence_renders_without_nan(silence, tmp_path, recorder):
    recorded_dream(silence, recorder).hallucinate(tmp_path / "s.mp4", fps=20, seed=6, flash_strength=0.5)
    assert np.all(np.isfinite(recorder.noise_array)) and np.all(np.isfinite(recorder.class_array))
    path = LucidSonicDream(silence).hallucinate(tmp_path / "s2.mp4", fps=10, resolution=16, seed=6,
                                                contrast_strength=0.5)
    assert len(probe(path)["frames"]) == 20


def test_effects_flash_with_the_beat(song, tmp_path):
    plain = probe(LucidSonicDream(song).hallucinate(tmp_path / "a.mp4", fps=20, resolution=32, seed=7,
                                                    motion_react=0, pulse_react=0, speed_fpm=0))["frames"]
    flashed = probe(LucidSonicDream(song).hallucinate(tmp_path / "b.mp4", fps=20, resolution=32, seed=7,
                                                      motion_react=0, pulse_react=0, speed_fpm=0,
                                                      flash_strength=0.8))["frames"]
    gain = np.array([f.mean() for f in flashed]) - np.array([f.mean() for f in plain])
    kick_frames = [round(k * 20) for k in KICKS]
    quiet_frames = [round((k + 0.35) * 20) for k in KICKS[:-1]]
    assert gain[kick_frames].min() > 20
    assert gain[quiet_frames].max() < gain[kick_frames].min() / 2


def test_resolution_pair_and_save_frames(song, tmp_path):
    path = LucidSonicDream(song).hallucinate(tmp_path / "wide.mp4", fps=10, resolution=(48, 26), duration=1,
                                             save_frames=True, seed=8)
    info = probe(path)
    assert (info["width"], info["height"]) == (48, 26)
    pngs = sorted((tmp_path / "wide_frames").glob("*.png"))
    assert [p.name for p in pngs] == [f"{i}.png" for i in range(10)]


def test_start_and_duration_cut_the_song(song, tmp_path, recorder):
    recorded_dream(song, recorder).hallucinate(tmp_path / "cut.mp4", fps=20, start=1.0, duration=1.5,
                                               speed_fpm=0, motion_react=0, seed=9)
    assert len(recorder.noise) == 30
    hits = [t + 1.0 for t in onsets(pulse_of(recorder), 20, threshold=0.3)]
    assert hits == pytest.approx([1.25, 2.0], abs=2 / 20)


def test_second_render_reuses_style_and_analysis(song, tmp_path, monkeypatch):
    import lucidsonicdreams.audio.analysis as analysis

    decoded = []
    real = analysis.load_mono
    monkeypatch.setattr(analysis, "load_mono", lambda *a, **k: decoded.append(a[0]) or real(*a, **k))
    dream = LucidSonicDream(song)
    dream.hallucinate(tmp_path / "a.mp4", fps=10, resolution=16, duration=1, seed=1, flash_strength=0.5)
    style = dream._style[1]
    dream.hallucinate(tmp_path / "b.mp4", fps=12, resolution=16, duration=1, seed=1, pulse_react=0.9)
    assert len(decoded) == 1
    assert dream._style[1] is style
    dream.hallucinate(tmp_path / "c.mp4", fps=12, resolution=16, duration=1.5, seed=1)
    assert len(decoded) == 2


def test_function_style_float_range_and_probe(song, tmp_path):
    def gradient(noise_batch, class_batch):
        return np.tile(np.linspace(0, 1, 16)[None, None, :, None], (len(noise_batch), 16, 1, 3))

    gradient.output_range = (0, 1)
    path = LucidSonicDream(song, style=gradient, input_shape=8, num_possible_classes=0).hallucinate(
        tmp_path / "g.mp4", fps=10, duration=1, seed=1)
    frame = probe(path)["frames"][0]
    assert frame[:, 0].mean() < 10 and frame[:, -1].mean() > 245


def test_failed_render_keeps_the_old_video_and_leaves_nothing(song, tmp_path):
    calls = []

    def breaks(noise_batch, class_batch):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return np.zeros((len(noise_batch), 16, 16, 3), dtype=np.uint8)

    out = tmp_path / "old.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(KeyboardInterrupt):
        LucidSonicDream(song, style=breaks, input_shape=4, num_possible_classes=0).hallucinate(
            out, fps=10, batch_size=2, save_frames=True, seed=1)
    assert out.read_bytes() == b"precious"
    # Only the hidden parts kept for a resume are left, and the next run takes them away.
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["old.mp4", "song.wav"]
    LucidSonicDream(song, style=breaks, input_shape=4, num_possible_classes=0).hallucinate(
        out, fps=10, batch_size=2, save_frames=True, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.mp4", "old_frames", "song.wav"]


BAD_INIT = [
    ({"song": "missing.wav"}, FileNotFoundError, "song"),
    ({"pulse_audio": "missing.wav"}, FileNotFoundError, "pulse_audio"),
    ({"style": "no-such-style"}, ValueError, "show_styles"),
    ({"style": "missing.pkl"}, FileNotFoundError, "missing.pkl"),
    ({"style": 42}, TypeError, "style"),
    ({"style": lambda noise_batch, class_batch: None}, TypeError, "input_shape"),
    ({"style": lambda x: x, "input_shape": 4, "num_possible_classes": 0}, TypeError, "noise_batch"),
    ({"style": lambda noise_batch, class_batch: None, "input_shape": 128.0, "num_possible_classes": 0},
     TypeError, "input_shape"),
    ({"style": lambda noise_batch, class_batch: None, "input_shape": 0, "num_possible_classes": 0},
     ValueError, "input_shape"),
    ({"device": "tpu"}, ValueError, "device"),
    ({"device": "cuda:0"}, ValueError, "cuda"),
]


@pytest.mark.parametrize("kwargs, error, words", BAD_INIT)
def test_bad_constructor_arguments(song, kwargs, error, words, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    kwargs = {"song": song, **kwargs}
    with pytest.raises(error, match=words):
        LucidSonicDream(**kwargs)


def test_model_file_that_is_not_supported_is_a_model_file_error(song, tmp_path):
    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(b"\x80\x04N.")
    with pytest.raises(ModelFileError, match="model.pkl"):
        LucidSonicDream(song, style=str(pkl))


BAD_RENDER = [
    ({"fps": 0}, ValueError, "fps"),
    ({"fps": "30"}, TypeError, "fps"),
    ({"speed_fpm": 601, "fps": 10}, ValueError, "speed_fpm"),
    ({"motion_randomness": 1.5}, ValueError, "motion_randomness"),
    ({"truncation": -0.1}, ValueError, "truncation"),
    ({"class_shuffle_strength": 2}, ValueError, "class_shuffle_strength"),
    ({"contrast_strength": 3}, ValueError, "contrast_strength"),
    ({"flash_strength": -1}, ValueError, "flash_strength"),
    ({"classes": []}, ValueError, "classes"),
    ({"classes": [0, 12]}, ValueError, "classes"),
    ({"custom_effects": [print]}, TypeError, "EffectsGenerator"),
    ({"custom_effects": "flash"}, TypeError, "custom_effects"),
    ({"resolution": "big"}, TypeError, "resolution"),
    ({"resolution": (64, 0)}, ValueError, "resolution"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"start": -1}, ValueError, "start"),
    ({"start": 99}, ValueError, "past the end"),
    ({"duration": 0}, ValueError, "duration"),
    ({"output_audio": "missing.wav"}, FileNotFoundError, "output_audio"),
    ({"pulse_percussive": "yes"}, TypeError, "pulse_percussive"),
    ({"seed": -3}, ValueError, "seed"),
    ({"class_shuffle_seconds": "often"}, TypeError, "class_shuffle_seconds"),
    ({"file_name": "no/such/folder/v.mp4"}, FileNotFoundError, "folder"),
    ({"classes": 5}, TypeError, "classes"),
]


@pytest.mark.parametrize("kwargs, error, words", BAD_RENDER)
def test_bad_render_arguments_fail_before_work_and_leave_nothing(song, tmp_path, kwargs, error, words,
                                                                 monkeypatch):
    import lucidsonicdreams.audio.analysis as analysis

    monkeypatch.setattr(analysis, "load_mono", lambda *a, **k: pytest.fail("audio decoded before validation"))
    monkeypatch.chdir(tmp_path)
    kwargs = {"file_name": tmp_path / "out.mp4", **kwargs}
    with pytest.raises(error, match=words):
        LucidSonicDream(song).hallucinate(**kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_undecodable_output_audio_and_unwritable_folder_fail_before_work(song, tmp_path, monkeypatch):
    import tempfile

    import lucidsonicdreams.audio.analysis as analysis
    from lucidsonicdreams import AudioDecodeError

    monkeypatch.setattr(analysis, "load_mono", lambda *a, **k: pytest.fail("audio decoded before validation"))
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio")
    with pytest.raises(AudioDecodeError, match="output_audio: .*notes.txt"):
        LucidSonicDream(song).hallucinate(tmp_path / "v.mp4", output_audio=notes)

    def refuse(*args, **kwargs):  # what a read-only folder does (root ignores permission bits, so simulate it)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="file_name: cannot write in the folder"):
        LucidSonicDream(song).hallucinate(tmp_path / "v.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "song.wav"]


def test_file_name_may_not_be_an_input(song, tmp_path):
    import subprocess

    from lucidsonicdreams.audio.decode import ffmpeg_exe

    track = tmp_path / "track.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(song), "-c:a", "aac", str(track)], check=True)
    before = track.read_bytes()
    with pytest.raises(ValueError, match="input audio files"):
        LucidSonicDream(track).hallucinate(track)
    with pytest.raises(ValueError, match="input audio files"):
        LucidSonicDream(song).hallucinate(tmp_path / "track", output_audio=track)
    assert track.read_bytes() == before


def test_style_that_reuses_its_output_buffer(song, tmp_path):
    class Reuser:
        buffer = np.zeros((4, 16, 16, 3), dtype=np.uint8)
        count = 0

        def __call__(self, noise_batch, class_batch):
            for i in range(len(noise_batch)):
                self.buffer[i] = (self.count * 8) % 256
                self.count += 1
            return self.buffer[: len(noise_batch)]

    def slow(array, strength, amplitude):  # keeps the encoder side behind the generator
        time.sleep(0.01)
        return array

    path = LucidSonicDream(song, style=Reuser(), input_shape=4, num_possible_classes=0).hallucinate(
        tmp_path / "r.mp4", fps=10, duration=2, batch_size=4, seed=1, custom_effects=[EffectsGenerator(slow)])
    means = [int(round(f.mean())) for f in probe(path)["frames"]]
    assert means == pytest.approx([(i * 8) % 256 for i in range(20)], abs=2)


def test_short_output_audio_is_padded_with_silence(song, tmp_path):
    short = write(tmp_path / "short.wav", 0.5 * chord_track(A_MINOR, 1.0), sr=48000, channels=1)
    for start in (0.0, 1.5):  # the second starts after the short file has ended
        path = LucidSonicDream(song).hallucinate(tmp_path / f"o{start}.mp4", output_audio=short, fps=10,
                                                 resolution=16, start=start, duration=1.5, seed=1)
        info = probe(path)
        assert info["audio_seconds"] == pytest.approx(1.5, abs=0.05)
        assert (info["audio_rate"], info["audio_channels"]) == (48000, 1)


def test_array_arguments_are_accepted(song, tmp_path, recorder):
    recorded_dream(song, recorder).hallucinate(
        tmp_path / "n.mp4", fps=np.int64(10), resolution=np.array([24, 16]), classes=np.arange(12),
        class_shuffle_seconds=np.array([0.5, 1.0]), seed=np.int64(3), duration=1)
    assert len(recorder.noise) == 10


def test_only_the_latest_style_is_kept(song, tmp_path, monkeypatch):
    """Renders with new seeds build new built-in networks; the old ones are let go, so memory stays flat."""
    built = []

    def load_and_track(*args, **kwargs):
        style = load_style(*args, **kwargs)
        built.append(weakref.ref(style))
        return style

    monkeypatch.setattr(dream_module, "load_style", load_and_track)
    dream = LucidSonicDream(song)
    for seed in (1, 2, 3):
        dream.hallucinate(tmp_path / "a.mp4", fps=5, resolution=16, duration=0.4, seed=seed)
    gc.collect()
    assert len(built) == 3 and sum(ref() is not None for ref in built) == 1


def test_render_options_reach_every_style_as_arguments(song, tmp_path):
    """A function that takes ``size`` and ``truncation_psi`` gets them; a Style subclass gets the options object and
    sets its own noise length for the render; nothing is set on a style object."""
    seen = []

    def sized(noise_batch, class_batch, size, truncation_psi):
        seen.append((size, truncation_psi, noise_batch.shape[1]))
        return np.zeros((len(noise_batch), size[1], size[0], 3), dtype=np.uint8)

    LucidSonicDream(song, style=sized, input_shape=8, num_possible_classes=0).hallucinate(
        tmp_path / "f.mp4", fps=5, duration=0.4, resolution=(24, 16), truncation_psi=0.6, seed=1)
    assert seen and all(s == ((24, 16), 0.6, 8) for s in seen)

    class Pixels(Style):
        """One noise value per pixel, so the noise length follows the render's size."""

        input_shape, num_possible_classes = 64, 3

        def input_shape_for(self, options):
            width, height = options.size or (8, 8)
            return width * height

        def __call__(self, noise_batch, class_batch, options):
            width, height = options.size or (8, 8)
            grey = np.clip(noise_batch * 60 + 128, 0, 255).astype(np.uint8).reshape(-1, height, width, 1)
            return np.repeat(grey, 3, axis=3)

    style = Pixels()
    dream = LucidSonicDream(song, style=style)
    assert (dream.input_shape, dream.num_possible_classes) == (64, 3)
    info = probe(dream.hallucinate(tmp_path / "s.mp4", fps=5, duration=0.4, resolution=(12, 10), seed=1))
    assert (info["width"], info["height"]) == (12, 10) and len(info["frames"]) == 2
    assert vars(style) == {}


def test_a_style_object_must_be_a_style(song):
    with pytest.raises(TypeError, match="style must be a style name, a model file path, a Style or a function"):
        LucidSonicDream(song, style=42)


def test_a_style_of_your_own_is_checked_before_any_work(song):
    class NoShape(Style):
        num_possible_classes = 0

        def __call__(self, noise_batch, class_batch, options):
            return noise_batch

    class OldCall(Style):
        input_shape, num_possible_classes = 8, 0

        def __call__(self, noise_batch, class_batch):
            return noise_batch

    with pytest.raises(TypeError, match="style.input_shape must be an integer, got None"):
        LucidSonicDream(song, style=NoShape())
    with pytest.raises(TypeError, match=r"OldCall.__call__ must take \(noise_batch, class_batch, options\)"):
        LucidSonicDream(song, style=OldCall())
    with pytest.raises(TypeError, match=r"pass an instance: style=OldCall\(...\)"):
        LucidSonicDream(song, style=OldCall)


def test_style_names_and_folders(song, tmp_path, monkeypatch):
    """A folder that happens to share the built-in style's name does not hide it; an empty name is named."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cppn").mkdir()
    video = LucidSonicDream(song).hallucinate(tmp_path / "v.mp4", fps=4, duration=0.5, resolution=16, seed=1)
    assert len(probe(video)["frames"]) == 2
    with pytest.raises(ValueError, match="style is empty"):
        LucidSonicDream(song, style=" ")


def test_style_functions_get_only_the_options_they_name(song, tmp_path):
    """0.4-style functions that pass **kwargs on are called with the two vectors alone; positional-only
    parameters are refused before any work, since the vectors are passed by name."""
    seen = []

    def passes_on(noise_batch, class_batch, **kwargs):
        seen.append(sorted(kwargs))
        return np.zeros((len(noise_batch), 8, 8, 3), dtype=np.uint8)

    LucidSonicDream(song, style=passes_on, input_shape=4, num_possible_classes=0).hallucinate(
        tmp_path / "k.mp4", fps=4, duration=0.5, seed=1)
    assert seen and all(names == [] for names in seen)

    def positional_only(noise_batch, class_batch, /):
        return noise_batch

    with pytest.raises(TypeError, match="lacks noise_batch, class_batch"):
        LucidSonicDream(song, style=positional_only, input_shape=4, num_possible_classes=0)


def test_a_preview_is_an_exact_excerpt_of_the_render(song, tmp_path):
    """preview(at, seconds) draws the very frames hallucinate() draws at those times (same seed), from the same
    analysis, which it keeps for the render."""
    dream = LucidSonicDream(song)
    settings = dict(fps=10, resolution=24, seed=4, beat_react=0.5, sections=True, flash_strength=0.4, batch_size=3)
    preview = dream.preview(tmp_path / "p.mp4", at=1.2, seconds=1.0, save_frames=True, **settings)
    assert len(probe(preview)["frames"]) == 10
    dream.hallucinate(tmp_path / "full.mp4", save_frames=True, **settings)
    full = sorted((tmp_path / "full_frames").glob("*.png"))
    part = sorted((tmp_path / "p_frames").glob("*.png"))
    assert [p.read_bytes() for p in part] == [p.read_bytes() for p in full[12:22]]
    fresh = LucidSonicDream(song)
    with pytest.raises(ValueError, match="past the end"):
        fresh.preview(tmp_path / "late.mp4", at=60, **settings)
    assert fresh.signals is None and not (tmp_path / "late.mp4").exists()  # refused before any analysis
    with pytest.raises(TypeError, match="hallucinate\\(\\) does not take: colour"):
        dream.preview(tmp_path / "x.mp4", colour=3)


def test_the_chroma_is_worked_out_only_when_something_uses_it(song, tmp_path, monkeypatch):
    """A style without classes needs no chroma (the slowest analysis after the separation), unless the
    sections compare the song's harmony."""
    from lucidsonicdreams.audio import analysis

    calls = []
    real = analysis.chromagram
    monkeypatch.setattr(analysis, "chromagram", lambda *a, **k: calls.append(1) or real(*a, **k))

    def grey(noise_batch, class_batch):
        return np.full((len(noise_batch), 8, 8, 3), 128, dtype=np.uint8)

    def render(name, **kwargs):
        dream = LucidSonicDream(song, style=grey, input_shape=4, num_possible_classes=kwargs.pop("classes", 0))
        dream.hallucinate(tmp_path / name, fps=4, duration=1, seed=1, **kwargs)
        return dream

    dream = render("none.mp4")
    assert not calls and not dream.signals.chroma.any()
    render("sections.mp4", sections=True)
    assert calls
    calls.clear()
    assert render("classes.mp4", classes=3).signals.chroma.any() and calls
