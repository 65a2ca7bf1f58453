"""What a timeline costs before the first frame: planning a 3-minute song (analysis, placement and vectors) with
and without a 20-keyframe timeline and two schedules, side by side in one run, in ABBA order.

    python benchmarks/bench_timeline.py                        # a 3-minute synthesized song, cppn, 24 fps
    python benchmarks/bench_timeline.py --seconds 60 --runs 6

Each plan is made by a new LucidSonicDream, so the analysis is part of every time (it is most of it). Both sides
find the beats (``beat_react=0.5``): a timeline with bars needs them, and so does a render that hits on the beat.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.audio.demo import write_demo_song


def twenty_keyframes(seconds: float) -> list[dict]:
    """Scenes and react settings at song times, beats, bars and sections, with every kind of transition."""
    keyframes = []
    for i in range(20):
        at = [f"{int(i * seconds / 20) // 60}:{int(i * seconds / 20) % 60:02d}", f"bar {1 + 4 * i}",
              f"beat {1 + 13 * i}", i * seconds / 20 + 0.3][i % 4]
        keyframe = {"at": at, "transition": ["cut", 1.5, "2 beats", "1 bar"][i % 4],
                    "ease": ["step", "linear", "smooth"][i % 3]}
        keyframe["scene" if i % 2 else ["pulse_react", "motion_react"][i % 4 // 2]] = i if i % 2 else 0.3 + 0.05 * i
        keyframes.append(keyframe)
    return keyframes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--fps", type=float, default=24)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        song = write_demo_song(Path(tmp) / "song.wav", seconds=args.seconds)
        settings = {"fps": args.fps, "resolution": 128, "seed": 3, "beat_react": 0.5, "progress": lambda *a: None}
        timeline = {"timeline": twenty_keyframes(args.seconds), "snap": "beat",
                    "beat_react": "0:(0.3), 1:00:(0.8), bar 60:(0.5)"}
        LucidSonicDream(song, style="cppn").plan(Path(tmp) / "warm.mp4", **settings)  # imports and caches warm
        times: dict[str, list[float]] = {"without": [], "with a 20-keyframe timeline": []}
        pair = [("without", {}), ("with a 20-keyframe timeline", timeline)]
        for run in range(args.runs):
            for label, extra in pair if run % 2 == 0 else pair[::-1]:  # ABBA: neither always goes first
                start = time.perf_counter()
                LucidSonicDream(song, style="cppn").plan(Path(tmp) / "x.mp4", **{**settings, **extra})
                times[label].append(time.perf_counter() - start)
        for label, values in times.items():
            print(f"{label}: median {statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})")
        ratio = statistics.median(times["with a 20-keyframe timeline"]) / statistics.median(times["without"])
        print(f"the timeline adds {100 * (ratio - 1):+.1f} % to the time before the first frame "
              f"({args.seconds:g} s song, {args.fps:g} fps)")


if __name__ == "__main__":
    main()
