"""``LucidSonicDream``: wires audio analysis, latents, the style, effects and the encoder into one render."""

from __future__ import annotations

import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from . import latents, validation
from .analysis import AnalysisCache, choose_part
from .audio import readable_duration
from .cppn import CPPNStyle
from .device import resolve_device
from .effects import EffectsGenerator, contrast_effect, flash_effect
from .frames import fit_frame
from .plot import plot_signals
from .signals import Routing, Signals, route_signals
from .style import DEFAULT_STYLE, Style, StyleGANStyle, check_style, is_builtin, load_style
from .video import AudioTrack, VideoWriter

# At most this many generated batches wait for the encoder, so memory stays flat however long the song.
_QUEUED_BATCHES = 2


@dataclass
class _Effect:
    effect: EffectsGenerator
    amplitude: np.ndarray


class LucidSonicDream:
    """A song (and optional stems) ready to be rendered as a music video.

    Parameters
    ----------
    song : path
        Audio file (wav, mp3, ogg, flac, m4a, ...).
    pulse_audio, motion_audio, class_audio, contrast_audio, flash_audio : path, optional
        Stems that replace the song as the source of one component each.
    style : str, path or callable
        ``'cppn'`` (built-in, the default); a catalog style name (any case; see ``show_styles()``), downloaded into
        the cache on first use; a StyleGAN ``.pkl`` file (an existing file wins over a name); or a function
        ``f(noise_batch, class_batch)`` returning images (then ``input_shape`` and ``num_possible_classes`` are
        required).
    input_shape, num_possible_classes : int, optional
        Noise vector length and number of classes of a function style.
    device : str, optional
        ``'cuda'``, ``'mps'`` or ``'cpu'``; ``None`` picks the best available.
    """

    def __init__(
        self,
        song: str | Path,
        pulse_audio: str | Path | None = None,
        motion_audio: str | Path | None = None,
        class_audio: str | Path | None = None,
        contrast_audio: str | Path | None = None,
        flash_audio: str | Path | None = None,
        style: object = DEFAULT_STYLE,
        input_shape: int | None = None,
        num_possible_classes: int | None = None,
        device: str | None = None,
    ) -> None:
        self.song = validation.audio_file("song", song)
        self.pulse_audio = validation.audio_file("pulse_audio", pulse_audio, optional=True)
        self.motion_audio = validation.audio_file("motion_audio", motion_audio, optional=True)
        self.class_audio = validation.audio_file("class_audio", class_audio, optional=True)
        self.contrast_audio = validation.audio_file("contrast_audio", contrast_audio, optional=True)
        self.flash_audio = validation.audio_file("flash_audio", flash_audio, optional=True)
        check_style(style, input_shape, num_possible_classes)
        self.style = style
        self.input_shape = input_shape
        self.num_possible_classes = num_possible_classes
        self.device = resolve_device(device)
        self.seed: int | None = None
        self._analysis = AnalysisCache()
        self.signals: Signals | None = None  # what drove the latest render, for plot_signals()
        self._drives: dict[str, np.ndarray] = {}
        self._class_vecs: np.ndarray | None = None
        self._loaded_style: tuple[int, Style] | None = None
        if not callable(style) and not is_builtin(style):
            # A model file (or a catalog style, downloaded first) is loaded now, so a bad one is reported before
            # anything else happens.
            loaded = self._style(0)
            self.input_shape, self.num_possible_classes = loaded.input_shape, loaded.num_possible_classes

    def _style(self, seed: int) -> Style:
        """The style for a render, re-used while it stays the same (only the latest one is kept)."""
        # Only the built-in network's weights come from the seed; any other style is the same for every seed.
        key = seed if is_builtin(self.style) else 0
        if self._loaded_style is None or self._loaded_style[0] != key:
            self._loaded_style = None  # let the old one go before building the next
            self._loaded_style = (key, load_style(self.style, self.input_shape, self.num_possible_classes,
                                                  self.device, seed))
        return self._loaded_style[1]

    def hallucinate(
        self,
        file_name: str | Path,
        output_audio: str | Path | None = None,
        fps: float = 43,
        resolution: int | tuple[int, int] | None = None,
        start: float = 0,
        duration: float | None = None,
        save_frames: bool = False,
        batch_size: int = 1,
        speed_fpm: float = 12,
        pulse_percussive: bool = True,
        pulse_harmonic: bool = False,
        pulse_react: float = 0.5,
        motion_percussive: bool = False,
        motion_harmonic: bool = True,
        motion_react: float = 0.5,
        motion_randomness: float = 0.5,
        truncation: float = 1,
        classes: list[int] | None = None,
        dominant_classes_first: bool = False,
        class_pitch_react: float = 0.5,
        class_smooth_seconds: float = 1,
        class_complexity: float = 1,
        class_shuffle_seconds: float | list[float] | None = None,
        class_shuffle_strength: float = 0.5,
        contrast_strength: float | None = None,
        contrast_percussive: bool | None = None,
        flash_strength: float | None = None,
        flash_percussive: bool | None = None,
        custom_effects: list[EffectsGenerator] | None = None,
        seed: int | None = None,
        truncation_psi: float = 1.0,
        beat_react: float = 0,
        sections: bool = False,
    ) -> str:
        """Render the video and return its path.

        Every parameter is described in the README's table; all are checked before any audio is decoded.
        """
        target = validation.video_path(file_name)
        output_audio = validation.audio_file("output_audio", output_audio, optional=True)
        fps = validation.number("fps", fps, low=0, low_open=True, high=1000)
        size = validation.resolution(resolution)
        start = validation.number("start", start, low=0)
        duration = validation.optional_number("duration", duration, low=0, low_open=True)
        save_frames = validation.flag("save_frames", save_frames)
        batch_size = validation.number("batch_size", batch_size, low=1, integer=True)
        speed_fpm = validation.number("speed_fpm", speed_fpm, low=0, high=fps * 60)
        for name, value in (("pulse_percussive", pulse_percussive), ("pulse_harmonic", pulse_harmonic),
                            ("motion_percussive", motion_percussive), ("motion_harmonic", motion_harmonic),
                            ("dominant_classes_first", dominant_classes_first)):
            validation.flag(name, value)
        pulse_react = validation.number("pulse_react", pulse_react, low=0)
        motion_react = validation.number("motion_react", motion_react, low=0)
        motion_randomness = validation.number("motion_randomness", motion_randomness, low=0, high=1)
        truncation = validation.number("truncation", truncation, low=0, high=1)
        class_pitch_react = validation.number("class_pitch_react", class_pitch_react, low=0)
        class_smooth_seconds = validation.number("class_smooth_seconds", class_smooth_seconds, low=0)
        class_complexity = validation.number("class_complexity", class_complexity, low=0)
        class_shuffle_seconds = validation.shuffle_seconds(class_shuffle_seconds)
        class_shuffle_strength = validation.number("class_shuffle_strength", class_shuffle_strength, low=0, high=1)
        validation.optional_number("contrast_strength", contrast_strength, low=0, high=1)
        validation.optional_number("flash_strength", flash_strength, low=0, high=1)
        validation.flag("contrast_percussive", contrast_percussive, optional=True)
        validation.flag("flash_percussive", flash_percussive, optional=True)
        if seed is not None:
            validation.number("seed", seed, low=0, high=2**63 - 1, integer=True)
        truncation_psi = validation.number("truncation_psi", truncation_psi)
        beat_react = validation.number("beat_react", beat_react, low=0)
        sections = validation.flag("sections", sections)
        effects = self._effects(custom_effects, contrast_strength, contrast_percussive, flash_strength,
                                flash_percussive)
        inputs = {"song": self.song, "pulse_audio": self.pulse_audio, "motion_audio": self.motion_audio,
                  "class_audio": self.class_audio, "output_audio": output_audio,
                  **{f"custom_effects[{i}].audio": fx.audio for i, fx in enumerate(effects) if fx.audio}}
        validation.not_an_input(target, inputs.values())
        lengths = {name: readable_duration(name, path) for name, path in inputs.items() if path is not None}

        song_length = lengths["song"]
        if start >= song_length:
            raise ValueError(f"start={start:g} s is at or past the end of the song ({song_length:.2f} s)")
        length = song_length - start if duration is None else min(duration, song_length - start)
        n_frames = int(round(length * fps))
        if n_frames < 1:
            raise ValueError(f"the part to render ({length:.3f} s) is shorter than one frame at fps={fps:g}")

        self.seed = int(np.random.SeedSequence().entropy % 2**63) if seed is None else int(seed)
        class_rng, base_rng, motion_rng, style_rng, beat_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(5)
        )
        style = self._style(int(style_rng.integers(2**63)))
        num_classes = style.num_possible_classes
        classes = validation.class_list(classes, num_classes)
        if isinstance(style, CPPNStyle):
            style.render_size = size or (512, 512)
        if size is not None:
            # Frames waiting for the encoder, plus what the style keeps per pixel (the built-in one caches a layer).
            per_pixel = 3 * batch_size * (_QUEUED_BATCHES + 2) + getattr(style, "bytes_per_pixel", 0)
            validation.memory_fits(f"resolution {size[0]}x{size[1]}", size[0] * size[1] * per_pixel)
        if isinstance(style, StyleGANStyle):
            style.truncation_psi = truncation_psi

        routing = Routing(
            pulse=(self.pulse_audio, "full") if self.pulse_audio else (None, choose_part(pulse_percussive,
                                                                                           pulse_harmonic)),
            motion=(self.motion_audio, "full") if self.motion_audio else (None, choose_part(motion_percussive,
                                                                                              motion_harmonic)),
            chroma=self.class_audio,
            effects=tuple((fx.audio, "percussive" if fx.percussive else "full") for fx in effects),
        )
        with tqdm(total=1, desc="Analysing audio", unit="song") as bar:
            signals = route_signals(self._analysis, self.song, routing, start=start, length=length, fps=fps,
                                    n_frames=n_frames, n_mels=style.input_shape,
                                    structure=bool(sections or beat_react))
            bar.update()
        self.signals = signals

        dim = style.input_shape
        if sections and len(signals.section_frames):
            noise = latents.section_latents(base_rng, signals.section_frames, n_frames, dim, fps, speed_fpm,
                                            truncation)
        else:
            noise = latents.base_latents(base_rng, n_frames, dim, fps, speed_fpm, truncation)
        pulse = latents.pulse(signals.pulse, pulse_react)
        hits = latents.hit_envelope(signals.hits, fps)
        noise = noise + pulse[:, None]
        if beat_react:
            noise = noise + latents.beat_offsets(hits, signals.beat_frames,
                                                 latents.draw_beat_directions(beat_rng, dim), beat_react)
        noise = latents.add_motion(noise, signals.motion,
                                   latents.draw_motion(motion_rng, n_frames, dim, fps, motion_randomness),
                                   fps=fps, react=motion_react, truncation=truncation)
        if num_classes:
            classes = latents.repeat_to_twelve(classes or latents.default_classes(class_rng, num_classes))
        shuffle_at = latents.shuffle_frames(class_shuffle_seconds, start, fps, n_frames)
        if sections:
            shuffle_at |= set(signals.section_frames.tolist())
        class_vecs = latents.class_vectors(
            signals.chroma, classes or [], num_classes, fps,
            pitch_react=class_pitch_react, complexity=class_complexity, smooth_seconds=class_smooth_seconds,
            shuffle_at=shuffle_at, shuffle_shift=int(round(class_shuffle_strength * 12)),
            dominant_first=dominant_classes_first,
        )
        self.classes = classes
        self._drives = {"pulse": pulse, "motion": motion_react * signals.motion, "beat": beat_react * hits}
        self._class_vecs = class_vecs

        frame_effects = [_Effect(fx, amplitude) for fx, amplitude in zip(effects, signals.effects)]
        audio = AudioTrack(output_audio or self.song, start, length)
        self._render(style, noise.astype(np.float32), class_vecs.astype(np.float32), frame_effects, size, fps,
                     batch_size, target, audio, save_frames)
        return str(target)

    def plot_signals(self, path: str | Path) -> str:
        """Draw the signals that drove the latest render into one PNG and return its path.

        Shows the waveform; the pulse, motion and beat signals as used; beat marks and section boundaries; and
        the class weights as a heat map. Only available after :meth:`hallucinate`.
        """
        if self.signals is None or self._class_vecs is None:
            raise RuntimeError("plot_signals() shows what drove a render: call hallucinate() first")
        if not isinstance(path, (str, Path)) or not str(path).strip():
            raise TypeError(f"plot_signals: path must be a file path such as 'signals.png', got {path!r}")
        return str(plot_signals(self.signals, self._drives, self._class_vecs, self.classes, path,
                                title=Path(self.song).name))

    def _effects(self, custom_effects, contrast_strength, contrast_percussive, flash_strength,
                 flash_percussive) -> list[EffectsGenerator]:
        """The built-in effects that are on (any of their three arguments given), then the custom ones."""
        if custom_effects is not None and (
            isinstance(custom_effects, (str, bytes)) or not hasattr(custom_effects, "__iter__")
        ):
            raise TypeError("custom_effects must be a list of EffectsGenerator objects")
        custom_effects = list(custom_effects or [])
        for fx in custom_effects:
            if not isinstance(fx, EffectsGenerator):
                raise TypeError(f"custom_effects must hold EffectsGenerator objects, got {type(fx).__name__}")
        effects = []
        for func, audio, strength, percussive in (
            (contrast_effect, self.contrast_audio, contrast_strength, contrast_percussive),
            (flash_effect, self.flash_audio, flash_strength, flash_percussive),
        ):
            if audio is not None or strength is not None or percussive is not None:
                effects.append(EffectsGenerator(
                    func, audio=audio, strength=0.5 if strength is None else strength,
                    percussive=True if percussive is None else percussive,
                ))
        return effects + custom_effects

    def _render(self, style: Style, noise: np.ndarray, class_vecs: np.ndarray, effects: list[_Effect],
                size: tuple[int, int] | None, fps: float, batch_size: int, target: Path, audio: AudioTrack,
                save_frames: bool) -> None:
        """Generate batches on this thread while a worker applies effects and feeds the encoder."""
        n_frames = len(noise)
        digits = len(str(n_frames - 1))
        frames_dir = target.with_name(target.stem + "_frames") if save_frames else None
        partial_dir = target.with_name(f".{target.stem}_frames.part") if save_frames else None
        if partial_dir is not None:
            shutil.rmtree(partial_dir, ignore_errors=True)
            partial_dir.mkdir()

        def finish(images: np.ndarray, first: int, writer: VideoWriter) -> int:
            for j, frame in enumerate(images):
                index = first + j
                for fx in effects:
                    frame = fx.effect.apply(frame, fx.amplitude[index])
                frame = fit_frame(frame, size)
                if partial_dir is not None:
                    Image.fromarray(frame).save(partial_dir / f"{index:0{digits}d}.png")
                writer.write(frame)
            return len(images)

        def generate(lo: int) -> np.ndarray:
            return style(noise[lo : lo + batch_size], class_vecs[lo : lo + batch_size])

        try:
            images = generate(0)
            frame_size = size or (images.shape[2], images.shape[1])
            with VideoWriter(target, frame_size, fps, audio) as writer, ThreadPoolExecutor(1) as pool, tqdm(
                total=n_frames, desc="Rendering", unit="frame"
            ) as bar:
                pending: deque[Future] = deque()
                try:
                    for lo in range(0, n_frames, batch_size):
                        if lo:
                            images = generate(lo)
                        pending.append(pool.submit(finish, images, lo, writer))
                        while len(pending) > _QUEUED_BATCHES or (pending and pending[0].done()):
                            bar.update(pending.popleft().result())
                    while pending:
                        bar.update(pending.popleft().result())
                except BaseException:
                    for future in pending:
                        future.cancel()
                    raise
            if partial_dir is not None:
                shutil.rmtree(frames_dir, ignore_errors=True)
                partial_dir.rename(frames_dir)
        finally:
            if partial_dir is not None and partial_dir.exists():
                shutil.rmtree(partial_dir, ignore_errors=True)

