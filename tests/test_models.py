"""load_network and StyleGAN styles end to end: fixture files in the real layouts, the cache, the renderer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import probe
from stylegan_files import tf_generator_variables, write_pytorch_pickle, write_tf_pickle

from lucidsonicdreams import LucidSonicDream, ModelFileError, load_network
from lucidsonicdreams.models import stylegan2, stylegan3

SG2_KWARGS = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
              "mapping_kwargs": {"num_layers": 2}, "channel_base": 256, "channel_max": 16}
SG3_KWARGS = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
              "mapping_kwargs": {"num_layers": 2}, "channel_base": 512, "channel_max": 16, "num_layers": 4,
              "num_critical": 1, "margin_size": 2}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LUCIDSONICDREAMS_CACHE", str(folder))
    return folder


def randomized(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give every learned value a non-trivial setting (default inits leave biases and w_avg at zero)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if name.endswith(("resample_filter", "up_filter", "down_filter", "freqs", "phases", "transform")):
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            tensor.copy_(0.5 + noise.abs() if name.endswith("magnitude_ema") else 0.3 * noise
                         if name.endswith(("bias", "noise_strength", "w_avg")) else noise)
    return module.eval()


def pytorch_file(path, arch: str, randomize: bool = True, **overrides):
    """A fixture file; ``randomize=False`` keeps the networks' own (trained-like, unsaturated) initialisation."""
    kwargs = {**(SG2_KWARGS if arch == "stylegan2" else SG3_KWARGS), **overrides}
    module = (stylegan2 if arch == "stylegan2" else stylegan3).Generator(**kwargs).eval()
    if randomize:
        randomized(module, seed=len(overrides))
    write_pytorch_pickle(path, arch, kwargs, module.state_dict())
    return module


def tf_file(path, label_size: int = 0):
    static = {"latent_size": 16, "dlatent_size": 16, "label_size": label_size, "resolution": 16, "num_channels": 3,
              "fmap_base": 128, "fmap_max": 16, "mapping_layers": 2}
    write_tf_pickle(path, static, tf_generator_variables(static, np.random.default_rng(0)))
    return path


@pytest.mark.parametrize("arch, overrides", [
    ("stylegan2", {}), ("stylegan2", {"c_dim": 5}), ("stylegan2", {"architecture": "resnet"}),
    ("stylegan3", {}), ("stylegan3", {"c_dim": 5}),
    ("stylegan3", {"conv_kernel": 1, "use_radial_filters": True}),
])
def test_pytorch_files_load_and_reproduce_the_network(tmp_path, arch, overrides):
    original = pytorch_file(tmp_path / "g.pkl", arch, **overrides)
    loaded = load_network(tmp_path / "g.pkl", device="cpu")
    assert (loaded.z_dim, loaded.c_dim, loaded.img_resolution, loaded.img_channels) == (
        16, overrides.get("c_dim", 0), 16, 3)
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(1))
    c = torch.eye(5)[:3] if overrides.get("c_dim") else None
    with torch.no_grad():
        expected = original(z, c, truncation_psi=0.7, noise_mode="const")
        got = loaded(z, c, truncation_psi=0.7, noise_mode="const")
    assert got.shape == (3, 3, 16, 16) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("label_size", [0, 4])
def test_tensorflow_files_load_and_truncate_to_w_avg(tmp_path, label_size):
    G = load_network(tf_file(tmp_path / "tf.pkl", label_size), device="cpu")
    assert (G.z_dim, G.c_dim, G.w_dim, G.img_resolution) == (16, label_size, 16, 16)
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(2))
    c = torch.eye(4) if label_size else None
    with torch.no_grad():
        images = G(z, c, truncation_psi=0, noise_mode="const")
        varied = G(z, c, truncation_psi=1, noise_mode="const")
        again = G(z, c, truncation_psi=1, noise_mode="const")
        ws = G.mapping(z, c)
        via_w = G.synthesis(ws, noise_mode="const")
    assert torch.allclose(images, images[:1].expand_as(images), atol=1e-5)  # every z gives the w_avg image
    assert (varied - varied[:1]).abs().max() > 1e-3
    assert torch.equal(varied, again)
    assert ws.shape == (4, G.num_ws, 16)
    torch.testing.assert_close(via_w, varied)


