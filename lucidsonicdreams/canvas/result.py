"""A finished canvas: its picture, its sound, and the files made from them (a PNG, a WAV, and an MP4 in which a
playhead sweeps across the picture in time with its sound)."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import torch
from PIL import Image

from ..render.video import AudioTrack, VideoWriter
from ..utils import checks as validation
from ..utils.files import write_atomically

VIDEO_FPS = 30
# The playhead: a bright line with a dark rim, so it shows on light and dark pictures alike.
_PLAYHEAD_WIDTH = 3


@dataclass(frozen=True, eq=False)
class SoundImage:
    """One canvas read two ways.

    Attributes
    ----------
    image : PIL.Image.Image
        The canvas as the image model's VAE draws it.
    audio : np.ndarray
        Its sound: mono float32 samples at ``sample_rate`` (16 kHz), 160 per spectrogram column.
    sample_rate : int
    spectrogram : PIL.Image.Image
        The canvas as the audio model's VAE draws it, in Auffusion's format (the picture the sound comes from).
    vocoder : str
        ``"hifigan"`` (the audio model's own vocoder) or ``"griffin-lim"`` (where it has none).
    seed : int
        The seed this candidate started from (candidate i of a call: seed + i).
    latents : torch.Tensor
        The denoised latent [shape=(1, 4, height / 8, width / 8)], float32 on the CPU.
    """

    image: Image.Image
    audio: np.ndarray
    sample_rate: int
    spectrogram: Image.Image
    vocoder: str
    seed: int
    latents: torch.Tensor = field(repr=False)

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate

    def save_image(self, path: str | Path) -> Path:
        """Write the picture as a PNG; returns its path (``.png`` added if missing)."""
        target = validation.output_file("output", path, ".png", "castle.png")
        return write_atomically(target, lambda tmp: self.image.save(tmp, format="PNG"))

    def save_audio(self, path: str | Path) -> Path:
        """Write the sound as a 16-bit WAV; returns its path."""
        target = validation.output_file("audio", path, ".wav", "castle.wav")
        return write_atomically(target, lambda tmp: _write_wav(tmp, self.audio, self.sample_rate))

    def save_video(self, path: str | Path, *, fps: float = VIDEO_FPS) -> Path:
        """Write an MP4 (H.264 + AAC) of the picture with a playhead sweeping across it in time with its sound,
        ready to post; returns its path."""
        target = validation.video_path(path, "video")
        fps = validation.number("fps", fps, low=1, high=240)
        frames = max(1, math.ceil(self.seconds * fps))
        with tempfile.TemporaryDirectory(prefix="lucidsonicdreams-") as folder:
            wav = Path(folder) / "sound.wav"
            _write_wav(str(wav), self.audio, self.sample_rate)
            picture = np.asarray(self.image.convert("RGB"))
            with VideoWriter(target, (picture.shape[1], picture.shape[0]), fps,
                             AudioTrack(wav, 0.0, frames / fps)) as writer:
                for k in range(frames):
                    writer.write(with_playhead(picture, k / fps / self.seconds))
        return target


def with_playhead(picture: np.ndarray, position: float) -> np.ndarray:
    """A copy of ``picture`` (uint8 RGB) with the playhead at ``position`` (0: the left edge, 1: the right)."""
    width = picture.shape[1]
    x = min(width - 1, max(0, round(position * width)))
    frame = picture.copy()
    lo, hi = max(0, x - _PLAYHEAD_WIDTH // 2 - 1), min(width, x + _PLAYHEAD_WIDTH // 2 + 2)
    frame[:, lo:hi] = 0
    frame[:, max(0, x - _PLAYHEAD_WIDTH // 2):min(width, x + _PLAYHEAD_WIDTH // 2 + 1)] = 255
    return frame


def _write_wav(path: str, samples: np.ndarray, rate: int) -> None:
    soundfile.write(path, np.clip(samples, -1, 1), rate, subtype="PCM_16", format="WAV")


def numbered(path: Path, index: int, count: int) -> Path:
    """``castle.png`` for a single candidate; ``castle-1.png``, ``castle-2.png``... for several."""
    if count == 1:
        return path
    digits = len(str(count))
    return path.with_name(f"{path.stem}-{index + 1:0{digits}d}{path.suffix}")
