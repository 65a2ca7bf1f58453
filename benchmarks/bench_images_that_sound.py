"""Images that Sound speed: the joint sampler (two UNets per step), the two VAE decodes and the vocoder.

    python benchmarks/bench_images_that_sound.py                        # the tests' tiny models, 256 x 1024
    python benchmarks/bench_images_that_sound.py --model real-arch      # SD 1.5's sizes, random weights, 100 steps
    python benchmarks/bench_images_that_sound.py --model real-arch --steps 12   # a shorter run on a slow CPU

``tiny``: the tests' models (2-block UNets on one 4-block VAE, 2-layer CLIP, a narrow HiFi-GAN), saved in their
real layouts and loaded through ``images_that_sound``. ``real-arch``: random weights in the real architecture,
built in memory (nothing can be downloaded here): two Stable Diffusion 1.5 UNets (860M parameters each, 768-wide
CLIP ViT-L text encoders, the SD VAE) and a HiFi-GAN V1 at Auffusion's sizes (256 mel bands, 160 samples per
column; the upsampling layout is assumed, its config is not available offline). The speed is the models', the
pictures are noise. Prints the time of each part and the total for one canvas, with the device; fp16 on CUDA.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from canvas_files import VOCODER_CONFIG, write_audio_model, write_image_model  # noqa: E402
from diffusion_files import write_tokenizer  # noqa: E402

from lucidsonicdreams import images_that_sound  # noqa: E402
from lucidsonicdreams.canvas.denoise import initial_latents, joint_denoise  # noqa: E402
from lucidsonicdreams.canvas.generate import read_canvas  # noqa: E402
from lucidsonicdreams.canvas.models import Denoiser  # noqa: E402
from lucidsonicdreams.canvas.settings import CanvasSettings  # noqa: E402
from lucidsonicdreams.models.hifigan import HifiGan  # noqa: E402
from lucidsonicdreams.utils.device import resolve_device  # noqa: E402

# HiFi-GAN V1's widths with Auffusion's 256 bands and 160x upsampling (its exact layout is assumed).
REAL_VOCODER = {**VOCODER_CONFIG, "upsample_initial_channel": 512, "resblock_kernel_sizes": [3, 7, 11],
                "resblock_dilation_sizes": [[1, 3, 5]] * 3, "upsample_kernel_sizes": [11, 8, 4, 4, 4]}


def sd15_architecture(tmp: Path, seed: int, device: torch.device, dtype: torch.dtype, vocoder: bool) -> Denoiser:
    """A denoiser with Stable Diffusion 1.5's layer sizes and random weights."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8)
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=512,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )
    tokenizer = write_tokenizer(tmp / f"vocab{seed}")
    end = len(tokenizer) - 1
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
        projection_dim=768, bos_token_id=end - 1, eos_token_id=end, pad_token_id=end,
    ))
    for part in (unet, vae, text_encoder):
        part.to(device, dtype).eval()
    hifigan = HifiGan(REAL_VOCODER).to(device).eval() if vocoder else None
    return Denoiser(f"sd15-arch-{seed}", unet, vae, text_encoder, tokenizer, hifigan)


def bench_real(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    settings = CanvasSettings.parse("a castle with bell towers, grayscale", "bells ringing", steps=args.steps,
                                    image_start_step=min(10, args.steps - 1), seed=0, width=args.width)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        image = sd15_architecture(Path(tmp), 0, device, dtype, vocoder=False)
        audio = sd15_architecture(Path(tmp), 1, device, dtype, vocoder=True)
        print(f"built two SD 1.5-sized models in {time.perf_counter() - start:.1f} s on {describe(device)}")
    embeddings = (image.embed(settings.image_prompt, ""), audio.embed(settings.audio_prompt, ""))
    latents = initial_latents(settings.seed, settings.height, settings.width)
    times: list[float] = []
    last = [time.perf_counter()]

    def step_done() -> None:
        sync(device)
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    sync(device)
    start = time.perf_counter()
    last[0] = start
    done = joint_denoise(image, audio, settings, latents, embeddings, step_done)
    sync(device)
    denoising = time.perf_counter() - start
    start = time.perf_counter()
    canvas = read_canvas(done, image, audio, settings.seed)
    sync(device)
    reading = time.perf_counter() - start
    alone, joined = times[: settings.image_start_step], times[settings.image_start_step:]
    print(f"{settings.height}x{settings.width}, {settings.steps} steps ({len(alone)} audio model alone, "
          f"{len(joined)} joint): denoising {denoising:.1f} s = {mean(alone):.2f} s/step alone, "
          f"{mean(joined):.2f} s/step joint")
    print(f"decode both + vocoder ({canvas.vocoder}): {reading:.2f} s; total {denoising + reading:.1f} s")
    if settings.steps < 100:
        projected = settings.image_start_step * mean(alone) + (100 - settings.image_start_step) * mean(joined)
        print(f"projected for the paper's 100 steps (10 alone + 90 joint): {projected + reading:.0f} s")


def bench_tiny(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        image_model = write_image_model(Path(tmp) / "image")
        audio_model = write_audio_model(Path(tmp) / "audio", vae_from=image_model)
        for label in ("first call (converts the .bin weights and the vocoder)", "second call (cached)"):
            start = time.perf_counter()
            canvas = images_that_sound("a castle", "bells", image_model=image_model, audio_model=audio_model,
                                       steps=args.steps, seed=0, width=args.width, device=device,
                                       progress=lambda *a: None)
            print(f"tiny models, {args.steps} steps at 256x{args.width} on {describe(device)}, {label}: "
                  f"{time.perf_counter() - start:.2f} s ({canvas.vocoder}, {canvas.seconds:.2f} s of sound)")


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("tiny", "real-arch"), default="tiny")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        import os

        os.environ.setdefault("LUCIDSONICDREAMS_CACHE", cache)
        (bench_real if args.model == "real-arch" else bench_tiny)(args)


if __name__ == "__main__":
    main()
