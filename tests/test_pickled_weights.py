"""Pickled weight files read as data, and model folders mirrored as safetensors: what diffusers and transformers
load from the mirror equals what was saved, the mirror is built once, and a file that asks to run code is refused
with nothing run."""

from __future__ import annotations

import builtins
import json
import os
import pickle
import subprocess
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from stylegan_files import Call, marker_source

from lucidsonicdreams.errors import ModelFileError
from lucidsonicdreams.models.weights import read_pickled_weights, safe_folder, safetensors_name

HOSTILE = {
    "os.system": lambda marker: Call(os.system, f"touch {marker}"),
    "builtins.exec": lambda marker: Call(builtins.exec, marker_source(marker)),
    "subprocess.Popen": lambda marker: Call(subprocess.Popen, ["touch", str(marker)]),
}


def write_zip(path: Path, obj) -> Path:
    torch.save(obj, path)
    return path


def write_raw_pickle(path: Path, obj) -> Path:
    """A bare protocol-2 pickle stream, as old ``.bin`` files and hand-made hostile ones are."""
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def write_legacy(path: Path, obj) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    return path


WRITERS = {"zip": write_zip, "raw-pickle": write_raw_pickle}


@pytest.fixture(autouse=True)
def cache(model_cache) -> Path:
    return model_cache


def state(seed: int = 0) -> OrderedDict:
    generator = torch.Generator().manual_seed(seed)
    return OrderedDict([("a.weight", torch.randn(3, 4, generator=generator)),
                        ("a.bias", torch.randn(3, generator=generator).half()),
                        ("b.steps", torch.tensor(7))])


# --------------------------------------------------------------------------------------------------------------------
# read_pickled_weights


@pytest.mark.parametrize("writer", [write_zip, write_legacy], ids=["zip", "legacy"])
def test_reads_state_dicts_in_both_torch_formats(tmp_path, writer):
    expected = state()
    got = read_pickled_weights(writer(tmp_path / "w.bin", expected))
    assert list(got) == list(expected)
    for name, tensor in expected.items():
        assert got[name].dtype == tensor.dtype and torch.equal(got[name], tensor), name


def test_entry_picks_the_nested_state_dict(tmp_path):
    path = write_zip(tmp_path / "vocoder.pt", {"generator": state(), "steps": 10})
    assert list(read_pickled_weights(path, entry="generator")) == ["a.weight", "a.bias", "b.steps"]
    with pytest.raises(ModelFileError, match=r"no 'discriminator' entry \(it holds \['generator', 'steps'\]\)"):
        read_pickled_weights(path, entry="discriminator")
    with pytest.raises(ModelFileError, match="entry 'generator' has type OrderedDict"):
        read_pickled_weights(path)


@pytest.mark.parametrize("obj", [[torch.zeros(1)], {"a": [torch.zeros(1)]}, {1: torch.zeros(1)}],
                         ids=["list", "nested-list", "int-key"])
def test_anything_but_named_tensors_is_refused(tmp_path, obj):
    with pytest.raises(ModelFileError, match="not a state dict of named tensors"):
        read_pickled_weights(write_zip(tmp_path / "w.bin", obj))


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("func", sorted(HOSTILE))
def test_code_running_file_is_refused(tmp_path, marker, func, writer):
    path = WRITERS[writer](tmp_path / "pytorch_model.bin", {"weight": HOSTILE[func](marker)})
    with pytest.raises(ModelFileError, match=r"pytorch_model\.bin asks to run code \(\S+\)") as info:
        read_pickled_weights(path)
    assert "was not loaded" in str(info.value)


def test_ckpt_is_refused_before_reading(tmp_path, monkeypatch):
    path = write_zip(tmp_path / "model.ckpt", {"state_dict": state()})
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a .ckpt was read"))
    with pytest.raises(ModelFileError, match=r"\.ckpt.*convert it to \.safetensors"):
        read_pickled_weights(path)


@pytest.mark.parametrize("content", [b"", b"hello world", b"PK\x03\x04 not really a zip"])
def test_damaged_files(tmp_path, content):
    path = tmp_path / "w.bin"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="damaged or not a torch weight file"):
        read_pickled_weights(path)


def test_truncated_file(tmp_path):
    path = write_zip(tmp_path / "w.bin", state())
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ModelFileError, match="damaged or not a torch weight file"):
        read_pickled_weights(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_pickled_weights(tmp_path / "nothing.bin")


# --------------------------------------------------------------------------------------------------------------------
# safe_folder


def tiny_unet(seed: int = 0):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=32,
    )


def tiny_text_encoder(seed: int = 0):
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    return CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, vocab_size=99, max_position_embeddings=77, projection_dim=32,
    ))


def write_pickled_model(folder: Path, *, unet_shard_size: str | None = None) -> Path:
    """An Auffusion-like folder with pickled weights: ``unet/diffusion_pytorch_model.bin`` (diffusers'
    ``safe_serialization=False``), ``text_encoder/pytorch_model.bin`` (transformers before v5 wrote it this way;
    v5 writes only safetensors, so the state dict is saved by hand), plus files that are linked as they are."""
    unet_kwargs = {"max_shard_size": unet_shard_size} if unet_shard_size else {}
    tiny_unet().save_pretrained(folder / "unet", safe_serialization=False, **unet_kwargs)
    encoder = tiny_text_encoder()
    encoder.config.save_pretrained(folder / "text_encoder")
    torch.save(encoder.state_dict(), folder / "text_encoder" / "pytorch_model.bin")
    (folder / "tokenizer").mkdir()
    (folder / "tokenizer" / "vocab.json").write_text('{"a": 0}')
    (folder / "vocoder").mkdir()
    (folder / "vocoder" / "config.json").write_text('{"num_mels": 256}')
    torch.save({"generator": state()}, folder / "vocoder" / "vocoder.pt")
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    return folder


