"""Our spectrogram images and sounds against Riffusion's own converter, side by side in one run.

    python benchmarks/riffusion_compat.py SONG [SONG ...] [--start 30] [--seed-images DIR]

Needs Riffusion's package importable beside the project (not installed with it): a checkout of
riffusion/riffusion on PYTHONPATH whose ``spectrogram_converter.py`` has its ``InverseMelScale(...)`` call
updated for today's torchaudio (drop ``max_iter``, ``tolerance_loss``, ``tolerance_change`` and ``sgdargs``),
plus torchaudio and pydub (pydub wants ffmpeg and ffprobe on PATH). Each song excerpt is read the way
Riffusion's ``audio_to_image`` reads it (pydub, 16-bit samples, its own sample rate, which must be 44.1 kHz).

For every excerpt, mono and stereo: the mean and largest pixel difference and the EXIF max ratio. For every
image in ``--seed-images`` (Riffusion's published seed spectrograms): the log-mel correlation between the sound
of our decoder and of Riffusion's. Also the round trip (song -> image -> sound) of each, and the times.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import librosa
import numpy as np
from PIL import Image

from lucidsonicdreams.spectrogram import CLIP_SECONDS, audio_to_image, image_to_audio


def log_mel_r(a: np.ndarray, b: np.ndarray, sr: int = 44100) -> float:
    n = min(len(a), len(b))
    spectra = [librosa.power_to_db(librosa.feature.melspectrogram(y=np.asarray(x[:n], dtype=np.float32), sr=sr,
                                                                  n_mels=128), ref=np.max, top_db=80)
               for x in (a, b)]
    return float(np.corrcoef(spectra[0].ravel(), spectra[1].ravel())[0, 1])


def segment_samples(segment) -> np.ndarray:
    """pydub samples as float in [-1, 1], shape (channels, n)."""
    data = np.array([c.get_array_of_samples() for c in segment.split_to_mono()], dtype=np.float32)
    return data / float(1 << (8 * segment.sample_width - 1))


def riffusion_side():
    from riffusion.spectrogram_image_converter import SpectrogramImageConverter
    from riffusion.spectrogram_params import SpectrogramParams

    def to_image(segment, stereo: bool) -> Image.Image:
        params = SpectrogramParams(sample_rate=segment.frame_rate, stereo=stereo)
        return SpectrogramImageConverter(params=params, device="cpu").spectrogram_image_from_audio(segment)

    def to_audio(image: Image.Image) -> np.ndarray:
        exif = image.getexif()
        params = SpectrogramParams.from_exif(exif) if 11000 in exif else SpectrogramParams()
        segment = SpectrogramImageConverter(params=params, device="cpu").audio_from_spectrogram_image(image)
        return segment_samples(segment).mean(axis=0)

    return to_image, to_audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("songs", nargs="*", type=Path)
    parser.add_argument("--start", type=float, default=30.0)
    parser.add_argument("--seed-images", type=Path, help="folder of Riffusion's seed_images/*.png")
    args = parser.parse_args()
    import pydub

    their_image, their_audio = riffusion_side()
    times = {"ours": 0.0, "riffusion": 0.0}
    for song in args.songs:
        whole = pydub.AudioSegment.from_file(song).set_sample_width(2)
        start_ms = int(round(args.start * 1000))
        segment = whole[start_ms : start_ms + int(round(CLIP_SECONDS * 1000))]
        if segment.frame_rate != 44100:
            print(f"{song.name}: {segment.frame_rate} Hz; Riffusion would use that rate, skipped (use 44.1 kHz)")
            continue
        samples = segment_samples(segment)
        for stereo in (False, True):
            t0 = time.perf_counter()
            theirs = their_image(segment.set_channels(2 if stereo else 1), stereo)
            t1 = time.perf_counter()
            ours = audio_to_image(samples, 44100, stereo=stereo)
            t2 = time.perf_counter()
            times["riffusion"] += t1 - t0
            times["ours"] += t2 - t1
            diff = np.abs(np.asarray(ours, dtype=float) - np.asarray(theirs.convert("RGB"), dtype=float))
            ratio = ours.getexif()[11080] / theirs.getexif()[11080]
            print(f"{song.name} {'stereo' if stereo else 'mono  '}: mean |diff| {diff.mean():.4f} grey levels, "
                  f"max {diff.max():.0f}, EXIF max ratio {ratio:.5f} ({t2 - t1:.2f} s vs {t1 - t0:.2f} s)")
        mono = samples.mean(axis=0)
        ours_back = image_to_audio(audio_to_image(mono, 44100))[0]
        theirs_back = their_audio(their_image(segment.set_channels(1), False))
        print(f"{song.name} round trip: log-mel r ours {log_mel_r(mono, ours_back):.4f}, "
              f"Riffusion {log_mel_r(mono, theirs_back):.4f}")
    for path in sorted(args.seed_images.glob("*.png")) if args.seed_images else []:
        if path.stem.startswith("mask"):
            continue
        image = Image.open(path)
        t0 = time.perf_counter()
        ours = image_to_audio(image)[0]
        t1 = time.perf_counter()
        theirs = their_audio(image)
        t2 = time.perf_counter()
        print(f"seed image {path.name}: log-mel r(ours, Riffusion) = {log_mel_r(ours, theirs):.4f} "
              f"(decode {t1 - t0:.1f} s vs {t2 - t1:.1f} s)")
    if args.songs:
        print(f"audio -> image, all excerpts: ours {times['ours']:.2f} s, Riffusion {times['riffusion']:.2f} s")


if __name__ == "__main__":
    main()
