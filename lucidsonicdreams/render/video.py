"""Streaming MP4 output: frames are piped to one ffmpeg process that also muxes the audio.

The video is written to a hidden temporary file beside the target and renamed over it only when ffmpeg has
finished without error, so a failed or interrupted render never leaves a half-written file at the target and
never destroys an existing one. ffmpeg never outlives its writer: leaving the writer stops it, and on Linux the
kernel stops it when the process that started it dies, however it dies.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..audio.decode import ffmpeg_exe
from ..errors import EncoderError
from ..utils.files import UMASK


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # looked up now: between fork and exec (where it is called) nothing should be loaded
_PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int, parent: int) -> bool:
    """Linux: have the kernel send ``sig`` to this process when the thread of ``parent`` that started it ends.
    If ``parent`` has already gone, the signal is raised now. Returns False where this is not available."""
    if _PRCTL is None or _PRCTL(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before the request took effect: nobody would send the signal
        os.kill(os.getpid(), sig)
    return True


class _Launcher:
    """One daemon thread that starts encoders for the whole process (see :func:`_start_encoder`)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="lucidsonicdreams-encoder-launcher", daemon=True).start()

    def _serve(self) -> None:
        while True:
            started, command, popen = self.requests.get()
            try:
                started.set_result(subprocess.Popen(command, **popen))
            except BaseException as exc:
                started.set_exception(exc)


_launcher: _Launcher | None = None
_launcher_lock = threading.Lock()


def _start_encoder(command: list[str], **popen) -> subprocess.Popen:
    """``subprocess.Popen(command, **popen)``; on Linux the kernel kills the child when this process dies.

    The kernel sends that signal when the *thread* that started the child ends, not the process, and frames are
    often written from a short-lived worker thread (the frame loop's), so children are started from one daemon
    thread, which lives as long as the process."""
    global _launcher
    if _PRCTL is None:
        return subprocess.Popen(command, **popen)
    pid = os.getpid()
    with _launcher_lock:
        if _launcher is None or _launcher.pid != pid:  # a forked process has the object but not its thread
            _launcher = _Launcher()
        requests = _launcher.requests
    started: Future = Future()
    requests.put((started, command, {**popen, "preexec_fn": lambda: set_parent_death_signal(signal.SIGKILL, pid)}))
    try:
        return started.result()
    except BaseException:
        # Interrupted while waiting (Ctrl-C, a cancel): the child may still start, and nobody would stop it.
        started.add_done_callback(lambda f: f.exception() is None and _kill(f.result()))
        raise


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()  # first: a thread blocked writing a frame to it then fails at once instead of holding the pipe
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:  # the frames still buffered cannot go anywhere
            pass
    proc.wait()


# Segments must be the same bytes whoever encodes them: x264's output depends on its thread count and, without
# this mode, on the CPU's instruction set; the muxer would otherwise stamp the time and its own version.
PINNED_ENCODER = ["-threads", "4", "-x264-params", "cpu-independent=1", "-map_metadata", "-1",
                  "-fflags", "+bitexact", "-flags:v", "+bitexact"]


def _rate(fps: float | Fraction) -> str:
    """A frame rate as ffmpeg reads it: an exact ratio for a Fraction."""
    if isinstance(fps, Fraction):
        return f"{fps.numerator}/{fps.denominator}"
    return repr(float(fps))


@dataclass(frozen=True)
class AudioTrack:
    """The audio to mux: ``duration`` seconds of ``path`` from ``start`` (padded with silence where the file is
    shorter), kept at its own rate and channels."""

    path: Path
    start: float
    duration: float