def test_the_second_load_reads_only_the_cache(tmp_path, cache, monkeypatch):
    import lucidsonicdreams.models.loader as loader

    tf_file(tmp_path / "tf.pkl")
    first = load_network(tmp_path / "tf.pkl", device="cpu")
    entries = list((cache / "converted").iterdir())
    assert len(entries) == 1 and sorted(p.name for p in entries[0].iterdir()) == ["config.json", "model.safetensors"]
    monkeypatch.setattr(loader, "read_pickle", lambda path: pytest.fail("the pickle was read again"))
    second = load_network(tmp_path / "tf.pkl", device="cpu")
    z = torch.randn(2, 16)
    with torch.no_grad():
        assert torch.equal(first(z, None), second(z, None))
    renamed = tmp_path / "same content.pkl"
    renamed.write_bytes((tmp_path / "tf.pkl").read_bytes())
    load_network(renamed, device="cpu")  # same content hash: no unpickling either


def test_a_damaged_cache_entry_is_rebuilt(tmp_path, cache):
    tf_file(tmp_path / "tf.pkl")
    load_network(tmp_path / "tf.pkl", device="cpu")
    weights = next((cache / "converted").iterdir()) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    G = load_network(tmp_path / "tf.pkl", device="cpu")
    assert G.z_dim == 16 and weights.stat().st_size > 100


def test_missing_and_junk_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        load_network(tmp_path / "nope.pkl")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x04K\x05.")  # a pickled int
    with pytest.raises(ModelFileError, match="junk.pkl"):
        load_network(junk)
    assert not list((tmp_path / "cache").glob("converted/*"))


def test_render_with_a_stylegan_file(song, tmp_path):
    pytorch_file(tmp_path / "g.pkl", "stylegan2", randomize=False)
    dream = LucidSonicDream(song, style=str(tmp_path / "g.pkl"))
    assert (dream.input_shape, dream.num_possible_classes) == (16, 0)
    path = dream.hallucinate(tmp_path / "v.mp4", fps=10, duration=1.5, batch_size=4, seed=1)
    info = probe(path)
    assert len(info["frames"]) == 15 and (info["width"], info["height"]) == (16, 16)
    assert np.std([f.mean() for f in info["frames"]]) > 0.5  # the music moves the image


def test_truncation_psi_zero_gives_one_image_for_the_whole_song(song, tmp_path):
    pytorch_file(tmp_path / "g.pkl", "stylegan2", randomize=False, use_noise=False)
    frames = probe(LucidSonicDream(song, style=tmp_path / "g.pkl").hallucinate(
        tmp_path / "v.mp4", fps=10, duration=1, seed=1, truncation_psi=0))["frames"]
    assert max(np.abs(f.astype(int) - frames[0]).max() for f in frames) <= 2  # x264 rounding only


def test_classes_drive_conditional_models_only(song, tmp_path):
    def render(kind, classes, name):
        return np.array(probe(LucidSonicDream(song, style=tmp_path / f"{kind}.pkl").hallucinate(
            tmp_path / name, fps=10, duration=1, seed=1, classes=classes))["frames"], dtype=int)

    pytorch_file(tmp_path / "cond.pkl", "stylegan2", randomize=False, c_dim=5)
    pytorch_file(tmp_path / "uncond.pkl", "stylegan2", randomize=False)
    assert np.abs(render("cond", [0, 1], "a.mp4") - render("cond", [3, 4], "b.mp4")).mean() > 1
    assert np.array_equal(render("uncond", [0, 1], "c.mp4"), render("uncond", [3, 4], "d.mp4"))


def test_a_bad_model_file_is_reported_when_the_dream_is_made(song, tmp_path):
    bad = tmp_path / "model.pkl"
    bad.write_bytes(b"not a pickle at all")
    with pytest.raises(ModelFileError, match="model.pkl"):
        LucidSonicDream(song, style=str(bad))
