"""``LucidSonicDream``: wires audio analysis, latents, the style, effects and the encoder into one render."""

from __future__ import annotations

import inspect
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from . import settings, validation
from .analysis import MAX_MELS, AnalysisCache, Part, choose_part
from .audio import readable_duration
from .device import resolve_device
from .effects import EffectsGenerator, contrast_effect, flash_effect
from .frames import fit_frame
from .plot import plot_signals
from .signals import Routing, Signals, route_signals
from .style import DEFAULT_STYLE, RenderOptions, Style, check_style, is_builtin, load_style
from .vectors import Draws, Vectors, compose
from .video import AudioTrack, VideoWriter

# At most this many generated batches wait for the encoder, so memory stays flat however long the song.
_QUEUED_BATCHES = 2
# Arrays of shape (frames, noise length) alive at once while the vectors are composed.
_VECTOR_COPIES = 4


@dataclass
class _Effect:
    effect: EffectsGenerator
    amplitude: np.ndarray


@dataclass
class _Plan:
    """A render ready to draw: its settings, style, vectors and effects for every frame of the part."""

    job: settings.RenderSettings
    style: Style
    options: RenderOptions
    vectors: Vectors
    effects: list[_Effect]
    length: float  # seconds
    n_frames: int
    window: tuple[int, int]  # the frames to draw: [first, end)


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
        the cache on first use; a StyleGAN ``.pkl`` file (an existing file wins over a name); a :class:`Style`
        object; or a function ``f(noise_batch, class_batch)`` returning images (then ``input_shape`` and
        ``num_possible_classes`` are required; it may also take ``size`` and ``truncation_psi`` keywords).
    input_shape, num_possible_classes : int, optional
        Noise vector length and number of classes of a function style.
    device : str, optional
        ``'cuda'``, ``'mps'`` or ``'cpu'``; ``None`` picks the best available.
    prompts : list of str, optional
        With a diffusion model as ``style`` (``'sd-turbo'``, a hub id or a diffusers folder): the prompts, which
        the music weights as it weights a GAN's classes. :class:`DiffusionStyle` takes more settings.
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
        prompts: list[str] | None = None,
    ) -> None:
        self.song = validation.audio_file("song", song)
        self.pulse_audio = validation.audio_file("pulse_audio", pulse_audio, optional=True)
        self.motion_audio = validation.audio_file("motion_audio", motion_audio, optional=True)
        self.class_audio = validation.audio_file("class_audio", class_audio, optional=True)
        self.contrast_audio = validation.audio_file("contrast_audio", contrast_audio, optional=True)
        self.flash_audio = validation.audio_file("flash_audio", flash_audio, optional=True)
        check_style(style, input_shape, num_possible_classes, prompts)
        self.style = style
        self.prompts = None if prompts is None else validation.prompts(prompts)
        self.input_shape = input_shape
        self.num_possible_classes = num_possible_classes
        self.device = resolve_device(device)
        self.seed: int | None = None
        self._analysis = AnalysisCache()
        self.signals: Signals | None = None  # what drove the latest render, for plot_signals()
        self._vectors: Vectors | None = None
        self.classes: list[int] | None = None
        self._loaded_style: tuple[int, Style] | None = None
        if isinstance(style, Style) or prompts is not None or not (callable(style) or is_builtin(style)):
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
                                                  self.device, seed, self.prompts))
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
        arguments = dict(locals())
        del arguments["self"]
        plan = self._plan(settings.parse(**arguments))
        self._render(plan)
        return str(plan.job.output.file)

    def preview(self, file_name: str | Path, at: float | None = None, seconds: float = 5.0, **render) -> str:
        """Render ``seconds`` of the video from ``at`` (seconds into the song; default: ``start``) exactly as
        ``hallucinate(file_name, **render)`` would draw them, and return its path.

        The analysis (beats and sections included) and the vectors are those of the whole render, so a preview
        is a true excerpt; the analysis is kept for the next preview and for the render. ``render`` takes every
        ``hallucinate`` argument.
        """
        job = render_settings(file_name, **render)
        out = job.output
        at = out.start if at is None else validation.number("at", at, low=out.start)
        seconds = validation.number("seconds", seconds, low=0, low_open=True)
        plan = self._plan(job, window=(at - out.start, seconds))
        self._render(plan)
        return str(out.file)

    def _plan(self, job: settings.RenderSettings, window: tuple[float, float] | None = None) -> _Plan:
        """Everything a render needs before its first frame: inputs checked, style loaded, audio analysed, vectors
        composed. ``window`` = (offset into the part, seconds) limits the frames to draw (checked before any
        decoding); by default all of them."""
        out = job.output
        effects = self._effects(job.effects)
        inputs = {"song": self.song, "pulse_audio": self.pulse_audio, "motion_audio": self.motion_audio,
                  "class_audio": self.class_audio, "output_audio": out.audio,
                  **{f"custom_effects[{i}].audio": fx.audio for i, fx in enumerate(effects) if fx.audio}}
        validation.not_an_input(out.file, inputs.values())
        lengths = {name: readable_duration(name, path) for name, path in inputs.items() if path is not None}

        song_length = lengths["song"]
        if out.start >= song_length:
            raise ValueError(f"start={out.start:g} s is at or past the end of the song ({song_length:.2f} s)")
        length = song_length - out.start if out.duration is None else min(out.duration, song_length - out.start)
        n_frames = int(round(length * out.fps))
        if n_frames < 1:
            raise ValueError(f"the part to render ({length:.3f} s) is shorter than one frame at fps={out.fps:g}")
        frames = (0, n_frames)
        if window is not None:
            first = int(round(window[0] * out.fps))
            if first >= n_frames:
                raise ValueError(f"at={out.start + window[0]:g} s is past the end of the part to render "
                                 f"({out.start + length:.2f} s)")
            frames = (first, min(n_frames, first + max(1, int(round(window[1] * out.fps)))))

        self.seed = int(np.random.SeedSequence().entropy % 2**63) if out.seed is None else out.seed
        draws = Draws.from_seed(self.seed)
        style = self._style(int(draws.style.integers(2**63)))
        validation.class_list(job.classes.classes, style.num_possible_classes)
        options = RenderOptions(size=out.size, truncation_psi=job.truncation_psi)
        if out.size is not None:
            # Frames waiting for the encoder, plus what the style keeps per pixel (the built-in one caches a layer).
            per_pixel = 3 * out.batch_size * (_QUEUED_BATCHES + 2) + style.bytes_per_pixel(options)
            validation.memory_fits(f"resolution {out.size[0]}x{out.size[1]}", out.size[0] * out.size[1] * per_pixel)
        dim = style.input_shape_for(options)
        # The vectors of the whole part are built at once (float64 while composing, a few arrays at a time).
        validation.memory_fits(f"{n_frames} noise vectors of length {dim}", n_frames * dim * 8 * _VECTOR_COPIES,
                               "render a shorter part (duration) or at a lower fps")

        routing = Routing(
            pulse=self._source(self.pulse_audio, job.pulse.percussive, job.pulse.harmonic),
            motion=self._source(self.motion_audio, job.motion.percussive, job.motion.harmonic),
            chroma=self.class_audio,
            effects=tuple((fx.audio, "percussive" if fx.percussive else "full") for fx in effects),
        )
        with tqdm(total=1, desc="Analysing audio", unit="song") as bar:
            self.signals = route_signals(self._analysis, self.song, routing, start=out.start, length=length,
                                         fps=out.fps, n_frames=n_frames, n_mels=min(dim, MAX_MELS),
                                         structure=job.beat.sections or job.beat.react > 0,
                                         classes=style.num_possible_classes > 0)
            bar.update()
        vectors = compose(self.signals, job, draws, dim, style.num_possible_classes)
        self.classes, self._vectors = vectors.class_order, vectors
        frame_effects = [_Effect(fx, amplitude) for fx, amplitude in zip(effects, self.signals.effects)]
        return _Plan(job, style, options, vectors, frame_effects, length, n_frames, frames)

    def plot_signals(self, path: str | Path) -> str:
        """Draw the signals that drove the latest render into one PNG and return its path.

        Shows the waveform; the pulse, motion and beat signals as used; beat marks and section boundaries; and
        the class weights as a heat map. Only available after :meth:`hallucinate`.
        """
        if self.signals is None or self._vectors is None:
            raise RuntimeError("plot_signals() shows what drove a render: call hallucinate() first")
        return str(plot_signals(self.signals, self._vectors.drives, self._vectors.classes, self.classes, path,
                                title=Path(self.song).name))

    @staticmethod
    def _source(stem: Path | None, percussive: bool, harmonic: bool) -> tuple[Path | None, Part]:
        """A stem is used whole; the song's part follows the ``*_percussive`` and ``*_harmonic`` flags."""
        return (stem, "full") if stem else (None, choose_part(percussive, harmonic))

    def _effects(self, chosen: settings.Effects) -> list[EffectsGenerator]:
        """The built-in effects that are on (any of their three arguments given), then the custom ones."""
        effects = []
        for func, audio, strength, percussive in (
            (contrast_effect, self.contrast_audio, chosen.contrast_strength, chosen.contrast_percussive),
            (flash_effect, self.flash_audio, chosen.flash_strength, chosen.flash_percussive),
        ):
            if audio is not None or strength is not None or percussive is not None:
                effects.append(EffectsGenerator(
                    func, audio=audio, strength=0.5 if strength is None else strength,
                    percussive=True if percussive is None else percussive,
                ))
        return effects + chosen.custom

    def _render(self, plan: _Plan) -> None:
        """The plan's frames (its window) with their audio. Batches are generated on this thread while a worker
        applies effects and feeds the encoder."""
        out = plan.job.output
        first, end = plan.window
        style, options, effects = plan.style, plan.options, plan.effects
        noise, class_vecs = plan.vectors.noise[first:end], plan.vectors.classes[first:end]
        whole = (first, end) == (0, plan.n_frames)
        audio = AudioTrack(out.audio or self.song, out.start + first / out.fps,
                           plan.length if whole else (end - first) / out.fps)
        size, fps, batch_size, target = out.size, out.fps, out.batch_size, out.file
        n_frames = len(noise)
        digits = len(str(n_frames - 1))
        frames_dir = target.with_name(target.stem + "_frames") if out.save_frames else None
        partial_dir = target.with_name(f".{target.stem}_frames.part") if out.save_frames else None
        if partial_dir is not None:
            shutil.rmtree(partial_dir, ignore_errors=True)
            partial_dir.mkdir()

        def finish(images: np.ndarray, lo: int, writer: VideoWriter) -> int:
            for j, frame in enumerate(images):
                index = lo + j  # within the window; first + index within the whole part
                for fx in effects:
                    frame = fx.effect.apply(frame, fx.amplitude[first + index])
                frame = fit_frame(frame, size)
                if partial_dir is not None:
                    Image.fromarray(frame).save(partial_dir / f"{index:0{digits}d}.png")
                writer.write(frame)
            return len(images)

        def generate(lo: int) -> np.ndarray:
            return style(noise[lo : lo + batch_size], class_vecs[lo : lo + batch_size], options)

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


_HALLUCINATE_DEFAULTS = {name: p.default
                         for name, p in inspect.signature(LucidSonicDream.hallucinate).parameters.items()
                         if name not in ("self", "file_name")}


def render_settings(file_name: str | Path, **render) -> settings.RenderSettings:
    """``hallucinate``'s arguments (any of them; the rest at their defaults), checked and grouped, without
    rendering: for checking a render that runs elsewhere, such as ``preview`` or the web app's background job."""
    unknown = sorted(set(render) - set(_HALLUCINATE_DEFAULTS))
    if unknown:
        raise TypeError(f"hallucinate() does not take: {', '.join(unknown)}")
    return settings.parse(**{**_HALLUCINATE_DEFAULTS, **render, "file_name": file_name})
