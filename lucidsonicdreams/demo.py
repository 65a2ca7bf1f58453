"""The old import path of the demo song (saved Colab notebooks use it): it lives in :mod:`.audio.demo`."""

from __future__ import annotations

from .audio.demo import BPM, PROGRESSION, SAMPLE_RATE, synthesize_song, write_demo_song

__all__ = ["BPM", "PROGRESSION", "SAMPLE_RATE", "synthesize_song", "write_demo_song"]
