"""Images that Sound on tiny random models: the joint sampler equals diffusers' own StableDiffusionPipeline where
one model has all the weight, the two models are interchangeable, the same seed gives the same bytes, the
vocoder is used, and bad input is refused before any model loads. Nothing is downloaded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from canvas_files import VOCODER_CONFIG, write_audio_model, write_image_model, write_vocoder
from conftest import probe
from diffusion_files import Payload

import lucidsonicdreams
from lucidsonicdreams.canvas import denoise, generate, models
from lucidsonicdreams.canvas.denoise import SCHEDULER_CONFIG, initial_latents
from lucidsonicdreams.canvas.result import with_playhead
from lucidsonicdreams.cli import main
from lucidsonicdreams.errors import ModelFileError

pytest.importorskip("diffusers")

WIDTH, HEIGHT, STEPS = 128, 256, 4


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("canvas-models")
    image = write_image_model(root / "image")
    audio = write_audio_model(root / "audio", vae_from=image)
    return {"image": image, "audio": audio, "cache": root / "cache"}


@pytest.fixture(autouse=True)
def cache(folders, monkeypatch):
    monkeypatch.setenv("LUCIDSONICDREAMS_CACHE", str(folders["cache"]))


def make(folders, **kwargs):
    settings = {"image_model": folders["image"], "audio_model": folders["audio"], "steps": STEPS, "seed": 3,
                "width": WIDTH, "height": HEIGHT, "progress": lambda *a: None, "device": "cpu", "image_start_step": 1,
                **kwargs}
    return lucidsonicdreams.images_that_sound("a castle with bell towers", "bells ringing", **settings)


def pipeline_latents(folder, prompt, seed, guidance):
    """What diffusers' own StableDiffusionPipeline makes from the same start, DDIM sampler and guidance."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler(**SCHEDULER_CONFIG)
    pipe.set_progress_bar_config(disable=True)
    return pipe(prompt, negative_prompt="", height=HEIGHT, width=WIDTH, num_inference_steps=STEPS,
                guidance_scale=guidance, eta=0.0, latents=initial_latents(seed, HEIGHT, WIDTH),
                output_type="latent").images


def test_the_image_model_alone_is_stable_diffusions_own_pipeline(folders):
    ours = make(folders, audio_weight=0, image_start_step=0, image_guidance=7.0)
    theirs = pipeline_latents(folders["image"], "a castle with bell towers", 3, 7.0)
    assert torch.equal(ours.latents, theirs)


def test_the_audio_model_alone_is_its_own_pipeline(folders):
    ours = make(folders, audio_weight=1, audio_guidance=5.0, image_start_step=2)
    theirs = pipeline_latents(folders["audio"], "bells ringing", 3, 5.0)
    assert torch.equal(ours.latents, theirs)


def test_swapping_the_models_and_the_weight_changes_nothing(folders):
    ours = make(folders, audio_weight=0.25, image_start_step=0, image_guidance=6.0, audio_guidance=9.0)
    swapped = lucidsonicdreams.images_that_sound(
        "bells ringing", "a castle with bell towers", image_model=folders["audio"], audio_model=folders["image"],
        audio_weight=0.75, image_start_step=0, image_guidance=9.0, audio_guidance=6.0, steps=STEPS, seed=3,
        width=WIDTH, height=HEIGHT, progress=lambda *a: None, device="cpu")
    assert torch.equal(ours.latents, swapped.latents)
    assert swapped.vocoder == "griffin-lim"  # the image model has no vocoder


def test_the_image_model_joins_at_its_step(folders, monkeypatch):
    calls = []
    real = models.Denoiser.guided_noise

    def counted(self, *args):
        calls.append(self.name)
        return real(self, *args)

    monkeypatch.setattr(models.Denoiser, "guided_noise", counted)
    make(folders, steps=3, image_start_step=2, audio_weight=0.5)
    assert calls.count(str(folders["image"])) == 1 and calls.count(str(folders["audio"])) == 3
    assert calls[:2] == [str(folders["audio"])] * 2


@pytest.fixture(scope="module")
def canvas(folders):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LUCIDSONICDREAMS_CACHE", str(folders["cache"]))
        return make(folders)


def test_the_same_seed_gives_the_same_bytes_and_candidates_follow_the_seed(folders, canvas):
    pair = make(folders, num_images=2)
    assert [c.seed for c in pair] == [3, 4]
    assert pair[0].image.tobytes() == canvas.image.tobytes() and pair[0].audio.tobytes() == canvas.audio.tobytes()
    alone = make(folders, seed=4)
    assert alone.image.tobytes() == pair[1].image.tobytes() and alone.audio.tobytes() == pair[1].audio.tobytes()
    assert pair[0].image.tobytes() != pair[1].image.tobytes()


