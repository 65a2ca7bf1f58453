"""A picture of what drove a render: waveform, pulse, motion and beat signals, beats, sections and their labels,
a timeline's keyframes and settings, class weights."""

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

    timed = bool(signals.settings)
    ratios = [1, 1.6] + ([1] if timed else []) + ([1.2] if shown else [])
    fig = Figure(figsize=(WIDTH_PX / DPI, 9 + 2 * timed), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
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
    if timed:
        # Each setting over its largest value, so that a speed in keys per minute and a strength share an axis.
        for name, values in signals.settings.items():
            top = float(np.max(np.abs(values))) or 1.0
            axes[2].plot(times, values / top, label=f"{name} (max {top:g})", linewidth=1.0)
        axes[2].set_ylabel("timeline (÷ max)")
        axes[2].legend(loc="upper right", ncol=min(4, len(signals.settings)), fontsize=7)
    if shown:
        heat = axes[-1]
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
    for at, label in zip([signals.start, *signals.section_times], signals.section_labels):
        wave.text(at, 1.0, f" {label}", transform=wave.get_xaxis_transform(), va="top", fontsize=9, weight="bold")
    for frame, span, what in signals.keyframes:
        at = signals.start + frame / signals.fps
        for ax in axes:
            ax.axvspan(at, at + max(span, 1) / signals.fps, color="tab:purple", alpha=0.15, linewidth=0)
            ax.axvline(at, color="tab:purple", linewidth=1.2)
        curves.text(at, 0.98, f" {what}", transform=curves.get_xaxis_transform(), va="top", fontsize=7,
                    color="tab:purple", rotation=90)
    axes[-1].set_xlabel("song time (s) · green: beats · dashed: section boundaries (labelled on the waveform)"
                        + (" · purple: keyframes and their transitions" if signals.keyframes else ""))
    axes[-1].set_xlim(times[0], times[-1] + 1 / signals.fps)
    fig.tight_layout()

    write_atomically(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path
