"""The web app's state and handlers without a server: cancelling a render, sharing a song's analysis between
styles, and keeping each upload once. (The page, the server and the browser are in test_ui.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import C_MAJOR, chord_track, probe, write

from lucidsonicdreams.app.state import App, DreamCache, RenderError, Settings
from lucidsonicdreams.audio import analysis
from lucidsonicdreams.style import resolve_style

pytestmark = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(),
                                reason="finds the encoder's process through /proc (Linux)")


def processes_mentioning(text: str | Path) -> list[int]:
    """Live processes (not zombies) whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # it ended while we looked
            continue
        if str(text) in command and state != "Z":
            found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture
def lingering_encoder(tmp_path, monkeypatch) -> Path:
    """A stand-in for ffmpeg (through imageio-ffmpeg's IMAGEIO_FFMPEG_EXE, which render processes inherit) that has
    work left when its input ends, as the real one has with a long song's audio still to encode: it reads every
    frame, then keeps going for a minute. Whatever of it is still alive at the end is killed."""
    script = tmp_path / "lingering-ffmpeg"
    script.write_text(f"#!{sys.executable}\nimport sys, time\nsys.stdin.buffer.read()\ntime.sleep(60)\n")
    script.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(script))
    yield script
    kill_all(processes_mentioning(tmp_path))


def test_cancel_stops_the_encoder_and_removes_the_job_folder(tmp_path, song, lingering_encoder):
    app = App(tmp_path / "work")
    drawing = threading.Event()
    outcome: dict[str, str] = {}

    def on_progress(done, total, what):
        if what == "Rendering" and done > 0:  # the encoder starts with the first frame, before this report
            drawing.set()

    def render():
        try:
            app.render(str(song), {}, Settings(size=64), "alice", on_progress)
            outcome["result"] = "finished"
        except RenderError as exc:
            outcome["result"] = str(exc)

    thread = threading.Thread(target=render)
    thread.start()
    try:
        assert drawing.wait(120), "the render never drew a frame"
        [job] = list(app.workspace.jobs.iterdir())
        assert processes_mentioning(job), "no encoder was running: this test would prove nothing"
        assert app.cancel("alice") == "Render cancelled."
        thread.join(60)
        assert not thread.is_alive() and outcome == {"result": "the render was cancelled"}
        assert processes_mentioning(job) == []  # the encoder did not outlive the render
        assert not job.exists()
    finally:
        if thread.is_alive():
            app.cancel("alice")
            thread.join(30)


def test_a_cancel_while_the_uploads_are_checked_stops_the_render_before_it_starts(tmp_path, song, monkeypatch):
    """Cancel can come before the render process exists (a large upload is still being hashed): nothing starts,
    and a second render of the same page waits its turn instead of hiding the first from Cancel."""
    from lucidsonicdreams.app import state

    app = App(tmp_path / "work")
    checking, proceed = threading.Event(), threading.Event()
    real = state.readable_duration

    def slow_check(*args):
        checking.set()
        proceed.wait(30)
        return real(*args)

    monkeypatch.setattr(state, "readable_duration", slow_check)
    outcome: dict[str, str] = {}

    def render():
        try:
            app.render(str(song), {}, Settings(size=64), "alice")
            outcome["result"] = "finished"
        except RenderError as exc:
            outcome["result"] = str(exc)

    started = []
    monkeypatch.setattr(state.multiprocessing.process.BaseProcess, "start",
                        lambda self: started.append(self) or pytest.fail("a cancelled render started"))
    thread = threading.Thread(target=render)
    thread.start()
    try:
        assert checking.wait(30)
        with pytest.raises(ValueError, match="already running"):
            app.render(str(song), {}, Settings(size=64), "alice")
        assert app.cancel("alice") == "Render cancelled."
        proceed.set()
        thread.join(30)
        assert outcome == {"result": "the render was cancelled"} and started == []
        assert list(app.workspace.jobs.iterdir()) == [] and app.jobs == {}
    finally:
        proceed.set()
        thread.join(30)


def test_stopping_the_server_stops_its_renders(tmp_path, song, lingering_encoder):
    app = App(tmp_path / "work")
    drawing = threading.Event()
    thread = threading.Thread(target=lambda: pytest.raises(RenderError, app.render, str(song), {},
                                                            Settings(size=64), "bob",
                                                            lambda done, total, what: what == "Rendering"
                                                            and done and drawing.set()))
    thread.start()
    try:
        assert drawing.wait(120), "the render never drew a frame"
        [job] = list(app.workspace.jobs.iterdir())
        assert processes_mentioning(job)
        app.shutdown()
        thread.join(30)
        assert processes_mentioning(job) == [] and not job.exists()
    finally:
        app.cancel("bob")
        thread.join(30)


def test_a_song_forgotten_while_its_style_loads_keeps_no_object(tmp_path, monkeypatch):
    """Four other songs asked for while a model loads: the object made for the forgotten song serves its request
    but is not kept, so no later request gets it with another song's analysis."""
    from lucidsonicdreams.app import state

    songs = [write(tmp_path / f"s{i}.wav", chord_track(C_MAJOR, 0.5) * (i + 1) / 8) for i in range(3)]
    cache = DreamCache(size=8, songs=2)
    real = state.LucidSonicDream

    def slow(song, **kw):
        if song == songs[0]:
            cache.get(songs[1], {}, resolve_style("cppn"))
            cache.get(songs[2], {}, resolve_style("cppn"))  # songs[0] is forgotten now
        return real(song, **kw)

    monkeypatch.setattr(state, "LucidSonicDream", slow)
    first, _ = cache.get(songs[0], {}, resolve_style("cppn"))
    monkeypatch.setattr(state, "LucidSonicDream", real)
    again, _ = cache.get(songs[0], {}, resolve_style("cppn"))
    assert again is not first and again._analysis is not first._analysis


