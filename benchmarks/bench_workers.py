"""What Ray workers buy: the same render drawn by 2 workers against 1 (this process, no Ray), side by side in one
run, in ABBA order. A CPU-bound style (the built-in one at 256 px), so the ratio shows how the cores are shared.

    python benchmarks/bench_workers.py                     # 60 s synthesized song, cppn at 256 px, 24 fps
    python benchmarks/bench_workers.py --seconds 180 --resolution 128 --runs 3

Ray is started once, before the timings (a local Ray starts in a few seconds; `workers=2` without a running Ray
pays that once per render). Needs `pip install 'lucidsonicdreams[ray]'`. That the videos are the same bytes is
tested in tests/test_workers.py, and checked here too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import ray
import torch

from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.audio.demo import write_demo_song


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--fps", type=float, default=24)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count()
    ray.init(num_cpus=max(2, cores), include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as tmp:
        song = write_demo_song(Path(tmp) / "song.wav", seconds=args.seconds)
        dream = LucidSonicDream(song, style="cppn")
        settings = {"fps": args.fps, "resolution": args.resolution, "seed": 3, "batch_size": 8, "resume": False,
                    "progress": lambda *a: None}
        dream.plan(Path(tmp) / "warm.mp4", **settings)  # the whole song analysed, and the style loaded, once
        dream.hallucinate(Path(tmp) / "warm2.mp4", duration=5, workers=2, **settings)  # the actors' imports
        times: dict[int, list[float]] = {1: [], 2: []}
        for run in range(args.runs):
            for workers in (1, 2) if run % 2 == 0 else (2, 1):
                start = time.perf_counter()
                dream.hallucinate(Path(tmp) / f"{workers}.mp4", workers=workers, **settings)
                times[workers].append(time.perf_counter() - start)
        same = (Path(tmp) / "1.mp4").read_bytes() == (Path(tmp) / "2.mp4").read_bytes()
    ray.shutdown()
    for workers, values in times.items():
        print(f"{workers} worker{'s' * (workers > 1)}: {', '.join(f'{v:.1f} s' for v in values)} "
              f"(median {statistics.median(values):.1f} s)")
    ratio = statistics.median(times[1]) / statistics.median(times[2])
    print(f"{args.seconds:g} s at {args.resolution} px, {args.fps:g} fps, {cores} cores "
          f"(torch uses {torch.get_num_threads()} threads in this process): 2 workers are {ratio:.2f}x as fast "
          f"as 1; same bytes: {same}")


if __name__ == "__main__":
    main()
