"""Decoding audio files: duration probes and float32 excerpts (mono or every channel) at a chosen sample rate.

libsndfile (through soundfile) reads wav, flac, ogg and mp3 quickly; anything else (m4a, aac, video files)
is decoded by the ffmpeg binary that imageio-ffmpeg ships, so no system ffmpeg is needed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import librosa
import numpy as np
import soundfile

from ..errors import AudioDecodeError


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def duration_seconds(path: str | Path) -> float:
    """Length of an audio file in seconds, read from its header (no decoding where libsndfile can read it)."""
    try:
        info = soundfile.info(str(path))
        if info.frames > 0:
            return info.frames / info.samplerate
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        pass
    return _ffmpeg_duration(path)


def readable_duration(name: str, path: str | Path) -> float:
    """``duration_seconds``, with a decoding error that names the argument the file was given as."""
    try:
        return duration_seconds(path)
    except AudioDecodeError as exc:
        raise AudioDecodeError(f"{name}: {exc}") from None


def _ffmpeg_duration(path: str | Path) -> float:
    # Decoding to the null muxer is the reliable way to learn the length with ffmpeg alone (no ffprobe).
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-vn", "-map", "0:a:0", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", proc.stderr)
    if proc.returncode != 0 or not times:
        raise AudioDecodeError(f"cannot read audio from {str(path)!r}: {_last_line(proc.stderr)}")
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def load_mono(path: str | Path, sr: int, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode ``[start, start + duration)`` seconds of a file, mixed to mono and resampled to ``sr``.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    return load_channels(path, sr, start, duration, mono=True)[0]


def load_channels(path: str | Path, sr: int, start: float = 0.0, duration: float | None = None, *,
                  mono: bool = False) -> np.ndarray:
    """Decode ``[start, start + duration)`` seconds of a file at ``sr``, every channel (or mixed to mono).

    Returns
    -------
    np.ndarray [shape=(channels, n), dtype=float32]
    """
    try:
        y, native_sr = _read_soundfile(path, start, duration)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        return _read_ffmpeg(path, sr, start, duration, mono)
    if not mono and len(y) > 2:  # surround: ffmpeg's down-mix matrix knows each channel's place
        return _read_ffmpeg(path, sr, start, duration, mono)
    if mono:
        y = y.mean(axis=0, keepdims=True)
    if native_sr != sr:
        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr, res_type="soxr_hq", axis=-1)
    return np.ascontiguousarray(y, dtype=np.float32)


def _read_soundfile(path: str | Path, start: float, duration: float | None) -> tuple[np.ndarray, int]:
    with soundfile.SoundFile(str(path)) as f:
        first = int(round(start * f.samplerate))
        frames = -1 if duration is None else int(round(duration * f.samplerate))
        if first:
            f.seek(min(first, f.frames))
        data = f.read(frames, dtype="float32", always_2d=True)
        return data.T, f.samplerate


def _read_ffmpeg(path: str | Path, sr: int, start: float, duration: float | None, mono: bool) -> np.ndarray:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{start:.6f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.6f}"]
    # Anything but mono is decoded as stereo: more channels are mixed down by ffmpeg's own matrix.
    channels = 1 if mono else 2
    cmd += ["-i", str(path), "-vn", "-map", "0:a:0", "-ac", str(channels), "-ar", str(sr), "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        message = _last_line(proc.stderr.decode(errors="replace"))
        raise AudioDecodeError(f"cannot decode audio file {str(path)!r}: {message}")
    return np.frombuffer(proc.stdout, dtype="<f4").reshape(-1, channels).T.copy()


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad or trim a signal to exactly ``n`` samples."""
    if len(y) >= n:
        return y[:n]
    return np.pad(y, (0, n - len(y)))


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"
