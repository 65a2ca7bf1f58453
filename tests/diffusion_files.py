"""Tiny random diffusion pipelines saved in diffusers' real folder layout, built with diffusers' and transformers'
own classes (as diffusers' test suite does), and hostile folders that must be refused. Nothing is downloaded."""

from __future__ import annotations

import json
import pickle
from pathlib import Path


def _byte_characters() -> list[str]:
    """CLIP's byte-level alphabet: printable bytes stand for themselves, the rest map to code points from 256."""
    printable = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    out, extra = [], 0
    for byte in range(256):
        if byte in printable:
            out.append(chr(byte))
        else:
            out.append(chr(256 + extra))
            extra += 1
    return out


def write_tokenizer(folder: Path):
    """A CLIPTokenizer over single characters (no merges): every prompt tokenizes, prompts differ by letters."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = _byte_characters()
    vocab = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def tiny_pipeline(tmp: Path, *, seed: int = 0, sample_size: int = 8):
    """A StableDiffusionPipeline with random weights: 2-block UNet, 4-block VAE (latents 1/8 of the image, as in
    Stable Diffusion), 2-layer CLIP text encoder, Euler scheduler with trailing timesteps (as sd-turbo)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = write_tokenizer(tmp / "vocab")
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=sample_size, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=8,
        sample_size=sample_size * 8,
    )
    end = len(tokenizer) - 1
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=end - 1, eos_token_id=end, pad_token_id=end, hidden_size=32, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer), max_position_embeddings=77,
        projection_dim=32,
    ))
    scheduler = EulerDiscreteScheduler(timestep_spacing="trailing", steps_offset=1)
    return StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)


def write_tiny_pipeline(folder: Path, **kwargs) -> Path:
    """Save a tiny pipeline as a diffusers folder (safetensors weights) and return the folder."""
    tiny_pipeline(folder.parent / f".{folder.name}-build", **kwargs).save_pretrained(folder, safe_serialization=True)
    return folder


class Payload:
    """Unpickling this runs ``Path(marker).touch()``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def write_hostile_folder(folder: Path, marker: Path) -> Path:
    """A tiny pipeline whose UNet weights are a pickle that would create ``marker`` when loaded."""
    write_tiny_pipeline(folder)
    for weights in (folder / "unet").glob("*.safetensors"):
        weights.unlink()
    (folder / "unet" / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker)))
    return folder


def write_tiny_xl_pipeline(folder: Path, *, seed: int = 0) -> Path:
    """A StableDiffusionXLPipeline with random weights (two text encoders, pooled embeddings, time ids), saved as
    a diffusers folder: the layout of sdxl-turbo."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = write_tokenizer(folder.parent / f".{folder.name}-vocab")
    end = len(tokenizer) - 1
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64, norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=8,
        sample_size=64,
    )
    config = dict(bos_token_id=end - 1, eos_token_id=end, pad_token_id=end, hidden_size=32, intermediate_size=37,
                  num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer), max_position_embeddings=77,
                  projection_dim=32, hidden_act="gelu")
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=CLIPTextModel(CLIPTextConfig(**config)),
        text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**config)), tokenizer=tokenizer,
        tokenizer_2=tokenizer, unet=unet, scheduler=EulerDiscreteScheduler(timestep_spacing="trailing"),
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
