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
    and prompts (the analysis is safe to share between threads), and the latest few of those objects, each with
    a lock: one render at a time per object."""

    def __init__(self, size: int = CACHED_DREAMS, songs: int = CACHED_SONGS) -> None:
        self._songs: OrderedDict[tuple, AnalysisCache] = OrderedDict()
        self._dreams: OrderedDict[tuple, tuple[LucidSonicDream, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size
        self.songs = songs

    def get(self, song: Path, stems: dict[str, Path | None],
            source: StyleSource) -> tuple[LucidSonicDream, threading.Lock]:
        audio = (song, tuple(sorted(stems.items())))
        key = (audio, source)
        with self._lock:
            if audio not in self._songs:
                self._songs[audio] = AnalysisCache(keep_separation=True)  # for styles of other noise lengths
            self._songs.move_to_end(audio)
            while len(self._songs) > self.songs:
                forgotten, _ = self._songs.popitem(last=False)
                for old in [k for k in self._dreams if k[0] == forgotten]:  # they hold its analysis too
                    del self._dreams[old]
            analysis = self._songs[audio]
            if key in self._dreams:
                self._dreams.move_to_end(key)
                return self._dreams[key]
        # Outside the lock: a style may take long to load (a model file), and other songs need not wait.
        made = (LucidSonicDream(song, style=source, analysis=analysis, **stems), threading.Lock())
        with self._lock:
            if self._songs.get(audio) is not analysis:
                return made  # the song was forgotten meanwhile: this object serves this request only
            if key in self._dreams:  # another request made one first: one object, one lock, for both
                return self._dreams[key]
            self._dreams[key] = made
            while len(self._dreams) > self.size:
                self._dreams.popitem(last=False)
        return made


@dataclass
class _Job:
    """A session's render: its process once started, and when Cancel was pressed (it may come first)."""

    process: multiprocessing.process.BaseProcess | None = None
    cancelled_at: float | None = None