def assert_same_weights(got: torch.nn.Module, expected: torch.nn.Module) -> None:
    got_state, expected_state = got.state_dict(), expected.state_dict()
    assert sorted(got_state) == sorted(expected_state)
    for name, tensor in expected_state.items():
        assert torch.equal(got_state[name], tensor), name


@pytest.mark.parametrize("unet_shard_size", [None, "100KB"], ids=["single", "sharded"])
def test_mirror_loads_with_safetensors_only(tmp_path, cache, unet_shard_size):
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    source = write_pickled_model(tmp_path / "model", unet_shard_size=unet_shard_size)
    mirror = safe_folder(source)
    assert mirror.parent == cache / "safetensors"
    assert not list(mirror.rglob("*.bin")) and not list(mirror.rglob("*.bin.index.json"))
    unet = UNet2DConditionModel.from_pretrained(mirror, subfolder="unet", use_safetensors=True)
    assert_same_weights(unet, tiny_unet())
    encoder = CLIPTextModel.from_pretrained(mirror / "text_encoder", use_safetensors=True)
    assert_same_weights(encoder, tiny_text_encoder())
    for rel in ("model_index.json", "tokenizer/vocab.json", "vocoder/config.json", "vocoder/vocoder.pt",
                "unet/config.json"):
        assert (mirror / rel).read_bytes() == (source / rel).read_bytes(), rel
        assert (mirror / rel).stat().st_ino == (source / rel).stat().st_ino, f"{rel} was copied, not linked"
    if unet_shard_size:
        index = json.loads((mirror / "unet" / "diffusion_pytorch_model.safetensors.index.json").read_text())
        assert len(set(index["weight_map"].values())) > 1
        assert all(name.endswith(".safetensors") for name in index["weight_map"].values())


def test_second_call_reads_only_small_files(tmp_path, monkeypatch):
    source = write_pickled_model(tmp_path / "model")
    first = safe_folder(source)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a weight file was unpickled again"))
    assert safe_folder(source) == first


def test_changed_file_gets_a_new_mirror(tmp_path, cache):
    from transformers import CLIPTextModel

    source = write_pickled_model(tmp_path / "model")
    first = safe_folder(source)
    changed = tiny_text_encoder(seed=1)
    torch.save(changed.state_dict(), source / "text_encoder" / "pytorch_model.bin")
    second = safe_folder(source)
    assert second != first and len(list((cache / "safetensors").iterdir())) == 2
    assert_same_weights(CLIPTextModel.from_pretrained(second / "text_encoder", use_safetensors=True), changed)


def test_folder_with_safetensors_comes_back_unchanged(tmp_path, cache):
    folder = tmp_path / "model"
    tiny_unet().save_pretrained(folder / "unet")
    tiny_text_encoder().save_pretrained(folder / "text_encoder")
    # a stale pickle beside its safetensors needs nothing
    torch.save({"x": torch.zeros(1)}, folder / "unet" / "diffusion_pytorch_model.bin")
    assert safe_folder(folder) == folder
    assert not cache.exists()


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("func", sorted(HOSTILE))
def test_hostile_bin_in_a_folder_is_refused(tmp_path, cache, marker, func, writer):
    source = write_pickled_model(tmp_path / "model")
    WRITERS[writer](source / "unet" / "diffusion_pytorch_model.bin", {"conv_in.weight": HOSTILE[func](marker)})
    with pytest.raises(ModelFileError, match=r"diffusion_pytorch_model\.bin asks to run code"):
        safe_folder(source)
    assert not any((cache / "safetensors").iterdir()), "a partial mirror was left in the cache"


def test_shared_and_strided_tensors_are_written(tmp_path):
    from safetensors.torch import load_file

    base = torch.arange(24.0).reshape(4, 6)
    tied = {"embed.weight": base, "head.weight": base, "row": base[1], "column": base[:, 2], "t": base.t(),
            "empty": torch.zeros(0), "also_empty": torch.zeros(0, 3)}
    folder = tmp_path / "model"
    folder.mkdir()
    torch.save(tied, folder / "pytorch_model.bin")
    got = load_file(str(safe_folder(folder) / "model.safetensors"))
    assert sorted(got) == sorted(tied)
    for name, tensor in tied.items():
        assert torch.equal(got[name], tensor), name


def test_bad_shard_index_is_refused(tmp_path):
    source = write_pickled_model(tmp_path / "model", unet_shard_size="100KB")
    index_path = source / "unet" / "diffusion_pytorch_model.bin.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"]["conv_in.weight"] = "../text_encoder/pytorch_model.bin"
    index_path.write_text(json.dumps(index))
    with pytest.raises(ModelFileError, match=r"'conv_in.weight' is mapped to '../text_encoder/pytorch_model.bin'"):
        safe_folder(source)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pytorch_model.bin", "model.safetensors"),
        ("pytorch_model-00001-of-00002.bin", "model-00001-of-00002.safetensors"),
        ("pytorch_model.fp16.bin", "model.fp16.safetensors"),
        ("diffusion_pytorch_model.bin", "diffusion_pytorch_model.safetensors"),
        ("diffusion_pytorch_model.fp16.bin", "diffusion_pytorch_model.fp16.safetensors"),
        ("learned_embeds.bin", "learned_embeds.safetensors"),
    ],
)
def test_safetensors_names(name, expected):
    assert safetensors_name(name) == expected


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        safe_folder(tmp_path / "nowhere")
