"""How closely renders through our public API follow 0.4's noise vectors, at any noise length.

    python benchmarks/lsd04_fidelity.py --lsd04 PATH SONG [SONG ...] [--dims 16 512] [--start 30] [--seconds 30]

PATH is a checkout of the published 0.4 package (see ``lsd04_reference.py``). For each song and noise length,
both sides render the same excerpt twice, with the base drift off (``speed_fpm=0``):

* motion off (``motion_react=0``): every dimension is the base plus the pulse, so the pulse is the mean of each
  vector; r(pulse) compares the two pulse curves;
* pulse off (``pulse_react=0``): the length of each step is the motion speed; r(motion speed) compares them.

Ours runs ``LucidSonicDream(...).hallucinate`` with a function style that records the noise vectors it gets, at
0.4's real frame rate (22050 / 512 frames/s: 0.4 takes a frame every 512 samples whatever its ``fps``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from lucidsonicdreams import LucidSonicDream

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsd04_reference import run_lsd04  # noqa: E402

LSD04_RATE = 22050 / 512


def our_noise(song: Path, dim: int, start: float, seconds: float, **settings) -> np.ndarray:
    """The noise vectors our public API feeds a function style for this excerpt."""
    seen: list[np.ndarray] = []

    def recorder(noise_batch, class_batch):
        seen.append(np.array(noise_batch, dtype=np.float64))
        return np.zeros((len(noise_batch), 16, 16, 3), dtype=np.uint8)

    with tempfile.TemporaryDirectory() as tmp:
        dream = LucidSonicDream(str(song), style=recorder, input_shape=dim, num_possible_classes=12)
        dream.hallucinate(Path(tmp) / "v.mp4", fps=LSD04_RATE, start=start, duration=seconds, batch_size=64,
                          speed_fpm=0, seed=0, **settings)
    return np.concatenate(seen)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lsd04", type=Path, required=True, help="checkout of the published 0.4 package")
    parser.add_argument("songs", nargs="+", type=Path)
    parser.add_argument("--dims", nargs="+", type=int, default=[16, 512])
    parser.add_argument("--start", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    print(f"{'song':28s} {'dims':>5s} {'r(pulse)':>9s} {'r(motion speed)':>16s}")
    for song in args.songs:
        for dim in args.dims:
            excerpt = dict(start=args.start, duration=args.seconds)
            theirs_pulse = run_lsd04(args.lsd04, song, input_shape=dim, speed_fpm=0, motion_react=0, **excerpt)
            theirs_motion = run_lsd04(args.lsd04, song, input_shape=dim, speed_fpm=0, pulse_react=0, **excerpt)
            ours_pulse = our_noise(song, dim, args.start, args.seconds, motion_react=0)
            ours_motion = our_noise(song, dim, args.start, args.seconds, pulse_react=0)
            r_pulse = pearson(ours_pulse.mean(1), theirs_pulse["noise"].mean(1))
            r_motion = pearson(np.linalg.norm(np.diff(ours_motion, axis=0), axis=1),
                               np.linalg.norm(np.diff(theirs_motion["noise"], axis=0), axis=1))
            print(f"{song.name:28s} {dim:5d} {r_pulse:9.4f} {r_motion:16.4f}", flush=True)


if __name__ == "__main__":
    main()
