"""Where a keyframe is: a song time (seconds or ``m:ss``), a beat or bar of the detected beats, or a section."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COUNTED = re.compile(r"^(bar|beat|section)\s+(\S+)$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d*)?)$")
HOW = 'seconds (92.5), m:ss ("1:32.5"), "bar 17", "beat 65" or "section 3"'


@dataclass(frozen=True)
class Position:
    """``kind`` is ``time`` (``value`` in seconds), ``beat`` or ``bar`` (counted from 1), or ``section`` (counted
    from 1, or a label such as ``"B"``)."""

    kind: str
    value: float | int | str

    def __str__(self) -> str:
        return f"{self.value:g} s" if self.kind == "time" else f"{self.kind} {self.value}"


def parse_position(value: object, what: str) -> Position:
    """A position as written in a timeline or a schedule; ``what`` names it in errors."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: {value!r} is not a position; write {HOW}")
    if isinstance(value, (int, float)):
        return _time(float(value), what)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: {value!r} is not a position; write {HOW}")
    text = value.strip()
    counted = _COUNTED.match(text)
    if counted:
        kind, number = counted.group(1).lower(), counted.group(2)
        if number.isdigit():
            if int(number) < 1:
                raise ValueError(f"{what}: {kind}s are counted from 1, so {text!r} does not exist; the first is "
                                 f"'{kind} 1'")
            return Position(kind, int(number))
        if kind == "section" and re.fullmatch(r"[A-Za-z][\w'-]*", number):
            return Position(kind, number)
        raise ValueError(f"{what}: {text!r} needs a whole number after {kind!r} (or a section's label)")
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = int(clock.group(1) or 0), int(clock.group(2)), float(clock.group(3))
        if seconds >= 60 or (clock.group(1) and minutes >= 60):
            raise ValueError(f"{what}: {text!r} is not a clock time; seconds and minutes go up to 59")
        return _time(3600 * hours + 60 * minutes + seconds, what)
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a position; write {HOW}") from None
    return _time(seconds, what)


def _time(seconds: float, what: str) -> Position:
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"{what}: a time must be 0 or more seconds, got {seconds:g}")
    return Position("time", seconds)
