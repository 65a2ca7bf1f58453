"""Speed of the built-in ``cppn`` style, alone and end to end, and of streaming vs a PNG frame folder.

    python benchmarks/bench_cppn.py [--seconds 20] [--resolution 512] [--fps 30] [--batch-size 4] [--memory]

Prints frames per second for: the network alone; a whole ``hallucinate`` render of a synthesized song
(analysis, latents, generation, effects, encoding, audio mux); and, for the same frames, piping them to one
ffmpeg process versus writing PNG files and assembling them afterwards (what 0.4 did). ``--memory`` also
renders a short and an 8x longer song in subprocesses and prints their peak memory (Linux).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.audio.decode import ffmpeg_exe
from lucidsonicdreams.audio.demo import write_demo_song
from lucidsonicdreams.render.video import VideoWriter
from lucidsonicdreams.style import RenderOptions
from lucidsonicdreams.style.cppn import CPPNStyle


def style_only(resolution: int, batch_size: int, seconds: float = 5.0) -> float:
    style, options = CPPNStyle(seed=0), RenderOptions(size=(resolution, resolution))
    rng = np.random.default_rng(0)
    noise, classes = rng.standard_normal((batch_size, 128)), rng.random((batch_size, 12))
    style(noise, classes, options)
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        style(noise, classes, options)
        frames += batch_size
    return frames / (time.perf_counter() - start)


def end_to_end(song: Path, out: Path, fps: int, resolution: int, batch_size: int) -> tuple[int, float]:
    start = time.perf_counter()
    LucidSonicDream(song).hallucinate(out, fps=fps, resolution=resolution, batch_size=batch_size, seed=1,
                                      flash_strength=0.3)
    return int(round(fps * _seconds(song))), time.perf_counter() - start


def _seconds(song: Path) -> float:
    import soundfile

    return soundfile.info(str(song)).duration


def stream_vs_png(frames: list[np.ndarray], fps: int, folder: Path) -> tuple[float, float]:
    height, width = frames[0].shape[:2]
    start = time.perf_counter()
    with VideoWriter(folder / "stream.mp4", (width, height), fps) as writer:
        for frame in frames:
            writer.write(frame)
    streamed = time.perf_counter() - start

    start = time.perf_counter()
    png_dir = folder / "frames"
    png_dir.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(png_dir / f"{i:06d}.png")
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-framerate", str(fps), "-i",
                    str(png_dir / "%06d.png"), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                    "-pix_fmt", "yuv420p", str(folder / "png.mp4")], check=True)
    return streamed, time.perf_counter() - start


def peak_memory_mib(song: Path, out: Path, fps: int, resolution: int) -> float:
    """Peak resident memory of a fresh Python process that renders ``song`` (ffmpeg's process not included).

    Read from /proc's VmHWM: ``ru_maxrss`` would also count the memory of this (large) parent at fork time.
    """
    code = ("import re, sys; from lucidsonicdreams import LucidSonicDream; "
            f"LucidSonicDream(sys.argv[1]).hallucinate(sys.argv[2], fps={fps}, resolution={resolution}, seed=1); "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    proc = subprocess.run([sys.executable, "-c", code, str(song), str(out)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, check=True)
    return int(proc.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()

    print(f"cppn at {args.resolution}x{args.resolution}, batch {args.batch_size}, {os.cpu_count()} CPU cores")
    print(f"  network alone:        {style_only(args.resolution, args.batch_size):6.1f} frames/s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        song = write_demo_song(tmp / "song.wav", seconds=args.seconds)
        end_to_end(write_demo_song(tmp / "warm.wav", seconds=2), tmp / "warm.mp4", args.fps, 64, 1)  # JIT, caches
        n, wall = end_to_end(song, tmp / "e2e.mp4", args.fps, args.resolution, args.batch_size)
        print(f"  end to end ({args.seconds:g} s song, {n} frames at {args.fps} fps): {n / wall:6.1f} frames/s "
              f"({wall:.1f} s, {args.seconds / wall:.2f}x real time)")

        style, options = CPPNStyle(seed=0), RenderOptions(size=(args.resolution, args.resolution))
        rng = np.random.default_rng(0)
        frames = [f for _ in range(n // 4 // 4)
                  for f in style(rng.standard_normal((4, 128)), rng.random((4, 12)), options)]
        streamed, png = stream_vs_png(frames, args.fps, tmp)
        print(f"  encode {len(frames)} frames: pipe to ffmpeg {streamed:.2f} s, PNG folder + ffmpeg {png:.2f} s "
              f"-> streaming is {png / streamed:.1f}x faster")

        if args.memory:
            short = write_demo_song(tmp / "short.wav", seconds=30)
            long = write_demo_song(tmp / "long.wav", seconds=240)
            a = peak_memory_mib(short, tmp / "short.mp4", args.fps, 256)
            b = peak_memory_mib(long, tmp / "long.mp4", args.fps, 256)
            print(f"  peak memory at 256x256: 30 s song {a:.0f} MiB, 240 s song {b:.0f} MiB ({b / a:.2f}x)")


if __name__ == "__main__":
    main()
