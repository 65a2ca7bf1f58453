"""Every ``hallucinate`` argument, declared once: name, default, check, help, group, and how the command line and
the web app show it.

``hallucinate`` keeps an explicit signature (for IDEs and 0.4 scripts; a test holds it to :data:`ARGUMENTS`).
The CLI builds its options and the web app its controls from here. :func:`parse` checks every value (before
anything slow) and groups them by the stage they drive.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..effects.builtin import Contrast, EffectSettings, Flash, check_custom
from ..latents.compose import Beat, Classes, Motion, Pulse
from ..timeline import Schedule, TimelineSettings, load_timeline, parse_schedule
from ..timeline.place import SNAPS
from ..utils import checks as validation

Check = Callable[[str, object, dict], object]  # (name, value, the arguments checked before it) -> checked value


@dataclass(frozen=True)
class Control:
    """How the web app shows an argument: ``kind`` is ``number``, ``slider``, ``checkbox``, ``text`` or ``choice``
    (a list of ``choices``, each a label and the value it stands for); ``main`` ones are shown, the rest folded
    under "Advanced". ``default`` is the app's own where it differs, and ``why`` says why. A box can't be empty:
    where ``None`` means something, ``none_is`` is the box's value that stands for it."""

    kind: str
    label: str
    main: bool = False
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    precision: int | None = None
    default: object = None
    why: str = ""
    none_is: object = None
    placeholder: str = ""  # a text box's example
    choices: tuple[tuple[str, object], ...] = ()

    def shown(self, value: object) -> object:
        """What the page shows for an argument's value: a choice's label, else the value."""
        return next((label for label, v in self.choices if v == value and type(v) is type(value)), value)

    def taken(self, shown: object) -> object:
        """The argument's value for what the page shows: a choice's value, else the value."""
        return dict(self.choices).get(shown, shown) if self.choices else shown


@dataclass(frozen=True)
class Argument:
    """One ``hallucinate`` argument. ``cli`` is how the command line reads it (``number``, ``schedule``, ``flag``,
    ``resolution``, ``ints``, ``numbers``, ``file``, ``address``, ``snap``), or ``None`` where it has no
    command-line form (a Python object)."""

    name: str
    default: object
    check: Check
    help: str
    group: str  # the settings group it lands in: output, pulse, motion, beat, classes, effects, style, timeline
    field: str  # its field in that group
    cli: str | None = "number"
    app: Control | None = None


TIMELINE_EXAMPLE = """- at: bar 17
  scene: 7
  transition: 2 beats
  pulse_react: 1.2
- at: "1:32"
  beat_react: 0.8"""


def _number(**bounds) -> Check:
    return lambda name, value, earlier: validation.number(name, value, **bounds)


def _schedulable(**bounds) -> Check:
    """A number, or a schedule of numbers keyed by song time (``"0:(0.2), 1:04:(1.0)"``)."""

    def check(name: str, value: object, earlier: dict) -> float | Schedule:
        if not isinstance(value, str):
            return validation.number(name, value, **bounds)
        points = parse_schedule(name, value)
        for position, number in points:
            validation.number(f"{name}: the value at {position}", number, **bounds)
        return Schedule(tuple(points))

    return check


def _optional_schedulable(**bounds) -> Check:
    return lambda name, value, earlier: None if value is None else _schedulable(**bounds)(name, value, earlier)


def _timeline(name: str, value: object, earlier: dict) -> tuple | None:
    return None if value is None else load_timeline(value)


def _snap(name: str, value: object, earlier: dict) -> str | None:
    if value is not None and value not in SNAPS:
        raise ValueError(f"{name} must be 'beat', 'bar' or None, got {value!r}")
    return value


def _optional_number(**bounds) -> Check:
    return lambda name, value, earlier: validation.optional_number(name, value, **bounds)


def _flag(name: str, value: object, earlier: dict) -> bool:
    return validation.flag(name, value)


def _sections(name: str, value: object, earlier: dict) -> bool | str:
    if value == "repeat":
        return value
    if isinstance(value, str):
        raise ValueError(f"{name} must be True, False or 'repeat', got {value!r}")
    return validation.flag(name, value)


def _optional_flag(name: str, value: object, earlier: dict) -> bool | None:
    return validation.flag(name, value, optional=True)


