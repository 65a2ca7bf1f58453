"""``LiveDream``: frames drawn from live sound as it arrives, each from what was heard up to its time.

The loop keeps to the clock of the sound: frame ``i`` is due when ``i / fps`` seconds have been heard. A frame
that could only be drawn late is dropped, never queued, so the picture never falls behind the sound; its vectors
are still stepped, so what is drawn next is what an offline pass draws for that frame. ``offline`` sources have
no clock: every frame is drawn, and the same input gives the same frames.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from ..effects.builtin import contrast_effect, flash_effect
from ..latents.compose import Draws
from ..style.base import RenderOptions, Style
from ..style.resolve import load_style, resolve_style
from ..utils import checks as validation
from ..utils.device import resolve_device
from ..utils.fit import fit_frame
from .analysis import CausalAnalysis, LiveFrame
from .sections import SectionWatch
from .vectors import BeatHits, FrameSignals, LiveSettings, LiveVectors, RunningScale


@dataclass
class LiveStats:
    """What a live run did: frames drawn and dropped, the rate achieved, and each drawn frame's latency (seconds
    from the newest sound it saw to the frame being ready)."""

    drawn: int = 0
    dropped: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.drawn / self.seconds if self.seconds > 0 else 0.0

    def latency(self, quantile: float) -> float:
        return float(np.quantile(self.latencies, quantile)) if self.latencies else 0.0

    def summary(self) -> str:
        return (f"live: {self.drawn} frames drawn, {self.dropped} dropped, {self.fps:.1f} fps; latency from sound "
                f"to frame {1000 * self.latency(0.5):.0f} ms median, {1000 * self.latency(0.95):.0f} ms 95th "
                "percentile")


@dataclass(frozen=True)
class LiveImage:
    """One frame as it goes to the sinks: its index, its time in the sound, and the picture."""

    index: int
    time: float
    image: np.ndarray  # uint8 [H, W, 3]
    signals: FrameSignals
    audio: np.ndarray  # the samples heard since the frame drawn before (at the source's rate)


class LiveDream:
    """Draw a style along with live sound. ``settings`` are :class:`LiveSettings` fields (``hallucinate``'s
    names); they can be changed while it plays with :meth:`set`."""

    def __init__(self, style: object = "cppn", *, resolution: int | tuple[int, int] = 256, fps: float = 30,
                 seed: int | None = None, classes: list[int] | None = None, prompts: object = None,
                 device: str | None = None, **settings) -> None:
        self.source = resolve_style(style, None, None, prompts)
        self.size = validation.resolution(resolution)
        self.fps = validation.number("fps", fps, low=1, high=240)
        self.seed = int(np.random.SeedSequence().entropy % 2**63) if seed is None else validation.number(
            "seed", seed, low=0, high=2**63 - 1, integer=True)
        self.classes = classes
        self.settings = LiveSettings()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()  # cues from the page or OSC, for the next frame
        self.set(**settings)
        self.device = resolve_device(device)
        self.options = RenderOptions(size=self.size)
        self._style = None

    @property
    def style(self) -> Style:
        """The style, loaded when first needed (before the sound starts): everything else is checked first, so a
        bad setting, device or port costs no model loading."""
        if self._style is None:
            style_seed = int(Draws.from_seed(self.seed).style.integers(2**63))
            style = load_style(self.source, torch.device(self.device), style_seed)
            if self.classes is not None:
                validation.class_list(self.classes, style.num_possible_classes)
            self._style = style
        return self._style

    def hit(self) -> None:
        """A beat's hit on the next frame (a performer's cue)."""
        self._requests.put(("hit", None))

    def section(self) -> None:
        """A new look from the next frame: new base latents (cross-faded) and other classes for the pitches."""
        self._requests.put(("section", None))

    def stop(self) -> None:
        """End the show before the next frame (from another thread: a page, a signal handler, a test)."""
        self._requests.put(("stop", None))

    def reseed(self, seed: int) -> None:
        """Another seed's path from the next frame (the style stays as it is)."""
        seed = validation.number("seed", seed, low=0, high=2**63 - 1, integer=True)
        self._requests.put(("seed", seed))

    def set(self, **changes: object) -> None:
        """Change live settings; each is checked, and takes effect on the next frame."""
        known = {f.name: f for f in fields(LiveSettings)}
        for name, value in changes.items():
            if name not in known:
                raise TypeError(f"{name} is not a live setting; the live settings are {', '.join(known)}")
            if isinstance(getattr(self.settings, name), bool):
                if not isinstance(value, bool) and value in (0, 1):  # OSC and sliders send numbers
                    value = bool(value)
                value = validation.flag(name, value)
            else:
                value = validation.number(name, value, low=0, high=100 if name == "speed_fpm" else 10)
            setattr(self.settings, name, value)

    def frames(self, source, *, seconds: float | None = None, stats: LiveStats | None = None):
        """Yield :class:`LiveImage` frames from ``source`` (see :mod:`.sources`) until it ends or ``seconds``."""
        stats = stats if stats is not None else LiveStats()
        dim = self.style.input_shape_for(self.options)
        analysis = CausalAnalysis(source.sample_rate, n_mels=dim)  # the levels in as many bands as offline
        vectors = LiveVectors(Draws.from_seed(self.seed), dim, self.style.num_possible_classes, self.fps,
                              self.settings, self.classes)
        levels = {name: RunningScale(self.fps) for name in ("amplitude", "percussive", "harmonic")}
        hits = BeatHits(self.fps)
        watch = SectionWatch()
        section_due: float | None = None  # when a new section was heard, until its look begins
        latest: LiveFrame | None = None
        unseen: list[np.ndarray] = []
        # One frame drawn before the sound starts: the first call of a network is the slow one (memory, kernels),
        # and it would otherwise make the show's first frames late.
        classes = self.style.num_possible_classes
        self._draw(np.zeros(dim, np.float32), np.full(classes, 1.0 / max(classes, 1), np.float32),
                   FrameSignals(0.0, 0.0, 0.0, False, np.zeros(12), 0.0))
        source.start()
        started = time.perf_counter()
        i = 0
        try:
            while seconds is None or i / self.fps < seconds:
                t = i / self.fps
                draw = True
                if not source.offline:
                    while source.clock() < t:
                        time.sleep(min(0.002, max(0.0, t - source.clock())))
                    # Late by more than a frame: this one is stepped but not drawn.
                    draw = source.clock() < t + 1.0 / self.fps
                block = source.read_until(t)
                if block is None:
                    break
                new = analysis.feed(block)
                latest = new[-1] if new else latest
                strength, beat_hit, on_beat = hits(t, new, latest)
                if watch.feed(new) and self.settings.sections and section_due is None:
                    section_due = t
                vectors, cued, stopping, section = self._take_requests(vectors)
                if stopping:
                    break
                if section_due is not None and (on_beat or not latest.tempo or t - section_due >= 60 / latest.tempo):
                    vectors.new_section()  # on the beat, where there is one to wait for
                    section_due, section = None, True
                signals = self._signals(latest, levels, strength, 1.0 if cued else beat_hit, on_beat or cued,
                                        section)
                noise, class_vector = vectors.step(signals)
                unseen.append(block)
                if draw:
                    image = self._draw(noise, class_vector, signals)
                    stats.drawn += 1
                    if not source.offline:
                        stats.latencies.append(max(0.0, source.clock() - t))
                    # The sound since the last frame drawn goes with it (a recording keeps all of it).
                    yield LiveImage(i, t, image, signals, np.concatenate(unseen))
                    unseen = []
                else:
                    stats.dropped += 1
                i += 1
        finally:
            stats.seconds = time.perf_counter() - started
            source.close()

    def _take_requests(self, vectors: LiveVectors) -> tuple[LiveVectors, bool, bool, bool]:
        """Apply the cues given since the last frame; returns (vectors, a hit was cued, stop was asked, a new
        section was cued)."""
        cued = stopping = section = False
        while not self._requests.empty():
            what, value = self._requests.get()
            if what == "stop":
                stopping = True
            elif what == "hit":
                cued = True
            elif what == "section":
                vectors.new_section()
                section = True
            else:
                self.seed = value
                vectors = LiveVectors(Draws.from_seed(value), vectors.dim, self.style.num_possible_classes, self.fps,
                                      self.settings, self.classes)
        return vectors, cued, stopping, section

    def run(self, source, sinks: Sequence = (), *, seconds: float | None = None,
            stats: LiveStats | None = None) -> LiveStats:
        """Play ``source`` into every sink (``open(size, fps, source)``, ``frame(LiveImage)``, ``close()``) until
        it ends, ``seconds`` have passed, or Ctrl-C; returns ``stats`` (a new :class:`LiveStats` by default),
        which is kept up to date as it plays."""
        stats = LiveStats() if stats is None else stats
        opened = []
        try:
            for sink in sinks:
                sink.open(self.size, self.fps, source)
                opened.append(sink)
            for frame in self.frames(source, seconds=seconds, stats=stats):
                for sink in opened:
                    sink.frame(frame)
        finally:
            for sink in opened:
                sink.close()
        return stats

    def _signals(self, latest: LiveFrame | None, levels: dict, strength: float, beat_hit: float,
                 on_beat: bool, section: bool) -> FrameSignals:
        """A frame's drivers: levels scaled over the last seconds, the onset strength, and a beat's hit."""
        s = self.settings
        if latest is None:
            return FrameSignals(0.0, 0.0, beat_hit, on_beat, np.zeros(12), 0.0, section)
        amplitude = {name: scale(getattr(latest, name) * latest.gate) for name, scale in levels.items()}
        pulse = amplitude["percussive" if s.pulse_percussive else "amplitude"]
        motion = amplitude["percussive" if s.motion_percussive else "harmonic"]
        hit = max(strength * latest.gate, beat_hit)
        return FrameSignals(pulse, motion, hit, on_beat, latest.chroma, amplitude["percussive"], section)

    def _draw(self, noise: np.ndarray, class_vector: np.ndarray, signals: FrameSignals) -> np.ndarray:
        image = self.style(noise[None], class_vector[None], self.options)[0]
        s = self.settings
        if s.contrast_strength:
            image = contrast_effect(image, s.contrast_strength, signals.percussive)
        if s.flash_strength:
            image = flash_effect(image, s.flash_strength, signals.percussive)
        return fit_frame(image, self.size)
