"""New looks where the music changes, from what has been heard: the offline sections' features and contrast,
over the last bars instead of the whole song.

Chroma and timbre are pooled every ``SECTION_STEP_SECONDS`` (the offline grid); a section begins when the last
``AFTER_SECONDS`` differ from the ``BEFORE_SECONDS`` before them by the contrast that keeps an offline boundary.
The change is known only once it has lasted ``AFTER_SECONDS``, so the new look comes that long after it.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..audio.segment import MIN_SECTION_CONTRAST, SECTION_STEP_SECONDS, TIMBRE_SCALE, section_contrast
from .analysis import GRID, LiveFrame

BEFORE_SECONDS = 8.0  # two bars at 120 BPM, four at 240
AFTER_SECONDS = 2.0  # how long a change must last to be a new section (and how late the new look comes)


class SectionWatch:
    """Feed it the analysis frames as they come; :meth:`feed` says when a new section has begun. After one, the
    next needs ``BEFORE_SECONDS + AFTER_SECONDS`` of the new music to compare with."""

    def __init__(self) -> None:
        self._pool: list[np.ndarray] = []
        self._before = int(round(BEFORE_SECONDS / SECTION_STEP_SECONDS))
        self._after = int(round(AFTER_SECONDS / SECTION_STEP_SECONDS))
        self._steps: deque[np.ndarray] = deque(maxlen=self._before + self._after)
        self._per_step = max(1, int(round(SECTION_STEP_SECONDS / GRID)))
        self.contrast = 0.0  # the latest comparison's, for plots and the page

    def feed(self, frames: list[LiveFrame]) -> bool:
        begun = False
        for frame in frames:
            self._pool.append(np.concatenate([frame.chroma, frame.timbre / TIMBRE_SCALE]))
            if len(self._pool) < self._per_step:
                continue
            self._steps.append(np.median(self._pool, axis=0))
            self._pool = []
            if len(self._steps) == self._steps.maxlen:
                steps = np.stack(self._steps, axis=1)
                self.contrast = section_contrast(steps[:, : self._before], steps[:, self._before :])
                if self.contrast >= MIN_SECTION_CONTRAST:
                    begun = True
                    self._steps.clear()
        return begun
