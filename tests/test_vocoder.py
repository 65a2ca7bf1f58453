"""Our HiFi-GAN against transformers' SpeechT5HifiGan (an independent implementation) on tiny random vocoders saved
in Auffusion's layout (``vocoder/config.json`` + ``vocoder/vocoder.pt``); the conversion cache; hostile files."""

from __future__ import annotations

import builtins
import json
import math
import os
import subprocess
import warnings
from pathlib import Path

import pytest
import torch
from stylegan_files import Call, marker_source
from torch import nn

from lucidsonicdreams.errors import ModelFileError
from lucidsonicdreams.models.hifigan import HifiGan, HifiGanConfig, load_vocoder

V1 = {
    "num_mels": 8,
    "upsample_rates": [5, 4, 2, 2, 2],
    "upsample_kernel_sizes": [11, 8, 4, 4, 4],  # kernel - rate all even: SpeechT5's padding rule
    "upsample_initial_channel": 32,
    "resblock": "1",
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5]] * 3,
    "sampling_rate": 16000,
    "hop_size": 160,
    "segment_size": 8192,  # a training setting, ignored
}
V1_ODD = {**V1, "upsample_kernel_sizes": [10, 8, 5, 4, 3]}  # kernel - rate = 5, 4, 3, 2, 1: both padding rules
V3_ODD = {**V1_ODD, "resblock": "2", "resblock_kernel_sizes": [3, 5, 7],
          "resblock_dilation_sizes": [[1, 2], [2, 6], [3, 12]]}
CONFIGS = {"v1": V1, "v1-odd": V1_ODD, "v3-odd": V3_ODD}
HOSTILE = {
    "os.system": lambda marker: Call(os.system, f"touch {marker}"),
    "builtins.exec": lambda marker: Call(builtins.exec, marker_source(marker)),
    "subprocess.Popen": lambda marker: Call(subprocess.Popen, ["touch", str(marker)]),
}


@pytest.fixture(autouse=True)
def cache(model_cache) -> Path:
    return model_cache


class V3Block(nn.Module):
    """HiFi-GAN V3's residual block (SpeechT5 has only V1's): per dilation, x + conv(leaky_relu(x, 0.1))."""

    def __init__(self, channels: int, kernel: int, dilations) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel, dilation=d, padding=d * (kernel - 1) // 2)
                                   for d in dilations)

    def forward(self, x):
        for conv in self.convs:
            x = x + conv(nn.functional.leaky_relu(x, 0.1))
        return x


