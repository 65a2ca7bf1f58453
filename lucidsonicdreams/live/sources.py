"""Where live sound comes from: a file played in real time (or read as fast as the frames allow, ``offline``),
or a sound device through PortAudio (``sounddevice``, the ``[live]`` extra)."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import numpy as np

from ..audio.decode import load_mono


class FileSource:
    """A song as if it were heard: :meth:`read_until` gives the samples up to a time. In real time the caller
    waits for that time on :meth:`clock`; ``offline`` has no clock (every frame is drawn, as fast as it can)."""

    def __init__(self, path: str | Path, *, offline: bool = False, sample_rate: int = 22050) -> None:
        self.path = Path(path)
        self.offline = offline
        self.samples, self.sample_rate = load_mono(self.path, sample_rate), sample_rate
        self._position = 0
        self._started: float | None = None
        self.name = f"playing {self.path.name}"

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def start(self) -> None:
        self._started = time.perf_counter()

    def clock(self) -> float:
        """Seconds of sound heard so far."""
        return time.perf_counter() - self._started

    def read_until(self, seconds: float) -> np.ndarray | None:
        """The samples from the last read up to ``seconds``; ``None`` once ``seconds`` is the end of the file or
        past it (a frame at that time would show nothing of it)."""
        if seconds >= self.duration:
            return None
        end = min(len(self.samples), int(round(seconds * self.sample_rate)))
        block, self._position = self.samples[self._position:end], max(self._position, end)
        return block

    def close(self) -> None:
        pass


class DeviceSource:
    """A sound device's input (``sounddevice``): blocks arrive on PortAudio's thread and wait in a queue; the clock
    is the count of samples received, so frames follow the sound card, not the computer's clock."""

    offline = False

    def __init__(self, device: str | int | None, *, sample_rate: int = 22050, block: int = 256) -> None:
        sounddevice = import_sounddevice()
        try:
            info = sounddevice.query_devices(device, "input")
        except (ValueError, sounddevice.PortAudioError) as exc:
            raise ValueError(f"--input {device!r}: no such input device ({exc}); --list-devices shows them") from None
        self.sample_rate = sample_rate
        self.name = f"listening on {info['name']}"
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._received = 0
        self._lock = threading.Lock()
        self._stream = sounddevice.InputStream(device=device, channels=1, samplerate=sample_rate, blocksize=block,
                                               dtype="float32", callback=self._callback)
        self._pending: list[np.ndarray] = []
        self._taken = 0

    def _callback(self, data, frames, when, status) -> None:
        self._queue.put(data[:, 0].copy())
        with self._lock:
            self._received += frames

    def start(self) -> None:
        self._stream.start()

    def clock(self) -> float:
        with self._lock:
            return self._received / self.sample_rate

    def read_until(self, seconds: float) -> np.ndarray:
        while True:
            try:
                self._pending.append(self._queue.get_nowait())
            except queue.Empty:
                break
        block = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        self._pending = []
        return block

    def close(self) -> None:
        if not self._stream.closed:
            self._stream.stop()
            self._stream.close()


def import_sounddevice():
    """``sounddevice``, or a one-line error that says what is missing."""
    try:
        import sounddevice
    except ImportError:
        raise ImportError("a sound device needs sounddevice: pip install 'lucidsonicdreams[live]'") from None
    except OSError as exc:  # the module is there, PortAudio is not
        raise OSError(f"a sound device needs PortAudio ({exc}): on Debian or Ubuntu, apt-get install "
                      "libportaudio2; or play a file with --file") from None
    return sounddevice


def list_devices() -> str:
    """The input devices, one per line."""
    sounddevice = import_sounddevice()
    lines = [f"{i}: {d['name']} ({d['max_input_channels']} in, {d['default_samplerate']:g} Hz)"
             for i, d in enumerate(sounddevice.query_devices()) if d["max_input_channels"] > 0]
    return "\n".join(lines) or "no input devices"
