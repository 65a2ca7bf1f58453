"""A timeline as written: a list of keyframes, each a mapping with ``at`` and what it sets, in Python, YAML or
JSON alike. Everything is checked here, before any analysis; where a keyframe falls is worked out later, once
the beats and sections are known (:mod:`.place`)."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..utils import checks as validation
from .positions import Position, parse_position

# The numeric settings a keyframe can set, with their ranges (as hallucinate checks them).
SETTINGS: dict[str, tuple[float, float | None]] = {
    "pulse_react": (0.0, None),
    "motion_react": (0.0, None),
    "beat_react": (0.0, None),
    "speed_fpm": (0.0, None),
    "class_pitch_react": (0.0, None),
    "truncation": (0.0, 1.0),
    "flash_strength": (0.0, 1.0),
    "contrast_strength": (0.0, 1.0),
}
OTHER = ("at", "transition", "ease", "scene", "prompts", "classes", "style")
EASES = ("step", "linear", "smooth")
_TRANSITION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|secs|seconds?|beats?|bars?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Transition:
    """How long a keyframe's change takes: ``amount`` seconds, beats or bars (``unit``); 0 is a cut."""

    amount: float = 0.0
    unit: str = "seconds"


@dataclass(frozen=True)
class Keyframe:
    """One keyframe: ``number`` counts from 1 in the order written (for messages)."""

    number: int
    at: Position
    settings: dict[str, float] = field(default_factory=dict)
    scene: int | None = None  # a seed for new base latents
    prompts: tuple[str, ...] | None = None
    classes: tuple[int, ...] | None = None
    style: str | None = None
    transition: Transition = Transition()
    ease: str = "linear"

    def __str__(self) -> str:
        return f"timeline keyframe {self.number} (at {self.at})"


@dataclass(frozen=True)
class TimelineSettings:
    """A render's timeline arguments, checked: its keyframes, the snap and offset, how bars are counted, and the
    settings given as schedules (by name)."""

    keyframes: tuple[Keyframe, ...] = ()
    snap: str | None = None
    offset: float = 0.0
    beats_per_bar: int = 4
    bar_one: float | None = None
    schedules: dict = field(default_factory=dict)

    @property
    def needs_beats(self) -> bool:
        """Whether placing it needs the song's beats and sections."""
        positions = [k.at for k in self.keyframes] + [p for points in self.schedules.values() for p, _ in points]
        return bool(self.snap) or any(p.kind != "time" for p in positions) or any(
            k.transition.unit != "seconds" and k.transition.amount for k in self.keyframes)

    @property
    def active(self) -> bool:
        return bool(self.keyframes or self.schedules)


def load_timeline(value: object) -> tuple[Keyframe, ...]:
    """Keyframes from a list of mappings, from a ``.yaml``/``.yml``/``.json`` file holding one, or from its YAML (or
    JSON) text."""
    if isinstance(value, (str, Path)) and Path(value).suffix.lower() in (".yaml", ".yml", ".json"):
        path = Path(value).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"timeline: no such file {str(path)!r}")
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"timeline: {path.name} is not valid JSON: {exc}") from None
        else:
            import yaml

            try:
                value = yaml.safe_load(text)  # plain data only: a YAML tag that builds objects is refused
            except yaml.YAMLError as exc:
                raise ValueError(f"timeline: {path.name} is not valid YAML: {exc}") from None
    elif isinstance(value, str):  # the text of one (the web app's box)
        import yaml

        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"timeline is not valid YAML: {exc}") from None
    if not isinstance(value, (list, tuple)):
        raise TypeError("timeline must be a list of keyframes (mappings with 'at' and what they set), the path "
                        f"of a .yaml or .json file holding one, or its text; got {type(value).__name__}")
    return tuple(_keyframe(number, entry) for number, entry in enumerate(value, start=1))


def _keyframe(number: int, entry: object) -> Keyframe:
    where = f"timeline keyframe {number}"
    if not isinstance(entry, dict):
        raise TypeError(f"{where} must be a mapping such as {{'at': 'bar 17', 'pulse_react': 1.2}}, got {entry!r}")
    if "at" not in entry:
        raise ValueError(f"{where} has no 'at': say where it starts, e.g. at: \"1:32\" or at: bar 17")
    at = parse_position(entry["at"], f"{where}, 'at'")
    where = f"timeline keyframe {number} (at {at})"
    settings, known = {}, list(SETTINGS) + list(OTHER)
    for key, value in entry.items():
        if key in OTHER:
            continue
        if key not in SETTINGS:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ValueError(f"{where}: {key!r} is not something a keyframe sets; {hint}A keyframe sets "
                             f"{', '.join(known[:-1])} or {known[-1]}")
        low, high = SETTINGS[key]
        settings[key] = validation.number(f"{where}: {key}", value, low=low, high=high)
    if not settings and not {"scene", "prompts", "classes", "style"} & set(entry):
        raise ValueError(f"{where} sets nothing: give it a setting ({', '.join(SETTINGS)}), a scene, prompts, "
                         "classes or a style")
    scene = entry.get("scene")
    if scene is not None:
        scene = validation.number(f"{where}: scene", scene, low=0, high=2**63 - 1, integer=True)
    return Keyframe(number, at, settings, scene, _prompts(where, entry.get("prompts")),
                    _classes(where, entry.get("classes")), _style(where, entry.get("style")),
                    _transition(where, entry.get("transition", 0)), _ease(where, entry.get("ease", "linear")))


def _prompts(where: str, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    prompts = [value] if isinstance(value, str) else value
    if not isinstance(prompts, (list, tuple)) or not prompts or not all(
            isinstance(p, str) and p.strip() for p in prompts):
        raise ValueError(f"{where}: prompts must be a prompt or a list of prompts, none empty; got {value!r}")
    return tuple(p.strip() for p in prompts)


def _classes(where: str, value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{where}: classes must be a list of class numbers, got {value!r}")
    return tuple(validation.number(f"{where}: classes", c, low=0, integer=True) for c in value)


def _style(where: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: style must be a style's name, file or folder, got {value!r}")
    return value.strip()


def _transition(where: str, value: object) -> Transition:
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "cut":
            return Transition()
        match = _TRANSITION.match(text)
        if match is None:
            raise ValueError(f"{where}: transition {value!r} is not a length; write seconds (2.5), \"2 beats\", "
                             "\"1 bar\" or \"cut\"")
        unit = match.group(2).lower()
        unit = "beats" if unit.startswith("beat") else "bars" if unit.startswith("bar") else "seconds"
        return Transition(float(match.group(1)), unit)
    return Transition(validation.number(f"{where}: transition", value, low=0), "seconds")


def _ease(where: str, value: object) -> str:
    if value not in EASES:
        raise ValueError(f"{where}: ease must be one of {', '.join(EASES)}, got {value!r}")
    return value
