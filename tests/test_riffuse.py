"""riffuse: music from prompts on a tiny random diffusion pipeline (diffusers' own classes, a 4-block VAE, so
512 px spectrograms become 64x64 latents), joined clips, the seed image, the command and its video. No network."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from conftest import probe

pytest.importorskip("diffusers")

from diffusion_files import (  # noqa: E402
    forbid_loading,
    write_hostile_folder,
    write_tiny_pipeline,
    write_tiny_xl_pipeline,
)

import lucidsonicdreams.spectrogram.riffuse as prompt_music  # noqa: E402
from lucidsonicdreams.cli import main  # noqa: E402
from lucidsonicdreams.errors import ModelFileError  # noqa: E402
from lucidsonicdreams.spectrogram import CLIP_SECONDS, image_to_audio  # noqa: E402
from lucidsonicdreams.spectrogram.riffuse import CROSSFADE_SECONDS, join_clips, riffuse, seed_image  # noqa: E402

SR = 44100


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_pipeline(tmp_path_factory.mktemp("riffuse") / "tiny-sd")


def test_the_seed_image_is_our_own_beat_as_a_512_square_spectrogram():
    image = seed_image()
    assert image.size == (512, 512) and image.getexif()[11080] > 0  # made by audio_to_image, with its EXIF
    # Its sound keeps the 120 bpm beat: the bass band's loudness (10 ms frames) repeats every 0.5 s.
    sound, rate = image_to_audio(image)
    low = np.abs(np.fft.rfft(sound[: 510 * 441].reshape(510, 441), axis=1))[:, 1:4].sum(axis=1)
    low -= low.mean()
    correlation = [np.dot(low[:-lag], low[lag:]) for lag in range(30, 81)]
    assert 30 + int(np.argmax(correlation)) == pytest.approx(50, abs=2)


def test_riffuse_is_the_asked_length_and_the_same_for_the_same_seed(tiny):
    a, rate = riffuse(["funky bass", "jazz piano"], 7.0, model=str(tiny), seed=1, steps=2)
    b, _ = riffuse(["funky bass", "jazz piano"], 7.0, model=str(tiny), seed=1, steps=2)
    c, _ = riffuse(["funky bass", "jazz piano"], 7.0, model=str(tiny), seed=2, steps=2)
    assert rate == SR and a.shape == (7 * SR,) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert 0.5 < np.abs(a).max() <= 0.98 + 1e-6  # the crossfades never push it past the clips' peak


def same_up_to_level(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two stretches of sound (the joined piece may be scaled down as a whole)."""
    return float(np.corrcoef(a, b)[0, 1])


def test_the_piece_starts_on_the_first_prompt_and_ends_on_the_last(tiny):
    both, _ = riffuse(["funky bass", "jazz piano"], 9.0, model=str(tiny), seed=3, steps=2)
    first, _ = riffuse(["funky bass"], 5.0, model=str(tiny), seed=3, steps=2)
    last, _ = riffuse(["jazz piano"], 5.0, model=str(tiny), seed=4, steps=2)  # the second key's seed
    step = int(round((CLIP_SECONDS - CROSSFADE_SECONDS) * SR))  # clips start this far apart
    fade = int(round(CROSSFADE_SECONDS * SR))
    assert same_up_to_level(both[:step], first[:step]) > 0.9999
    tail = both[step + fade :]
    assert same_up_to_level(tail, last[fade : fade + len(tail)]) > 0.999
    assert same_up_to_level(both[:step], last[:step]) < 0.9


def test_clips_start_a_whole_number_of_seed_bars_apart():
    assert (CLIP_SECONDS - CROSSFADE_SECONDS) * 120 / 60 == pytest.approx(10)