def test_the_canvas_reads_as_a_picture_and_a_sound(folders, canvas):
    assert canvas.image.size == (WIDTH, HEIGHT) and canvas.image.mode == "RGB"
    assert canvas.spectrogram.size == (WIDTH, HEIGHT)
    assert canvas.vocoder == "hifigan" and canvas.sample_rate == 16000
    assert canvas.audio.dtype == np.float32 and len(canvas.audio) == WIDTH * 160
    assert np.all(np.isfinite(canvas.audio)) and np.abs(canvas.audio).max() > 0
    # The sound is the audio model's own vocoder on the spectrogram reading of the canvas.
    from lucidsonicdreams.models.hifigan import load_vocoder
    from lucidsonicdreams.spectrogram import auffusion

    audio_vae = make_vae(folders["audio"])
    pixels = (audio_vae.decode(canvas.latents / audio_vae.config.scaling_factor).sample[0] / 2 + 0.5).clamp(0, 1)
    mel = torch.from_numpy(auffusion.image_to_log_mel(pixels.detach().numpy()))[None]
    expected = load_vocoder(folders["audio"] / "vocoder")(mel)[0].detach().numpy()
    np.testing.assert_allclose(canvas.audio, expected, atol=1e-6)


def make_vae(folder):
    from diffusers import AutoencoderKL

    return AutoencoderKL.from_pretrained(folder, subfolder="vae")


def test_an_audio_model_without_a_vocoder_is_heard_through_griffin_lim(folders, tmp_path):
    bare = write_audio_model(tmp_path / "bare", vae_from=folders["image"], vocoder=False)
    canvas = make(folders, audio_model=bare)
    assert canvas.vocoder == "griffin-lim" and len(canvas.audio) == WIDTH * 160


@pytest.fixture
def no_loading(monkeypatch):
    """Any model load fails the test: what is refused here was refused from the arguments and files alone."""
    def never(*args, **kwargs):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(models, "_load_folder", never)
    monkeypatch.setattr(models, "load_pipeline", never)


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"image_prompt": ""}, ValueError, "image_prompt"),
    ({"audio_prompt": "  "}, ValueError, "audio_prompt"),
    ({"width": 1020}, ValueError, "multiple of 8"),
    ({"height": 260}, ValueError, "multiple of 8"),
    ({"height": 512}, ValueError, "height=256"),
    ({"steps": 0}, ValueError, "steps"),
    ({"audio_weight": 1.5}, ValueError, "audio_weight"),
    ({"audio_weight": -0.1}, ValueError, "audio_weight"),
    ({"image_start_step": 4}, ValueError, "image_start_step"),
    ({"num_images": 0}, ValueError, "num_images"),
    ({"negative_image_prompt": 3}, TypeError, "negative_image_prompt"),
])
def test_bad_arguments_are_refused_before_any_model_loads(folders, no_loading, kwargs, error, words):
    prompts = {"image_prompt": "a castle", "audio_prompt": "bells"}
    prompts.update({k: kwargs.pop(k) for k in list(kwargs) if k in prompts})
    kwargs = {"steps": STEPS, "image_start_step": 1, **kwargs}
    with pytest.raises(error, match=words):
        lucidsonicdreams.images_that_sound(prompts["image_prompt"], prompts["audio_prompt"],
                                           image_model=folders["image"], audio_model=folders["audio"], **kwargs)


def test_a_ckpt_file_is_refused(folders, no_loading, tmp_path):
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"not loaded")
    with pytest.raises(ModelFileError, match="pickled checkpoint"):
        make(folders, image_model=checkpoint)


def test_a_hostile_bin_runs_nothing(folders, no_loading, tmp_path):
    import pickle

    hostile = write_audio_model(tmp_path / "hostile", vae_from=folders["image"])
    marker = tmp_path / "ran"
    (hostile / "unet" / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ModelFileError):
        make(folders, audio_model=hostile)
    assert not marker.exists()


def test_a_hostile_vocoder_runs_nothing(folders, no_loading, tmp_path):
    import pickle

    hostile = write_audio_model(tmp_path / "hostile", vae_from=folders["image"])
    marker = tmp_path / "ran"
    (hostile / "vocoder" / "vocoder.pt").write_bytes(pickle.dumps({"generator": Payload(marker)}))
    with pytest.raises(ModelFileError):
        make(folders, audio_model=hostile)
    assert not marker.exists()


