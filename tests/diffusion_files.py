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


def forbid_loading(monkeypatch) -> None:
    """Make diffusers' loaders fail if called: whatever is refused then was refused from the files alone."""
    import diffusers

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded before it was checked")

    monkeypatch.setattr(diffusers.AutoPipelineForText2Image, "from_pretrained", never)
    for cls in (diffusers.StableDiffusionPipeline, diffusers.StableDiffusionXLPipeline):
        monkeypatch.setattr(cls, "from_single_file", never)


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


_UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0", "conv2": "out_layers.3",
                "time_emb_proj": "emb_layers.1", "conv_shortcut": "skip_connection"}
_UNET_TOP = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _ldm_unet_key(key: str, per_block: int, attention_blocks: set[int]) -> str:
    """The original (CompVis) name of a diffusers UNet weight: blocks become numbered input/middle/output layers."""
    parts = key.split(".")
    for name, old in _UNET_TOP.items():
        if key.startswith(name + "."):
            return f"{old}.{key[len(name) + 1:]}"
    if parts[0] in ("down_blocks", "up_blocks"):
        block, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), parts[4:]
        first = 1 + block * (per_block + 1) if parts[0] == "down_blocks" else block * (per_block + 1)
        where = "input_blocks" if parts[0] == "down_blocks" else "output_blocks"
        if kind == "resnets":
            return f"{where}.{first + index}.0.{_renamed(rest, _UNET_RESNET)}"
        if kind == "attentions":
            return f"{where}.{first + index}.1.{'.'.join(rest)}"
        if kind == "downsamplers":
            return f"input_blocks.{first + per_block}.0.op.{rest[-1]}"
        slot = 2 if block in attention_blocks else 1
        return f"output_blocks.{first + per_block}.{slot}.conv.{rest[-1]}"
    if parts[0] == "mid_block":
        index = int(parts[2])
        if parts[1] == "resnets":
            return f"middle_block.{2 * index}.{_renamed(parts[3:], _UNET_RESNET)}"
        return f"middle_block.1.{'.'.join(parts[3:])}"
    raise KeyError(key)


def _ldm_vae_key(key: str, blocks: int) -> str:
    """The original name of a diffusers VAE weight (the decoder's up blocks are numbered from the bottom)."""
    side, parts = key.split(".", 1)[0], key.split(".")
    if key.startswith(("quant_conv.", "post_quant_conv.")):
        return key
    rest = parts[1:]
    if rest[0] == "conv_norm_out":
        return f"{side}.norm_out.{rest[1]}"
    if rest[0] in ("conv_in", "conv_out"):
        return key
    if rest[0] in ("down_blocks", "up_blocks"):
        block = int(rest[1]) if rest[0] == "down_blocks" else blocks - 1 - int(rest[1])
        where = "down" if rest[0] == "down_blocks" else "up"
        if rest[2] == "resnets":
            tail = ".".join(rest[4:]).replace("conv_shortcut", "nin_shortcut")
            return f"{side}.{where}.{block}.block.{rest[3]}.{tail}"
        return f"{side}.{where}.{block}.{'downsample' if where == 'down' else 'upsample'}.conv.{rest[-1]}"
    if rest[:2] == ["mid_block", "resnets"]:
        return f"{side}.mid.block_{int(rest[2]) + 1}.{'.'.join(rest[3:])}"
    if rest[:2] == ["mid_block", "attentions"]:
        return f"{side}.mid.attn_1.{_renamed(rest[3:], _VAE_ATTENTION)}"
    raise KeyError(key)


def _renamed(parts: list[str], names: dict[str, str]) -> str:
    joined = ".".join(parts)
    for new, old in names.items():
        if joined.startswith(new + "."):
            return old + joined[len(new):]
    return joined


def write_single_file_checkpoint(path: Path, pipe) -> Path:
    """Save a Stable Diffusion 1.x pipeline as one ``.safetensors`` file in the original (CompVis / A1111) layout
    that checkpoints from model sites use: ``model.diffusion_model.*``, ``first_stage_model.*`` and
    ``cond_stage_model.transformer.*``. Our own inverse of the names diffusers' single-file loader reads."""
    from safetensors.torch import save_file

    unet_config = pipe.unet.config
    attention_blocks = {i for i, kind in enumerate(unet_config.up_block_types) if "CrossAttn" in kind}
    blocks = len(pipe.vae.config.up_block_types)
    tensors = {}
    for key, value in pipe.unet.state_dict().items():
        tensors["model.diffusion_model." + _ldm_unet_key(key, unet_config.layers_per_block, attention_blocks)] = value
    for key, value in pipe.vae.state_dict().items():
        if "attentions" in key and value.ndim == 2:
            value = value[:, :, None, None]  # the original VAE attention is 1x1 convolutions
        tensors["first_stage_model." + _ldm_vae_key(key, blocks)] = value
    for key, value in pipe.text_encoder.state_dict().items():
        # transformers 5.6 dropped the text_model level from CLIPTextModel; checkpoints keep it.
        tensors["cond_stage_model.transformer.text_model." + key.removeprefix("text_model.")] = value
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


def write_hub_config_cache(hub_cache: Path, repo_id: str, folder: Path) -> Path:
    """Put a diffusers folder's configuration files (no weights) in a Hugging Face cache as ``repo_id``'s main
    revision: what diffusers' single-file loader finds after fetching a model's configuration once."""
    import shutil

    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    snapshot = repo / "snapshots" / commit
    for file in folder.rglob("*"):
        if file.suffix in (".json", ".txt"):
            (snapshot / file.relative_to(folder)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(file, snapshot / file.relative_to(folder))
    return snapshot
