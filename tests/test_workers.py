"""Renders spread over Ray workers: the same bytes as one process (also after a worker dies, a render is killed,
or segments come back out of order), albums in one queue, and clear errors before anything is drawn.

Ray starts once for the module, on loopback, with two fake GPUs on this CPU machine."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import C_MAJOR, chord_track, kick_track, write

# Set before Ray is imported: a local Ray then listens on 127.0.0.1 only.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray")

from lucidsonicdreams import LucidSonicDream, WorkerError  # noqa: E402
from lucidsonicdreams.cli import main  # noqa: E402
from lucidsonicdreams.render import workers  # noqa: E402
from lucidsonicdreams.render.segments import Manifest, parts_folder  # noqa: E402

SETTINGS = {"fps": 24, "resolution": 64, "seed": 3, "segment_seconds": 0.5, "duration": 4.0}  # 8 segments of 12


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tune(tmp_path_factory):
    seconds = 4.5
    y = 0.8 * kick_track([0.5 * k for k in range(1, 9)], seconds) + 0.2 * chord_track(C_MAJOR, seconds)
    return write(tmp_path_factory.mktemp("workers") / "tune.wav", y)


@pytest.fixture(scope="module")
def one_worker(tune, tmp_path_factory):
    """The reference: the same render drawn in this process."""
    return LucidSonicDream(tune).hallucinate(tmp_path_factory.mktemp("one") / "one.mp4", **SETTINGS).file.read_bytes()


@pytest.fixture
def records(monkeypatch):
    """The segments in the order the driver stored them: (parts folder name, first frame)."""
    order = []
    real = Manifest.record
    monkeypatch.setattr(Manifest, "record", lambda self, lo, hi: order.append((self.folder.name, lo)) or
                        real(self, lo, hi))
    return order


def test_two_workers_give_the_same_bytes_as_one(tune, tmp_path, one_worker, records):
    result = LucidSonicDream(tune).hallucinate(tmp_path / "two.mp4", workers=2, **SETTINGS)
    assert result.file.read_bytes() == one_worker and result.frames == 96
    assert sorted(lo for _, lo in records) == list(range(0, 96, 12))
    assert not parts_folder(result.file).exists()


def test_segments_come_back_as_bytes_from_a_worker_that_does_not_see_the_folder(tune, tmp_path, one_worker,
                                                                                monkeypatch):
    monkeypatch.setattr(workers, "FAULTS", {"unshared": True})
    written = []
    real = workers.write_atomically
    monkeypatch.setattr(workers, "write_atomically", lambda path, write: written.append(path) or real(path, write))
    result = LucidSonicDream(tune).hallucinate(tmp_path / "bytes.mp4", workers=2, **SETTINGS)
    assert len(written) == 8  # every segment was stored by this process, from the bytes sent back
    assert result.file.read_bytes() == one_worker


def test_a_worker_that_dies_is_restarted_and_its_segment_drawn_again(tune, tmp_path, one_worker, monkeypatch):
    marker = tmp_path / "crashed"
    monkeypatch.setattr(workers, "FAULTS", {"crash_once": (str(marker), 36)})
    result = LucidSonicDream(tune).hallucinate(tmp_path / "out.mp4", workers=2, **SETTINGS)
    assert marker.exists()  # the actor did die, at frame 36
    assert result.file.read_bytes() == one_worker


def test_segments_that_come_back_out_of_order_change_nothing(tune, tmp_path, one_worker, monkeypatch, records):
    monkeypatch.setattr(workers, "FAULTS", {"delay": (0, 2.0)})
    result = LucidSonicDream(tune).hallucinate(tmp_path / "out.mp4", workers=2, **SETTINGS)
    firsts = [lo for _, lo in records]
    assert firsts[0] != 0 and firsts.index(0) > 0  # the first segment was stored after later ones
    assert result.file.read_bytes() == one_worker


def test_a_killed_render_resumes_on_two_workers_with_the_same_bytes(tune, tmp_path, one_worker):
    out = tmp_path / "killed.mp4"
    options = [f"--{k.replace('_', '-')}={v}" for k, v in SETTINGS.items()]
    # Killed (SIGKILL: nothing runs after it) once two segments are stored.
    process = subprocess.Popen([sys.executable, "-m", "lucidsonicdreams", "render", str(tune), "-o", str(out),
                                *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = parts_folder(out) / "manifest.json"
    deadline = time.monotonic() + 120
    try:
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if len(json.loads(manifest.read_text())["segments"]) >= 2:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    if out.exists():
        pytest.skip("the render finished before it could be killed (a very fast machine)")
    done = len(json.loads(manifest.read_text())["segments"])
    assert done >= 2
    result = LucidSonicDream(tune).hallucinate(out, workers=2, **SETTINGS)
    assert result.frames == 96 - 12 * done
    assert out.read_bytes() == one_worker
    assert LucidSonicDream(tune).hallucinate(out, workers=2, **SETTINGS).frames == 0  # whole: nothing to draw


def test_an_album_on_workers_shares_one_queue(tune, tmp_path, records, capsys):
    other = write(tmp_path / "other.wav", 0.5 * chord_track(C_MAJOR, 3.0))
    alone = LucidSonicDream(other).hallucinate(tmp_path / "alone.mp4", **SETTINGS).file.read_bytes()
    records.clear()
    options = [f"--{k.replace('_', '-')}={v}" for k, v in SETTINGS.items()]
    assert main(["render", str(tune), str(other), "-o", str(tmp_path / "album"), "--workers", "2", *options]) == 0
    assert (tmp_path / "album" / "other.mp4").read_bytes() == alone
    songs = [name for name, _ in records]
    assert set(songs) == {".tune.mp4.parts", ".other.mp4.parts"} and len(songs) == 8 + 6
    assert "wrote" in capsys.readouterr().out


def broken(noise_batch, class_batch):
    """A style that fails at a certain frame, as a model out of memory would."""
    if noise_batch[0, 0] > 1e9:
        return None
    raise MemoryError("CUDA out of memory (a test)")


def test_a_segment_that_fails_to_draw_is_a_clear_error_and_the_done_ones_stay(tune, tmp_path):
    with pytest.raises(WorkerError, match=r"drawing frames \d+- of out.mp4 failed on a Ray worker: MemoryError: CUDA"):
        LucidSonicDream(tune, style=broken, input_shape=4, num_possible_classes=0).hallucinate(
            tmp_path / "out.mp4", workers=2, **SETTINGS)
    assert not (tmp_path / "out.mp4").exists()


def test_more_workers_than_gpus_is_an_error_before_any_work(tune, tmp_path):
    started = time.monotonic()
    with pytest.raises(ValueError, match="workers=3 asks for one GPU each, and the Ray cluster has 2"):
        LucidSonicDream(tune).hallucinate(tmp_path / "out.mp4", workers=3, **SETTINGS)
    assert time.monotonic() - started < 5 and list(tmp_path.iterdir()) == []


def test_an_address_nobody_answers_at_is_an_error_at_once(tune, tmp_path):
    with socket_on_loopback() as port:
        pass  # closed again: nothing listens there now
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"ray_address '127.0.0.1:{port}': nothing answers there"):
        LucidSonicDream(tune).hallucinate(tmp_path / "out.mp4", ray_address=f"127.0.0.1:{port}", **SETTINGS)
    assert time.monotonic() - started < 10 and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="HOST:PORT"):
        LucidSonicDream(tune).hallucinate(tmp_path / "out.mp4", ray_address="no port", **SETTINGS)


def socket_on_loopback():
    import socket

    class Port:
        def __enter__(self):
            self.s = socket.socket()
            self.s.bind(("127.0.0.1", 0))
            return self.s.getsockname()[1]

        def __exit__(self, *exc):
            self.s.close()

    return Port()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"workers": 0}, ValueError, r"workers must be in \[1, 4096\]"),
    ({"workers": 1.5}, TypeError, "workers must be an integer"),
    ({"workers": 2, "save_frames": True}, ValueError, "save_frames keeps every frame"),
    ({"ray_address": ""}, ValueError, "ray_address must be a Ray cluster's address"),
    ({"segment_seconds": -1}, ValueError, "segment_seconds must be in"),
])
def test_bad_worker_settings_are_refused_before_the_audio_is_read(tune, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        LucidSonicDream(tune).hallucinate(tmp_path / "out.mp4", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_without_ray_installed_the_error_names_the_extra(tune, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    for kwargs in ({"workers": 2}, {"ray_address": "auto"}):
        with pytest.raises(ImportError, match=r"pip install 'lucidsonicdreams\[ray\]'"):
            LucidSonicDream(tune).hallucinate(tmp_path / "out.mp4", **kwargs)


def test_importing_the_package_does_not_import_ray():
    code = "import sys, lucidsonicdreams, lucidsonicdreams.cli; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
