"""The settings of one render, checked and grouped by what they drive.

``hallucinate`` takes 0.4's flat keyword arguments; :func:`parse` checks every one (through :mod:`validation`,
before anything slow) and groups them, so a new driver is one field and one check in its group here, and one use
where its group is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import validation
from .effects import EffectsGenerator


@dataclass(frozen=True)
class Output:
    """What to write: the video file, its audio, frame rate, size, excerpt, batching and seed."""

    file: Path
    audio: Path | None
    fps: float
    size: tuple[int, int] | None
    start: float
    duration: float | None
    save_frames: bool
    batch_size: int
    seed: int | None


@dataclass(frozen=True)
class Pulse:
    react: float
    percussive: bool
    harmonic: bool


@dataclass(frozen=True)
class Motion:
    react: float
    percussive: bool
    harmonic: bool
    randomness: float
    speed_fpm: float
    truncation: float


@dataclass(frozen=True)
class Beat:
    react: float
    sections: bool


@dataclass(frozen=True)
class Classes:
    classes: list[int] | None  # checked against the style's class count once it is loaded
    dominant_first: bool
    pitch_react: float
    smooth_seconds: float
    complexity: float
    shuffle_seconds: float | list[float] | None
    shuffle_strength: float


@dataclass(frozen=True)
class Effects:
    contrast_strength: float | None
    contrast_percussive: bool | None
    flash_strength: float | None
    flash_percussive: bool | None
    custom: list[EffectsGenerator]


@dataclass(frozen=True)
class RenderSettings:
    output: Output
    pulse: Pulse
    motion: Motion
    beat: Beat
    classes: Classes
    effects: Effects
    truncation_psi: float


def parse(
    file_name, output_audio, fps, resolution, start, duration, save_frames, batch_size, speed_fpm,
    pulse_percussive, pulse_harmonic, pulse_react, motion_percussive, motion_harmonic, motion_react,
    motion_randomness, truncation, classes, dominant_classes_first, class_pitch_react, class_smooth_seconds,
    class_complexity, class_shuffle_seconds, class_shuffle_strength, contrast_strength, contrast_percussive,
    flash_strength, flash_percussive, custom_effects, seed, truncation_psi, beat_react, sections,
) -> RenderSettings:
    """Check ``hallucinate``'s arguments (same names) and group them; raises TypeError/ValueError naming one."""
    number, flag = validation.number, validation.flag
    file = validation.video_path(file_name)
    fps = number("fps", fps, low=0, low_open=True, high=1000)
    output = Output(
        file=file,
        audio=validation.audio_file("output_audio", output_audio, optional=True),
        fps=fps,
        size=validation.resolution(resolution),
        start=number("start", start, low=0),
        duration=validation.optional_number("duration", duration, low=0, low_open=True),
        save_frames=flag("save_frames", save_frames),
        batch_size=number("batch_size", batch_size, low=1, integer=True),
        seed=None if seed is None else number("seed", seed, low=0, high=2**63 - 1, integer=True),
    )
    return RenderSettings(
        output=output,
        pulse=Pulse(
            react=number("pulse_react", pulse_react, low=0),
            percussive=flag("pulse_percussive", pulse_percussive),
            harmonic=flag("pulse_harmonic", pulse_harmonic),
        ),
        motion=Motion(
            react=number("motion_react", motion_react, low=0),
            percussive=flag("motion_percussive", motion_percussive),
            harmonic=flag("motion_harmonic", motion_harmonic),
            randomness=number("motion_randomness", motion_randomness, low=0, high=1),
            speed_fpm=number("speed_fpm", speed_fpm, low=0, high=fps * 60),
            truncation=number("truncation", truncation, low=0, high=1),
        ),
        beat=Beat(react=number("beat_react", beat_react, low=0), sections=flag("sections", sections)),
        classes=Classes(
            classes=validation.class_list(classes, 0),  # its range is checked once the style is loaded
            dominant_first=flag("dominant_classes_first", dominant_classes_first),
            pitch_react=number("class_pitch_react", class_pitch_react, low=0),
            smooth_seconds=number("class_smooth_seconds", class_smooth_seconds, low=0),
            complexity=number("class_complexity", class_complexity, low=0),
            shuffle_seconds=validation.shuffle_seconds(class_shuffle_seconds),
            shuffle_strength=number("class_shuffle_strength", class_shuffle_strength, low=0, high=1),
        ),
        effects=Effects(
            contrast_strength=validation.optional_number("contrast_strength", contrast_strength, low=0, high=1),
            contrast_percussive=flag("contrast_percussive", contrast_percussive, optional=True),
            flash_strength=validation.optional_number("flash_strength", flash_strength, low=0, high=1),
            flash_percussive=flag("flash_percussive", flash_percussive, optional=True),
            custom=_custom_effects(custom_effects),
        ),
        truncation_psi=number("truncation_psi", truncation_psi),
    )


def _custom_effects(custom_effects: object) -> list[EffectsGenerator]:
    if custom_effects is None:
        return []
    if isinstance(custom_effects, (str, bytes)) or not hasattr(custom_effects, "__iter__"):
        raise TypeError("custom_effects must be a list of EffectsGenerator objects")
    effects = list(custom_effects)
    for fx in effects:
        if not isinstance(fx, EffectsGenerator):
            raise TypeError(f"custom_effects must hold EffectsGenerator objects, got {type(fx).__name__}")
    return effects
