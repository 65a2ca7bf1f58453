"""Live mode: frames on the beat in real time, causal and reproducible offline, a recording in sync, the page
and its sliders, and clear errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import soundfile
from conftest import probe, texture
from test_live_analysis import click_track

from lucidsonicdreams.cli import main
from lucidsonicdreams.live.engine import LiveDream, LiveImage
from lucidsonicdreams.live.page import LivePage
from lucidsonicdreams.live.sinks import RecordSink
from lucidsonicdreams.live.sources import FileSource
from lucidsonicdreams.style.function import FunctionStyle

SR = 22050


class Probe:
    """A sink that keeps what it is given: (index, time, hit, the sound's clock when the frame was ready)."""

    def __init__(self, keep_images: bool = False) -> None:
        self.rows, self.images, self.keep = [], [], keep_images

    def open(self, size, fps, source) -> None:
        self.source = source

    def frame(self, frame) -> None:
        ready = self.source.clock() if not self.source.offline else frame.time
        self.rows.append((frame.index, frame.time, frame.signals.hit, ready))
        if self.keep:
            self.images.append(frame.image)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def clicks_123(tmp_path_factory):
    y, clicks = click_track(123, 12)
    path = tmp_path_factory.mktemp("live") / "clicks.wav"
    soundfile.write(path, y, SR)
    return path, clicks


def test_in_real_time_every_click_hits_on_time_at_the_frame_rate(clicks_123):
    path, clicks = clicks_123
    probe_sink = Probe()
    # 128 px: the timing holds on a busy 2-core machine too (benchmarks/bench_live.py measures 256 and 512 px).
    stats = LiveDream("cppn", resolution=128, fps=30, seed=1).run(FileSource(path), [probe_sink])
    rows = np.array(probe_sink.rows)
    assert stats.fps >= 0.9 * 30 and stats.dropped <= 0.1 * (stats.drawn + stats.dropped)
    hits = rows[rows[:, 2] > 0.3]
    latencies, on_time = [], []
    for click in clicks:
        near = hits[(hits[:, 1] >= click - 1 / 30 - 1e-9) & (hits[:, 1] <= click + 0.1)]
        if len(near):
            latencies.append(near[0, 3] - click)  # the click's sound to its hit frame being ready
            on_time.append(click > 4.0 and abs(near[0, 1] + 0.5 / 30 - click) <= 0.05)
    assert len(latencies) >= 0.95 * len(clicks)
    assert np.median(latencies) <= 0.060 and np.percentile(latencies, 95) <= 0.100
    after_warm_up = np.sum(clicks > 4.0)
    assert sum(on_time) >= 0.9 * after_warm_up  # the hit frame is shown when the click sounds
    assert stats.latency(0.5) <= 0.060


def render_offline(path, seconds=None, **kwargs):
    probe_sink = Probe(keep_images=True)
    LiveDream("cppn", resolution=64, fps=30, seed=4, **kwargs).run(FileSource(path, offline=True), [probe_sink],
                                                                    seconds=seconds)
    return probe_sink.images


def test_offline_is_causal_and_reproducible(tmp_path):
    y, _ = click_track(110, 7)
    other = y.copy()
    other[5 * SR:] = 0.3 * np.random.default_rng(2).standard_normal(len(y) - 5 * SR)
    soundfile.write(tmp_path / "a.wav", y, SR)
    soundfile.write(tmp_path / "b.wav", other, SR)
    first, again, changed = (render_offline(tmp_path / name) for name in ("a.wav", "a.wav", "b.wav"))
    assert len(first) == len(again) == len(changed) == 7 * 30
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(np.array_equal(a, b) for a, b in zip(first[:5 * 30], changed[:5 * 30]))  # up to 5 s
    assert not all(np.array_equal(a, b) for a, b in zip(first[5 * 30:], changed[5 * 30:]))


@pytest.mark.parametrize("form", ["ABAB", "AAAA", "BBBB"])
def test_a_new_look_begins_where_the_music_changes_and_nowhere_else(form, tmp_path):
    rng = np.random.default_rng(0)
    soundfile.write(tmp_path / "song.wav", np.concatenate([texture(k, 10, rng, SR) for k in form]), SR)

    def sections(**settings):
        # A style that costs nothing: this is about when the looks change.
        style = FunctionStyle(lambda noise_batch, class_batch: np.tanh(noise_batch).reshape(-1, 4, 4, 3), 48, 0)
        frames = LiveDream(style, resolution=4, fps=30, seed=1, **settings).frames(
            FileSource(tmp_path / "song.wav", offline=True))
        return [f.time for f in frames if f.signals.section]

    found = sections(sections=True)
    changes = [10.0 * i for i in range(1, 4) if form[i] != form[i - 1]]
    assert len(found) == len(changes)
    for heard, change in zip(found, changes):
        assert change < heard <= change + 2.5  # once the change has lasted, on the next beat
    if changes:
        assert sections() == []  # off by default, as offline


def test_a_recording_has_every_frame_and_the_sound_in_sync(clicks_123, tmp_path):
    path, _ = clicks_123
    out = tmp_path / "take.mp4"
    LiveDream("cppn", resolution=64, fps=24, seed=1).run(FileSource(path, offline=True), [RecordSink(out)],
                                                         seconds=3)
    info = probe(out)
    assert len(info["frames"]) == 72 and info["codec"] == "h264" and info["audio_codec"] == "aac"
    assert abs(info["audio_seconds"] - 3.0) <= 1024 / 22050 + 1e-3
    assert [p.name for p in tmp_path.iterdir()] == ["take.mp4"]  # no temporary folder left


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def mjpeg_frames(url: str, count: int) -> list[bytes]:
    """The first ``count`` JPEGs of a multipart stream."""
    frames = []
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        while len(frames) < count:
            line = response.readline()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
                response.readline()
                frames.append(response.read(length))
    return frames


@pytest.fixture
def playing(clicks_123):
    """A LiveDream playing the click track in real time into a page on a free loopback port."""
    dream = LiveDream("cppn", resolution=64, fps=30, seed=1)
    page = LivePage(dream, "127.0.0.1", free_port()).start()
    runner = threading.Thread(target=dream.run, args=(FileSource(clicks_123[0]), [page]), daemon=True)
    runner.start()
    yield dream, page
    dream.stop()
    runner.join(timeout=10)
    assert not runner.is_alive()


def test_the_page_streams_mjpeg_and_its_settings_change_the_next_frame(playing):
    dream, page = playing
    status, html = get(page.url)
    assert status == 200 and b'src="stream"' in html and b'name="pulse_react"' in html
    jpegs = mjpeg_frames(page.url + "stream", 3)
    assert all(j.startswith(b"\xff\xd8") for j in jpegs) and len(set(jpegs)) == 3  # the picture moves
    status, body = get(page.url + "set?pulse_react=1.5&motion_percussive=true")
    assert status == 200 and json.loads(body)["pulse_react"] == 1.5
    assert dream.settings.pulse_react == 1.5 and dream.settings.motion_percussive is True
    status, body = get(page.url + "set?pulse_react=banana")
    assert status == 400 and "pulse_react must be a number" in json.loads(body)["error"]
    status, body = get(page.url + "set?colour=3")
    assert status == 400 and "colour is not a live setting" in json.loads(body)["error"]
    seed = dream.seed
    assert get(page.url + "cue?what=seed")[0] == 200
    deadline = time.monotonic() + 5
    while dream.seed == seed and time.monotonic() < deadline:  # taken on the next frame
        time.sleep(0.01)
    assert dream.seed != seed
    assert get(page.url + "cue?what=hit")[0] == 200 and get(page.url + "cue?what=section")[0] == 200
    status, body = get(page.url + "cue?what=encore")
    assert status == 400 and "cue must be one of hit, section, seed" in json.loads(body)["error"]


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        dream = LiveDream("cppn", resolution=32, fps=10, seed=1)
        with pytest.raises(OSError, match=f"--serve {port}: cannot listen on 127.0.0.1:{port}"):
            LivePage(dream, "127.0.0.1", port).start()


def test_a_page_that_others_can_reach_needs_a_password(tmp_path):
    dream = LiveDream("cppn", resolution=32, fps=10, seed=1)
    with pytest.raises(ValueError, match="--auth USER:PASSWORD"):
        LivePage(dream, "0.0.0.0", free_port())
    page = LivePage(dream, "127.0.0.1", free_port(), auth="vj:secret").start()
    try:
        assert get(page.url)[0] == 401
        request = urllib.request.Request(page.url, headers={"Authorization": "Basic dmo6c2VjcmV0"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        page.close()


@pytest.mark.parametrize(("argv", "message"), [
    (["--file", "{song}", "--seconds", "1"], "say where the frames go"),
    (["--input", "0", "--offline", "--record", "{out}"], "--offline plays a --file"),
    (["--file", "{song}", "--record", "{out}", "--pulse-react", "-1"], "pulse_react must be in"),
    (["--file", "{song}", "--record", "{out}", "--seconds", "0"], "--seconds must be in"),
    (["--file", "{missing}", "--record", "{out}"], "--file"),
])
def test_the_command_refuses_bad_options_in_one_line(clicks_123, tmp_path, capsys, argv, message):
    values = {"song": str(clicks_123[0]), "out": str(tmp_path / "take.mp4"), "missing": str(tmp_path / "no.wav")}
    assert main(["live", *(a.format(**values) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "take.mp4").exists()


def test_a_device_without_its_libraries_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # not installed
    assert main(["live", "--input", "0", "--record", str(tmp_path / "take.mp4")]) == 2
    assert "pip install 'lucidsonicdreams[live]'" in capsys.readouterr().err
    assert main(["live", "--list-devices"]) == 2


def test_the_command_plays_a_file_into_a_recording(clicks_123, tmp_path, capsys):
    out = tmp_path / "take.mp4"
    assert main(["live", "--file", str(clicks_123[0]), "--offline", "--record", str(out), "--seconds", "2",
                 "--resolution", "64", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "live: playing clicks.wav" in printed and "60 frames drawn, 0 dropped" in printed
    assert len(probe(out)["frames"]) == 60


def test_importing_the_package_imports_no_live_dependency():
    code = ("import sys, lucidsonicdreams, lucidsonicdreams.cli; "
            "print([m for m in ('sounddevice', 'pythonosc', 'pygame') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_settings_are_checked_when_made_and_when_changed():
    with pytest.raises(TypeError, match="colour is not a live setting"):
        LiveDream("cppn", resolution=32, colour=1)
    dream = LiveDream("cppn", resolution=32, fps=10, seed=1)
    with pytest.raises(ValueError, match="beat_react must be in"):
        dream.set(beat_react=-0.5)
    dream.set(beat_react=1.0)
    assert dream.settings.beat_react == 1.0


def test_an_osc_message_changes_a_setting_within_a_frame_and_cues_work(clicks_123):
    from pythonosc.udp_client import SimpleUDPClient

    from lucidsonicdreams.live.osc import OscControl

    dream = LiveDream("cppn", resolution=32, fps=30, seed=1)
    port = free_udp_port()
    control = OscControl(dream, port).start()
    try:
        client = SimpleUDPClient("127.0.0.1", port)
        sent = time.perf_counter()
        client.send_message("/pulse_react", 1.25)
        while dream.settings.pulse_react != 1.25 and time.perf_counter() - sent < 1:
            time.sleep(0.001)
        assert time.perf_counter() - sent < 1 / 30  # within one frame at 30 fps
        client.send_message("/set", ["motion_percussive", 1])
        client.send_message("/beat_react", -3.0)
        client.send_message("/colour", 1.0)
        deadline = time.perf_counter() + 2
        while len(control.errors) < 2 and time.perf_counter() < deadline:
            time.sleep(0.005)
        assert dream.settings.motion_percussive is True and dream.settings.beat_react == 0.5
        assert "beat_react must be in" in control.errors[0] and "colour is not a live setting" in control.errors[1]
        with pytest.raises(OSError, match=f"--osc-port {port}: cannot listen"):
            OscControl(dream, port).start()
    finally:
        control.close()
    # Cues: a hit on the next frame, a new look, another seed's path.
    def play(cue=None, at=None):
        cued = LiveDream("cppn", resolution=32, fps=30, seed=1)
        images, hits = [], []
        for frame in cued.frames(FileSource(clicks_123[0], offline=True), seconds=2):
            images.append(frame.image)
            hits.append(frame.signals.hit)
            if frame.index == at:
                {"hit": cued.hit, "section": cued.section, "seed": lambda: cued.reseed(9)}[cue]()
        return images, hits

    plain, plain_hits = play()
    quiet = next(i for i in range(20, 60) if plain_hits[i] < 0.5)  # a frame with no hit of its own
    for cue in ("hit", "section", "seed"):
        images, hits = play(cue, quiet - 1)
        assert [i for i in range(quiet) if not np.array_equal(plain[i], images[i])] == [], cue
        assert not np.array_equal(plain[quiet + 10], images[quiet + 10]), cue
        if cue == "hit":
            assert hits[quiet] == 1.0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_window_shows_every_frame_headless(clicks_123, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from lucidsonicdreams.live.window import WindowSink

    window = WindowSink()
    stats = LiveDream("cppn", resolution=48, fps=30, seed=1).run(FileSource(clicks_123[0], offline=True),
                                                                 [window], seconds=1)
    assert window.shown == stats.drawn == 30


def test_without_a_display_a_window_is_a_clear_error(monkeypatch, tmp_path, capsys, clicks_123):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    assert main(["live", "--file", str(clicks_123[0]), "--window"]) == 2
    assert "--window needs a display" in capsys.readouterr().err


def test_a_device_without_portaudio_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("pythonosc")  # the [live] extra is installed ...
    try:
        import sounddevice  # noqa: F401
    except OSError:
        pass  # ... and PortAudio is not, as on this machine
    else:
        pytest.skip("PortAudio is installed here")
    assert main(["live", "--input", "0", "--record", str(tmp_path / "take.mp4")]) == 2
    err = capsys.readouterr().err
    assert "a sound device needs PortAudio" in err and "apt-get install libportaudio2" in err


def test_in_a_real_browser_the_picture_moves_and_a_slider_takes_effect(playing):
    from test_ui import _chromium

    playwright = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    dream, page_sink = playing
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 640, "height": 480})
            page.goto(page_sink.url)
            page.wait_for_function("() => document.getElementById('picture').naturalWidth > 0", timeout=20_000)
            first = page.locator("#picture").screenshot()
            page.wait_for_timeout(300)
            assert page.locator("#picture").screenshot() != first  # the stream plays
            page.keyboard.press("h")  # show the controls
            slider = page.locator("input[name=beat_react]")
            page.wait_for_function("() => document.querySelector('input[name=beat_react]').value === '0.5'")
            slider.fill("1.5")  # a range input takes fill() and fires its input event
            page.wait_for_function("() => document.querySelector('input[name=beat_react]').nextElementSibling"
                                   ".value === '1.5'")
            deadline = time.monotonic() + 5
            while dream.settings.beat_react != 1.5 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert dream.settings.beat_react == 1.5
            seed = dream.seed
            page.get_by_role("button", name="New seed").click()
            deadline = time.monotonic() + 5
            while dream.seed == seed and time.monotonic() < deadline:
                time.sleep(0.01)
            assert dream.seed != seed
            page.locator("input[name=pulse_percussive]").uncheck()
            deadline = time.monotonic() + 5
            while dream.settings.pulse_percussive and time.monotonic() < deadline:
                time.sleep(0.01)
            assert dream.settings.pulse_percussive is False
        finally:
            browser.close()


class FakeSoundDevice:
    """Stands in for the sounddevice module (no sound card here): its one input device plays a click track in
    real time through the same callback PortAudio calls."""

    class PortAudioError(Exception):
        pass

    def __init__(self, samples: np.ndarray, sample_rate: int) -> None:
        self.samples, self.sample_rate = samples, sample_rate

    def query_devices(self, device=None, kind=None):
        if device is None and kind is None:
            return [{"name": "Fake line in", "max_input_channels": 1, "default_samplerate": 22050.0}]
        if device not in (0, "Fake line in"):
            raise ValueError(f"No input device matching {device!r}")
        return {"name": "Fake line in", "max_input_channels": 1}

    def InputStream(self, device, channels, samplerate, blocksize, dtype, callback):  # noqa: N802 - its name
        fake = self

        class Stream:
            closed = False

            def start(self) -> None:
                def play() -> None:
                    start = time.perf_counter()
                    for i in range(0, len(fake.samples) - blocksize, blocksize):
                        if self.closed:
                            return
                        delay = start + (i + blocksize) / samplerate - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                        callback(fake.samples[i : i + blocksize, None], blocksize, None, None)

                threading.Thread(target=play, daemon=True).start()

            def stop(self) -> None:
                self.closed = True

            def close(self) -> None:
                self.closed = True

        return Stream()


def test_a_sound_device_is_heard_in_real_time_and_recorded_with_its_sound(tmp_path, monkeypatch, capsys):
    y, clicks = click_track(123, 6)
    monkeypatch.setitem(sys.modules, "sounddevice", FakeSoundDevice(y, SR))
    assert main(["live", "--list-devices"]) == 0 and "0: Fake line in" in capsys.readouterr().out
    assert main(["live", "--input", "3", "--record", str(tmp_path / "x.mp4")]) == 2
    assert "--input 3: no such input device" in capsys.readouterr().err
    out = tmp_path / "take.mp4"
    assert main(["live", "--input", "0", "--record", str(out), "--seconds", "5", "--resolution", "64"]) == 0
    printed = capsys.readouterr().out
    assert "live: listening on Fake line in" in printed and "frames drawn" in printed
    info = probe(out)
    assert len(info["frames"]) == 150 and abs(info["audio_seconds"] - 5.0) <= 0.05


def test_the_command_refuses_a_port_in_use_before_loading_the_style(clicks_123, monkeypatch, capsys):
    import lucidsonicdreams.live.engine as engine

    loaded = []
    real = engine.load_style
    monkeypatch.setattr(engine, "load_style", lambda *a, **k: loaded.append(a) or real(*a, **k))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["live", "--file", str(clicks_123[0]), "--serve", str(port)]) == 2
    assert f"--serve {port}: cannot listen" in capsys.readouterr().err and loaded == []


@pytest.mark.parametrize("kind", ["stylegan2 pickle", "diffusion folder"])
def test_a_stylegan_pickle_and_a_diffusion_model_play_live(kind, clicks_123, tmp_path, model_cache):
    path, _ = clicks_123
    if kind == "stylegan2 pickle":
        from stylegan_files import write_pytorch_pickle

        from lucidsonicdreams.models import stylegan2

        tiny = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
                "mapping_kwargs": {"num_layers": 2}, "channel_base": 256, "channel_max": 16}
        style, prompts, size = write_pytorch_pickle(tmp_path / "tiny.pkl", "stylegan2", tiny,
                                                    stylegan2.Generator(**tiny).state_dict()), None, 16
    else:
        pytest.importorskip("diffusers")
        from diffusion_files import write_tiny_pipeline

        style, prompts, size = write_tiny_pipeline(tmp_path / "tiny-sd"), ["a red fox", "the sea"], 64
    dream = LiveDream(str(style), prompts=prompts, resolution=size, fps=10, seed=2, device="cpu", beat_react=0.8)
    images = [frame.image for frame in dream.frames(FileSource(path, offline=True), seconds=2)]
    assert len(images) == 20 and images[0].shape == (size, size, 3)
    assert len({image.tobytes() for image in images}) > 10  # the sound moves the picture


def test_a_recording_keeps_its_length_when_the_first_frames_are_dropped(clicks_123, tmp_path):
    path, _ = clicks_123
    sink = RecordSink(tmp_path / "take.mp4")

    class Source:  # what a sink reads of a source
        path, sample_rate, offline = None, SR, False

    sink.open((16, 16), 10, Source())
    images = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(5)]
    for index in (2, 3, 6):  # 0, 1 (a slow start), 4 and 5 dropped
        sink.frame(LiveImage(index, index / 10, images[index % 5], None, np.zeros(SR // 10, np.float32)))
    sink.close()
    info = probe(tmp_path / "take.mp4")
    assert len(info["frames"]) == 7  # frames 0-6, in step with the sound
    means = [float(f.mean()) for f in info["frames"]]
    assert np.allclose(means, [80, 80, 80, 120, 120, 120, 40], atol=2)  # through H.264


def test_osc_listens_on_this_machine_unless_told_otherwise():
    from lucidsonicdreams.cli import build_parser

    args = build_parser().parse_args(["live", "--file", "song.wav", "--serve", "--host", "0.0.0.0", "--auth", "a:b",
                                      "--osc-port", "9000"])
    assert args.osc_host == "127.0.0.1"  # a page behind a password does not open OSC, which has none