def reference(config: dict, *, naming: str, seed: int = 0) -> nn.Module:
    """transformers' SpeechT5HifiGan for ``config`` with random weights, weight-normalised as ``naming`` says
    (``weight_g``: torch.nn.utils.weight_norm, ``parametrizations``: the new API, ``plain``: none). Odd
    kernel - rate upsamplers (Auffusion's rule) and V3 blocks replace SpeechT5's where the config asks."""
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    torch.manual_seed(seed)
    model = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=config["num_mels"], sampling_rate=config["sampling_rate"],
        upsample_initial_channel=config["upsample_initial_channel"], upsample_rates=config["upsample_rates"],
        upsample_kernel_sizes=config["upsample_kernel_sizes"], resblock_kernel_sizes=config["resblock_kernel_sizes"],
        resblock_dilation_sizes=config["resblock_dilation_sizes"] if config["resblock"] == "1" else [[1, 3, 5]] * 3,
        leaky_relu_slope=0.1, normalize_before=False,
    ))
    for i, (rate, kernel) in enumerate(zip(config["upsample_rates"], config["upsample_kernel_sizes"])):
        if (kernel - rate) % 2:
            old = model.upsampler[i]
            model.upsampler[i] = nn.ConvTranspose1d(old.in_channels, old.out_channels, kernel, rate,
                                                    padding=(kernel - rate) // 2 + 1, output_padding=1)
    if config["resblock"] == "2":
        blocks = len(config["resblock_kernel_sizes"])
        for j, block in enumerate(model.resblocks):
            model.resblocks[j] = V3Block(block.convs1[0].in_channels, config["resblock_kernel_sizes"][j % blocks],
                                         config["resblock_dilation_sizes"][j % blocks])
    for module in list(model.modules()):
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            if naming == "weight_g":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # deprecated, but what Auffusion's files hold
                    nn.utils.weight_norm(module)
            elif naming == "parametrizations":
                nn.utils.parametrizations.weight_norm(module)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(("weight_g", "original0")):
                parameter.uniform_(0.8, 1.4)
            else:
                parameter.normal_(0.0, 0.05 if name.endswith("bias") else 1.0)
        if naming == "plain":
            for module in model.modules():
                if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                    module.weight /= module.weight.flatten(1).norm(dim=1).reshape(-1, 1, 1) / 1.1
    return model.eval()


def generator_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The reference's weights under Auffusion's names (``ups.*`` for SpeechT5's ``upsampler.*``)."""
    return {name.replace("upsampler.", "ups."): tensor.clone() for name, tensor in model.state_dict().items()
            if name not in ("mean", "scale")}


def write_vocoder(folder: Path, config: dict, state: dict) -> Path:
    """Auffusion's layout: ``folder/vocoder/config.json`` + ``vocoder.pt`` = torch.save({"generator": state})."""
    vocoder = folder / "vocoder"
    vocoder.mkdir(parents=True, exist_ok=True)
    (vocoder / "config.json").write_text(json.dumps(config))
    torch.save({"generator": state}, vocoder / "vocoder.pt")
    return vocoder


def run_reference(model: nn.Module, log_mel: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(log_mel.transpose(1, 2))


@pytest.mark.parametrize("naming", ["weight_g", "parametrizations", "plain"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_matches_speecht5_hifigan(tmp_path, name, naming):
    config = CONFIGS[name]
    model = reference(config, naming=naming)
    folder = write_vocoder(tmp_path / "model", config, generator_state(model))
    vocoder = load_vocoder(folder, device="cpu")
    log_mel = torch.randn(2, config["num_mels"], 13, generator=torch.Generator().manual_seed(1)) - 4
    expected = run_reference(model, log_mel)
    with torch.no_grad():
        got = vocoder(log_mel)
    assert got.dtype == torch.float32 and got.shape == expected.shape == (2, 13 * 160)
    assert expected.std() > 0.01 and (expected.abs() > 0.99).float().mean() < 0.1, "the signal is flat or saturated"
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("frames", [1, 2, 7, 50])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_output_length_is_frames_times_hop(tmp_path, name, frames):
    config = CONFIGS[name]
    vocoder = load_vocoder(write_vocoder(tmp_path, config, generator_state(reference(config, naming="weight_g"))),
                           device="cpu")
    assert vocoder.hop_length == math.prod(config["upsample_rates"]) == 160
    assert vocoder.sample_rate == 16000 and vocoder.num_mels == 8
    with torch.no_grad():
        assert vocoder(torch.zeros(3, 8, frames)).shape == (3, frames * 160)


def test_model_folder_finds_its_vocoder_subfolder(tmp_path):
    state = generator_state(reference(V1, naming="weight_g"))
    write_vocoder(tmp_path / "model", V1, state)
    vocoder = load_vocoder(tmp_path / "model", device="cpu")
    assert isinstance(vocoder, HifiGan) and not vocoder.training
    assert not any(p.requires_grad for p in vocoder.parameters())


def test_half_precision_parameters_give_float32_output(tmp_path):
    folder = write_vocoder(tmp_path, V1, generator_state(reference(V1, naming="weight_g")))
    vocoder = load_vocoder(folder, device="cpu", dtype=torch.bfloat16)
    assert vocoder.conv_pre.weight.dtype == torch.bfloat16
    with torch.no_grad():
        assert vocoder(torch.zeros(1, 8, 4)).dtype == torch.float32


def test_second_load_unpickles_nothing(tmp_path, cache, monkeypatch):
    model = reference(V1, naming="weight_g")
    folder = write_vocoder(tmp_path, V1, generator_state(model))
    log_mel = torch.randn(1, 8, 9) - 4
    with torch.no_grad():
        first = load_vocoder(folder, device="cpu")(log_mel)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load was called on a cached vocoder")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with torch.no_grad():
        second = load_vocoder(folder, device="cpu")(log_mel)
    assert torch.equal(first, second)
    entries = list((cache / "vocoders").iterdir())
    assert len(entries) == 1 and sorted(p.name for p in entries[0].iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((entries[0] / "config.json").read_text())["config"]["upsample_rates"] == V1["upsample_rates"]


def test_changed_file_gets_a_new_cache_entry(tmp_path, cache):
    folder = write_vocoder(tmp_path, V1, generator_state(reference(V1, naming="weight_g", seed=0)))
    log_mel = torch.randn(1, 8, 9) - 4
    with torch.no_grad():
        first = load_vocoder(folder, device="cpu")(log_mel)
        model = reference(V1, naming="weight_g", seed=1)
        torch.save({"generator": generator_state(model)}, folder / "vocoder.pt")
        os.utime(folder / "vocoder.pt", ns=(1, 1))  # even with an older time stamp
        second = load_vocoder(folder, device="cpu")(log_mel)
    assert len(list((cache / "vocoders").iterdir())) == 2
    assert not torch.equal(first, second)
    torch.testing.assert_close(second, run_reference(model, log_mel), atol=1e-5, rtol=0)


def test_vocoder_safetensors_is_read_without_the_cache(tmp_path, cache):
    from safetensors.torch import save_file

    model = reference(V1_ODD, naming="parametrizations")
    folder = tmp_path / "vocoder"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(V1_ODD))
    save_file({k: v.contiguous() for k, v in generator_state(model).items()}, str(folder / "vocoder.safetensors"))
    log_mel = torch.randn(2, 8, 5) - 4
    with torch.no_grad():
        got = load_vocoder(folder, device="cpu")(log_mel)
    torch.testing.assert_close(got, run_reference(model, log_mel), atol=1e-5, rtol=0)
    assert not (cache / "vocoders").exists()


@pytest.mark.parametrize("func", sorted(HOSTILE))
def test_hostile_vocoder_pt_is_refused(tmp_path, cache, marker, func):
    folder = tmp_path / "vocoder"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(V1))
    torch.save({"generator": {"conv_pre.weight": HOSTILE[func](marker)}}, folder / "vocoder.pt")
    with pytest.raises(ModelFileError, match=r"vocoder\.pt asks to run code"):
        load_vocoder(folder, device="cpu")
    assert not (cache / "vocoders").exists() or not any((cache / "vocoders").iterdir())


def test_vocoder_pt_without_generator_entry(tmp_path):
    folder = tmp_path / "vocoder"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(V1))
    torch.save(generator_state(reference(V1, naming="weight_g")), folder / "vocoder.pt")
    with pytest.raises(ModelFileError, match="no 'generator' entry"):
        load_vocoder(folder, device="cpu")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"num_mels": 0}, "num_mels"),
        ({"num_mels": "8"}, "num_mels"),
        ({"upsample_rates": []}, "upsample_rates"),
        ({"upsample_rates": [5, 4, 2, 2, True]}, "upsample_rates"),
        ({"upsample_kernel_sizes": [11, 8, 4, 4]}, "upsample_kernel_sizes"),
        ({"upsample_kernel_sizes": [4, 8, 4, 4, 4]}, "upsample_kernel_sizes"),
        ({"upsample_initial_channel": 16}, "upsample_initial_channel"),
        ({"resblock": 1}, "resblock"),
        ({"resblock_kernel_sizes": [3, 6, 11]}, "resblock_kernel_sizes"),
        ({"resblock_dilation_sizes": [[1, 3, 5]] * 2}, "resblock_dilation_sizes"),
        ({"resblock_dilation_sizes": [[1, 3]] * 3}, "resblock_dilation_sizes"),
        ({"resblock_dilation_sizes": [[1, 3, 0]] * 3}, "resblock_dilation_sizes"),
        ({"sampling_rate": None}, "sampling_rate"),
        ({"hop_size": 256}, "hop_size"),
        ({"resblock_kernel_sizes": None, "resblock": "2"}, "resblock_kernel_sizes"),
    ],
)
def test_bad_config_names_the_key(tmp_path, change, key):
    folder = write_vocoder(tmp_path, V1, {})
    (folder / "config.json").write_text(json.dumps({**V1, **change}))
    with pytest.raises(ModelFileError, match=f"'{key}'"):
        load_vocoder(folder, device="cpu")


