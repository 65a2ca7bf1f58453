"""Speed of the pre-render pass, ours versus the published 0.4 code, side by side on the same song.

    python benchmarks/bench_prerender.py --lsd04 PATH SONG [--seconds 180] [--repeat 1]

The pre-render pass is everything before the first frame is drawn: decoding, all audio analysis, the latent
(noise and class) vectors and the effect signals, at 43 fps for ``--seconds`` of SONG with contrast and flash
at 0.5. 0.4 runs through ``benchmarks/lsd04_reference.py`` (its ``load_specs``, ``setup_effects``,
``transform_classes`` and ``generate_vectors``, noise length 512; PATH is a checkout of the 2021 package).
Ours is ``LucidSonicDream.plan`` (beat_react=0.5, sections=True, so beats, tempo and sections are analysed
too) with a function style of noise length 512: the render's plan, before any frame is drawn or written. Each
repeat of ours uses a new ``LucidSonicDream`` and so a new analysis cache. Both sides first run once untimed
on a 5 s excerpt, so that librosa's numba functions are compiled before anything is measured. Prints the best
of ``--repeat`` runs of each side and the ratio ours / 0.4.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lsd04_reference import run_lsd04  # noqa: E402

from lucidsonicdreams import LucidSonicDream  # noqa: E402

FPS = 43
INPUT_SHAPE = 512  # StyleGAN's noise length, 0.4's default
WARMUP_SECONDS = 5.0
EFFECTS = {"contrast_strength": 0.5, "flash_strength": 0.5}


def tiny_style(noise_batch: np.ndarray, class_batch: np.ndarray) -> np.ndarray:
    """A function style: 2x2 black frames (never called, since ``_render`` is replaced)."""
    return np.zeros((len(noise_batch), 2, 2, 3), dtype=np.uint8)


def time_lsd04(checkout: Path, song: Path, seconds: float) -> tuple[float, dict[str, float]]:
    """Wall time of one whole ``run_lsd04`` call, and its own ``time_*`` entries."""
    start = time.perf_counter()
    result = run_lsd04(checkout, song, input_shape=INPUT_SHAPE, seed=0, fps=FPS, duration=seconds, **EFFECTS)
    elapsed = time.perf_counter() - start
    parts = {key[len("time_"):]: float(value) for key, value in result.items() if key.startswith("time_")}
    return elapsed, parts


def time_ours(song: Path, seconds: float, folder: Path) -> float:
    """Seconds of ``plan``: everything ``hallucinate`` does before its first frame."""
    dream = LucidSonicDream(song, style=tiny_style, input_shape=INPUT_SHAPE, num_possible_classes=12)
    start = time.perf_counter()
    dream.plan(folder / "bench_prerender.mp4", fps=FPS, duration=seconds, seed=0, beat_react=0.5, sections=True,
               **EFFECTS)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lsd04", type=Path, required=True, help="checkout of the published 0.4 package")
    parser.add_argument("song", type=Path)
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the song to process")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the best is reported")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    print(f"{args.song.name}: {args.seconds:g} s at {FPS} fps, noise length {INPUT_SHAPE}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        time_lsd04(args.lsd04, args.song, WARMUP_SECONDS)
        time_ours(args.song, WARMUP_SECONDS, folder)
        print(f"warm-up: one untimed {WARMUP_SECONDS:g} s run of each side done (numba compiled)")

        lsd04_runs: list[tuple[float, dict[str, float]]] = []
        ours_runs: list[float] = []
        for _ in range(args.repeat):
            lsd04_runs.append(time_lsd04(args.lsd04, args.song, args.seconds))
            ours_runs.append(time_ours(args.song, args.seconds, folder))

    lsd04_time, lsd04_parts = min(lsd04_runs, key=lambda run: run[0])
    ours_time = min(ours_runs)
    print(f"0.4:  {lsd04_time:8.3f} s  (best of {args.repeat}; "
          + ", ".join(f"{key} {value:.3f} s" for key, value in lsd04_parts.items()) + ")")
    print(f"ours: {ours_time:8.3f} s  (best of {args.repeat})")
    print(f"ratio ours / 0.4: {ours_time / lsd04_time:.3f}")


if __name__ == "__main__":
    main()
