"""The local web app (``lucidsonicdreams ui``): upload a song and its stems, preview a few seconds with the signal
plot, then render the whole video in the background.

Built on Gradio (``pip install lucidsonicdreams[ui]``), which also gives every button an API endpoint
(``/preview``, ``/render``) for ``gradio_client``. Uploads and outputs live under one work folder; every request
writes into a folder of its own, so two users never see each other's files.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import queue
import re
import shutil
import signal
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..audio.analysis import AnalysisCache
from ..audio.decode import readable_duration
from ..audio.demo import write_demo_song
from ..dream import LucidSonicDream
from ..errors import USER_ERRORS
from ..render import arguments
from ..render.video import set_parent_death_signal
from ..style.resolve import StyleSource, resolve_style
from ..utils import checks as validation
from ..utils.files import write_atomically
from ..utils.paths import cache_dir

PREVIEW_SECONDS = 5.0
PREVIEW_SIDE = 256  # short side of a preview, in pixels
SHAPES = {"square": (1, 1), "16:9": (16, 9), "9:16": (9, 16)}
STEMS = {"pulse_audio": "Pulse stem", "motion_audio": "Motion stem", "class_audio": "Class stem",
         "contrast_audio": "Contrast stem", "flash_audio": "Flash stem", "output_audio": "Output audio"}
# Songs (with their stems) whose analysis is kept, so a second preview skips decoding and separation whatever
# else changed; and LucidSonicDream objects (a song with a style, which may hold a loaded model) kept.
CACHED_SONGS = 4
CACHED_DREAMS = 4
# Seconds a cancelled render process gets to stop its encoder and remove its files before it is killed. It stops
# between two batches of frames, so only a very slow batch (a large diffusion model on a CPU) takes that long.
CANCEL_GRACE = 10.0


def frame_size(shape: str, side: int) -> tuple[int, int]:
    """(width, height) for a shape preset and the short side, both even (H.264 wants even sizes)."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    side = int(validation.number("size", side, low=16, high=4320, integer=True))
    w, h = SHAPES[shape]
    long_side = 2 * round(side * max(w, h) / min(w, h) / 2)
    return (long_side, side) if w >= h else (side, long_side)


@dataclass
class Settings:
    """The form, as ``hallucinate`` keyword arguments plus what the app itself needs."""

    style: str = "cppn"
    model_upload: bool = False  # style is the path of an uploaded model file (kept in the work folder)
    prompts: str = ""
    shape: str = "square"
    size: int = 512
    render: dict = field(default_factory=dict)


class Workspace:
    """The one folder the app reads and writes: ``uploads/`` (by content hash), ``jobs/<random id>/``, and
    ``gradio/``, where ``lucidsonicdreams ui`` has Gradio keep what it receives."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uploads = self.root / "uploads"
        self.jobs = self.root / "jobs"
        self.gradio = self.root / "gradio"
        for folder in (self.uploads, self.jobs):
            folder.mkdir(parents=True, exist_ok=True)

    def keep_upload(self, path: str | Path | None) -> Path | None:
        """The upload, kept in a folder named by its content (with its name, for titles and messages), so the
        same file uploaded twice is the same path and its analysis is found again.

        A file in Gradio's folder becomes a second name of the same bytes (a hard link), so they are stored once
        and Gradio's path keeps working: the page sends it again with every click. Any other file (a path given
        to the API directly) is the user's: it is copied, never moved or linked, since it may change later."""
        if path is None:
            return None
        source = Path(path)
        digest = hashlib.sha256()
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        name = re.sub(r"[^\w.-]+", "_", source.name)[-80:] or "upload"
        target = self.uploads / digest.hexdigest()[:32] / name
        gradios = self._in_gradio_folder(source)
        if target.exists():
            # The same bytes again: Gradio writes each upload afresh over its path, so that copy becomes ours.
            if gradios is not None and not os.path.samefile(gradios, target):
                _link(target, gradios)
            return target
        target.parent.mkdir(exist_ok=True)
        if gradios is None or not _link(gradios, target):
            write_atomically(target, lambda tmp: shutil.copyfile(source, tmp))
        return target

    def _in_gradio_folder(self, path: Path) -> Path | None:
        """The file ``path`` names (links followed) if it is in Gradio's folder, else None."""
        real = path.resolve()
        try:
            real.relative_to(self.gradio.resolve())
        except ValueError:
            return None
        return real if real.is_file() else None

    def new_job(self) -> Path:
        folder = self.jobs / uuid.uuid4().hex
        folder.mkdir()
        return folder


def _link(existing: Path, name: Path) -> bool:
    """Make ``name`` another name of the file ``existing`` (replacing whatever ``name`` was, in one step); False
    where the file system cannot (another device, no hard links), and nothing changed."""
    tmp = name.with_name(f".{name.name}.{uuid.uuid4().hex[:8]}.link")
    try:
        os.link(existing, tmp)
        os.replace(tmp, name)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