def test_an_encoder_dies_with_its_process_even_when_the_thread_that_started_it_has_ended(tmp_path, lingering_encoder):
    """The backstop for a render process that is killed outright (SIGKILL after the grace period, the OOM killer):
    the kernel stops its ffmpeg. The writer is opened on a thread that ends at once, as write_video's frame worker
    does, and its encoder must outlive that thread (Linux sends the parent-death signal when the *thread* that
    started a child ends)."""
    video = tmp_path / "out" / "video.mp4"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, threading, time
        import numpy as np
        from lucidsonicdreams.render.video import VideoWriter
        writer = VideoWriter(sys.argv[1], (16, 16), 10)
        opener = threading.Thread(target=writer.__enter__)
        opener.start()
        opener.join()
        writer.write(np.zeros((16, 16, 3), np.uint8))
        print("ready", flush=True)
        time.sleep(60)
        """), str(video)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        encoders = [pid for pid in processes_mentioning(video.parent) if pid != child.pid]
        assert encoders, "the encoder stopped when the thread that started it ended"
        child.kill()
        child.wait()
        deadline = time.monotonic() + 5
        while processes_mentioning(video.parent) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_mentioning(video.parent) == []
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_another_style_of_the_same_song_reuses_its_analysis(tmp_path, song, monkeypatch):
    """A StyleGAN with 16-long noise after the 128-long cppn: nothing is decoded, separated, beat-tracked,
    segmented or chroma-analysed again; only the loudest-band envelopes at the new band count are worked out."""
    from test_models import tf_file

    from lucidsonicdreams.audio import signals

    app = App(tmp_path / "work")
    model = tf_file(tmp_path / "tiny-stylegan2.pkl")
    render = {"beat_react": 0.5, "sections": True, "fps": 24}
    app.preview(str(song), {}, Settings(render=render), seconds=1)
    calls = []
    for module, name in ((analysis, "load_mono"), (analysis, "separate"), (analysis, "chromagram"),
                         (signals, "track_beats"), (signals, "song_sections")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    video, _, status = app.preview(str(song), {}, Settings(style=str(model), model_upload=True, render=render),
                                   seconds=1)
    assert calls == [] and "Preview ready" in status
    assert len(probe(Path(video))["frames"]) == 24


def test_the_songs_whose_analysis_is_kept_are_bounded(tmp_path):
    from test_models import tf_file

    model = str(tf_file(tmp_path / "tiny-stylegan2.pkl"))
    songs = [write(tmp_path / f"song{i}.wav", chord_track(C_MAJOR, 0.5) * (i + 1) / 4) for i in range(3)]
    cache = DreamCache(size=8, songs=2)
    cppn, lock = cache.get(songs[0], {}, resolve_style("cppn"))
    stylegan, its_lock = cache.get(songs[0], {}, resolve_style(model))
    assert stylegan._analysis is cppn._analysis and its_lock is not lock  # one analysis, a lock per object
    assert cache.get(songs[0], {}, resolve_style("cppn"))[0] is cppn
    with_stem, _ = cache.get(songs[0], {"pulse_audio": songs[1]}, resolve_style("cppn"))
    assert with_stem._analysis is not cppn._analysis  # other audio, other signals
    cache.get(songs[2], {}, resolve_style("cppn"))  # a third song: the oldest is forgotten, its objects too
    again, _ = cache.get(songs[0], {}, resolve_style("cppn"))
    assert again is not cppn and again._analysis is not cppn._analysis


def content_copies(root: Path, data: bytes) -> set[tuple[int, int]]:
    """The distinct files (device, inode) under ``root`` holding exactly ``data``."""
    return {(p.stat().st_dev, p.stat().st_ino) for p in root.rglob("*")
            if p.is_file() and p.stat().st_size == len(data) and p.read_bytes() == data}


def test_an_upload_in_gradios_folder_is_kept_without_a_second_copy(tmp_path):
    app = App(tmp_path / "work")
    data = np.random.default_rng(0).bytes(50_000)
    uploaded = app.workspace.root / "gradio" / "0a1b2c" / "my song.wav"  # where `ui` has Gradio put an upload
    uploaded.parent.mkdir(parents=True)
    uploaded.write_bytes(data)
    kept = app.workspace.keep_upload(uploaded)
    assert kept.parent.parent == app.workspace.uploads and kept.name == "my_song.wav"
    assert uploaded.read_bytes() == data  # Gradio's path still works: the page sends it again on every click
    assert len(content_copies(app.workspace.root, data)) == 1
    # The same bytes uploaded again (Gradio writes a fresh file over its path): the same kept path, still one copy.
    uploaded.unlink()
    uploaded.write_bytes(data)
    assert app.workspace.keep_upload(uploaded) == kept
    assert len(content_copies(app.workspace.root, data)) == 1 and uploaded.read_bytes() == data


def test_a_users_own_file_is_copied_never_moved_or_linked(tmp_path):
    app = App(tmp_path / "work")
    data = np.random.default_rng(1).bytes(50_000)
    own = tmp_path / "music" / "song.wav"
    own.parent.mkdir()
    own.write_bytes(data)
    kept = app.workspace.keep_upload(own)
    assert own.read_bytes() == data and own.stat().st_nlink == 1  # untouched, and not sharing its bytes with us
    assert kept.read_bytes() == data and not os.path.samefile(kept, own)
    own.write_bytes(b"changed later")  # the kept copy is what was given, whatever happens to the original
    assert kept.read_bytes() == data