class App:
    """The app's state and handlers, apart from the page so they can be tested and called directly."""

    def __init__(self, work_dir: Path | None = None) -> None:
        self.workspace = Workspace(work_dir or cache_dir() / "ui")
        self.dreams = DreamCache()
        self.jobs: dict[str, _Job] = {}  # session -> its render
        self._jobs_lock = threading.Lock()

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
        once); ``on_progress(done, total, what)`` is called as it goes. Returns (video, status). One render at a
        time per session; a Cancel pressed while the uploads are still being checked stops it too."""
        entry = _Job()
        with self._jobs_lock:
            if session in self.jobs:
                raise ValueError("a render is already running for this page: wait for it, or cancel it")
            self.jobs[session] = entry
        folder = self.workspace.new_job()
        target = folder / f"{Path(song or 'song').stem[:12]}-dream.mp4"
        started = time.perf_counter()
        process, result = None, None
        try:
            song, stems, source, job_settings = self._prepare(song, stems, settings, target, settings.size)
            context = multiprocessing.get_context("spawn")
            messages = context.Queue()
            process = context.Process(target=_render_job, daemon=True,
                                      args=(song, stems, source, job_settings, messages, os.getpid()))
            with self._jobs_lock:  # so that a Cancel comes either before the start (and no process starts) or after
                if entry.cancelled_at is None:
                    process.start()
                    entry.process = process
            while result is None:
                if entry.process is None:
                    result = ("error", "the render was cancelled")
                    break
                try:
                    message = messages.get(timeout=0.2)
                except queue.Empty:
                    if process.is_alive():
                        if entry.cancelled_at is not None and time.monotonic() - entry.cancelled_at > CANCEL_GRACE:
                            process.kill()  # stuck in one long step: its encoder dies with it (render/video.py)
                        continue
                    try:  # its last message may still be on the way
                        message = messages.get(timeout=1)
                    except queue.Empty:
                        stopped = "the render was cancelled" if entry.cancelled_at is not None else \
                            f"the render stopped (exit code {process.exitcode})"
                        result = ("error", stopped)
                        continue
                if message[0] == "progress":
                    if on_progress is not None:
                        on_progress(*message[1:])
                else:
                    result = message
        finally:
            if entry.process is not None:
                if entry.process.is_alive() and result is None and entry.cancelled_at is None:
                    entry.process.terminate()  # this loop failed (an on_progress error, Ctrl-C): stop it as Cancel does
                _stop(entry.process)
            with self._jobs_lock:
                del self.jobs[session]
            if result is None or result[0] == "error":
                shutil.rmtree(folder, ignore_errors=True)  # nothing half-written stays behind
        if result[0] == "error":
            raise RenderError(result[1])
        return result[1], f"Rendered in {time.perf_counter() - started:.0f} s (seed {result[2]})."

    def cancel(self, session: str) -> str:
        """Stop the session's render: its process gets SIGTERM once, stops its encoder and removes its partial
        file (see ``_render_job``), and ``render`` then removes the job's folder. A render still checking its
        uploads never starts."""
        with self._jobs_lock:
            entry = self.jobs.get(session)
            if entry is None:
                return "No render is running."
            if entry.cancelled_at is None:
                entry.cancelled_at = time.monotonic()
                if entry.process is not None:
                    entry.process.terminate()
        return "Render cancelled."

    def shutdown(self) -> None:
        """Cancel every running render and wait for it to stop (killing it after ``CANCEL_GRACE``): the server
        then exits without leaving a render or an encoder behind."""
        for session in list(self.jobs):
            self.cancel(session)
        with self._jobs_lock:
            processes = [entry.process for entry in self.jobs.values() if entry.process is not None]
        for process in processes:
            _stop(process)


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    """Wait for a render process to finish, or to stop its encoder and remove its files after a Cancel (a
    second SIGTERM would only interrupt that), and kill it after ``CANCEL_GRACE``."""
    process.join(CANCEL_GRACE)
    if process.is_alive():
        process.kill()
        process.join()


class RenderError(RuntimeError):
    """A render in the background failed or was cancelled; the message says which and why."""


class RenderCancelled(BaseException):
    """Raised in a render process by SIGTERM (Cancel); a BaseException, so that no ``except Exception`` on the way
    takes it for a failure, while every ``finally`` and ``__exit__`` (the encoder's among them) still runs."""


_server: list[int] = []  # in a render process: the server's process id


def _cancel_on_sigterm(signum, frame) -> None:
    # Once: a second signal would interrupt the clean-up that the first one started. Should the server die
    # during that clean-up, the kernel kills this process outright.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _server:
        set_parent_death_signal(signal.SIGKILL, _server[0])
    raise RenderCancelled


def _render_job(song, stems, source, settings, messages, parent: int) -> None:
    """In the child process: render, reporting progress and the result through ``messages``.

    SIGTERM (Cancel) unwinds the render like an exception, so the video writer stops ffmpeg and deletes its
    partial file before the process ends; with the default action the process would die at once and leave ffmpeg
    encoding into the job folder. If the server itself dies, this process gets SIGTERM too."""
    def report(done: int, total: int | None, what: str) -> None:
        messages.put(("progress", done, total, what))

    try:
        try:
            _server.append(parent)
            signal.signal(signal.SIGTERM, _cancel_on_sigterm)
            set_parent_death_signal(signal.SIGTERM, parent)  # raised at once if the server has already gone
            result = LucidSonicDream(song, style=source, **stems).render(settings, progress=report)
            messages.put(("done", str(result.file), result.seed))
        except USER_ERRORS as exc:
            messages.put(("error", str(exc)))
        except Exception as exc:  # anything else (e.g. CUDA out of memory) is still the user's to read
            messages.put(("error", f"{type(exc).__name__}: {exc}"))
    except RenderCancelled:
        pass  # the server knows; it removes the job folder once this process has ended
