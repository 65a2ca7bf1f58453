"""Diffusion styles on tiny random pipelines saved in diffusers' layout: no network, no download."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import probe
from diffusion_files import (
    forbid_loading,
    tiny_pipeline,
    write_hostile_folder,
    write_hub_config_cache,
    write_single_file_checkpoint,
    write_tiny_pipeline,
)

from lucidsonicdreams import DiffusionStyle, DownloadError, LucidSonicDream, ModelFileError, RenderOptions
from lucidsonicdreams.cli import main

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

PROMPTS = ["a red fox in snow", "blue ocean waves", "golden desert dunes"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return write_tiny_pipeline(tmp_path_factory.mktemp("diffusion") / "tiny-sd")


@pytest.fixture(scope="module")
def style(model):
    return DiffusionStyle(model, PROMPTS, device="cpu")


def render(song, style, path, **kwargs):
    settings = dict(fps=8, duration=1.5, resolution=32, seed=3, batch_size=4)
    settings.update(kwargs)
    return LucidSonicDream(song, style=style).hallucinate(path, **settings)


def saved_frames(video) -> np.ndarray:
    """The frames as generated (PNGs written beside the video by save_frames), before any encoding."""
    from PIL import Image

    folder = video.with_name(video.stem + "_frames")
    return np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))])


def test_prompts_are_the_classes_and_the_latent_is_the_noise(style):
    assert style.num_possible_classes == len(PROMPTS)
    # 4 latent channels at 1/8 of the model's 64 px; other sizes round up to a multiple of 8 and crop later.
    assert style.input_shape == 4 * 8 * 8
    assert style.input_shape_for(RenderOptions(size=(60, 36))) == 4 * 8 * 5
    assert style.generation_size(RenderOptions(size=(60, 36))) == (64, 40)


def test_a_render_has_every_frame_h264_and_aac(song, style, tmp_path):
    info = probe(render(song, style, tmp_path / "v.mp4", resolution=(48, 32)))
    assert len(info["frames"]) == 12 and (info["width"], info["height"]) == (48, 32)
    assert info["codec"] == "h264" and info["audio_codec"] == "aac"


def test_same_seed_same_video_other_prompts_other_frames(song, style, model, tmp_path):
    for name in ("a", "b"):
        render(song, style, tmp_path / f"{name}.mp4", save_frames=True)
    a = saved_frames(tmp_path / "a.mp4")
    assert np.array_equal(a, saved_frames(tmp_path / "b.mp4"))
    other = DiffusionStyle(model, ["a cathedral at night", "neon city rain"], device="cpu")
    render(song, other, tmp_path / "c.mp4", save_frames=True)
    # A random network listens to its prompts only a little; ignoring them would give exactly 0.
    assert np.abs(saved_frames(tmp_path / "c.mp4").astype(int) - a).mean() > 0.5


def test_still_over_silence_moving_with_music(song, silence, style, tmp_path):
    """Same noise and a deterministic sampler per frame: no flicker where the music does not move the vector."""
    render(silence, style, tmp_path / "s.mp4", speed_fpm=0, save_frames=True)
    still = saved_frames(tmp_path / "s.mp4")
    assert len(still) == 12 and all(np.array_equal(still[0], f) for f in still[1:])
    render(song, style, tmp_path / "m.mp4", speed_fpm=0, save_frames=True)
    moving = saved_frames(tmp_path / "m.mp4").astype(int)
    assert np.abs(np.diff(moving, axis=0)).mean() > 1


def test_the_pitches_weight_the_prompts(style):
    """One prompt's class vector gives that prompt's picture; mixing two gives something between them."""
    noise = np.random.default_rng(0).standard_normal((1, style.input_shape))
    options = RenderOptions()
    first, second = (style(noise, np.eye(3)[[i]], options).astype(int) for i in (0, 1))
    mixed = style(noise, np.array([[0.5, 0.5, 0.0]]), options).astype(int)
    assert np.abs(first - second).mean() > 0.5  # a random network listens to its prompts only a little
    assert np.abs(mixed - first).mean() < np.abs(second - first).mean()
    assert np.array_equal(style(noise, np.array([[2.0, 0, 0]]), options), first.astype(np.uint8))


def test_a_style_name_with_prompts(song, model, tmp_path):
    dream = LucidSonicDream(song, style=str(model), prompts=PROMPTS, device="cpu")
    assert dream.num_possible_classes == 3
    assert len(probe(dream.hallucinate(tmp_path / "v.mp4", fps=4, duration=0.5, seed=1))["frames"]) == 2


def test_a_pickled_weight_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "code-ran"
    folder = write_hostile_folder(tmp_path / "hostile", marker)
    with pytest.raises(ModelFileError, match="pickled weight file"):
        DiffusionStyle(folder, PROMPTS, device="cpu")
    assert not marker.exists()


def test_a_model_index_naming_other_code_is_refused(model, tmp_path):
    import json
    import shutil

    folder = tmp_path / "odd"
    shutil.copytree(model, folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["scheduler"] = ["os", "system"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelFileError, match="only diffusers and transformers"):
        DiffusionStyle(folder, PROMPTS, device="cpu")
    index["_class_name"] = ["pipeline.py", "MyPipeline"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelFileError, match="not a diffusers pipeline"):
        DiffusionStyle(folder, PROMPTS, device="cpu")


def test_a_pickled_single_file_checkpoint_is_refused(tmp_path):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not even read")
    with pytest.raises(ModelFileError, match="not a .safetensors file"):
        DiffusionStyle(ckpt, PROMPTS, device="cpu")


SD15_CONFIG = "stable-diffusion-v1-5/stable-diffusion-v1-5"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The tiny pipeline (the ``model`` folder's weights) as one file in the original layout."""
    folder = tmp_path_factory.mktemp("single-file")
    return write_single_file_checkpoint(folder / "tiny.safetensors", tiny_pipeline(folder / "build"))


