"""The web app: its API through gradio_client, the `ui` command, and a real browser (Chromium via Playwright)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import C_MAJOR, chord_track, kick_track, probe, write

gradio = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from test_app import content_copies, processes_mentioning  # noqa: E402

from lucidsonicdreams.app.page import serve  # noqa: E402
from lucidsonicdreams.app.state import frame_size  # noqa: E402
from lucidsonicdreams.audio import analysis  # noqa: E402
from lucidsonicdreams.cli import main  # noqa: E402

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "ui.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("ui-work")
    port = free_port()
    page = serve("127.0.0.1", port, work, block=False)
    yield f"http://127.0.0.1:{port}/", work
    page.close()


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server[0], verbose=False)


@pytest.fixture(scope="module")
def song_file(tmp_path_factory) -> Path:
    seconds = 8.0
    y = 0.8 * kick_track([0.5 * k for k in range(1, 16)], seconds) + 0.2 * chord_track(C_MAJOR, seconds)
    return write(tmp_path_factory.mktemp("ui-song") / "song.wav", y)


def test_frame_size_presets():
    assert frame_size("square", 256) == (256, 256)
    assert frame_size("16:9", 256) == (456, 256)
    assert frame_size("9:16", 256) == (256, 456)
    with pytest.raises(ValueError, match="shape"):
        frame_size("4:3", 256)


def test_preview_returns_h264_with_aac_and_a_signal_plot(client, song_file, server):
    video, plot, status = client.predict(song=gradio_client.handle_file(str(song_file)), api_name="/preview")
    info = probe(Path(video))
    assert info["codec"] == "h264" and info["audio_codec"] == "aac"
    assert len(info["frames"]) == 5 * 24 and (info["width"], info["height"]) == (256, 256)
    assert Path(plot).stat().st_size > 10_000 and "Preview ready" in status
    # Everything the server wrote is inside its work folder.
    assert any(server[1].rglob("preview.mp4")) and any(server[1].rglob("signals.png"))


def test_a_second_preview_of_the_same_upload_skips_decoding(client, song_file, monkeypatch):
    client.predict(song=gradio_client.handle_file(str(song_file)), api_name="/preview")
    decoded = []
    real = analysis.load_mono
    monkeypatch.setattr(analysis, "load_mono", lambda *a, **k: decoded.append(a) or real(*a, **k))
    video, _, _ = client.predict(song=gradio_client.handle_file(str(song_file)), pulse_react=1.5, flash_strength=0.4,
                                 api_name="/preview")
    assert decoded == [] and len(probe(Path(video))["frames"]) == 120


def test_a_text_file_as_song_is_a_clear_error_and_the_server_keeps_serving(client, song_file, server, tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("these are not sounds")
    with pytest.raises(gradio_client.exceptions.AppError, match="Song: cannot read audio"):
        client.predict(song=gradio_client.handle_file(str(text)), api_name="/preview")
    jobs_before = set(server[1].glob("jobs/*"))
    for endpoint in ("/preview", "/render"):
        started = time.monotonic()
        with pytest.raises(gradio_client.exceptions.AppError, match="fps must be in"):
            client.predict(song=gradio_client.handle_file(str(song_file)), fps=0, api_name=endpoint)
        assert time.monotonic() - started < 5  # refused before any analysis or background process
    assert set(server[1].glob("jobs/*")) == jobs_before  # and nothing left behind
    video, _, _ = client.predict(song=gradio_client.handle_file(str(song_file)), api_name="/preview")
    assert Path(video).is_file()


def wait_for_progress(job, desc: str, timeout: float = 120) -> None:
    """Until ``job`` reports progress of a step named ``desc``."""
    deadline = time.monotonic() + timeout
    while not any(unit.desc == desc for unit in job.status().progress_data or ()):
        if job.done() or time.monotonic() > deadline:
            pytest.fail(f"no {desc!r} progress within {timeout} s (status {job.status()})")
        time.sleep(0.1)


def test_render_with_progress_and_cancel(client, song_file, server):
    job = client.submit(song=gradio_client.handle_file(str(song_file)), size=64, duration=2, api_name="/render")
    video, download, status = job.result(timeout=300)
    info = probe(Path(video))
    assert len(info["frames"]) == 48 and (info["width"], info["height"]) == (64, 64) and "Rendered" in status
    assert Path(download).read_bytes() == Path(video).read_bytes()

    # The server's warm-up render (started with it) writes and removes a job folder of its own: when this test runs
    # first, it may still be at work.
    for thread in threading.enumerate():
        if thread.name == "warm-up":
            thread.join(timeout=120)
    jobs_before = set(server[1].glob("jobs/*"))
    long = client.submit(song=gradio_client.handle_file(str(song_file)), size=512, fps=60, api_name="/render")
    # Cancelled while it draws frames, so while ffmpeg runs: a fixed wait could fall before the render has
    # started (a busy machine) or after it has finished (a fast one), and cancel nothing.
    wait_for_progress(long, "Rendering")
    assert client.predict(api_name="/cancel") == "Render cancelled."
    with pytest.raises(gradio_client.exceptions.AppError, match="the render was cancelled"):
        long.result(timeout=120)
    # Nothing of it is left: no encoder, no half-written video, no job folder.
    assert processes_mentioning(server[1] / "jobs") == []
    assert set(server[1].glob("jobs/*")) == jobs_before and not list(server[1].rglob("*.part"))


def test_the_ui_command_serves_on_loopback_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {**os.environ, "LUCIDSONICDREAMS_CACHE": str(tmp_path / "cache")}
    process = subprocess.Popen([sys.executable, "-m", "lucidsonicdreams", "ui", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not any(url in line for line in lines):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"the app did not serve within 90 s: {''.join(lines)}")
            time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        outside = _non_loopback_address()
        if outside is not None:
            with pytest.raises(OSError), socket.create_connection((outside, port), timeout=2):
                pass
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    assert process.returncode == 0 and "Traceback" not in output
    assert (tmp_path / "cache" / "ui" / "jobs").is_dir()  # the default work folder is in the cache


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_in_a_real_browser_upload_preview_and_a_playable_video(server, song_file):
    playwright = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server[0])
            page.get_by_text("Song", exact=True).first.wait_for()
            page.locator("input[type=file]").first.set_input_files(str(song_file))  # the first upload is "Song"
            page.wait_for_timeout(1000)
            page.get_by_role("button", name="Preview").click()
            video = page.locator("video").first
            video.wait_for(state="attached", timeout=120_000)
            duration = page.wait_for_function(
                "() => { const v = document.querySelector('video'); return v && v.readyState >= 1 && v.duration }",
                timeout=120_000).json_value()
            assert 4.5 < duration < 5.5
            page.wait_for_timeout(500)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 20_000
    assert np.frombuffer(SCREENSHOT.read_bytes()[:8], dtype=np.uint8).tolist()[:4] == [137, 80, 78, 71]


def test_a_model_file_upload_is_the_style(client, song_file, server, tmp_path):
    from test_models import tf_file

    model = tf_file(tmp_path / "tiny-stylegan2.pkl")
    video, _, status = client.predict(song=gradio_client.handle_file(str(song_file)),
                                      model_file=gradio_client.handle_file(str(model)), api_name="/preview")
    info = probe(Path(video))
    assert (info["width"], info["height"]) == (256, 256) and len(info["frames"]) == 120
    assert list(server[1].glob("uploads/*/tiny-stylegan2.pkl"))


def test_a_diffusion_style_with_prompts_through_the_app(client, song_file, tmp_path):
    pytest.importorskip("diffusers")
    from diffusion_files import write_tiny_pipeline

    folder = write_tiny_pipeline(tmp_path / "tiny-sd")
    with pytest.raises(gradio_client.exceptions.AppError, match="needs prompts"):
        client.predict(song=gradio_client.handle_file(str(song_file)), style=str(folder), fps=4, api_name="/preview")
    videos = {}
    for prompts in ("a red sky\nthe deep sea", "a green forest\n\na yellow sun\n"):
        video, plot, status = client.predict(song=gradio_client.handle_file(str(song_file)), style=str(folder),
                                             prompts=prompts, fps=4, seed=3, api_name="/preview")
        info = probe(Path(video))
        assert len(info["frames"]) == 20 and (info["width"], info["height"]) == (256, 256)
        assert "seed 3" in status and Path(plot).is_file()
        videos[prompts] = np.stack(info["frames"]).astype(float)
    first, second = videos.values()
    assert np.abs(first - second).mean() > 2  # other prompts, other pictures (same seed, same song)


def test_two_users_see_only_their_own_files_and_jobs(server, song_file, tmp_path):
    url, work = server
    alice, bob = gradio_client.Client(url, verbose=False), gradio_client.Client(url, verbose=False)
    other = write(tmp_path / "other.wav", 0.5 * chord_track(C_MAJOR, 6.0))
    a_video, a_plot, _ = alice.predict(song=gradio_client.handle_file(str(song_file)), fps=4, api_name="/preview")
    b_video, b_plot, _ = bob.predict(song=gradio_client.handle_file(str(other)), fps=4, api_name="/preview")
    # Each request writes into a job folder of its own, with an unguessable name.
    def job_of(video: str) -> Path:
        return next(p.parent for p in work.glob("jobs/*/preview.mp4") if p.read_bytes() == Path(video).read_bytes())

    a_job, b_job = job_of(a_video), job_of(b_video)
    assert a_job != b_job and len(a_job.name) >= 32 and len(b_job.name) >= 32
    # Bob's cancel does not stop Alice's render, and she gets her own video.
    job = alice.submit(song=gradio_client.handle_file(str(song_file)), size=64, duration=3, api_name="/render")
    time.sleep(2)
    assert bob.predict(api_name="/cancel") == "No render is running."
    video, _, status = job.result(timeout=300)
    assert "Rendered" in status and len(probe(Path(video))["frames"]) == 72


def test_an_upload_is_stored_once(client, server, tmp_path):
    """Gradio keeps what it receives in the work folder's gradio/, and the app keeps uploads by content in
    uploads/: one file, two names (the page sends Gradio's path again with every click)."""
    y = 0.5 * chord_track(C_MAJOR, 1.0) + 0.01 * np.random.default_rng(7).standard_normal(44100)
    song = write(tmp_path / "stored-once.wav", y)
    data = song.read_bytes()
    for _ in range(2):  # the same file uploaded twice
        # fps=0 is refused right after the upload is kept: no render is needed to see where it went.
        with pytest.raises(gradio_client.exceptions.AppError, match="fps must be in"):
            client.predict(song=gradio_client.handle_file(str(song)), fps=0, api_name="/preview")
    assert len(list(server[1].glob("uploads/*/stored-once.wav"))) == 1
    assert len(list(server[1].glob("gradio/*/stored-once.wav"))) == 1
    assert len(content_copies(server[1], data)) == 1


def never_launch(*args, **kwargs):
    pytest.fail("the server was started")


@pytest.mark.parametrize("argv, words", [
    (["--port", "70000"], ["--port", "1 to 65535", "70000"]),
    (["--port", "0"], ["--port", "1 to 65535"]),
    (["--host", "0.0.0.0"], ["--host 0.0.0.0", "--auth USER:PASSWORD", "--no-auth"]),
    (["--host", "192.168.1.20"], ["--auth USER:PASSWORD", "--no-auth"]),
    (["--host", "my-laptop.local"], ["--auth USER:PASSWORD", "--no-auth"]),
    (["--auth", "bob"], ["--auth must be USER:PASSWORD", "no colon"]),
    (["--auth", "bob:"], ["--auth", "an empty password"]),
    (["--auth", ":secret"], ["--auth", "an empty user name"]),
    (["--auth", "bob:secret", "--no-auth"], ["--auth and --no-auth"]),
])
def test_ui_refuses_bad_or_unsafe_settings_in_one_line_before_starting(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.setattr(gradio.Blocks, "launch", never_launch)  # nothing may listen, whatever happens
    assert main(["ui", *argv, "--work-dir", str(tmp_path / "work")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lucidsonicdreams: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert all(word in err for word in words), err
    assert "secret" not in err  # a password is never repeated
    assert not (tmp_path / "work").exists()  # refused before anything was set up


@pytest.mark.parametrize("argv, auth", [
    (["--host", "127.0.0.2"], None),
    (["--host", "::1"], None),
    (["--host", "localhost", "--auth", "bob:s3cret:x"], ("bob", "s3cret:x")),
    (["--host", "0.0.0.0", "--auth", "bob:s3cret"], ("bob", "s3cret")),
    (["--host", "0.0.0.0", "--no-auth"], None),
])
def test_ui_passes_the_host_and_credentials_to_gradio(tmp_path, monkeypatch, argv, auth):
    """What reaches Gradio's launch, which is stopped there: a test never listens beyond this machine."""
    launched = []

    class Launched(Exception):
        pass

    def record(self, **kwargs):
        launched.append(kwargs)
        raise Launched

    monkeypatch.setattr(gradio.Blocks, "launch", record)
    monkeypatch.setenv("GRADIO_TEMP_DIR", os.environ.get("GRADIO_TEMP_DIR", ""))  # serve sets it; put it back
    with pytest.raises(Launched):
        main(["ui", *argv, "--work-dir", str(tmp_path / "work")])
    [kwargs] = launched
    assert kwargs["server_name"] == argv[1] and kwargs["auth"] == auth


def test_a_server_with_auth_asks_for_the_password(tmp_path, monkeypatch):
    import httpx

    monkeypatch.setenv("GRADIO_TEMP_DIR", os.environ.get("GRADIO_TEMP_DIR", ""))  # serve sets it; put it back
    port = free_port()
    page = serve("127.0.0.1", port, tmp_path / "work", auth="bob:s3cret:pw", block=False)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert httpx.get(url + "config").status_code == 401
        song = write(tmp_path / "song.wav", chord_track(C_MAJOR, 1.0))
        with open(song, "rb") as f:
            upload = httpx.post(url + "gradio_api/upload", files={"files": ("song.wav", f, "audio/wav")})
        assert upload.status_code == 401 and not list((tmp_path / "work").rglob("song.wav"))
        assert httpx.post(url + "gradio_api/call/cancel", json={"data": []}).status_code == 401
        with pytest.raises(Exception, match="credentials were not provided|login"):
            gradio_client.Client(url, verbose=False)
        with pytest.raises(Exception, match="Could not login"):
            gradio_client.Client(url, auth=("bob", "s3cret"), verbose=False)
        client = gradio_client.Client(url, auth=("bob", "s3cret:pw"), verbose=False)
        assert client.predict(api_name="/cancel") == "No render is running."
    finally:
        page.close()