def test_missing_config_key(tmp_path):
    config = {k: v for k, v in V1.items() if k != "upsample_initial_channel"}
    with pytest.raises(ModelFileError, match="no 'upsample_initial_channel'"):
        HifiGanConfig.from_dict(config)


def test_weights_that_do_not_fit_are_named(tmp_path):
    state = generator_state(reference(V1, naming="weight_g"))
    del state["conv_post.bias"]
    state["extra.weight"] = torch.zeros(1)
    state["ups.0.weight_v"] = torch.zeros(32, 16, 9)
    folder = write_vocoder(tmp_path, V1, state)
    with pytest.raises(ModelFileError) as info:
        load_vocoder(folder, device="cpu")
    assert "missing conv_post.bias" in str(info.value) and "unexpected extra.weight" in str(info.value)
    del state["extra.weight"]
    state["conv_post.bias"] = torch.zeros(1)
    torch.save({"generator": state}, folder / "vocoder.pt")
    with pytest.raises(ModelFileError, match=r"ups\.0\.weight \(32, 16, 9\) \(expected \(32, 16, 11\)\)"):
        load_vocoder(folder, device="cpu")


def test_half_a_weight_norm_is_refused(tmp_path):
    state = generator_state(reference(V1, naming="weight_g"))
    del state["conv_pre.weight_g"]
    with pytest.raises(ModelFileError, match="'conv_pre' has half of a weight-normalised weight; its g is missing"):
        load_vocoder(write_vocoder(tmp_path, V1, state), device="cpu")


def test_missing_weights_and_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_vocoder(tmp_path / "nowhere")
    with pytest.raises(ModelFileError, match="no config.json"):
        load_vocoder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(V1))
    with pytest.raises(ModelFileError, match="no weights"):
        load_vocoder(tmp_path)


def test_input_shape_is_checked(tmp_path):
    vocoder = HifiGan(V1)  # a config.json's contents, checked as from_dict checks them
    assert vocoder.config == HifiGanConfig.from_dict(V1)
    with pytest.raises(ValueError, match=r"log_mel must have shape \(batch, 8, frames\), got \(8, 10\)"):
        vocoder(torch.zeros(8, 10))
    with pytest.raises(ValueError, match=r"got \(1, 9, 10\)"):
        vocoder(torch.zeros(1, 9, 10))
