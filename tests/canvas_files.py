"""Tiny random models for Images that Sound, in the real layouts: an image model (a Stable Diffusion folder in
safetensors) and an audio model in Auffusion's layout (its UNet and text encoder as ``.bin`` pickles, a
``vocoder/`` folder with HiFi-GAN's ``config.json`` and a ``vocoder.pt`` pickle of weight-normed tensors). The
two share one 4-block VAE. Nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

from diffusion_files import tiny_pipeline

# A HiFi-GAN V1 shaped like Auffusion's (256 mel bands in, 160 samples per column out), but a few channels wide.
VOCODER_CONFIG = {
    "resblock": "1", "num_gpus": 0, "upsample_rates": [5, 4, 2, 2, 2], "upsample_kernel_sizes": [11, 8, 4, 4, 4],
    "upsample_initial_channel": 64, "resblock_kernel_sizes": [3, 5], "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
    "num_mels": 256, "n_fft": 2048, "hop_size": 160, "win_size": 1024, "sampling_rate": 16000, "fmin": 0,
    "fmax": 8000,
}


def write_image_model(folder: Path, *, seed: int = 0) -> Path:
    """A tiny Stable Diffusion folder (safetensors)."""
    tiny_pipeline(folder.parent / f".{folder.name}-build", seed=seed).save_pretrained(folder, safe_serialization=True)
    return folder


def write_audio_model(folder: Path, *, seed: int = 1, vae_from: Path | None = None, vocoder: bool = True) -> Path:
    """A tiny model in Auffusion's layout: weights as ``.bin`` pickles, and a HiFi-GAN vocoder. With
    ``vae_from`` (an image model folder), its VAE is that model's."""
    pipe = tiny_pipeline(folder.parent / f".{folder.name}-build", seed=seed)
    if vae_from is not None:
        from diffusers import AutoencoderKL

        pipe.vae = AutoencoderKL.from_pretrained(vae_from, subfolder="vae")
    pipe.save_pretrained(folder, safe_serialization=False)
    # transformers 5 writes safetensors whatever it is asked; Auffusion's text encoder is a pytorch_model.bin.
    encoder = folder / "text_encoder"
    if (encoder / "model.safetensors").is_file():
        import torch
        from safetensors.torch import load_file

        torch.save(load_file(encoder / "model.safetensors"), encoder / "pytorch_model.bin")
        (encoder / "model.safetensors").unlink()
    if vocoder:
        write_vocoder(folder / "vocoder", seed=seed)
    return folder


def write_vocoder(folder: Path, *, seed: int = 0, config: dict | None = None) -> Path:
    """``config.json`` + ``vocoder.pt`` = torch.save({"generator": state}) with weight norm's ``weight_g`` /
    ``weight_v`` pairs, as Auffusion ships its vocoder."""
    import torch

    config = dict(config or VOCODER_CONFIG)
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}

    def conv(name: str, shape: tuple[int, ...]) -> None:
        v = torch.randn(shape, generator=generator) * 0.3
        g = v.flatten(1).norm(dim=1).reshape(-1, *[1] * (len(shape) - 1)) * (
            1 + 0.1 * torch.rand(shape[0], *[1] * (len(shape) - 1), generator=generator))
        out_channels = shape[1] if name.startswith("ups.") else shape[0]
        state[f"{name}.weight_g"], state[f"{name}.weight_v"] = g, v
        state[f"{name}.bias"] = torch.randn(out_channels, generator=generator) * 0.01

    channels = config["upsample_initial_channel"]
    conv("conv_pre", (channels, config["num_mels"], 7))
    kernels, dilations = config["resblock_kernel_sizes"], config["resblock_dilation_sizes"]
    for i, k in enumerate(config["upsample_kernel_sizes"]):
        conv(f"ups.{i}", (channels >> i, channels >> (i + 1), k))  # ConvTranspose1d: (in, out, kernel)
        for j, (kernel, dilation) in enumerate(zip(kernels, dilations)):
            block = i * len(kernels) + j
            for c in range(len(dilation)):
                conv(f"resblocks.{block}.convs1.{c}", (channels >> (i + 1),) * 2 + (kernel,))
                conv(f"resblocks.{block}.convs2.{c}", (channels >> (i + 1),) * 2 + (kernel,))
    conv("conv_post", (1, channels >> len(config["upsample_rates"]), 7))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.save({"generator": state}, folder / "vocoder.pt")
    return folder
