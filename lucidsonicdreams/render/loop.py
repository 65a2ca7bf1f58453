"""The frame loop: draw any window of a :class:`RenderPlan` (style, effects, fitting) into a sink, and write a
window to a video file.

Batches are generated on the calling thread while a worker applies the effects and feeds the sink, so the
generator and the encoder overlap; at most ``QUEUED_BATCHES`` batches wait, so memory stays flat.
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..style.base import Style
from ..style.resolve import load_style
from ..utils.device import resolve_device
from ..utils.fit import fit_frame
from .plan import Progress, RenderPlan
from .segments import Manifest, frame_rate, is_rendered, render_key, segment_windows, stamp
from .video import AudioTrack, VideoWriter, join_segments

QUEUED_BATCHES = 2

Sink = Callable[[int, np.ndarray], None]  # sink(frame index within the render, uint8 frame [H, W, 3])

# The latest style loaded for a plan in this process, so that the windows of one render load it once. It is the
# same object that a LucidSonicDream holds, where one planned the render (see ``keep_style``).
_loaded: list[tuple[object, Style]] = []
_loading = threading.Lock()


def _style_key(plan: RenderPlan, device: str | None = None) -> tuple:
    return (plan.style, device or plan.device, plan.style_seed if plan.style.seeded else None)


def keep_style(plan: RenderPlan, style: Style) -> None:
    """Remember ``style`` as the plan's, so that drawing the plan in this process does not load a second copy."""
    with _loading:
        _loaded[:] = [(_style_key(plan), style)]


def plan_style(plan: RenderPlan, device: str | None = None) -> Style:
    """The plan's style on ``device`` (default: the plan's), loaded once per process while plans keep asking for
    the same one (only the latest is kept; threads drawing windows of one plan wait for the first one's load)."""
    key = _style_key(plan, device)
    with _loading:
        if _loaded and _loaded[0][0] == key:
            return _loaded[0][1]
        _loaded.clear()  # let the old one go before building the next
        style = load_style(plan.style, torch.device(device or plan.device), plan.style_seed)
        _loaded.append((key, style))
        return style


def render_window(plan: RenderPlan, first: int, end: int, sink: Sink, *, style: Style | None = None,
                  device: str | None = None, progress: Progress | None = None) -> int:
    """Draw frames ``[first, end)`` of ``plan`` in order into ``sink(index, frame)``; returns the frame count.

    Any split of a render into windows gives the same frames as one pass. ``sink`` runs on a worker thread (so
    the next batch is generated meanwhile), one frame at a time, in order. ``style`` is the plan's style when the
    caller has it loaded already; ``device`` draws on another device than the plan's (a worker without the GPU
    the plan was made on; a style object passed in ``style=`` stays where it is); ``progress(done, total,
    "Rendering")`` follows the frames, on this thread.
    """
    if not 0 <= first < end <= plan.n_frames:
        raise ValueError(f"window [{first}, {end}) is not within the render's {plan.n_frames} frames")
    if device is not None:
        device = str(resolve_device(device))
    style = plan_style(plan, device) if style is None else style
    out, options, batch_size = plan.output, plan.options, plan.output.batch_size
    total = end - first
    done = 0
    if progress is not None:
        progress(0, total, "Rendering")

    broken: list[bool] = []  # a batch failed in the sink: later frames would follow a gap

    def finish(images: np.ndarray, lo: int) -> int:
        if broken:
            return 0
        try:
            for j, frame in enumerate(images):
                index = lo + j
                for fx in plan.effects:
                    frame = fx.effect.apply(frame, fx.amplitude[index])
                sink(index, fit_frame(frame, out.size))
        except BaseException:
            broken.append(True)
            raise
        return len(images)

    def report(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total, "Rendering")

    # On a failure, the batches drawn before it still reach the sink as the pool winds down (a segment they
    # complete is kept for the resume), unless the sink itself failed; the first error is the one raised.
    with ThreadPoolExecutor(1) as pool:
        pending: deque[Future] = deque()
        for lo in range(first, end, batch_size):
            hi = min(end, lo + batch_size)
            images = style(plan.noise[lo:hi], plan.classes[lo:hi], options)
            pending.append(pool.submit(finish, images, lo))
            while len(pending) > QUEUED_BATCHES or (pending and pending[0].done()):
                report(pending.popleft().result())
        while pending:
            report(pending.popleft().result())
    return total