def test_a_folder_that_is_not_a_model_is_refused(folders, no_loading, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="unet"):
        make(folders, audio_model=tmp_path / "empty")


def test_a_vocoder_for_other_mel_bands_is_refused(folders, tmp_path):
    odd = write_audio_model(tmp_path / "odd", vae_from=folders["image"], vocoder=False)
    write_vocoder(odd / "vocoder", config={**VOCODER_CONFIG, "num_mels": 128})
    with pytest.raises(ValueError, match="128 mel bands"):
        make(folders, audio_model=odd)


def test_the_hub_listing_picks_safetensors_or_else_the_pickles():
    sd15 = ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
            "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.safetensors",
            "unet/diffusion_pytorch_model.non_ema.bin", "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
            "text_encoder/config.json", "text_encoder/model.safetensors", "text_encoder/pytorch_model.bin",
            "tokenizer/vocab.json", "tokenizer/merges.txt", "safety_checker/model.safetensors",
            "v1-5-pruned.ckpt", "scheduler/scheduler_config.json"]
    assert models.wanted_files(sd15) == sorted([
        "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors", "text_encoder/config.json", "text_encoder/model.safetensors",
        "tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json"])
    auffusion = ["unet/config.json", "unet/diffusion_pytorch_model.bin", "text_encoder/pytorch_model.bin",
                 "vae/diffusion_pytorch_model.bin", "vocoder/config.json", "vocoder/vocoder.pt"]
    assert set(models.wanted_files(auffusion)) == set(auffusion)


def test_the_playhead_sweeps_from_left_to_right():
    picture = np.full((8, 100, 3), 128, np.uint8)
    columns = [int(np.argmax((with_playhead(picture, p) == 255).all(axis=(0, 2)))) for p in (0.0, 0.5, 0.99)]
    assert columns[0] == 0 and 48 <= columns[1] <= 50 and columns[2] >= 97


def test_the_command_line_writes_numbered_pictures_sounds_and_videos(folders, tmp_path, capsys):
    out = tmp_path / "castle.png"
    code = main(["images-that-sound", "--image-prompt", "a castle", "--audio-prompt", "bells", "-o", str(out),
                 "--audio", str(tmp_path / "castle.wav"), "--video", str(tmp_path / "castle.mp4"),
                 "--num-images", "2", "--steps", "2", "--image-start-step", "1", "--width", str(WIDTH), "--seed", "5",
                 "--image-model", str(folders["image"]), "--audio-model", str(folders["audio"]), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    for i in (1, 2):
        assert (tmp_path / f"castle-{i}.png").is_file() and (tmp_path / f"castle-{i}.wav").is_file()
    info = probe(tmp_path / "castle-2.mp4")
    assert info["codec"] == "h264" and info["audio_codec"] == "aac"
    assert (info["width"], info["height"]) == (WIDTH, HEIGHT)
    assert abs(info["audio_seconds"] - WIDTH * 160 / 16000) < 0.05
    assert "seed 6" in capsys.readouterr().out


def test_the_command_line_refuses_a_missing_output_folder_before_loading(folders, no_loading, tmp_path, capsys):
    code = main(["images-that-sound", "--image-prompt", "a castle", "--audio-prompt", "bells",
                 "-o", str(tmp_path / "missing" / "castle.png"), "--image-model", str(folders["image"]),
                 "--audio-model", str(folders["audio"])])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_the_scheduler_is_sd15s_ddim():
    scheduler = denoise.ddim_scheduler()
    scheduler.set_timesteps(100)
    assert type(scheduler).__name__ == "DDIMScheduler" and int(scheduler.timesteps[0]) == 991
    assert generate.images_that_sound.__kwdefaults__["steps"] == 100


def test_a_tokenizer_kept_beside_the_text_encoder_is_found(folders, tmp_path):
    import shutil

    moved = write_audio_model(tmp_path / "adapter-layout", vae_from=folders["image"])
    for file in (moved / "tokenizer").iterdir():
        shutil.move(str(file), moved / "text_encoder" / file.name)
    (moved / "tokenizer").rmdir()
    model = models.prepare_model("audio_model", models.check_model("audio_model", moved))
    denoiser = models.load_denoiser(model, torch.device("cpu"), torch.float32)
    assert denoiser.embed("bells", "").shape[:2] == (2, 77) and denoiser.vocoder is not None
