"""What segmenting costs: the same render in 10 s segments (the default) against one segment (the single-pass
writer of before, plus a join that only copies), measured side by side in one run, in ABBA order (so neither
side always runs first).

    python benchmarks/bench_segments.py                   # a 3-minute synthesized song, cppn at 128 px, 24 fps
    python benchmarks/bench_segments.py --seconds 60 --resolution 256 --runs 3

The exactness (same frames, byte-identical resumes, exact frame times) is tested in tests/test_segments.py.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.audio.demo import write_demo_song


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--fps", type=float, default=24)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        song = write_demo_song(Path(tmp) / "song.wav", seconds=args.seconds)
        dream = LucidSonicDream(song, style="cppn")
        settings = {"fps": args.fps, "resolution": args.resolution, "seed": 3, "batch_size": 8, "resume": False,
                    "progress": lambda *a: None}
        dream.plan(Path(tmp) / "warm.mp4", **settings)  # the whole song analysed, and the style loaded, once
        times: dict[str, list[float]] = {"10 s segments": [], "one segment": []}
        pair = [("10 s segments", 10.0), ("one segment", 3600.0)]
        for run in range(args.runs):
            for label, seconds in pair if run % 2 == 0 else pair[::-1]:  # ABBA: neither always goes first
                start = time.perf_counter()
                dream.hallucinate(Path(tmp) / f"{seconds:g}.mp4", segment_seconds=seconds, **settings)
                times[label].append(time.perf_counter() - start)
        for label, values in times.items():
            print(f"{label}: {', '.join(f'{v:.1f} s' for v in values)} (median {statistics.median(values):.1f} s)")
        ratio = statistics.median(times["10 s segments"]) / statistics.median(times["one segment"])
        print(f"{args.seconds:g} s at {args.resolution} px, {args.fps:g} fps: segmenting costs "
              f"{100 * (ratio - 1):+.1f} %")
        sizes = {p.name: p.stat().st_size for p in Path(tmp).glob("*.mp4")}
        print(f"file sizes: {sizes}")


if __name__ == "__main__":
    main()