@dataclass
class VideoJob:
    """One video's render in segments: the windows still to draw, and what finishing it needs."""

    plan: RenderPlan
    first: int
    end: int
    key: str | None
    manifest: Manifest
    windows: list[tuple[int, int]]
    todo: list[tuple[int, int]]
    audio: AudioTrack
    frames_dir: Path | None  # save_frames: where the PNGs end up; they are drawn into partial_dir meanwhile
    partial_dir: Path | None

    @property
    def total(self) -> int:
        return self.end - self.first

    @property
    def done_before(self) -> int:
        """Frames that an earlier, unfinished run of this render left done."""
        return self.total - sum(hi - lo for lo, hi in self.todo)


def open_video(plan: RenderPlan, first: int = 0, end: int | None = None, *,
               resume: bool | None = None) -> VideoJob | None:
    """The segments of ``[first, end)`` still to draw into ``plan.output.file`` (with ``resume``, those an
    unfinished run of the same render left missing); ``None`` when this very render is there already, whole."""
    resume = plan.output.resume if resume is None else resume
    seconds = plan.output.segment_seconds
    end = plan.n_frames if end is None else end
    whole = (first, end) == (0, plan.n_frames)
    audio = AudioTrack(plan.audio, plan.start + first / plan.fps, plan.length if whole else (end - first) / plan.fps)
    target = plan.output.file
    key = render_key(plan, first, end, seconds)
    frames_dir = target.with_name(target.stem + "_frames") if plan.output.save_frames else None
    if resume and is_rendered(target, key) and (frames_dir is None or frames_dir.is_dir()):
        return None
    manifest = Manifest.open(target, key, resume=resume, seed=plan.seed, settings=plan.settings_key)
    windows = segment_windows(first, end, plan.fps, seconds)
    todo = [(lo, hi) for lo, hi in windows if not manifest.is_done(lo, hi)]
    partial_dir = target.with_name(f".{target.stem}_frames.part") if frames_dir is not None else None
    if partial_dir is not None and (len(todo) == len(windows) or not partial_dir.is_dir()):
        if len(todo) < len(windows):  # the frames of the segments done are gone: draw them again
            todo = windows
        shutil.rmtree(partial_dir, ignore_errors=True)
        partial_dir.mkdir()
    return VideoJob(plan, first, end, key, manifest, windows, todo, audio, frames_dir, partial_dir)


def finish_video(job: VideoJob) -> None:
    """Join the segments of a job whose windows are all drawn into its file, and move its frames into place."""
    manifest, target = job.manifest, job.plan.output.file
    join_segments([manifest.segment_path(lo) for lo, _ in job.windows], target, frame_rate(job.plan.fps), job.audio,
                  comment=stamp(job.key))
    if job.partial_dir is not None:
        shutil.rmtree(job.frames_dir, ignore_errors=True)
        job.partial_dir.rename(job.frames_dir)
    manifest.remove()


def write_video(plan: RenderPlan, first: int = 0, end: int | None = None, *, style: Style | None = None,
                progress: Progress | None = None, resume: bool | None = None) -> int:
    """Draw frames ``[first, end)`` (default: all) into ``plan.output.file`` with their audio, and with
    ``save_frames`` into numbered PNGs in ``<name>_frames/`` beside it; returns the frames drawn by this call.

    The frames are encoded in fixed segments (:mod:`.segments`), kept in a hidden folder beside the file until
    they are joined, so a render that dies resumes: the same call again draws only the segments that are
    missing (``resume=False``, or the plan's ``resume=False``, starts over). Nothing half-written is left at the
    file or the frames folder.
    """
    job = open_video(plan, first, end, resume=resume)
    if job is None:
        return 0  # this very render is there already, whole
    total, drawn = job.total, 0
    if progress is not None:
        progress(job.done_before, total, "Rendering")
    frames = None if job.partial_dir is None else (job.partial_dir, job.first, len(str(total - 1)))
    # Each segment's encoder finishes (flushes, is renamed into place and recorded) on a worker while the next
    # segment is drawn, so the generator does not wait at every boundary.
    with ThreadPoolExecutor(1) as finisher:
        finishing: list[Future] = []

        def finish(segment: ExitStack, lo: int, hi: int) -> None:
            if finishing:
                finishing.pop().result()  # one at a time, and a failure to finish stops the render
            finishing.append(finisher.submit(_finish_segment, segment, job.manifest, lo, hi))

        try:
            for run in _adjacent(job.todo):
                report = None if progress is None else _shifted(progress, job.done_before + drawn, total)
                encode_segments(plan, run, job.manifest.segment_path, finish, style=style, frames=frames,
                                progress=report)
                drawn += run[-1][1] - run[0][0]
        finally:
            for future in finishing:
                future.result()
    finish_video(job)
    return drawn