def _speed(name: str, value: object, earlier: dict) -> float | Schedule:
    return _schedulable(low=0, high=earlier["fps"] * 60)(name, value, earlier)


def _seed(name: str, value: object, earlier: dict) -> int | None:
    return None if value is None else validation.number(name, value, low=0, high=2**63 - 1, integer=True)


def _workers(name: str, value: object, earlier: dict) -> int:
    workers = validation.number(name, value, low=1, high=4096, integer=True)
    if workers > 1:
        _check_ray(name, earlier)
    return workers


def _ray_address(name: str, value: object, earlier: dict) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a Ray cluster's address (HOST:PORT, ray://HOST:10001 or 'auto'), got "
                         f"{value!r}")
    _check_ray(name, earlier)
    return value.strip()


def _check_ray(name: str, earlier: dict) -> None:
    """What drawing on Ray workers needs, checked before anything is loaded."""
    if earlier["save_frames"]:
        raise ValueError(f"save_frames keeps every frame as a file where it is drawn, so it does not go with {name}: "
                         "render with workers=1, or take the frames from the video (ffmpeg -i video.mp4 %06d.png)")
    if importlib.util.find_spec("ray") is None:
        raise ImportError(f"{name} spreads the render over Ray workers, and Ray is not installed: "
                          "pip install 'lucidsonicdreams[ray]'")


def _slider(label: str, high: float = 2, **kw) -> Control:
    return Control("slider", label, minimum=0, maximum=high, step=0.05, **kw)


