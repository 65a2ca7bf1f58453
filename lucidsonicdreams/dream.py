"""``LucidSonicDream``: a song and its stems, planned into a :class:`RenderPlan` and rendered.

It only wires the stages together: arguments (:mod:`.render.arguments`) -> style (:mod:`.style`) -> audio
analysis (:mod:`.audio`) -> vectors (:mod:`.latents`) -> effects -> the frame loop and the encoder
(:mod:`.render`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .audio.analysis import AnalysisCache, Part, choose_part
from .audio.decode import readable_duration
from .audio.feature import MAX_MELS
from .audio.signals import Routing, Signals, route_signals
from .effects.builtin import EffectSettings, contrast_effect, flash_effect
from .effects.generator import EffectsGenerator
from .errors import USER_ERRORS
from .latents.classes import default_classes
from .latents.compose import PLACED_SETTINGS, Draws, Vectors, compose
from .render import arguments
from .render.loop import QUEUED_BATCHES, keep_style, reporting, write_video
from .render.plan import PlannedEffect, Progress, RenderPlan, RenderResult, frame_window
from .render.plot import plot_signals
from .render.segments import settings_key, stored_seed
from .render.workers import drawing
from .style.base import RenderOptions, Style
from .style.crossfade import CrossfadeStyle
from .style.resolve import DEFAULT_STYLE, StyleSource, load_style, resolve_style
from .timeline import TimelineSettings, place
from .timeline.place import Placed, song_grid, style_weights
from .utils import checks as validation
from .utils.device import resolve_device

# Arrays of shape (frames, noise length) alive at once while the vectors are composed.
_VECTOR_COPIES = 4


class LucidSonicDream:
    """A song (and optional stems) ready to be rendered as a music video.

    Parameters
    ----------
    song : path
        Audio file (wav, mp3, ogg, flac, m4a, ...).
    pulse_audio, motion_audio, class_audio, contrast_audio, flash_audio : path, optional
        Stems that replace the song as the source of one component each.
    style : str, path, callable, Style or StyleSource
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
    analysis : AnalysisCache, optional
        Share the audio analysis with other objects of the same song (the web app keeps one per song, whatever
        the style).
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
        *,
        analysis: AnalysisCache | None = None,
    ) -> None:
        self.song = validation.audio_file("song", song)
        self.pulse_audio = validation.audio_file("pulse_audio", pulse_audio, optional=True)
        self.motion_audio = validation.audio_file("motion_audio", motion_audio, optional=True)
        self.class_audio = validation.audio_file("class_audio", class_audio, optional=True)
        self.contrast_audio = validation.audio_file("contrast_audio", contrast_audio, optional=True)
        self.flash_audio = validation.audio_file("flash_audio", flash_audio, optional=True)
        self.source = resolve_style(style, input_shape, num_possible_classes, prompts)
        self.style = style
        self.prompts = None if self.source.prompts is None else list(self.source.prompts)
        self.input_shape = input_shape
        self.num_possible_classes = num_possible_classes
        self.device = resolve_device(device)
        self._analysis = AnalysisCache() if analysis is None else analysis
        self._latest: tuple[RenderPlan, Signals] | None = None  # the latest render's plan and signals
        self._style: tuple[tuple, Style] | None = None
        self._others: dict[tuple, Style] = {}  # the models a timeline switches to
        if self.source.eager:
            # A model file (or a catalog style, downloaded first) is loaded now, so a bad one is reported before
            # anything else happens.
            loaded = self._load_style(0)
            self.input_shape, self.num_possible_classes = loaded.input_shape, loaded.num_possible_classes

    @property
    def seed(self) -> int | None:
        """The seed of the latest render, also one that failed (read-only; give it to ``hallucinate(seed=...)`` for
        the same video)."""
        return None if self._latest is None else self._latest[0].seed

    @property
    def signals(self) -> Signals | None:
        """The per-frame signals that drove the latest render (read-only)."""
        return None if self._latest is None else self._latest[1]

    @property
    def classes(self) -> list[int] | None:
        """The classes the 12 pitches drove in the latest render (read-only)."""
        return None if self._latest is None else self._latest[0].class_order

    def hallucinate(
        self,
        file_name: str | Path,
        output_audio: str | Path | None = None,
        fps: float = 43,
        resolution: int | tuple[int, int] | None = None,
        start: float = 0,
        duration: float | None = None,
        save_frames: bool = False,
        segment_seconds: float = 10.0,
        resume: bool = True,
        workers: int = 1,
        ray_address: str | None = None,
        batch_size: int = 1,
        speed_fpm: float = 12,
        pulse_percussive: bool = True,
        pulse_harmonic: bool = False,
        pulse_react: float | str = 0.5,
        motion_percussive: bool = False,
        motion_harmonic: bool = True,
        motion_react: float | str = 0.5,
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
        beat_react: float | str = 0,
        sections: bool = False,
        timeline: str | Path | list[dict] | None = None,
        snap: str | None = None,
        offset: float = 0.0,
        beats_per_bar: int = 4,
        bar_one: float | None = None,
        *,
        progress: Progress | None = None,
    ) -> RenderResult:
        """Render the video and return a :class:`RenderResult` (which reads as the video's path).

        Every parameter is described in the README's table (and declared in :mod:`.render.arguments`); all are
        checked before any audio is decoded. ``progress(done, total, what)`` replaces the progress bars.
        """
        settings = dict(locals())
        for name in ("self", "file_name", "progress"):
            del settings[name]
        return self.render(arguments.parse(file_name, **settings), progress=progress)

    def render(self, settings: arguments.RenderSettings, *, window: tuple[float | None, float] | None = None,
               progress: Progress | None = None) -> RenderResult:
        """Render settings already checked by :func:`lucidsonicdreams.render.arguments.parse` (as the command line
        and the web app do before building the style), all of it or ``window = (at, seconds)``: ``seconds`` from
        song time ``at`` (``None``: the start)."""
        started = time.perf_counter()
        # Ray workers, where asked for, are reached (and their GPUs counted) before the audio is analysed.
        with reporting(progress) as report, drawing(settings.output) as workers:
            plan, signals, (first, end) = self._plan(settings, report, window)
            if workers is None:
                frames = write_video(plan, first, end, style=self._load_style(plan.style_seed, plan.style),
                                     progress=report)
            else:
                [frames] = workers.write_videos([(plan, first, end)], report)
        return RenderResult(settings.output.file, plan.seed, signals, frames, time.perf_counter() - started)

    def plan(self, file_name: str | Path, *, progress: Progress | None = None, **settings) -> RenderPlan:
        """Everything ``hallucinate(file_name, **settings)`` would draw, as a picklable :class:`RenderPlan`:
        draw any window of it with :func:`lucidsonicdreams.render_window` (in this process it uses this object's
        loaded style)."""
        job = arguments.parse(file_name, **settings)
        with reporting(progress) as report:
            plan = self._plan(job, report, None)[0]
        keep_style(plan, self._load_style(plan.style_seed, plan.style))
        return plan

    def preview(self, file_name: str | Path, at: float | None = None, seconds: float = 5.0, *,
                progress: Progress | None = None, **settings) -> RenderResult:
        """Render ``seconds`` of the video from ``at`` (seconds into the song; default: ``start``) exactly as
        ``hallucinate(file_name, **settings)`` would draw them.

        The analysis (beats and sections included) and the vectors are those of the whole render, so a preview
        is a true excerpt; the analysis is kept for the next preview and for the render.
        """
        return self.render(arguments.parse(file_name, **settings), window=(at, seconds), progress=progress)

    def plot_signals(self, path: str | Path) -> str:
        """Draw the signals that drove the latest render into one PNG and return its path.

        Shows the waveform; the pulse, motion and beat signals as used; beat marks and section boundaries; and
        the class weights as a heat map. Only available after :meth:`hallucinate`.
        """
        if self._latest is None:
            raise RuntimeError("plot_signals() shows what drove a render: call hallucinate() first")
        plan, signals = self._latest
        return str(plot_signals(signals, plan.drives, plan.classes[:, : plan.own_classes], plan.class_order, path,
                                title=Path(self.song).name))

    def _load_style(self, seed: int, source: StyleSource | None = None) -> Style:
        """The style for a render (``source``: this object's, or a timeline's with more prompts), re-used while it
        stays the same (the seed matters to the built-in style only; only the latest one is kept)."""
        source = self.source if source is None else source
        if source.kind == "timeline":  # built from the parts, each loaded once (the other models are kept apart)
            own, others = source.value
            return CrossfadeStyle([self._load_style(seed, own), *(self._other_style(o, k) for o, k in others)])
        key = (seed if source.seeded else 0, None if source is self.source else source)
        if self._style is None or self._style[0] != key:
            self._style = None  # let the old one go before building the next
            self._style = (key, load_style(source, self.device, seed))
        return self._style[1]

    def _plan(self, job: arguments.RenderSettings, report: Progress,
              window: tuple[float | None, float] | None) -> tuple[RenderPlan, Signals, tuple[int, int]]:
        """The stages before the first frame, in order; each passes checked objects to the next. Returns the plan,
        its signals and the frames to draw (``window``, or all). The plan and signals become the latest render's
        as soon as they exist, so that ``seed`` and ``plot_signals`` describe a render that fails later."""
        out = job.output
        self._latest = None  # the previous render's vectors go before the next ones are made
        # 1. Check the inputs: every file named, the output path, the part to render (headers only, no decoding).
        effects = _timed_effects(job.effects, job.timeline, self.contrast_audio, self.flash_audio).chosen(
            self.contrast_audio, self.flash_audio)
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
        _check_timeline(job.timeline, self.source, song_length)
        frames = (0, n_frames)
        if window is not None:
            at = out.start if window[0] is None else validation.number("at", window[0], low=out.start)
            seconds = validation.number("seconds", window[1], low=0, low_open=True)
            frames = frame_window(at, seconds, start=out.start, length=length, fps=out.fps)

        # 2. The seed (an unfinished render of the same settings keeps the one it drew), and one random generator
        #    per random part of the render.
        # A timeline's prompts join the style's: it is built with all of them, the music driving some at a time.
        source = _with_timeline_prompts(self.source, job.timeline)
        asked = settings_key(job.values, inputs.values(), source.describe(), frames)
        seed = out.seed
        if seed is None and out.resume:
            seed = stored_seed(out.file, asked)
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**63)
        draws = Draws.from_seed(seed)
        style_seed = int(draws.style.integers(2**63))

        # 3. The style, and what it needs of memory at this size.
        style = self._load_style(style_seed, source)
        validation.class_list(job.classes.classes, style.num_possible_classes)
        for keyframe in job.timeline.keyframes:
            if keyframe.classes is not None and not style.num_possible_classes:
                raise ValueError(f"{keyframe}: this style has no classes to switch; give it a scene instead")
            if keyframe.classes is not None and max(keyframe.classes) >= style.num_possible_classes:
                raise ValueError(f"{keyframe}: classes must be between 0 and {style.num_possible_classes - 1} for "
                                 f"this style, got {list(keyframe.classes)}")
        options = RenderOptions(size=out.size, truncation_psi=job.truncation_psi)
        others, columns = self._timeline_styles(job.timeline, source, draws, out.size)
        drawn = source
        if others:
            # One style draws every frame, each with its own vectors: the render's and those the keyframes name.
            drawn = StyleSource("timeline", (source, tuple(others)))
            style = self._load_style(style_seed, drawn)
        if out.size is not None:
            # Frames waiting for the encoder, plus what the style keeps per pixel (the built-in one caches a layer).
            per_pixel = 3 * out.batch_size * (QUEUED_BATCHES + 2) + style.bytes_per_pixel(options)
            validation.memory_fits(f"resolution {out.size[0]}x{out.size[1]}", out.size[0] * out.size[1] * per_pixel)
        all_dims = style.input_shape_for(options)
        # The vectors of the whole part are built at once (float64 while composing, a few arrays at a time).
        validation.memory_fits(f"{n_frames} noise vectors of length {all_dims}",
                               n_frames * all_dims * 8 * _VECTOR_COPIES,
                               "render a shorter part (duration) or at a lower fps")
        own = style.styles[0] if others else style  # the render's own style (the music's bands are its noise's)
        dim = own.input_shape_for(options)

        # 4. Analyse the audio into per-frame signals.
        routing = Routing(
            pulse=self._source(self.pulse_audio, job.pulse.percussive, job.pulse.harmonic),
            motion=self._source(self.motion_audio, job.motion.percussive, job.motion.harmonic),
            chroma=self.class_audio,
            effects=tuple((fx.audio, "percussive" if fx.percussive else "full") for fx in effects),
        )
        report(0, 1, "Analysing audio")
        signals = route_signals(self._analysis, self.song, routing, start=out.start, length=length, fps=out.fps,
                                n_frames=n_frames, n_mels=min(dim, MAX_MELS),
                                structure=job.beat.sections or job.beat.react > 0 or job.timeline.needs_beats,
                                classes=style.num_possible_classes > 0)
        report(1, 1, "Analysing audio")

        # 5. The timeline on the frames, and the vectors of every frame.
        timeline = job.timeline
        signals = signals.shifted(int(round(timeline.offset * out.fps)))
        placed = None
        classes = job.classes
        if source is not self.source:
            # Before the first prompt keyframe the pitches drive the style's own prompts only.
            classes = replace(classes, classes=classes.classes or default_classes(draws.classes,
                                                                                  len(self.source.prompts)))
            timeline = replace(timeline, keyframes=tuple(
                k if k.prompts is None else replace(k, classes=tuple(source.prompts.index(p) for p in k.prompts))
                for k in timeline.keyframes))
        if timeline.active:
            # Bars and sections count from the song's start, wherever the render starts.
            whole = self._analysis.track(self.song, 0.0, song_length) if length < song_length else None
            placed = place(timeline.keyframes, song_grid(signals, timeline, song_length, whole), fps=out.fps,
                           n_frames=n_frames, start=out.start, snap=timeline.snap, offset=timeline.offset,
                           schedules=timeline.schedules, base={**job.values, **_strengths(effects)})
            signals.settings, signals.keyframes = placed.values, placed.marks(timeline.keyframes)
        vectors = compose(signals, pulse=job.pulse, motion=job.motion, beat=job.beat, classes=classes,
                          start=out.start, draws=draws, dim=dim, num_classes=own.num_possible_classes,
                          timeline=placed)
        if others:
            vectors = self._with_styles(vectors, style, [seed for _, seed in others], columns, signals, job, placed,
                                        out.start, options)

        # 6. The plan: everything the frame loop draws, with absolute paths (it may be drawn elsewhere).
        plan = RenderPlan(
            style=drawn, style_seed=style_seed, device=str(self.device), seed=seed, fps=out.fps,
            start=out.start, length=length, noise=vectors.noise, classes=vectors.classes,
            class_order=vectors.class_order,
            effects=tuple(_planned_effect(fx, amplitude, placed) for fx, amplitude in zip(effects, signals.effects)),
            options=options, output=replace(out, file=out.file.absolute()),
            audio=(out.audio or self.song).absolute(), drives=vectors.drives, settings_key=asked,
            own_classes=own.num_possible_classes if others else None,
        )
        self._latest = (plan, signals)
        return plan, signals, frames

    def _timeline_styles(self, timeline: TimelineSettings, source: StyleSource, draws: Draws,
                         size: tuple[int, int] | None) -> tuple[list[tuple[StyleSource, int]], dict[str, int]]:
        """The other models a timeline's keyframes switch to, loaded (before any analysis, so that one that fails
        to load is reported at once): their (source, seed) in the order first named, and each keyframe name's
        column (0: the render's own style, which a keyframe may switch back to)."""
        others: dict[StyleSource, int] = {}
        columns: dict[str, int] = {}
        for keyframe in timeline.keyframes:
            name = keyframe.style
            if name is None or name in columns:
                continue
            if source.kind in ("diffusion", "function", "object"):
                raise ValueError(f"{keyframe}: a style keyframe switches between models a render can load by name "
                                 f"(StyleGAN files, catalog names, cppn); this render's style is a {source.kind} "
                                 "one" + (" (it changes its prompts instead)" if source.kind == "diffusion" else ""))
            if size is None:
                raise ValueError(f"{keyframe}: the styles of a timeline draw at their own sizes; give the render a "
                                 "resolution so that they fade into one picture")
            try:
                other = resolve_style(name)
                if other == source:
                    columns[name] = 0
                    continue
                if other not in others:
                    others[other] = int(draws.style.integers(2**63))  # after the render's own style seed
                    self._other_style(other, others[other])
            except USER_ERRORS as exc:
                message = f"{keyframe}: the style {name!r} did not load: {exc}"
                try:
                    error = type(exc)(message)
                except Exception:  # an error class that takes other arguments
                    error = ValueError(message)
                raise error from exc
            columns[name] = 1 + list(others).index(other)
        self._others = {key: kept for key, kept in self._others.items() if key[0] in others}
        return list(others.items()), columns

    def _other_style(self, source: StyleSource, seed: int) -> Style:
        """A model a timeline switches to, kept while timelines keep naming it (the seed matters to cppn only)."""
        key = (source, seed if source.seeded else 0)
        if key not in self._others:
            self._others[key] = load_style(source, self.device, seed)
        return self._others[key]

    def _with_styles(self, vectors: Vectors, style: CrossfadeStyle, seeds: list[int], columns: dict[str, int],
                     signals: Signals, job: arguments.RenderSettings, placed: Placed, start: float,
                     options: RenderOptions) -> Vectors:
        """The render's vectors followed by each other model's own (from its own seed, driven by the same music;
        the classes the pitches drive are its own), then every model's weight per frame."""
        noise, classes = [vectors.noise], [vectors.classes]
        for other, seed in zip(style.styles[1:], seeds):
            own = compose(signals, pulse=job.pulse, motion=job.motion, beat=job.beat,
                          classes=replace(job.classes, classes=None), start=start, draws=Draws.from_seed(seed),
                          dim=other.input_shape_for(options), num_classes=other.num_possible_classes,
                          timeline=placed)
            noise.append(own.noise)
            classes.append(own.classes)
        weights = style_weights(placed.styles, columns, len(vectors.noise), len(style.styles))
        return replace(vectors, noise=np.hstack([*noise, weights]).astype(np.float32),
                       classes=np.hstack(classes).astype(np.float32))

    @staticmethod
    def _source(stem: Path | None, percussive: bool, harmonic: bool) -> tuple[Path | None, Part]:
        """A stem is used whole; the song's part follows the ``*_percussive`` and ``*_harmonic`` flags."""
        return (stem, "full") if stem else (None, choose_part(percussive, harmonic))


