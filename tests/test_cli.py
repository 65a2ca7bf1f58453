from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import probe

from lucidsonicdreams.cli import main


def test_demo_renders_a_video(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    code = main(["demo", "-o", str(out), "--seconds", "2", "--fps", "12", "--resolution", "48"])
    assert code == 0
    info = probe(out)
    assert len(info["frames"]) == 24 and (info["width"], info["height"]) == (48, 48)
    assert info["audio_codec"] == "aac"
    assert f"wrote {out}" in capsys.readouterr().out


def test_render_with_options_and_stems(song, drum_stem, tmp_path, capsys):
    out = tmp_path / "clip"
    code = main(["render", str(song), "-o", str(out), "--fps", "20", "--resolution", "40x24", "--start", "0.5",
                 "--duration", "1.5", "--seed", "3", "--pulse-audio", str(drum_stem), "--no-pulse-percussive",
                 "--classes", "1", "2", "3", "--class-shuffle-seconds", "0.5", "--flash-strength", "0.4",
                 "--contrast-percussive", "--batch-size", "4"])
    assert code == 0
    info = probe(tmp_path / "clip.mp4")
    assert len(info["frames"]) == 30 and (info["width"], info["height"]) == (40, 24)
    assert "seed 3" in capsys.readouterr().out


def test_render_defaults_to_the_song_name(song, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["render", str(song), "--duration", "0.5", "--fps", "10", "--resolution", "16"]) == 0
    assert (tmp_path / "song.mp4").is_file()


@pytest.mark.parametrize("argv, words", [
    (["render", "missing.mp3"], "song: audio file 'missing.mp3' does not exist"),
    (["render", "{song}", "--fps", "0"], "fps must be in"),
    (["render", "{song}", "--style", "nope"], "unknown style 'nope'"),
    (["render", "{song}", "--motion-randomness", "3"], "motion_randomness must be in [0, 1], got 3"),
])
def test_user_errors_print_one_line_and_exit_2(song, tmp_path, capsys, argv, words, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main([a.format(song=song) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("lucidsonicdreams: error: ") and words in err
    assert not list(tmp_path.glob("*.mp4"))


def test_render_never_replaces_a_song_in_an_mp4_container(song, tmp_path, monkeypatch):
    import hashlib

    from lucidsonicdreams.audio.decode import ffmpeg_exe

    monkeypatch.chdir(tmp_path)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(song), "-c:a", "aac", "track.mp4"], check=True)
    before = hashlib.md5((tmp_path / "track.mp4").read_bytes()).hexdigest()
    assert main(["render", "track.mp4", "--duration", "0.5", "--fps", "10", "--resolution", "16"]) == 0
    assert hashlib.md5((tmp_path / "track.mp4").read_bytes()).hexdigest() == before
    assert len(probe(tmp_path / "track_dream.mp4")["frames"]) == 5


@pytest.mark.parametrize("seconds", ["0", "nan", "-2"])
def test_demo_seconds_must_be_positive(capsys, seconds):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--seconds", seconds])
    assert exc.value.code == 2 and "positive number of seconds" in capsys.readouterr().err


def test_bad_option_value_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "x.wav", "--resolution", "wide"])
    assert exc.value.code == 2
    assert "resolution must be N or WIDTHxHEIGHT" in capsys.readouterr().err


def test_styles_lists_cppn(capsys):
    assert main(["styles"]) == 0
    header, first = capsys.readouterr().out.splitlines()[:2]
    assert header.startswith("name") and first.startswith("cppn")


def test_console_script_help_runs():
    proc = subprocess.run([sys.executable, "-m", "lucidsonicdreams", "render", "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "--pulse-react" in proc.stdout and "--class-audio" in proc.stdout


def test_several_songs_render_an_album_into_a_folder(song, tmp_path, capsys):
    import shutil

    other = tmp_path / "b-side.wav"
    shutil.copy(song, other)
    out = tmp_path / "album"
    code = main(["render", str(song), str(other), "-o", str(out), "--duration", "1", "--fps", "10",
                 "--resolution", "16", "--seed", "4"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["b-side.mp4", "song.mp4"]
    assert len(probe(out / "b-side.mp4")["frames"]) == 10
    assert capsys.readouterr().out.count("wrote") == 2


@pytest.mark.parametrize("extra, words", [
    ([], "-o FOLDER"),
    (["-o", "album.mp4"], "give a folder"),
    (["-o", "missing/album"], "does not exist"),
    (["-o", "album", "--plot-signals", "s.png"], "--plot-signals belongs to one song"),
    (["-o", "album", "--fps", "0"], "fps"),
])
def test_an_album_is_refused_before_anything_renders(song, tmp_path, monkeypatch, capsys, extra, words):
    import shutil

    monkeypatch.chdir(tmp_path)
    other = shutil.copy(song, tmp_path / "other.wav")
    assert main(["render", str(song), str(other), *extra]) == 2
    assert words in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.mp4")) and not (tmp_path / "album").exists()


def test_two_songs_of_one_name_are_refused(song, tmp_path, capsys):
    import shutil

    (tmp_path / "cd2").mkdir()
    twin = shutil.copy(song, tmp_path / "cd2" / song.name)
    assert main(["render", str(song), str(twin), "-o", str(tmp_path / "album")]) == 2
    assert "rename one" in capsys.readouterr().err