@pytest.fixture()
def offline_hub(tmp_path, monkeypatch):
    """An offline Hugging Face cache in ``tmp_path``; the hub reads these at call time."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_a_single_file_checkpoint_gives_the_same_pictures_as_its_folder(style, model, checkpoint, offline_hub):
    """A checkpoint in the original layout (as model sites share them), with the configuration diffusers fetched
    once from the hub already cached: it loads offline and draws exactly what the diffusers folder draws."""
    write_hub_config_cache(offline_hub, SD15_CONFIG, model)
    single = DiffusionStyle(checkpoint, PROMPTS, device="cpu")
    assert single.num_possible_classes == 3 and single.input_shape == style.input_shape
    noise = np.random.default_rng(1).standard_normal((2, style.input_shape))
    classes = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    assert np.array_equal(single(noise, classes, RenderOptions()), style(noise, classes, RenderOptions()))


def test_a_single_file_checkpoint_on_the_command_line(song, model, checkpoint, offline_hub, tmp_path, capsys):
    write_hub_config_cache(offline_hub, SD15_CONFIG, model)
    out = tmp_path / "single.mp4"
    assert main(["render", str(song), "-o", str(out), "--style", str(checkpoint), "--prompt", "a red fox",
                 "--fps", "4", "--duration", "1", "--resolution", "32", "--device", "cpu"]) == 0
    assert len(probe(out)["frames"]) == 4
    # Without prompts it is named as a diffusion checkpoint, not read as a StyleGAN pickle.
    assert main(["render", str(song), "-o", str(tmp_path / "none.mp4"), "--style", str(checkpoint)]) == 2
    assert "is a .safetensors checkpoint: a diffusion model needs prompts" in capsys.readouterr().err
    assert not (tmp_path / "none.mp4").exists()


def test_a_single_file_checkpoint_without_its_configuration_says_what_to_do(checkpoint, offline_hub):
    with pytest.raises(DownloadError, match=rf"from the Hugging Face hub \({SD15_CONFIG}\).*Connect once"):
        DiffusionStyle(checkpoint, PROMPTS, device="cpu")


def test_a_safetensors_file_that_is_not_a_stable_diffusion_checkpoint_is_named(offline_hub, tmp_path):
    import torch
    from safetensors.torch import save_file

    save_file({"mapping.fc0.weight": torch.zeros(4, 4)}, str(tmp_path / "stylegan.safetensors"))
    with pytest.raises(ModelFileError, match="not a Stable Diffusion checkpoint"):
        DiffusionStyle(tmp_path / "stylegan.safetensors", PROMPTS, device="cpu")


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(prompts=[]), TypeError, "non-empty list"),
    (dict(prompts=["ok", " "]), ValueError, "non-empty string"),
    (dict(prompts=["ok"], steps=0), ValueError, "steps"),
    (dict(prompts=["ok"], guidance_scale=-1), ValueError, "guidance_scale"),
    (dict(prompts=["ok"], negative_prompt=3), TypeError, "negative_prompt"),
])
def test_bad_settings_are_named_before_loading(model, kwargs, error, words):
    with pytest.raises(error, match=words):
        DiffusionStyle(model, **kwargs)


def test_bad_models_are_named(song, tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a catalog name"):
        DiffusionStyle("no such model", PROMPTS)
    with pytest.raises(ValueError, match="not a diffusion model"):
        DiffusionStyle("wikiart", PROMPTS)
    with pytest.raises(ValueError, match="needs prompts"):
        LucidSonicDream(song, style="sd-turbo")
    with pytest.raises(ValueError, match="prompts are for diffusion styles"):
        LucidSonicDream(song, style="cppn", prompts=PROMPTS)
    with pytest.raises(ModelFileError, match="no model_index.json"):
        DiffusionStyle(tmp_path, PROMPTS)


def test_the_command_line_checks_every_flag_before_loading_the_model(song, model, tmp_path, capsys, monkeypatch):
    import lucidsonicdreams.style.diffusion as diffusion

    monkeypatch.setattr(diffusion, "load_pipeline", lambda *a, **k: pytest.fail("the model was loaded"))
    common = ["render", str(song), "--style", str(model), "--prompt", "a fox"]
    assert main([*common, "--fps", "0"]) == 2
    assert "fps" in capsys.readouterr().err
    assert main([*common, "--pulse-audio", str(tmp_path / "missing.wav")]) == 2
    assert "pulse_audio" in capsys.readouterr().err
    assert main([*common, "-o", str(tmp_path / "no" / "such" / "folder.mp4")]) == 2
    assert main([*common, "--plot-signals", str(tmp_path / "no" / "plot.png")]) == 2
    assert "--plot-signals" in capsys.readouterr().err


def test_the_command_line(song, model, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    code = main(["render", str(song), "-o", str(out), "--style", str(model), "--prompt", "a red fox",
                 "--prompt", "the sea", "--negative-prompt", "blurry", "--steps", "2", "--guidance-scale", "3",
                 "--fps", "4", "--duration", "1", "--resolution", "40x24", "--device", "cpu", "--seed", "2"])
    assert code == 0, capsys.readouterr().err
    info = probe(out)
    assert len(info["frames"]) == 4 and (info["width"], info["height"]) == (40, 24)
    assert main(["render", str(song), "--steps", "2"]) == 2
    assert "--steps is for diffusion styles" in capsys.readouterr().err
    assert main(["render", str(song), "--style", "sd-turbo"]) == 2
    assert "needs prompts" in capsys.readouterr().err


def test_a_pickled_diffusion_style_is_its_recipe_not_its_weights(model, song, tmp_path):
    """A render plan that holds a DiffusionStyle (the command line's --steps/--negative-prompt path) travels as the
    style's recipe; the other side loads the model and draws the same frames."""
    import pickle

    from lucidsonicdreams import render_window

    style = DiffusionStyle(model, ["a forest", "the sea"], steps=2, negative_prompt="fog", guidance_scale=2.0,
                           device="cpu")
    assert len(pickle.dumps(style)) < 2000
    copy = pickle.loads(pickle.dumps(style))
    assert (copy.prompts, copy.steps, copy.negative_prompt, copy.guidance_scale) == (style.prompts, 2, "fog", 2.0)
    plan = LucidSonicDream(song, style=style).plan(tmp_path / "v.mp4", fps=4, duration=0.5, seed=3)
    frames = [{}, {}]
    render_window(plan, 0, plan.n_frames, lambda i, f: frames[0].__setitem__(i, f))
    render_window(pickle.loads(pickle.dumps(plan)), 0, plan.n_frames, lambda i, f: frames[1].__setitem__(i, f))
    for i in frames[0]:
        np.testing.assert_array_equal(frames[0][i], frames[1][i])


def test_a_pipeline_object_of_your_own(tmp_path):
    from diffusion_files import tiny_pipeline

    style = DiffusionStyle(tiny_pipeline(tmp_path), ["one", "two"], device="cpu")
    options = RenderOptions(size=(16, 16))
    noise = np.zeros((2, style.input_shape_for(options)))
    assert style(noise, np.eye(2), options).shape == (2, 16, 16, 3)


def test_a_pipeline_of_your_own_keeps_its_stochastic_scheduler(tmp_path):
    """The style draws with a deterministic sampler, but never by changing the pipeline it was given."""
    from diffusers import EulerAncestralDiscreteScheduler
    from diffusion_files import tiny_pipeline

    pipe = tiny_pipeline(tmp_path)
    pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    mine = pipe.scheduler
    style = DiffusionStyle(pipe, ["one", "two"], device="cpu")
    assert pipe.scheduler is mine
    assert type(style.pipe.scheduler).__name__ == "EulerDiscreteScheduler" and style.pipe.unet is pipe.unet
    options = RenderOptions(size=(16, 16))
    noise = np.random.default_rng(0).standard_normal((2, style.input_shape_for(options)))
    np.testing.assert_array_equal(style(noise, np.eye(2), options), style(noise, np.eye(2), options))


def test_an_sdxl_folder_with_and_without_guidance(song, tmp_path):
    """SDXL's layout (sdxl-turbo): two text encoders whose pooled embeddings are mixed by the pitches too."""
    from diffusion_files import write_tiny_xl_pipeline

    folder = write_tiny_xl_pipeline(tmp_path / "xl")
    for guidance in (0.0, 2.0):
        style = DiffusionStyle(folder, ["a", "b c"], device="cpu", guidance_scale=guidance, negative_prompt="x")
        assert type(style.pipe).__name__ == "StableDiffusionXLPipeline"
        info = probe(render(song, style, tmp_path / f"xl{guidance}.mp4", duration=0.5, resolution=(48, 40)))
        assert len(info["frames"]) == 4 and (info["width"], info["height"]) == (48, 40)


def test_a_hub_model_without_network_is_a_clear_download_error(tmp_path):
    """Offline (as here), a hub id fails with the id and what to do; run apart, as the hub reads its settings
    once at import."""
    import os
    import subprocess
    import sys

    code = ("from lucidsonicdreams import DiffusionStyle, DownloadError\n"
            "try:\n    DiffusionStyle('sd-turbo', ['a'], device='cpu')\n"
            "except DownloadError as exc:\n    print('DownloadError:', exc)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300).stdout
    assert "DownloadError: could not get the diffusion model 'stabilityai/sd-turbo'" in out
    assert "download the model folder and give its path" in out


@pytest.fixture()
def no_loading(monkeypatch):
    forbid_loading(monkeypatch)


@pytest.mark.parametrize("component", [None, [None, None]])
def test_a_folder_without_a_unet_is_refused_before_it_loads(song, model, tmp_path, no_loading, component):
    """A pipeline whose model_index.json lists no UNet (SD3, Flux: a transformer) cannot be driven."""
    import json
    import shutil

    folder = tmp_path / "no-unet"
    shutil.copytree(model, folder)
    index = json.loads((folder / "model_index.json").read_text())
    if component is None:
        del index["unet"]
    else:
        index["unet"] = component
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelFileError, match="no unet"):
        DiffusionStyle(folder, PROMPTS, device="cpu")
    with pytest.raises(ModelFileError, match="no unet"):
        LucidSonicDream(song, style=folder, prompts=PROMPTS, device="cpu")


def test_a_hub_pipeline_without_a_unet_is_refused_once_loaded(monkeypatch):
    """Offline nothing is known of a hub id before it loads: the check runs on what was loaded."""
    import diffusers

    class TransformerPipeline:  # as SD3 or Flux: a transformer where Stable Diffusion has its UNet
        transformer = vae = scheduler = object()

    monkeypatch.setattr(diffusers.AutoPipelineForText2Image, "from_pretrained",
                        lambda *args, **kwargs: TransformerPipeline())
    with pytest.raises(ModelFileError, match="'someone/transformer-model' loaded as TransformerPipeline, which has "
                                             "no unet component"):
        DiffusionStyle("someone/transformer-model", PROMPTS, device="cpu")