ARGUMENTS: tuple[Argument, ...] = (
    Argument("output_audio", None, lambda n, v, e: validation.audio_file(n, v, optional=True),
             "audio muxed into the video (default: the song's rendered part)", "output", "audio", cli="file"),
    Argument("fps", 43, _number(low=0, low_open=True, high=1000), "frames per second", "output", "fps",
             app=Control("number", "Frames per second", main=True, minimum=1, maximum=120, default=24,
                         why="film rate: 24 frames to draw a second instead of 0.4's 43, so previews come sooner")),
    Argument("resolution", None, lambda n, v, e: validation.resolution(v),
             "frame size: N for NxN, or WIDTHxHEIGHT (the image fills the frame, centre-cropped)", "output", "size",
             cli="resolution"),
    Argument("start", 0, _number(low=0), "where to start in the song, in seconds", "output", "start",
             app=Control("number", "Start (s)", main=True, minimum=0)),
    Argument("duration", None, _optional_number(low=0, low_open=True), "seconds to render (default: to the end)",
             "output", "duration", app=Control("number", "Duration (s, 0: to the end)", main=True, default=0,
                                               none_is=0)),
    Argument("save_frames", False, _flag, "also keep every frame as a PNG file beside the video", "output",
             "save_frames", cli="flag"),
    Argument("segment_seconds", 10.0, _number(low=0, low_open=True, high=3600),
             "seconds of video per segment: each is encoded on its own and kept until the render is whole, so a "
             "render that dies resumes from its last whole segment", "output", "segment_seconds"),
    Argument("resume", True, _flag, "render only the segments that an unfinished render of the same settings to "
             "the same file left missing (False: start over)", "output", "resume", cli="flag"),
    Argument("workers", 1, _workers, "draw the segments on this many Ray workers at once, one per GPU (on a "
             "CPU-only cluster, one per CPU); the video is the same bytes as with 1", "output", "workers"),
    Argument("ray_address", None, _ray_address, "the Ray cluster to draw on (HOST:PORT, ray://HOST:10001 or 'auto'; "
             "default: a Ray started in this process, or a local one when workers > 1)", "output", "ray_address",
             cli="address"),
    Argument("batch_size", 1, _number(low=1, integer=True), "frames generated per batch", "output", "batch_size",
             app=Control("number", "Batch size", minimum=1, precision=0, default=4,
                         why="a batch of 4 keeps a GPU busy; the library keeps 0.4's 1")),
    Argument("speed_fpm", 12, _speed, "new base images per minute", "motion", "speed_fpm", cli="schedule",
             app=Control("number", "New base images per minute", minimum=0)),
    Argument("pulse_percussive", True, _flag, "drive the pulse from the percussive part", "pulse", "percussive",
             cli="flag", app=Control("checkbox", "Pulse from the percussive part")),
    Argument("pulse_harmonic", False, _flag, "drive the pulse from the harmonic part", "pulse", "harmonic",
             cli="flag", app=Control("checkbox", "Pulse from the harmonic part")),
    Argument("pulse_react", 0.5, _schedulable(low=0), "strength of the pulse", "pulse", "react",
             cli="schedule", app=_slider("Pulse react", main=True)),
    Argument("motion_percussive", False, _flag, "drive the motion from the percussive part", "motion", "percussive",
             cli="flag", app=Control("checkbox", "Motion from the percussive part")),
    Argument("motion_harmonic", True, _flag, "drive the motion from the harmonic part", "motion", "harmonic",
             cli="flag", app=Control("checkbox", "Motion from the harmonic part")),
    Argument("motion_react", 0.5, _schedulable(low=0), "speed of the motion", "motion", "react",
             cli="schedule", app=_slider("Motion react", main=True)),
    Argument("motion_randomness", 0.5, _number(low=0, high=1), "share of the motion that is randomly slowed (0..1)",
             "motion", "randomness", app=_slider("Motion randomness", high=1)),
    Argument("truncation", 1, _schedulable(low=0, high=1), "scale of the latent vectors (0..1)", "motion",
             "truncation", cli="schedule",
             app=_slider("Truncation", high=1)),
    Argument("classes", None, lambda n, v, e: validation.class_list(v, 0),  # range checked once the style is loaded
             "class indices driven by the 12 pitches", "classes", "classes", cli="ints"),
    Argument("dominant_classes_first", False, _flag, "give the most present pitches the first listed classes",
             "classes", "dominant_first", cli="flag"),
    Argument("class_pitch_react", 0.5, _schedulable(low=0), "how fast class weights follow the pitches", "classes",
             "pitch_react", cli="schedule", app=_slider("Class pitch react")),
    Argument("class_smooth_seconds", 1, _number(low=0), "seconds over which class weights are averaged", "classes",
             "smooth_seconds", app=Control("number", "Class smoothing (s)", minimum=0)),
    Argument("class_complexity", 1, _number(low=0), "scale of the class weights", "classes", "complexity",
             app=_slider("Class complexity")),
    Argument("class_shuffle_seconds", None, lambda n, v, e: validation.shuffle_seconds(v),
             "rotate the pitch-to-class assignment every S seconds, or at the listed times", "classes",
             "shuffle_seconds", cli="numbers",
             app=Control("number", "Shuffle classes every (s, 0: never)", default=0, none_is=0)),
    Argument("class_shuffle_strength", 0.5, _number(low=0, high=1), "how far each rotation goes (0..1 of 12 places)",
             "classes", "shuffle_strength", app=_slider("Shuffle strength", high=1)),
    Argument("contrast_strength", None, _optional_schedulable(low=0, high=1),
             "contrast effect strength (turns the effect on)", "effects", "contrast_strength", cli="schedule",
             app=_slider("Contrast flashes", high=1, main=True, default=0.0, none_is=0)),
    Argument("contrast_percussive", None, _optional_flag,
             "drive the contrast effect from the percussive part (turns the effect on)", "effects",
             "contrast_percussive", cli="flag"),
    Argument("flash_strength", None, _optional_schedulable(low=0, high=1),
             "flash effect strength (turns the effect on)", "effects", "flash_strength", cli="schedule",
             app=_slider("Brightness flashes", high=1, main=True, default=0.0, none_is=0)),
    Argument("flash_percussive", None, _optional_flag,
             "drive the flash effect from the percussive part (turns the effect on)", "effects", "flash_percussive",
             cli="flag"),
    Argument("custom_effects", None, lambda n, v, e: check_custom(v), "a list of EffectsGenerator objects",
             "effects", "custom", cli=None),
    Argument("seed", None, _seed, "random seed: the same seed and options give the same video", "output", "seed",
             app=Control("number", "Seed (-1: a new one each time)", main=True, precision=0, default=-1,
                         none_is=-1)),
    Argument("truncation_psi", 1.0, _number(), "StyleGAN styles: pull towards the average latent (1 = off)", "style",
             "truncation_psi", app=_slider("Truncation psi (StyleGAN)", high=1)),
    Argument("beat_react", 0, _schedulable(low=0),
             "strength of the beat-locked hits: every onset pushes the image, which springs back (0 = off)", "beat",
             "react", cli="schedule", app=_slider("Beat react", main=True, default=0.5,
                                  why="the app shows what the music does; 0.4 scripts keep 0.4's look")),
    Argument("sections", False, _sections, "change the picture's character at the song's section boundaries; "
             "'repeat': sections of the same kind (a chorus that comes back) return to the same look", "beat",
             "sections", cli="flag",
             app=Control("choice", "Song sections", main=True, default=True,
                         choices=(("one look throughout", False), ("a new look for each", True),
                                  ("choruses come back to their look", "repeat")),
                         why="as beat_react: on in the app, off for 0.4 scripts")),
    Argument("timeline", None, _timeline, "keyframes at song times, beats, bars or sections that set scenes and "
             "numeric settings: a .yaml or .json file (from Python, also a list of mappings); see the README",
             "timeline", "keyframes", cli="file",
             app=Control("text", "Timeline (YAML: keyframes at times, bars or sections)", none_is="",
                         placeholder=TIMELINE_EXAMPLE)),
    Argument("snap", None, _snap, "move timeline keyframes given in seconds to the nearest beat or bar",
             "timeline", "snap", cli="snap",
             app=Control("choice", "Snap timeline times to", choices=(("no snap", None), ("beat", "beat"),
                                                                       ("bar", "bar")))),
    Argument("offset", 0.0, _number(low=-2, high=2), "move every hit, beat, section and keyframe by this many "
             "seconds (negative: the picture leads the sound)", "timeline", "offset",
             app=Control("number", "Offset (s; negative: the picture leads the sound)")),
    Argument("beats_per_bar", 4, _number(low=1, high=32, integer=True), "beats per bar, for 'bar N' in a timeline",
             "timeline", "beats_per_bar", app=Control("number", "Beats per bar", precision=0)),
    Argument("bar_one", None, _optional_number(low=0), "song time (s) of the first beat of bar 1 (default: the "
             "first beat found)", "timeline", "bar_one",
             app=Control("number", "First beat of bar 1 (s; -1: the first beat found)", none_is=-1)),
)
BY_NAME = {a.name: a for a in ARGUMENTS}
DEFAULTS = {a.name: a.default for a in ARGUMENTS}


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
    segment_seconds: float
    resume: bool
    workers: int
    ray_address: str | None
    batch_size: int
    seed: int | None


