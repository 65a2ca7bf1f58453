"""How visibly the picture hits on the beat: frame-to-frame change against the song's onset strength.

    python benchmarks/beat_sync.py SONG [SONG ...] [--beat-react 0.5] [--seconds 60] [--offset 30]
        [--resolution 256] [--fps 43] [--style cppn] [--sections]

Each song excerpt is rendered through the public API (defaults otherwise), the MP4 is decoded, every frame is
standardised to zero mean and unit variance (so a brightness flash alone does not count), and the mean absolute
change between consecutive frames is correlated (Pearson r) with ``librosa.onset.onset_strength`` of the song
sampled at the frame times. Also prints r against the harmonic loudness (what 0.4's motion follows).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import librosa
import numpy as np

from lucidsonicdreams import LucidSonicDream


def frame_changes(video: Path) -> np.ndarray:
    """Mean absolute change of the standardised frames, one value per frame (the first is 0)."""
    changes, previous = [0.0], None
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            x = frame.to_ndarray(format="rgb24").astype(np.float32)
            x = (x - x.mean()) / max(float(x.std()), 1e-6)
            if previous is not None:
                changes.append(float(np.abs(x - previous).mean()))
            previous = x
    return np.array(changes)


def song_curves(song: Path, offset: float, seconds: float, fps: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset strength and harmonic loudness of the excerpt at the frame times."""
    y, sr = librosa.load(str(song), sr=22050, offset=offset, duration=seconds)
    onset = librosa.onset.onset_strength(y=y, sr=sr)
    harmonic = librosa.feature.rms(y=librosa.effects.harmonic(y))[0]
    times = np.arange(n) / fps
    grid = librosa.frames_to_time(np.arange(len(onset)), sr=sr)
    return np.interp(times, grid, onset), np.interp(times, librosa.frames_to_time(np.arange(len(harmonic)), sr=sr),
                                                    harmonic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("songs", nargs="+", type=Path)
    parser.add_argument("--beat-react", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--offset", type=float, default=30.0)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--fps", type=float, default=43)
    parser.add_argument("--style", default="cppn")
    parser.add_argument("--sections", action="store_true")
    args = parser.parse_args()
    rs = []
    with tempfile.TemporaryDirectory() as tmp:
        for song in args.songs:
            began = time.perf_counter()
            video = Path(tmp) / "v.mp4"
            LucidSonicDream(song, style=args.style).hallucinate(
                video, fps=args.fps, resolution=args.resolution, start=args.offset, duration=args.seconds, seed=1,
                beat_react=args.beat_react, sections=args.sections, batch_size=4)
            changes = frame_changes(video)
            onset, harmonic = song_curves(song, args.offset, args.seconds, args.fps, len(changes))
            r_onset = float(np.corrcoef(changes[1:], onset[1:])[0, 1])
            r_harm = float(np.corrcoef(changes[1:], harmonic[1:])[0, 1])
            rs.append(r_onset)
            print(f"{song.name:28s} r(onset) {r_onset:6.3f}   r(harmonic loudness) {r_harm:6.3f}   "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)
    print(f"beat_react={args.beat_react}: mean r(onset) {np.mean(rs):.3f}, min {np.min(rs):.3f}")


if __name__ == "__main__":
    main()
