"""Our Auffusion spectrogram images against the ones Auffusion's own converter makes, side by side in one run.

    mkdir -p /tmp/auffusion
    git -C AUFFUSION_CHECKOUT archive HEAD | tar -x -C /tmp/auffusion     # or a plain clone of Auffusion
    python benchmarks/compare_auffusion_format.py --auffusion /tmp/auffusion --song SONG [--song SONG ...]
        [--start 30]

Needs a folder holding Auffusion's ``converter.py`` (github.com/happylittlecat2333/Auffusion; not installed with
the project, imported from that folder only here). Each song's 10.24 s excerpt from ``--start`` is decoded to
16 kHz mono and given to both sides: ours as float samples, Auffusion's as the 16-bit integers its ``load_wav``
would read from a WAV file.

Prints, per song: (a) the pixel difference between our image and Auffusion's (``get_mel_spectrogram_from_audio``,
then ``normalize_spectrogram``, then ``(x * 255).round()`` as its ``numpy_to_pil``), in 1/255 steps, mean and
largest; (b) our way back (``image_to_log_mel`` of our image) against Auffusion's ``denormalize_spectrogram`` of
its image, and against its log-mel before 8-bit rounding (clamped to the image's range, as its pipeline clamps),
mean and largest absolute difference; and the times of both sides.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from lucidsonicdreams.audio.decode import fit_length, load_channels
from lucidsonicdreams.spectrogram import audio_to_image, auffusion


def load_converter(folder: Path):
    """Auffusion's converter.py as a module, from its folder."""
    path = folder / "converter.py"
    if not path.is_file():
        sys.exit(f"--auffusion: no converter.py in {folder}")
    spec = importlib.util.spec_from_file_location("auffusion_converter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def their_side(converter, int16: np.ndarray):
    """Auffusion's log-mel [256, frames], its image's pixels [256, frames] (channel 0) and their denormalised
    log-mel, the way its code makes and reads them."""
    import torch

    _, spec = converter.get_mel_spectrogram_from_audio(int16, device="cpu")
    log_mel = spec[0]
    # Auffusion's pipeline clamps to the image's range; normalize_spectrogram in converter.py asserts it instead.
    clamped = torch.clamp(log_mel, min=np.log(1e-5), max=np.log(200))
    image = converter.normalize_spectrogram(clamped)
    pixels = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    back = converter.denormalize_spectrogram(torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
    return clamped.numpy(), pixels[..., 0], back.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auffusion", type=Path, required=True, help="folder holding Auffusion's converter.py")
    parser.add_argument("--song", type=Path, action="append", required=True, help="audio file (repeatable)")
    parser.add_argument("--start", type=float, default=30.0, help="seconds into each song (default 30)")
    args = parser.parse_args()
    converter = load_converter(args.auffusion)
    n = int(round(auffusion.CLIP_SECONDS * auffusion.SAMPLE_RATE))
    worst = 0.0
    for song in args.song:
        samples = fit_length(load_channels(song, auffusion.SAMPLE_RATE, args.start, auffusion.CLIP_SECONDS,
                                           mono=True)[0], n)
        # What load_wav gives for a 16-bit WAV of these samples.
        int16 = np.clip(np.round(samples * 32768), -32768, 32767).astype(np.int16)
        t0 = time.perf_counter()
        ours = audio_to_image(int16 / 32768.0, auffusion.SAMPLE_RATE, format="auffusion")
        t1 = time.perf_counter()
        their_log_mel, their_pixels, their_back = their_side(converter, int16)
        t2 = time.perf_counter()
        our_pixels = np.asarray(ours)[..., 0]
        if our_pixels.shape != their_pixels.shape:
            sys.exit(f"{song.name}: our image is {our_pixels.shape}, Auffusion's {their_pixels.shape}")
        pixel = np.abs(our_pixels.astype(int) - their_pixels.astype(int))
        our_back = auffusion.image_to_log_mel(ours)
        vs_back, vs_exact = np.abs(our_back - their_back), np.abs(our_back - their_log_mel)
        worst = max(worst, float(pixel.mean()))
        print(f"{song.name} [{args.start:g} s + {auffusion.CLIP_SECONDS} s, {our_pixels.shape[1]} columns]")
        print(f"  (a) pixels vs Auffusion's image:        mean {pixel.mean():.4f}/255  max {pixel.max()}/255  "
              f"({np.count_nonzero(pixel)} of {pixel.size} differ)")
        print(f"  (b) log-mel back vs its denormalize:    mean {vs_back.mean():.2e}  max {vs_back.max():.2e}")
        print(f"      log-mel back vs its unrounded:      mean {vs_exact.mean():.2e}  max {vs_exact.max():.2e}  "
              f"(half a grey step: {(auffusion.LOG_MAX - auffusion.LOG_MIN) / 510:.2e})")
        print(f"  times: ours {t1 - t0:.3f} s, Auffusion's {t2 - t1:.3f} s")
    print(f"worst mean pixel difference {worst:.4f}/255: {'OK' if worst <= 1 else 'TOO LARGE'} (limit 1/255)")


if __name__ == "__main__":
    main()