def _adjacent(windows: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Windows in runs that follow one another without a gap (a resume leaves gaps where segments are done)."""
    runs: list[list[tuple[int, int]]] = []
    for window in windows:
        if runs and runs[-1][-1][1] == window[0]:
            runs[-1].append(window)
        else:
            runs.append([window])
    return runs


def _shifted(progress: Progress, offset: int, total: int) -> Progress:
    """``progress`` of one run of segments counted within the whole render, from the frames done before it."""
    return lambda done, _, what: progress(offset + done, total, what)


def _finish_segment(segment: ExitStack, manifest: Manifest, lo: int, hi: int) -> None:
    segment.close()
    manifest.record(lo, hi)


def encode_segments(plan: RenderPlan, windows: list[tuple[int, int]], path_of: Callable[[int], Path],
                    finish: Callable[[ExitStack, int, int], None], *, style: Style | None = None,
                    frames: tuple | None = None, progress: Progress | None = None) -> None:
    """Draw adjacent ``windows`` in one pass of the frame loop, each into its own segment file ``path_of(first)``.

    At each boundary the segment's encoder, still open, goes to ``finish(encoder, first, end)``: closing it
    finishes the file (whole, or on an error not at all). One pass, not one per segment, so the generator and
    the encoder never wait for each other to drain and refill at a boundary. With ``frames`` = (folder, first,
    digits), the frames are also saved as numbered PNGs there."""
    at = 0  # the segment being written
    open_segment: list[tuple[ExitStack, VideoWriter]] = []
    ready: list[Future] = []  # the next segment's encoder, started early

    def opened(lo: int, size: tuple[int, int]) -> tuple[ExitStack, VideoWriter]:
        stack = ExitStack()
        return stack, stack.enter_context(VideoWriter(path_of(lo), size, frame_rate(plan.fps), None, pinned=True))

    def sink(index: int, frame: np.ndarray) -> None:
        nonlocal at, written
        if index >= windows[at][1]:
            _hand_over(open_segment.pop()[0], finish, *windows[at])
            at += 1
        if not open_segment:  # opened at its first frame, which tells the size when the style chooses it
            size = (frame.shape[1], frame.shape[0])
            segment = ready.pop().result() if ready else None
            if segment is not None and segment[1].size != size:
                segment[0].__exit__(ValueError, None, None)  # another size after all: that encoder goes
                segment = None
            open_segment.append(segment or opened(windows[at][0], size))
            if at + 1 < len(windows):
                # Started now, it waits for its frames, so that the boundary costs the generator nothing (a
                # fast style would otherwise stall while ffmpeg starts).
                ready.append(starter.submit(opened, windows[at + 1][0], size))
        if frames is not None:
            folder, first, digits = frames
            Image.fromarray(frame).save(folder / f"{index - first:0{digits}d}.png")
        open_segment[0][1].write(frame)
        written = index + 1

    written = windows[0][0]  # frames sent to the encoders so far, from the first window's start
    with ThreadPoolExecutor(1) as starter:
        try:
            render_window(plan, windows[0][0], windows[-1][1], sink, style=style, progress=progress)
        except BaseException:
            info = sys.exc_info()
            for future in ready:
                if future.exception() is None:
                    future.result()[0].__exit__(*info)
            if open_segment and written == windows[at][1]:  # its last frame was in: the segment is whole
                try:
                    _hand_over(open_segment.pop()[0], finish, *windows[at])
                except BaseException:  # the first error is the one to report
                    pass
            elif open_segment:
                open_segment[0][0].__exit__(*info)  # the partial segment is discarded
            raise
    _hand_over(open_segment.pop()[0], finish, *windows[at])


def _hand_over(segment: ExitStack, finish: Callable[[ExitStack, int, int], None], lo: int, hi: int) -> None:
    try:
        finish(segment, lo, hi)
    except BaseException:  # not taken: it is discarded here
        segment.__exit__(*sys.exc_info())
        raise


class TqdmProgress:
    """The default ``progress``: one tqdm bar per stage. ``close()`` closes what is still open (after an error
    or an interruption, so that a message printed next starts on a line of its own)."""

    def __init__(self) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._bars: dict = {}

    def __call__(self, done: int, total: int | None, what: str) -> None:
        bar = self._bars.get(what)
        if bar is None:
            bar = self._bars[what] = self._tqdm(total=total, desc=what,
                                                unit="frame" if what == "Rendering" else "step")
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


@contextmanager
def reporting(progress: Progress | None) -> Iterator[Progress]:
    """``progress`` once checked, or tqdm bars (the default), closed however the work ends."""
    if progress is not None:
        if not callable(progress):
            raise TypeError(f"progress must be a function progress(done, total, what), got {type(progress).__name__}")
        yield progress
        return
    bars = TqdmProgress()
    try:
        yield bars
    finally:
        bars.close()