def test_clips_join_with_crossfades_into_exactly_the_seconds_asked():
    clips = [np.full(int(CLIP_SECONDS * SR) + 1, v, dtype=np.float32) for v in (0.2, 0.6, 1.0)]
    joined = join_clips(clips, 12.0)
    assert joined.shape == (12 * SR,)
    fade = int(CROSSFADE_SECONDS * SR)
    start = len(clips[0]) - fade
    assert joined[start - 1] == pytest.approx(0.2) and joined[start + fade] == pytest.approx(0.6)
    middle = joined[start + fade // 2]  # equal power: both at cos(45 deg)
    assert middle == pytest.approx((0.2 + 0.6) * np.sqrt(0.5), rel=1e-3)


def test_bad_input_is_refused_before_any_model_loads(tiny, tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(prompt_music, "SpectrogramPainter", never)
    with pytest.raises(TypeError, match="prompts"):
        riffuse([], 5.0, model=str(tiny))
    with pytest.raises(ValueError, match="prompt"):
        riffuse(["  "], 5.0, model=str(tiny))
    with pytest.raises(ValueError, match="seconds"):
        riffuse(["a"], 0, model=str(tiny))
    with pytest.raises(ValueError, match="strength"):
        riffuse(["a"], 5.0, model=str(tiny), strength=1.5)
    with pytest.raises(ValueError, match="3 prompts need at least 15.11 seconds"):
        riffuse(["a", "b", "c"], 8.0, model=str(tiny))
    with pytest.raises(FileNotFoundError, match="video_style|model 'no-such-style'"):
        prompt_music.riffuse_to_file(tmp_path / "x.wav", ["a"], 5.0, model=str(tiny), video=tmp_path / "x.mp4",
                                     video_style="no-such-style")
    with pytest.raises(FileNotFoundError, match="video: the folder"):
        prompt_music.riffuse_to_file(tmp_path / "x.wav", ["a"], 5.0, model=str(tiny), video=tmp_path / "no" / "x")
    with pytest.raises(FileNotFoundError, match="folder"):
        prompt_music.riffuse_to_file(tmp_path / "missing" / "x.wav", ["a"], 5.0, model=str(tiny))
    assert main(["riffuse", "--prompt", "a", "--seconds", "-1", "-o", str(tmp_path / "x.wav")]) == 2
    assert not list(tmp_path.iterdir())


def test_a_hostile_model_folder_is_refused_with_nothing_run(tmp_path):
    marker = tmp_path / "pwned"
    folder = write_hostile_folder(tmp_path / "hostile", marker)
    with pytest.raises(ModelFileError):
        riffuse(["a"], 5.0, model=str(folder))
    assert not marker.exists()


def test_the_riffuse_command_writes_the_music_and_its_video(tiny, tmp_path, capsys):
    wav, video = tmp_path / "song.wav", tmp_path / "song.mp4"
    assert main(["riffuse", "--model", str(tiny), "--prompt", "funky bass", "--seconds", "3", "--seed", "4",
                 "--steps", "2", "-o", str(wav), "--video", str(video),
                 "--video-style", str(tiny)]) == 0
    samples, rate = soundfile.read(wav)
    assert rate == SR and samples.shape == (3 * SR,)
    info = probe(video)
    assert info["codec"] == "h264" and info["audio_codec"] == "aac" and len(info["frames"]) == 3 * 43
    assert "wrote" in capsys.readouterr().out
    # Two prompts in 3 s: the second would never be heard.
    assert main(["riffuse", "--model", str(tiny), "--prompt", "a", "--prompt", "b", "--seconds", "3",
                 "-o", str(tmp_path / "two.wav")]) == 2
    assert "2 prompts need at least 10.11 seconds" in capsys.readouterr().err


def test_a_video_style_that_cannot_load_is_refused_before_the_music_is_made(tiny, tmp_path, monkeypatch):
    """Everything that needs no loading is checked first: a folder that is no diffusers folder, a pickled
    checkpoint, a style that takes no prompts. Otherwise the loader finds them after minutes of music."""
    def never(*args, **kwargs):
        raise AssertionError("the music model was loaded before the video style was checked")

    monkeypatch.setattr(prompt_music, "SpectrogramPainter", never)
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("no model_index.json here")
    pickled = tmp_path / "model.ckpt"
    pickled.write_bytes(b"not even read")
    out = tmp_path / "out"
    out.mkdir()
    for style, error, words in [(not_a_model, ModelFileError, "no model_index.json"),
                                (pickled, ModelFileError, "not a .safetensors file"),
                                ("cppn", ValueError, "prompts are for diffusion styles")]:
        with pytest.raises(error, match=words):
            prompt_music.riffuse_to_file(out / "x.wav", ["a"], 5.0, model=str(tiny), video=out / "x.mp4",
                                         video_style=str(style))
    assert not list(out.iterdir())


@pytest.fixture(scope="module")
def tiny_xl(tmp_path_factory):
    return write_tiny_xl_pipeline(tmp_path_factory.mktemp("riffuse-xl") / "tiny-xl")


@pytest.fixture()
def no_loading(monkeypatch):
    forbid_loading(monkeypatch)


def test_an_sdxl_model_is_refused_before_it_loads(tiny_xl, tmp_path, no_loading):
    """SDXL's UNet takes extra conditioning riffuse does not give: told by the folder's UNet config, or by a
    checkpoint's tensor names (SDXL's two text encoders live under conditioner.embedders)."""
    import torch
    from safetensors.torch import save_file

    with pytest.raises(ValueError, match="not a Stable Diffusion 1.x/2.x pipeline"):
        riffuse(["a"], 5.0, model=str(tiny_xl))
    checkpoint = tmp_path / "xl.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1),
               "conditioner.embedders.0.transformer.text_model.embeddings.position_ids": torch.zeros(1)},
              str(checkpoint))
    with pytest.raises(ValueError, match="not a Stable Diffusion 1.x/2.x pipeline"):
        riffuse(["a"], 5.0, model=str(checkpoint))
    with pytest.raises(ValueError, match="not a Stable Diffusion 1.x/2.x pipeline"):
        prompt_music.riffuse_to_file(tmp_path / "x.wav", ["a"], 5.0, model=str(tiny_xl))
    assert not (tmp_path / "x.wav").exists()


def test_an_sdxl_model_from_the_hub_is_refused_once_loaded(tiny_xl, monkeypatch):
    """Offline nothing is known of a hub id before it loads: the check runs on what was loaded."""
    import diffusers

    xl = diffusers.StableDiffusionXLPipeline.from_pretrained(tiny_xl)
    monkeypatch.setattr(diffusers.AutoPipelineForText2Image, "from_pretrained", lambda *args, **kwargs: xl)
    with pytest.raises(ValueError, match="model 'someone/xl-model' is not a Stable Diffusion 1.x/2.x pipeline"):
        riffuse(["a"], 5.0, model="someone/xl-model")


def test_a_model_without_a_unet_is_refused_before_it_loads(tiny, tmp_path, no_loading):
    import json
    import shutil

    folder = tmp_path / "no-unet"
    shutil.copytree(tiny, folder)
    index = json.loads((folder / "model_index.json").read_text())
    del index["unet"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelFileError, match="no unet"):
        riffuse(["a"], 5.0, model=str(folder))
