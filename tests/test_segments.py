"""Renders in segments: exact frame times at awkward frame rates, resume after a crash with the same bytes, and
never a reuse of segments from another render."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np
import pytest
from conftest import probe

from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.audio.decode import ffmpeg_exe
from lucidsonicdreams.render.segments import frame_rate, parts_folder, segment_windows


class Crash(Exception):
    """A render that dies (as a Colab session or a GPU out of memory would)."""


DRAWN = {"frames": 0, "crash_after": None}


def counting(noise_batch, class_batch):
    """A style function that counts the frames it draws and dies after ``DRAWN["crash_after"]`` frames."""
    if DRAWN["crash_after"] is not None and DRAWN["frames"] >= DRAWN["crash_after"]:
        raise Crash
    DRAWN["frames"] += len(noise_batch)
    level = (np.abs(noise_batch[:, :3]) * 80).astype(np.uint8)
    return np.broadcast_to(level[:, None, None, :], (len(noise_batch), 16, 24, 3)).copy()


def Counting(crash_after: int | None = None):  # noqa: N802 - reads as the style it sets up
    DRAWN.update(frames=0, crash_after=crash_after)
    return counting


def render(song, out, style, **kwargs):
    # 0.35 s segments: they divide a second at none of the rates used here.
    settings = {"fps": 24, "batch_size": 2, "seed": 5, "duration": 2.0, "segment_seconds": 0.35, **kwargs}
    return LucidSonicDream(song, style=style, input_shape=4, num_possible_classes=0).hallucinate(out, **settings)


def frame_times(path):
    """Every frame's presentation time, exactly, as stored (packets read without decoding, in the track's own
    time base, as ``ffmpeg -c copy -f framemd5`` lists them)."""
    text = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
                           "-f", "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    base = Fraction(next(line.split(":")[1].strip() for line in text.splitlines() if line.startswith("#tb 0")))
    return sorted(int(line.split(",")[2]) * base for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("fps", [24, 30000 / 1001, 43])
def test_every_frame_is_at_exactly_i_over_fps(song, tmp_path, fps):
    result = render(song, tmp_path / "out.mp4", Counting(), fps=fps)
    n = int(round(2.0 * fps))
    assert frame_times(result.file) == [Fraction(i) / frame_rate(fps) for i in range(n)]
    info = probe(result.file)
    assert len(info["frames"]) == n
    assert abs(info["audio_seconds"] - n / fps) <= 1024 / 44100  # one AAC frame
    assert not parts_folder(result.file).exists()


def test_the_grid_of_segments_is_fixed_from_frame_zero():
    assert segment_windows(0, 20, 24, 0.35) == [(0, 8), (8, 16), (16, 20)]
    assert segment_windows(5, 20, 24, 0.35) == [(5, 8), (8, 16), (16, 20)]


def test_a_crashed_render_resumes_with_the_missing_segments_only_and_the_same_bytes(song, tmp_path):
    whole = render(song, tmp_path / "whole.mp4", Counting())
    out = tmp_path / "resumed.mp4"
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=20))  # 2 segments of 8 frames done, the third died
    assert not out.exists() and parts_folder(out).is_dir()
    result = render(song, out, Counting())
    assert DRAWN["frames"] == 48 - 16 and result.frames == 48 - 16
    assert out.read_bytes() == whole.file.read_bytes()
    assert not parts_folder(out).exists()
    assert render(song, out, Counting()).frames == 0 and DRAWN["frames"] == 0


@pytest.mark.parametrize("crash_after", [16, 20, 22])
def test_every_segment_drawn_before_a_crash_is_kept(song, tmp_path, crash_after):
    """However far the generator ran ahead of the encoder, the frames it drew before dying are encoded, and a
    segment they complete is kept (16: the crash falls exactly on a boundary)."""
    out = tmp_path / "out.mp4"
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=crash_after))
    assert len(list(parts_folder(out).glob("0*.mp4"))) == 2
    assert render(song, out, Counting()).frames == 48 - 16


def test_corrupt_segments_and_leftover_parts_are_drawn_again(song, tmp_path):
    whole = render(song, tmp_path / "whole.mp4", Counting())
    out = tmp_path / "out.mp4"
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=30))  # 3 segments done
    folder = parts_folder(out)
    done = sorted(folder.glob("*.mp4"))
    assert len(done) == 3
    done[1].write_bytes(done[1].read_bytes()[:-100])  # a truncated segment
    (folder / ".000000024.mp4.tmp.part").write_bytes(b"half a segment")
    render(song, out, Counting())
    assert DRAWN["frames"] == 48 - 16 and out.read_bytes() == whole.file.read_bytes()


@pytest.mark.parametrize("change", [{"seed": 6}, {"fps": 25}, {"flash_strength": 0.5}, {"segment_seconds": 0.5}])
def test_another_render_never_reuses_the_segments(song, tmp_path, change, caplog):
    out = tmp_path / "out.mp4"
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=20))
    render(song, out, Counting(), **change)
    assert DRAWN["frames"] == len(probe(out)["frames"])
    assert "other settings" in caplog.text


def test_a_changed_stem_or_style_never_reuses_the_segments(song, drum_stem, tmp_path, caplog):
    out = tmp_path / "out.mp4"
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=20))
    dream = LucidSonicDream(song, style=Counting(), input_shape=4, num_possible_classes=0, pulse_audio=drum_stem)
    dream.hallucinate(out, fps=24, batch_size=2, seed=5, duration=2.0, segment_seconds=0.35)
    assert DRAWN["frames"] == 48 and "other settings" in caplog.text
    caplog.clear()
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=20))
    OTHER.clear()
    render(song, out, other_style)
    assert "other settings" in caplog.text and sum(OTHER) == 48  # the new style drew all of it


OTHER: list[int] = []


def other_style(noise_batch, class_batch):
    OTHER.append(len(noise_batch))
    level = (np.abs(noise_batch[:, 1:4]) * 80).astype(np.uint8)
    return np.broadcast_to(level[:, None, None, :], (len(noise_batch), 16, 24, 3)).copy()


def test_resume_false_starts_over(song, tmp_path):
    from lucidsonicdreams.render.loop import write_video

    out = tmp_path / "out.mp4"
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=20))
    dream = LucidSonicDream(song, style=Counting(), input_shape=4, num_possible_classes=0)
    plan = dream.plan(out, fps=24, batch_size=2, seed=5, duration=2.0, segment_seconds=0.35)
    assert write_video(plan, resume=False) == 48 and DRAWN["frames"] == 48


def test_a_style_object_is_never_resumed_from(song, tmp_path):
    class Callable:
        def __call__(self, noise_batch, class_batch):
            return counting(noise_batch, class_batch)

    out = tmp_path / "out.mp4"
    Counting(crash_after=20)
    with pytest.raises(Crash):
        render(song, out, Callable())
    Counting()
    render(song, out, Callable())
    assert DRAWN["frames"] == 48


def test_the_command_line_resumes_and_can_start_over(song, tmp_path, capsys):
    from lucidsonicdreams.cli import main

    out = tmp_path / "cli.mp4"
    args = ["render", str(song), "-o", str(out), "--fps", "12", "--duration", "1", "--seed", "2",
            "--segment-seconds", "0.5", "--resolution", "32"]
    assert main(args) == 0 and main(args + ["--no-resume"]) == 0
    assert main(args[:-2] + ["--segment-seconds", "-1"]) == 2
    assert "segment_seconds" in capsys.readouterr().err


def test_a_random_seed_is_kept_by_the_render_that_resumes_it(song, tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(Crash):
        render(song, out, Counting(crash_after=20), seed=None)
    result = render(song, out, Counting(), seed=None)
    assert DRAWN["frames"] == 48 - 16
    assert render(song, tmp_path / "again.mp4", Counting(), seed=result.seed).file.read_bytes() == out.read_bytes()


def shade(level):
    """A style function whose picture depends on a value it closes over."""
    def style(noise_batch, class_batch):
        return counting(noise_batch, class_batch) // level
    return style


def test_a_function_that_sees_other_values_is_another_style(song, tmp_path):
    out = tmp_path / "out.mp4"
    Counting(crash_after=20)
    with pytest.raises(Crash):
        render(song, out, shade(1))
    Counting()
    render(song, out, shade(2))
    assert DRAWN["frames"] == 48


def test_a_finished_video_is_drawn_again_when_its_audio_changed(song, tmp_path):
    import shutil

    out, voice = tmp_path / "out.mp4", tmp_path / "voice.wav"
    shutil.copy(song, voice)
    render(song, out, Counting(), output_audio=voice)
    assert render(song, out, Counting(), output_audio=voice).frames == 0
    voice.write_bytes(voice.read_bytes()[:-2000])  # the same name, other sound
    assert render(song, out, Counting(), output_audio=voice).frames == 48
