"""Where live frames go: a recording (``--record take.mp4``: the frames and the sound, in sync), and the
browser page of :mod:`.page`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from ..render.segments import frame_rate
from ..render.video import AudioTrack, VideoWriter, join_segments
from .engine import LiveImage


class RecordSink:
    """An MP4 of a live run at its frame rate, with the sound it heard: a dropped frame repeats the one before,
    so the picture stays in step with the sound. A file's own audio is muxed (cut where the picture ends); a
    device's sound is kept as it arrives. The file appears whole when the run ends, or not at all."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._folder: Path | None = None
        self._writer: VideoWriter | None = None
        self._sound: soundfile.SoundFile | None = None
        self._last: np.ndarray | None = None
        self._count = 0

    def open(self, size: tuple[int, int], fps: float, source) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix=".live-", dir=self.path.parent))
        self._fps, self._source = frame_rate(fps), source
        try:
            if getattr(source, "path", None) is None:
                self._sound = soundfile.SoundFile(self._folder / "sound.wav", "w", source.sample_rate, 1)
            self._writer = VideoWriter(self._folder / "video.mp4", size, self._fps, None, pinned=True).__enter__()
        except BaseException:  # not opened, so never closed: nothing may stay behind
            if self._sound is not None:
                self._sound.close()
            shutil.rmtree(self._folder, ignore_errors=True)
            raise

    def frame(self, frame: LiveImage) -> None:
        while self._count < frame.index:  # frames dropped before this one (the first ones: this one, earlier)
            self._writer.write(self._last if self._last is not None else frame.image)
            self._count += 1
        self._writer.write(frame.image)
        self._last, self._count = frame.image, frame.index + 1
        if self._sound is not None and len(frame.audio):
            self._sound.write(frame.audio)

    def close(self) -> None:
        if self._writer is None:
            return
        try:
            if self._sound is not None:
                self._sound.close()
            if not self._count:
                self._writer.__exit__(RuntimeError, None, None)  # nothing to keep
                return
            self._writer.__exit__(None, None, None)
            audio = getattr(self._source, "path", None) or self._folder / "sound.wav"
            join_segments([self._folder / "video.mp4"], self.path, self._fps,
                          AudioTrack(Path(audio), 0.0, float(self._count / self._fps)))
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
