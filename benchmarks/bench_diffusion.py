"""Diffusion style speed, end to end: a song rendered through ``LucidSonicDream`` with a ``DiffusionStyle``.

    python benchmarks/bench_diffusion.py                       # CPU: the tiny random pipeline of the tests
    python benchmarks/bench_diffusion.py --model sd-turbo-arch --resolution 512 --batch-size 16   # GPU
    python benchmarks/bench_diffusion.py --model stabilityai/sd-turbo --resolution 512          # real weights

``tiny``: the tests' pipeline (2-block UNet, 4-block VAE, 2-layer CLIP). ``sd-turbo-arch``: random weights in
SD-Turbo's architecture (Stable Diffusion 2.1: 865M-parameter UNet, 1024-wide OpenCLIP-H text encoder, the SD
VAE), built in memory, for machines that cannot download the weights; the speed is the model's, the pictures
are noise. Anything else is loaded as ``DiffusionStyle(model)`` (hub id, folder or catalog name). 1 step, no
guidance, fp16 on CUDA. Prints the style alone (frames/s for a batch) and the whole render (analysis,
generation, encoding: frames / wall seconds), with the device.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from diffusion_files import tiny_pipeline, write_tokenizer  # noqa: E402

from lucidsonicdreams import DiffusionStyle, LucidSonicDream, RenderOptions  # noqa: E402
from lucidsonicdreams.audio.demo import write_demo_song  # noqa: E402

PROMPTS = ["a forest of glass", "a nebula over the sea", "a city made of coral"]


def sd_turbo_architecture(tmp: Path):
    """A StableDiffusionPipeline with SD-Turbo's (SD 2.1's) layer sizes and random weights."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
        attention_head_dim=(5, 10, 20, 20), cross_attention_dim=1024, use_linear_projection=True,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=512,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )
    tokenizer = write_tokenizer(tmp / "vocab")
    end = len(tokenizer) - 1
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23,
        projection_dim=512, hidden_act="gelu", bos_token_id=end - 1, eos_token_id=end, pad_token_id=end,
    ))
    scheduler = EulerDiscreteScheduler(timestep_spacing="trailing", steps_offset=1, prediction_type="epsilon")
    return StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny", help="tiny, sd-turbo-arch, or a DiffusionStyle model")
    parser.add_argument("--resolution", type=int, default=None, help="default: 64 for tiny, else 512")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the rendered song")
    parser.add_argument("--fps", type=float, default=24)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    resolution = args.resolution or (64 if args.model == "tiny" else 512)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        if args.model == "tiny":
            model = tiny_pipeline(tmp)
        elif args.model == "sd-turbo-arch":
            model = sd_turbo_architecture(tmp)
            if torch.cuda.is_available() and args.device in (None, "cuda"):
                model = model.to(torch.float16)
        else:
            model = args.model
        style = DiffusionStyle(model, PROMPTS, device=args.device)
        load = time.perf_counter() - t0
        device = torch.cuda.get_device_name(0) if style.device.type == "cuda" else style.device.type
        print(f"model {args.model} on {device} ({str(style.dtype).replace('torch.', '')}), {resolution} px, "
              f"batch {args.batch_size}, built/loaded in {load:.1f} s")

        options = RenderOptions(size=(resolution, resolution))
        rng = np.random.default_rng(0)
        noise = rng.standard_normal((args.batch_size, style.input_shape_for(options)))
        classes = rng.random((args.batch_size, len(PROMPTS)))
        style(noise, classes, options)  # warm-up: kernels, allocator
        _sync(style)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < 5 or n < 4 * args.batch_size:
            style(noise, classes, options)
            n += args.batch_size
        _sync(style)
        print(f"  style alone:  {n / (time.perf_counter() - start):7.2f} frames/s")

        song = write_demo_song(tmp / "song.wav", seconds=args.seconds)
        dream = LucidSonicDream(song, style=style)
        start = time.perf_counter()
        dream.hallucinate(tmp / "video.mp4", fps=args.fps, resolution=resolution, batch_size=args.batch_size,
                          seed=1, beat_react=0.5)
        wall = time.perf_counter() - start
        frames = int(round(args.seconds * args.fps))
        print(f"  end to end:   {frames / wall:7.2f} frames/s ({frames} frames of a {args.seconds:g} s song at "
              f"{args.fps:g} fps in {wall:.1f} s: analysis, generation and encoding)")


def _sync(style: DiffusionStyle) -> None:
    if style.device.type == "cuda":
        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
