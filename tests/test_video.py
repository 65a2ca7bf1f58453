from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import SR, probe, write

from lucidsonicdreams.errors import EncoderError
from lucidsonicdreams.render.video import AudioTrack, VideoWriter


def frames(n, width=32, height=24):
    for i in range(n):
        yield np.full((height, width, 3), (i * 10) % 256, dtype=np.uint8)


def test_writes_h264_yuv420p_aac_faststart(tmp_path):
    audio = write(tmp_path / "a.wav", np.sin(np.arange(3 * SR) / SR * 2 * np.pi * 440), channels=2)
    out = tmp_path / "v.mp4"
    with VideoWriter(out, (32, 24), 25, AudioTrack(audio, 0.5, 2.0)) as writer:
        for frame in frames(50):
            writer.write(frame)
    info = probe(out)
    assert (info["codec"], info["pix_fmt"], info["rate"]) == ("h264", "yuv420p", 25)
    assert (info["width"], info["height"], len(info["frames"])) == (32, 24, 50)
    assert (info["audio_codec"], info["audio_rate"], info["audio_channels"]) == ("aac", SR, 2)
    assert info["audio_seconds"] == pytest.approx(2.0, abs=0.05)
    assert info["faststart"]
    assert abs(int(info["frames"][20].mean()) - 200) <= 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_ffmpeg_runs_in_its_own_session_so_ctrl_c_reaches_only_python(tmp_path):
    with VideoWriter(tmp_path / "s.mp4", (32, 24), 10) as writer:
        writer.write(next(frames(1)))
        assert os.getsid(writer._proc.pid) != os.getsid(0)


def test_odd_sizes_are_padded_to_even(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, (33, 25), 10) as writer:
        for frame in frames(5, 33, 25):
            writer.write(frame)
    info = probe(out)
    assert (info["width"], info["height"], info["pix_fmt"]) == (34, 26, "yuv420p")


def test_failure_leaves_no_file_and_keeps_an_existing_one(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"an older video")
    with pytest.raises(RuntimeError):
        with VideoWriter(out, (32, 24), 10) as writer:
            writer.write(next(frames(1)))
            raise RuntimeError("generator crashed")
    assert out.read_bytes() == b"an older video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_wrong_frame_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        with VideoWriter(tmp_path / "x.mp4", (32, 24), 10) as writer:
            writer.write(np.zeros((10, 10, 3), dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_error_is_reported_and_leaves_nothing(tmp_path):
    bad_audio = tmp_path / "bad.wav"
    bad_audio.write_bytes(b"not audio at all")
    out = tmp_path / "x.mp4"
    with pytest.raises(EncoderError, match="ffmpeg"):
        with VideoWriter(out, (32, 24), 10, AudioTrack(bad_audio, 0, 1)) as writer:
            for frame in frames(400):
                writer.write(frame)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]
