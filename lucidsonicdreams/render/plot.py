"""A picture of what drove a render: waveform, pulse, motion and beat signals, beats, sections, class weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio.feature import ANALYSIS_SR
from ..audio.signals import Signals
from ..utils import checks as validation
from ..utils.files import write_atomically

WIDTH_PX = 1600
DPI = 100


def plot_signals(
    signals: Signals, drives: dict[str, np.ndarray], class_vecs: np.ndarray, classes: list[int] | None,
    path: str | Path, *, title: str = "",
) -> Path:
    """Draw one PNG of the signals that drove a render and return its path.

    drives : per-frame curves as used (e.g. ``{"pulse": ..., "motion": ..., "beat": ...}``), each [shape=(n,)]
    class_vecs : [shape=(n, num_classes)]; only the (up to 12) driven classes are drawn
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = validation.output_file("plot_signals", path, ".png", "signals.png")
    n = signals.n_frames
    times = signals.start + np.arange(n) / signals.fps
    shown = sorted(set(classes or [])) if class_vecs.shape[1] > 12 else list(range(class_vecs.shape[1]))

    fig = Figure(figsize=(WIDTH_PX / DPI, 9), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3 if shown else 2, 1, sharex=True,
                        gridspec_kw={"height_ratios": [1, 1.6, 1.2] if shown else [1, 1.6]})
    wave, curves = axes[0], axes[1]
    if signals.song is not None:
        y = signals.song.samples
        per_px = max(1, len(y) // WIDTH_PX)
        cols = len(y) // per_px
        block = np.abs(y[: cols * per_px]).reshape(cols, per_px).max(axis=1) if cols else np.zeros(0)
        t = signals.start + (np.arange(cols) + 0.5) * per_px / ANALYSIS_SR
        wave.fill_between(t, -block, block, color="0.35", linewidth=0)
    wave.set_ylabel("waveform")
    wave.set_ylim(-1.05, 1.05)
    tempo = f", {signals.tempo:.0f} bpm" if signals.tempo else ""
    wave.set_title(f"{title}{' · ' if title else ''}{n} frames at {signals.fps:g} fps{tempo}, "
                   f"{len(signals.beat_times)} beats, {len(signals.section_times) + 1} sections", loc="left")
    colours = {"pulse": "tab:red", "motion": "tab:blue", "beat": "tab:orange"}
    for name, curve in drives.items():
        curves.plot(times, curve, label=name, color=colours.get(name), linewidth=0.9)
    curves.set_ylabel("drive (as used)")
    curves.legend(loc="upper right", ncol=len(drives))
    if shown:
        heat = axes[2]
        heat.imshow(class_vecs[:, shown].T, aspect="auto", origin="lower", interpolation="nearest", cmap="magma",
                    extent=(times[0], times[-1] + 1 / signals.fps, -0.5, len(shown) - 0.5))
        heat.set_yticks(range(len(shown)), [str(c) for c in shown], fontsize=7)
        heat.set_ylabel("class weights")
    for ax in axes:
        # One collection per kind (not a line per beat): a long song has hundreds of beats.
        ax.vlines(signals.beat_times, 0, 1, transform=ax.get_xaxis_transform(), color="tab:green", alpha=0.25,
                  linewidth=0.6)
        ax.vlines(signals.section_times, 0, 1, transform=ax.get_xaxis_transform(), color="black", linewidth=1.6,
                  linestyle="--")
    axes[-1].set_xlabel("song time (s) · green: beats · dashed: section boundaries")
    axes[-1].set_xlim(times[0], times[-1] + 1 / signals.fps)
    fig.tight_layout()

    write_atomically(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path