class VideoWriter:
    """Write uint8 RGB frames of one size to an H.264/yuv420p MP4 with AAC audio and ``faststart``.

    Use as a context manager; leaving the block with an exception discards the partial file.

    Parameters
    ----------
    path : path
        The final file name.
    size : (int, int)
        ``(width, height)`` of every frame. An odd width or height is padded by one repeated edge pixel to the
        even size that yuv420p (what browsers and phones play) needs.
    fps : float
        Frames per second.
    audio : AudioTrack, optional
        Audio to mux.
    crf, preset : x264 quality and speed settings.
    pinned : encode the same frames to the same bytes on any machine (a fixed thread count, x264's
        CPU-independent mode, no metadata that changes) with exact frame times (the track's timescale is the
        frame rate's numerator), as segments that are joined later need.
    """

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        fps: float | Fraction,
        audio: AudioTrack | None = None,
        *,
        crf: int = 18,
        preset: str = "veryfast",
        pinned: bool = False,
    ) -> None:
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.audio = audio
        self.crf = crf
        self.preset = preset
        self.pinned = pinned
        self.frames_written = 0
        self._proc: subprocess.Popen | None = None
        self._tmp: Path | None = None
        self._log = None

    def _command(self, tmp: Path) -> list[str]:
        width, height = self.size
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width + width % 2}x{height + height % 2}",
               "-framerate", _rate(self.fps), "-i", "pipe:0"]
        if self.audio is not None:
            cmd += ["-ss", f"{self.audio.start:.6f}", "-t", f"{self.audio.duration:.6f}",
                    "-i", str(self.audio.path), "-map", "0:v:0", "-map", "1:a:0",
                    # pad with silence: a shorter file still gives audio over the whole video
                    "-af", f"apad=whole_dur={self.audio.duration:.6f}", "-c:a", "aac", "-b:a", "192k"]
        cmd += ["-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-pix_fmt", "yuv420p"]
        if self.pinned:
            cmd += PINNED_ENCODER + ["-video_track_timescale", str(Fraction(self.fps).numerator)]
        cmd += ["-movflags", "+faststart", "-f", "mp4", str(tmp)]
        return cmd

    def __enter__(self) -> VideoWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._log = tempfile.TemporaryFile()
        try:
            # Its own session: Ctrl-C reaches only Python, which then stops ffmpeg and discards the partial file.
            self._proc = _start_encoder(self._command(self._tmp), stdin=subprocess.PIPE, stderr=self._log,
                                        start_new_session=True)
        except BaseException:
            self._log.close()
            self._tmp.unlink()
            raise
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one frame, shape (height, width, 3), uint8."""
        width, height = self.size
        if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 of shape {(height, width, 3)}, got {frame.dtype} {frame.shape}")
        if width % 2 or height % 2:
            frame = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, OSError) as exc:
            raise EncoderError(f"ffmpeg stopped while encoding {str(self.path)!r}: {self._ffmpeg_message()}") from exc
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            # An error, or an exception while ffmpeg was finishing (a cancel, Ctrl-C): stop it, or it would go on
            # writing a file that nobody wants.
            if self._proc.poll() is None:
                _kill(self._proc)
            self._log.close()
            if self._tmp.exists():
                self._tmp.unlink()

    def _finish(self) -> None:
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        if self._proc.wait() != 0:
            raise EncoderError(f"ffmpeg failed to write {str(self.path)!r}: {self._ffmpeg_message()}")
        if self.frames_written == 0:
            raise EncoderError(f"no frames were rendered for {str(self.path)!r}")
        # mkstemp makes the file private (0600); give the video the permissions any new file would get.
        os.chmod(self._tmp, 0o666 & ~UMASK)
        os.replace(self._tmp, self.path)

    def _ffmpeg_message(self) -> str:
        self._proc.wait()
        self._log.seek(0)
        lines = [line for line in self._log.read().decode(errors="replace").splitlines() if line.strip()]
        hint = lines[-1] if lines else f"exit code {self._proc.returncode}"
        if "No space left" in hint:
            hint += " (free some disk space, or write the video elsewhere)"
        return hint


def join_segments(segments: list[Path], target: Path, fps: Fraction, audio: AudioTrack | None,
                  comment: str | None = None) -> None:
    """Join MP4 segments written with ``pinned=True`` into ``target`` without re-encoding (ffmpeg's concat
    demuxer, stream copy), muxing the AAC audio once over the whole. Frame times stay exact: the output keeps
    the segments' timescale. ``comment`` goes into the file's metadata. The file appears whole, by rename, or
    not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    with tempfile.TemporaryDirectory(prefix="lucidsonicdreams-join-") as folder:
        listing = Path(folder) / "segments.txt"
        # The concat demuxer's quoting: a quote inside a quoted name is written '\''.
        listing.write_text("".join("file '" + str(p.resolve()).replace("'", "'\\''") + "'\n" for p in segments),
                           encoding="utf-8")
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "concat", "-safe", "0", "-i", str(listing)]
        if audio is not None:
            cmd += ["-ss", f"{audio.start:.6f}", "-t", f"{audio.duration:.6f}", "-i", str(audio.path),
                    "-map", "0:v:0", "-map", "1:a:0", "-af", f"apad=whole_dur={audio.duration:.6f}",
                    "-c:a", "aac", "-b:a", "192k"]
        cmd += ["-c:v", "copy", "-video_track_timescale", str(fps.numerator), "-map_metadata", "-1",
                "-fflags", "+bitexact", "-movflags", "+faststart"]
        if comment is not None:
            cmd += ["-metadata", f"comment={comment}"]
        cmd += ["-f", "mp4", str(tmp)]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                lines = [line for line in run.stderr.splitlines() if line.strip()]
                raise EncoderError(f"ffmpeg failed to join the segments of {str(target)!r}: "
                                   f"{lines[-1] if lines else 'no message'}")
            os.chmod(tmp, 0o666 & ~UMASK)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()


def read_comment(path: Path) -> str | None:
    """The ``comment`` in a video file's metadata, or ``None`` (no comment, or not a readable video)."""
    run = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                          "-f", "ffmetadata", "-"], capture_output=True, text=True, errors="replace")
    for line in run.stdout.splitlines():
        if line.startswith("comment="):
            return line[len("comment="):]
    return None
