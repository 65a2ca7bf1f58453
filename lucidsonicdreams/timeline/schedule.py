"""Deforum-style numeric schedules keyed by song time, never by frame: ``"0:(0.2), 1:04:(1.0), bar 33:(0.5)"``.

A schedule holds its value before the first key and after the last, and goes linearly between keys, so it gives
the same values at any frame rate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .positions import Position, parse_position

_POINT = re.compile(r"\s*(?P<key>[^,()]*?)\s*:\s*\((?P<value>[^()]*)\)\s*")
EXAMPLE = '"0:(0.2), 1:04:(1.0)" (song time or "bar N", a colon, and the value in brackets)'


def parse_schedule(name: str, text: str) -> list[tuple[Position, float]]:
    """The keys and values of a schedule string, in the order written; ``name`` (the setting) names it in errors,
    which give the character position (counted from 1) where the schedule stops making sense."""
    points, at = [], 0
    while True:
        point = _POINT.match(text, at)
        if point is None or not point.group("key"):
            raise ValueError(f"{name}: the schedule {text!r} is malformed at character {at + 1}: expected KEY:(VALUE), "
                             f"as in {EXAMPLE}")
        key_at = point.start("key") + 1
        position = parse_position(point.group("key"), f"{name}: the key at character {key_at} of {text!r}")
        try:
            value = float(point.group("value"))
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(f"{name}: the value at character {point.start('value') + 1} of {text!r} is not a number: "
                             f"{point.group('value').strip()!r}")
        points.append((position, value))
        at = point.end()
        if at == len(text):
            return points
        if text[at] != ",":
            raise ValueError(f"{name}: the schedule {text!r} is malformed at character {at + 1}: expected a comma "
                             "between two KEY:(VALUE) pairs")
        at += 1


@dataclass(frozen=True)
class Schedule:
    """A setting's schedule as written: its keys and values."""

    points: tuple[tuple[Position, float], ...]

    @property
    def largest(self) -> float:
        """The most it reaches (whether a setting is ever on decides what is analysed)."""
        return max(value for _, value in self.points)