@dataclass(frozen=True)
class RenderSettings:
    """Every argument of one render, checked, grouped by the stage it drives."""

    output: Output
    pulse: Pulse
    motion: Motion
    beat: Beat
    classes: Classes
    effects: EffectSettings
    truncation_psi: float
    timeline: TimelineSettings = TimelineSettings()
    values: dict = field(default_factory=dict, compare=False)  # the checked values by argument name


def parse(file_name: object, **values: object) -> RenderSettings:
    """Check ``hallucinate``'s arguments (any of them; the rest at their defaults) and group them; raises
    ``TypeError``/``ValueError`` naming the argument."""
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown:
        raise TypeError(f"hallucinate() does not take: {', '.join(unknown)}")
    file = validation.video_path(file_name)
    checked: dict = {}
    for argument in ARGUMENTS:
        checked[argument.name] = argument.check(argument.name, values.get(argument.name, argument.default), checked)
    # A schedule drives its setting frame by frame; its group holds the most it reaches (so that a beat_react that
    # starts at 0 still has the beats found).
    schedules = {name: value.points for name, value in checked.items() if isinstance(value, Schedule)}
    groups: dict[str, dict] = {}
    for argument in ARGUMENTS:
        value = checked[argument.name]
        groups.setdefault(argument.group, {})[argument.field] = value.largest if isinstance(value, Schedule) else value
    effects = groups["effects"]
    return RenderSettings(
        output=Output(file=file, **groups["output"]),
        pulse=Pulse(**groups["pulse"]),
        motion=Motion(**groups["motion"]),
        beat=Beat(**groups["beat"]),
        classes=Classes(**groups["classes"]),
        effects=EffectSettings(
            contrast=Contrast(effects["contrast_strength"], effects["contrast_percussive"]),
            flash=Flash(effects["flash_strength"], effects["flash_percussive"]),
            custom=effects["custom"],
        ),
        truncation_psi=groups["style"]["truncation_psi"],
        timeline=TimelineSettings(**{**groups["timeline"], "keyframes": groups["timeline"]["keyframes"] or ()},
                                  schedules=schedules),
        values=checked,
    )