class DreamCache:
    """One analysis per song (with its stems), shared by every ``LucidSonicDream`` of that song whatever its style
    and prompts, and the latest few of those objects, each song with a lock: one render at a time per song, so
    its analysis is worked out once and then found by every style."""

    def __init__(self, size: int = CACHED_DREAMS, songs: int = CACHED_SONGS) -> None:
        self._songs: OrderedDict[tuple, tuple[AnalysisCache, threading.Lock]] = OrderedDict()
        self._dreams: OrderedDict[tuple, LucidSonicDream] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size
        self.songs = songs

    def get(self, song: Path, stems: dict[str, Path | None],
            source: StyleSource) -> tuple[LucidSonicDream, threading.Lock]:
        audio = (song, tuple(sorted(stems.items())))
        key = (audio, source)
        with self._lock:
            if audio not in self._songs:
                self._songs[audio] = (AnalysisCache(), threading.Lock())
            self._songs.move_to_end(audio)
            while len(self._songs) > self.songs:
                forgotten, _ = self._songs.popitem(last=False)
                for old in [k for k in self._dreams if k[0] == forgotten]:  # they hold its analysis too
                    del self._dreams[old]
            analysis, lock = self._songs[audio]
            if key in self._dreams:
                self._dreams.move_to_end(key)
                return self._dreams[key], lock
        # Outside the lock: a style may take long to load (a model file), and other songs need not wait.
        dream = LucidSonicDream(song, style=source, analysis=analysis, **stems)
        with self._lock:
            self._dreams[key] = dream
            while len(self._dreams) > self.size:
                self._dreams.popitem(last=False)
        return dream, lock


