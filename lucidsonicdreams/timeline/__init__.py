"""The timeline stage: keyframes and schedules at song times, placed on the frames.

In: a timeline (keyframes as mappings, or a YAML/JSON file of them) and numeric schedules (``"0:(0.2), 1:04:(1.0)"``),
checked before any analysis; then the song's beats and sections. Out: each keyframe's frame, and every scheduled
setting's value at every frame, with its transitions and eases.
"""

from .keyframes import Keyframe, TimelineSettings, load_timeline
from .place import Grid, Placed, place
from .positions import Position, parse_position
from .schedule import Schedule, parse_schedule

__all__ = ["Grid", "Keyframe", "Placed", "Position", "Schedule", "TimelineSettings", "load_timeline",
           "parse_position", "parse_schedule", "place"]