def render_album(renders: list[tuple[LucidSonicDream, arguments.RenderSettings]], *,
                 progress: Progress | None = None) -> list[RenderResult]:
    """Render several songs' videos, each with its settings: one after another, or, where the settings ask for
    Ray workers (all alike), with every song's segments in one queue that the workers share."""
    output = renders[0][1].output
    if any((s.output.workers, s.output.ray_address) != (output.workers, output.ray_address) for _, s in renders):
        raise ValueError("the songs of an album are drawn on the same workers: give them one workers/ray_address")
    started = time.perf_counter()
    with reporting(progress) as report, drawing(output) as workers:
        if workers is None:
            return [dream.render(settings, progress=report) for dream, settings in renders]
        planned = []
        for dream, settings in renders:
            planned.append(dream._plan(settings, report, None))
            dream._style, dream._others = None, {}  # the workers draw: the songs' styles need not stay loaded here
        frames = workers.write_videos([(plan, first, end) for plan, _, (first, end) in planned], report)
    seconds = time.perf_counter() - started
    return [RenderResult(plan.output.file, plan.seed, signals, count, seconds)
            for (plan, signals, _), count in zip(planned, frames)]


def _check_timeline(timeline: TimelineSettings, source, song_length: float) -> None:
    """What a timeline asks for that can be refused before any analysis: song times past the end, and keyframes
    for what this version does not switch yet."""
    for keyframe in timeline.keyframes:
        if keyframe.at.kind == "time" and keyframe.at.value > song_length:
            raise ValueError(f"{keyframe}: {keyframe.at} is past the end of the song ({song_length:.2f} s)")
        if keyframe.prompts is not None and source.kind != "diffusion":
            raise ValueError(f"{keyframe}: prompts are for diffusion styles; this style ({source.kind}) takes "
                             "classes (classes: [...]) or a scene")
        if (keyframe.prompts is not None or keyframe.classes is not None) and any(
                k.style is not None for k in timeline.keyframes):
            raise ValueError(f"{keyframe}: a timeline that switches models takes no classes keyframes (each model's "
                             "classes follow the pitches on their own); set scenes and settings instead")
        if keyframe.prompts is not None and keyframe.classes is not None:
            raise ValueError(f"{keyframe}: give prompts or classes, not both (a diffusion style's prompts are its "
                             "classes)")
        unplaced = sorted(set(keyframe.settings) - set(PLACED_SETTINGS))
        if unplaced:
            raise ValueError(f"{keyframe}: {', '.join(unplaced)} cannot change along the song yet; keyframes set "
                             f"{', '.join(PLACED_SETTINGS)} and scenes")
        scheduled = sorted(set(keyframe.settings) & set(timeline.schedules))
        if scheduled:
            raise ValueError(f"{keyframe}: {', '.join(scheduled)} has a schedule too; set it in one place")
    for name, points in timeline.schedules.items():
        for position, _ in points:
            if position.kind == "time" and position.value > song_length:
                raise ValueError(f"{name}: the key {position} is past the end of the song ({song_length:.2f} s)")