class App:
    """The app's state and handlers, apart from the page so they can be tested and called directly."""

    def __init__(self, work_dir: Path | None = None) -> None:
        self.workspace = Workspace(work_dir or cache_dir() / "ui")
        self.dreams = DreamCache()
        self.jobs: dict[str, multiprocessing.Process] = {}
        self.cancelled: dict[multiprocessing.Process, float] = {}  # render process -> when Cancel stopped it

    def warm_up(self) -> None:
        """One tiny render and signal plot of a synthesized clip: the first user's preview then finds the analysis
        code compiled (librosa's numba functions take seconds the first time), the encoder started once and the
        plotting library loaded."""
        job = self.workspace.new_job()
        try:
            song = write_demo_song(job / "warm-up.wav", seconds=2)
            dream = LucidSonicDream(song)
            dream.hallucinate(job / "warm-up.mp4", fps=8, resolution=32, seed=0, beat_react=0.5, sections=True,
                              flash_strength=0.3)
            dream.plot_signals(job / "warm-up.png")
        finally:
            shutil.rmtree(job, ignore_errors=True)

    def _prepare(self, song, stems: dict, settings: Settings, target: Path, side: int) -> tuple:
        """Uploads kept in the work folder and checked as audio, an uploaded model file kept too, the style
        resolved and every render setting checked, all before anything slow. Returns (song, stems, StyleSource,
        RenderSettings): what the render uses as it is, without checking again."""
        if song is None:
            raise ValueError("upload a song first")
        kept = self.workspace.keep_upload(song)
        readable_duration("Song", kept)
        kept_stems = {}
        for name, path in stems.items():
            kept_stems[name] = self.workspace.keep_upload(path)
            if kept_stems[name] is not None:
                readable_duration(STEMS[name], kept_stems[name])
        style = str(self.workspace.keep_upload(settings.style)) if settings.model_upload else settings.style
        prompts = [line.strip() for line in settings.prompts.splitlines() if line.strip()] or None
        source = resolve_style(style, None, None, prompts)  # loads nothing
        job = arguments.parse(target, **{**settings.render, "output_audio": kept_stems.pop("output_audio", None),
                                         "resolution": frame_size(settings.shape, side)})
        return kept, kept_stems, source, job

    def preview(self, song, stems: dict, settings: Settings, seconds: float = PREVIEW_SECONDS) -> tuple[str, str, str]:
        """Render ``seconds`` from ``start`` at preview size, an excerpt of the whole render (its beats, sections
        and vectors); returns (video, signal plot, status)."""
        job = self.workspace.new_job()
        target = job / "preview.mp4"
        started = time.perf_counter()
        try:
            song, stems, source, job_settings = self._prepare(song, stems, settings, target, PREVIEW_SIDE)
            dream, lock = self.dreams.get(song, stems, source)
            with lock:
                result = dream.render(job_settings, window=(None, seconds))
                plot = dream.plot_signals(job / "signals.png")
            video, seed = str(result.file), result.seed
        except BaseException:
            shutil.rmtree(job, ignore_errors=True)  # a failed preview leaves nothing behind
            raise
        return video, plot, f"Preview ready in {time.perf_counter() - started:.1f} s (seed {seed})."

    def render(self, song, stems: dict, settings: Settings, session: str, on_progress=None) -> tuple[str, str]:
        """Render the whole video in a child process (the server stays responsive, and a cancel stops it at
        once); ``on_progress(done, total, what)`` is called as it goes. Returns (video, status)."""
        job = self.workspace.new_job()
        target = job / f"{Path(song or 'song').stem[:12]}-dream.mp4"
        try:
            song, stems, source, job_settings = self._prepare(song, stems, settings, target, settings.size)
        except BaseException:
            shutil.rmtree(job, ignore_errors=True)
            raise
        context = multiprocessing.get_context("spawn")
        messages = context.Queue()
        process = context.Process(target=_render_job, daemon=True,
                                  args=(song, stems, source, job_settings, messages, os.getpid()))
        self.jobs[session] = process
        started = time.perf_counter()
        process.start()
        result = None
        try:
            while result is None:
                try:
                    message = messages.get(timeout=0.2)
                except queue.Empty:
                    if process.is_alive():
                        cancelled = self.cancelled.get(process)
                        if cancelled is not None and time.monotonic() - cancelled > CANCEL_GRACE:
                            process.kill()  # stuck in one long step: its encoder dies with it (render/video.py)
                        continue
                    try:  # its last message may still be on the way
                        message = messages.get(timeout=1)
                    except queue.Empty:
                        stopped = "the render was cancelled" if process in self.cancelled else \
                            f"the render stopped (exit code {process.exitcode})"
                        result = ("error", stopped)
                        continue
                if message[0] == "progress":
                    if on_progress is not None:
                        on_progress(*message[1:])
                else:
                    result = message
        finally:
            if process.is_alive() and result is None and process not in self.cancelled:
                process.terminate()  # this loop failed (an on_progress error, Ctrl-C): stop it as Cancel does
            # Wait for it to finish or to stop its encoder and remove its files; a second SIGTERM would only
            # interrupt that.
            process.join(CANCEL_GRACE)
            if process.is_alive():
                process.kill()
                process.join()
            if self.jobs.get(session) is process:  # a newer render of this session may have replaced it
                del self.jobs[session]
            self.cancelled.pop(process, None)
            if result is None or result[0] == "error":
                shutil.rmtree(job, ignore_errors=True)  # nothing half-written stays behind
        if result[0] == "error":
            raise RenderError(result[1])
        return result[1], f"Rendered in {time.perf_counter() - started:.0f} s (seed {result[2]})."

    def cancel(self, session: str) -> str:
        """Stop the session's render: its process gets SIGTERM once, stops its encoder and removes its partial
        file (see ``_render_job``), and ``render`` then removes the job's folder."""
        process = self.jobs.get(session)
        if process is None or not process.is_alive():
            return "No render is running."
        if process not in self.cancelled:
            self.cancelled[process] = time.monotonic()
            process.terminate()
        return "Render cancelled."


class RenderError(RuntimeError):
    """A render in the background failed or was cancelled; the message says which and why."""


class RenderCancelled(BaseException):
    """Raised in a render process by SIGTERM (Cancel); a BaseException, so that no ``except Exception`` on the way
    takes it for a failure, while every ``finally`` and ``__exit__`` (the encoder's among them) still runs."""


def _cancel_on_sigterm(signum, frame) -> None:
    # Once: a second signal would interrupt the clean-up that the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise RenderCancelled


def _render_job(song, stems, source, settings, messages, parent: int) -> None:
    """In the child process: render, reporting progress and the result through ``messages``.

    SIGTERM (Cancel) unwinds the render like an exception, so the video writer stops ffmpeg and deletes its
    partial file before the process ends; with the default action the process would die at once and leave ffmpeg
    encoding into the job folder. If the server itself dies, this process gets SIGTERM too."""
    signal.signal(signal.SIGTERM, _cancel_on_sigterm)

    def report(done: int, total: int | None, what: str) -> None:
        messages.put(("progress", done, total, what))

    try:
        set_parent_death_signal(signal.SIGTERM, parent)  # raised at once if the server has already gone
        result = LucidSonicDream(song, style=source, **stems).render(settings, progress=report)
        messages.put(("done", str(result.file), result.seed))
    except RenderCancelled:
        pass  # the server knows; it removes the job folder once this process has ended
    except USER_ERRORS as exc:
        messages.put(("error", str(exc)))
    except Exception as exc:  # anything else (e.g. CUDA out of memory) is still the user's to read
        messages.put(("error", f"{type(exc).__name__}: {exc}"))
