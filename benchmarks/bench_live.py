"""Live mode on this machine: the rate and latency of a file played in real time, and how the live picture
follows real songs against an offline render of the same songs.

    python benchmarks/bench_live.py                                  # cppn at 256 and 512 px, 30 fps, 30 s
    python benchmarks/bench_live.py --resolution 256 --song a.ogg --song b.ogg  # also: live against offline on songs
    python benchmarks/bench_live.py --style stylegan3-r-afhqv2-512x512.pkl --resolution 512 --device cuda  # a GPU

The click track is noise bursts at 123 BPM (a tempo that does not divide 30 fps) over a held tone, played in
real time from a file. Latency is measured on the sound's clock: from a click's first sample to its hit frame
being ready, and from the newest sound a frame saw to the frame being ready. For real songs, the frame-to-frame
change is correlated with the onset strength (as benchmarks/beat_sync.py measures offline renders), for the
live frames (``--offline``: every frame, causal) and for ``hallucinate`` with the same settings.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from beat_sync import frame_changes, song_curves  # noqa: E402
from test_live_analysis import click_track  # noqa: E402

from lucidsonicdreams import LucidSonicDream  # noqa: E402
from lucidsonicdreams.live.engine import LiveDream  # noqa: E402
from lucidsonicdreams.live.sinks import RecordSink  # noqa: E402
from lucidsonicdreams.live.sources import FileSource  # noqa: E402


class Clock:
    """Keeps (frame time, hit, sound clock when ready) of every frame drawn."""

    def open(self, size, fps, source) -> None:
        self.source, self.rows = source, []

    def frame(self, frame) -> None:
        self.rows.append((frame.time, frame.signals.hit, self.source.clock()))

    def close(self) -> None:
        pass


def real_time(style: str, resolution: int, fps: float, seconds: float, device: str | None, folder: Path) -> None:
    y, clicks = click_track(123, seconds)
    path = folder / "clicks.wav"
    soundfile.write(path, y, 22050)
    clock = Clock()
    dream = LiveDream(style, resolution=resolution, fps=fps, seed=1, device=device)
    stats = dream.run(FileSource(path), [clock])
    rows = np.array(clock.rows)
    hits = rows[rows[:, 1] > 0.3]
    latencies, on_time = [], []
    for click in clicks:
        near = hits[(hits[:, 0] >= click - 1 / fps - 1e-9) & (hits[:, 0] <= click + 0.1)]
        if len(near):
            latencies.append(near[0, 2] - click)
            if click > 4.0:
                on_time.append(abs(near[0, 0] + 0.5 / fps - click) <= 0.05)
    latencies = np.array(latencies)
    first = rows[rows[:, 0] < 5]
    last = rows[rows[:, 0] >= seconds - 5]
    print(f"{style} {resolution} px, {fps:g} fps, {seconds:g} s in real time: {stats.summary()[6:]}")
    print(f"  clicks with a hit frame {len(latencies)}/{len(clicks)}; click to hit frame ready: median "
          f"{1000 * np.median(latencies):.0f} ms, 95th percentile {1000 * np.percentile(latencies, 95):.0f} ms; "
          f"hit frames shown within 50 ms of the click after 4 s: {np.mean(on_time):.0%}")
    print(f"  frame latency, first 5 s: median {1000 * np.median(first[:, 2] - first[:, 0]):.0f} ms; last 5 s: "
          f"{1000 * np.median(last[:, 2] - last[:, 0]):.0f} ms")


def against_offline(song: Path, resolution: int, fps: float, offset: float, seconds: float, folder: Path) -> float:
    """Print r(frame change, onset strength) live and offline on ``seconds`` of ``song`` from ``offset``; returns
    live minus offline."""
    settings = {"beat_react": 0.5}
    live_video = folder / f"{song.stem}-live.mp4"
    clip = folder / f"{song.stem}.wav"
    import librosa

    y, sr = librosa.load(str(song), sr=44100, mono=False, offset=offset, duration=seconds)
    soundfile.write(clip, np.atleast_2d(y).T, sr)
    LiveDream("cppn", resolution=resolution, fps=fps, seed=1, **settings).run(
        FileSource(clip, offline=True), [RecordSink(live_video)])
    offline = LucidSonicDream(str(clip)).hallucinate(folder / f"{song.stem}-offline.mp4", fps=fps,
                                                     resolution=resolution, seed=1, progress=lambda *a: None,
                                                     **settings)
    rs = {}
    for name, video in (("live", live_video), ("offline", offline.file)):
        changes = frame_changes(video)
        onset, _ = song_curves(clip, 0.0, seconds, fps, len(changes))
        rs[name] = float(np.corrcoef(changes[1:], onset[1:])[0, 1])
    print(f"{song.name}: frame change against onset strength r = {rs['live']:.2f} live, {rs['offline']:.2f} "
          f"offline (difference {rs['live'] - rs['offline']:+.2f})")
    return rs["live"] - rs["offline"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="cppn")
    parser.add_argument("--resolution", type=int, action="append", help="default: 256 and 512")
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--device")
    parser.add_argument("--song", type=Path, action="append", default=[])
    parser.add_argument("--song-offset", type=float, default=30.0, help="seconds into each song (as beat_sync.py)")
    parser.add_argument("--song-resolution", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for resolution in args.resolution or [256, 512]:
            real_time(args.style, resolution, args.fps, args.seconds, args.device, Path(tmp))
        gaps = [against_offline(song, args.song_resolution, args.fps, args.song_offset, 60.0, Path(tmp))
                for song in args.song]
        if gaps:
            print(f"live minus offline: mean {np.mean(gaps):+.3f}, worst {min(gaps):+.3f} over {len(gaps)} songs")


if __name__ == "__main__":
    main()