# The built-in effects whose strength a timeline can change, by the function that draws them.
_STRENGTHS = {contrast_effect: "contrast_strength", flash_effect: "flash_strength"}


def _timed_effects(effects: EffectSettings, timeline: TimelineSettings, contrast_audio: Path | None,
                   flash_audio: Path | None) -> EffectSettings:
    """The effects with the built-in ones that a timeline's keyframes set turned on, where nothing else turned them
    on (at strength 0 until the first keyframe that sets them): their amplitudes are analysed with the rest."""
    set_by_keyframes = {name for keyframe in timeline.keyframes for name in keyframe.settings}
    off = {part for part, audio in (("contrast", contrast_audio), ("flash", flash_audio))
           if getattr(effects, part).generator(audio) is None}
    return replace(effects, **{part: replace(getattr(effects, part), strength=0.0) for part in off
                               if f"{part}_strength" in set_by_keyframes})


def _strengths(effects: list[EffectsGenerator]) -> dict[str, float]:
    """The built-in effects' strengths before any keyframe (0 for one that is off)."""
    chosen = {_STRENGTHS[fx.func]: fx.strength for fx in effects if fx.func in _STRENGTHS}
    return {name: chosen.get(name, 0.0) for name in _STRENGTHS.values()}


def _planned_effect(effect: EffectsGenerator, amplitude: np.ndarray, placed: Placed | None) -> PlannedEffect:
    """An effect with its amplitude per frame; a built-in one whose strength a timeline changes draws at its
    largest strength, its amplitude scaled frame by frame (the effects use strength x amplitude)."""
    name = _STRENGTHS.get(effect.func)
    if placed is None or name not in placed.values:
        return PlannedEffect(effect, amplitude)
    strength = placed.values[name]
    peak = float(strength.max())
    timed = EffectsGenerator(effect.func, audio=effect.audio, strength=peak, percussive=effect.percussive)
    return PlannedEffect(timed, amplitude * (strength / peak if peak > 0 else 0.0))


def _with_timeline_prompts(source: StyleSource, timeline: TimelineSettings) -> StyleSource:
    """A diffusion style's source with the prompts its timeline's keyframes name after its own (the same source
    when they name none)."""
    named = [p for keyframe in timeline.keyframes for p in keyframe.prompts or ()]
    prompts = tuple(dict.fromkeys([*(source.prompts or ()), *named]))
    return source if source.kind != "diffusion" or prompts == source.prompts else replace(source, prompts=prompts)
