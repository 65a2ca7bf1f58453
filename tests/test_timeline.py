"""The timeline stage: positions, schedules and keyframes as written, and placed on the frames exactly."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from conftest import chord_track, kick_track, write

import lucidsonicdreams.dream as dream_module
from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.audio.feature import GRID_SECONDS
from lucidsonicdreams.cli import main
from lucidsonicdreams.errors import LucidSonicDreamsError
from lucidsonicdreams.timeline import Grid, load_timeline, parse_position, parse_schedule, place
from lucidsonicdreams.timeline.place import ease

BEATS = 0.31 + np.arange(400) * 0.4875  # 123.1 BPM from 0.31 s: no beat falls on a frame at 24 or 60 fps
GRID = Grid(beats=BEATS, sections=np.array([0.0, 30.0, 61.5, 95.0]), labels=("A", "B", "A", "C"), duration=200.0)
BASE = {"pulse_react": 0.5, "motion_react": 0.5, "beat_react": 0.0}


@pytest.mark.parametrize("written, kind, value", [
    ("1:32.5", "time", 92.5), (92.5, "time", 92.5), ("0:07", "time", 7.0), ("1:02:03", "time", 3723.0),
    ("bar 17", "bar", 17), ("Beat 65", "beat", 65), ("section 3", "section", 3), ("section B", "section", "B"),
])
def test_positions_as_written(written, kind, value):
    position = parse_position(written, "at")
    assert (position.kind, position.value) == (kind, value)


@pytest.mark.parametrize("written, message", [
    ("bar 0", "bars are counted from 1"), ("beat 0", "beats are counted from 1"), (-3, "0 or more seconds"),
    ("1:75", "seconds and minutes go up to 59"), ("soon", "is not a position"), ("bar x", "whole number"),
    (True, "is not a position"),
])
def test_bad_positions_say_how_to_write_one(written, message):
    with pytest.raises(ValueError, match=message):
        parse_position(written, "at")


def test_a_schedule_reads_song_times_and_bars():
    assert [(str(p), v) for p, v in parse_schedule("pulse_react", "0:(0.2), 1:04:(1.0), bar 33:(0.5)")] == [
        ("0 s", 0.2), ("64 s", 1.0), ("bar 33", 0.5)]


@pytest.mark.parametrize("text, where", [
    ("0:(0.2) 1:04:(1.0)", "character 9: expected a comma"), ("0:(x)", "character 4 of '0:(x)' is not a number"),
    ("0:(0.2), bar 0:(1)", "character 10 of"), ("", "character 1: expected KEY:"), ("0:(1),", "character 7"),
    ("0:(inf)", "character 4"),
])
def test_a_malformed_schedule_gives_the_character_position(text, where):
    with pytest.raises(ValueError, match=f"pulse_react: .*{re.escape(where)}"):
        parse_schedule("pulse_react", text)


@pytest.mark.parametrize("fps", [24, 60])
def test_a_bar_keyframe_starts_on_the_frame_nearest_its_downbeat(fps):
    keyframes = load_timeline([{"at": "bar 17", "pulse_react": 1.2, "transition": "cut"},
                               {"at": "beat 65", "scene": 7}])
    placed = place(keyframes, GRID, fps=fps, n_frames=int(100 * fps), base=BASE)
    assert placed.frames == (round(BEATS[64] * fps),) * 2  # bar 17 begins on the 65th beat
    curve = placed.values["pulse_react"]
    assert np.all(curve[: placed.frames[0]] == 0.5) and np.all(curve[placed.frames[0]:] == 1.2)
    assert placed.scenes[0].frame == placed.frames[0] and placed.scenes[0].seed == 7


def test_snap_moves_a_time_to_the_nearest_beat_or_bar_and_an_anchor_moves_the_bars():
    keyframes = load_timeline([{"at": 10.1, "beat_react": 1.0}])
    nearest_beat = BEATS[np.argmin(np.abs(BEATS - 10.1))]
    assert place(keyframes, GRID, fps=60, n_frames=6000, base=BASE, snap="beat").frames == (round(nearest_beat * 60),)
    bars = BEATS[::4]
    assert place(keyframes, GRID, fps=60, n_frames=6000, base=BASE, snap="bar").frames == (
        round(bars[np.argmin(np.abs(bars - 10.1))] * 60),)
    anchored = Grid(beats=BEATS, anchor=1.3)  # bar 1 starts on the beat nearest 1.3 s: the third
    assert place(load_timeline([{"at": "bar 2", "scene": 1}]), anchored, fps=60, n_frames=6000, base=BASE
                 ).frames == (round(BEATS[2 + 4] * 60),)


def test_offset_moves_every_keyframe_by_that_many_seconds_to_the_nearest_frame():
    keyframes = load_timeline([{"at": "bar 5", "scene": 1}, {"at": 20, "pulse_react": 1}])
    plain = place(keyframes, GRID, fps=30, n_frames=3000, base=BASE)
    early = place(keyframes, GRID, fps=30, n_frames=3000, base=BASE, offset=-0.04)
    assert early.frames == tuple(round((t - 0.04) * 30) for t in (BEATS[16], 20.0))
    assert plain.frames != early.frames


def test_a_schedule_gives_the_same_values_at_any_frame_rate():
    schedule = {"pulse_react": parse_schedule("pulse_react", "0:(0.2), 0:05.5:(1.0), bar 20:(0.4), 1:10:(0.1)")}
    at24 = place((), GRID, fps=24, n_frames=24 * 90, base=BASE, schedules=schedule).values["pulse_react"]
    at60 = place((), GRID, fps=60, n_frames=60 * 90, base=BASE, schedules=schedule).values["pulse_react"]
    assert np.allclose(at24[::2], at60[::5], rtol=0, atol=1e-12)  # the instants both rates share: every 1/12 s
    assert at24[0] == 0.2 and at24[-1] == 0.1 and at24[24 * 5 + 12] == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["step", "linear", "smooth"])
def test_a_transition_follows_its_ease_exactly(kind):
    keyframes = load_timeline([{"at": "0:10", "motion_react": 2.5, "transition": 2, "ease": kind}])
    curve = place(keyframes, GRID, fps=25, n_frames=500, base=BASE).values["motion_react"]
    u = np.arange(50) / 50
    expected = {"step": np.zeros(50), "linear": u, "smooth": u * u * (3 - 2 * u)}[kind]
    assert np.array_equal(curve[250:300], 0.5 + 2.0 * expected)
    assert np.all(curve[:250] == 0.5) and np.all(curve[300:] == 2.5)
    assert np.array_equal(ease(kind, u), expected)


def test_a_transition_in_beats_lasts_until_that_many_beats_later():
    keyframes = load_timeline([{"at": "beat 9", "pulse_react": 1, "transition": "2 beats"},
                               {"at": "beat 41", "pulse_react": 0, "transition": "1 bar", "ease": "step"}])
    curve = place(keyframes, GRID, fps=100, n_frames=10000, base=BASE).values["pulse_react"]
    start, end = round(BEATS[8] * 100), round(BEATS[8] * 100) + round((BEATS[10] - BEATS[8]) * 100)
    assert curve[start] == 0.5 and curve[end - 1] < 1 and curve[end] == 1
    step = round(BEATS[40] * 100)
    assert np.all(curve[step : step + round((BEATS[44] - BEATS[40]) * 100)] == 1)  # step: flat, then 0
    assert curve[-1] == 0


def test_sections_by_number_or_label():
    keyframes = load_timeline([{"at": "section 3", "scene": 2}, {"at": "section C", "scene": 3}])
    assert place(keyframes, GRID, fps=10, n_frames=2000, base=BASE).frames == (615, 950)


@pytest.mark.parametrize("entry, message", [
    ({"at": "bar 2", "pulse_rect": 1}, "'pulse_rect' is not something a keyframe sets; did you mean 'pulse_react'"),
    ({"pulse_react": 1}, "keyframe 1 has no 'at'"),
    ({"at": "bar 0", "pulse_react": 1}, "keyframe 1, 'at': bars are counted from 1"),
    ({"at": 5}, r"keyframe 1 \(at 5 s\) sets nothing"),
    ({"at": 5, "pulse_react": -1}, r"keyframe 1 \(at 5 s\): pulse_react must be in"),
    ({"at": 5, "truncation": 2}, "truncation must be in"),
    ({"at": 5, "scene": 1, "transition": "2 bears"}, "transition '2 bears' is not a length"),
    ({"at": 5, "scene": 1, "ease": "bounce"}, "ease must be one of step, linear, smooth"),
    ({"at": 5, "prompts": ["a fox", ""]}, "none empty"),
])
def test_a_bad_keyframe_is_named_with_the_fix(entry, message):
    with pytest.raises((ValueError, TypeError), match=message):
        load_timeline([entry])


@pytest.mark.parametrize("entry, message", [
    ({"at": "3:30", "scene": 1}, r"keyframe 1 \(at 210 s\): 210 s is past the end of the song \(200.00 s\)"),
    ({"at": "bar 101", "scene": 1}, "bar 101 is past the song's last bar"),
    ({"at": "section 5", "scene": 1}, "the song has 4 sections"),
    ({"at": "section D", "scene": 1}, "no section is labelled 'D'; the labels are A, B, C"),
])
def test_a_keyframe_outside_the_song_is_refused_when_placed(entry, message):
    with pytest.raises(ValueError, match=message):
        place(load_timeline([entry]), GRID, fps=24, n_frames=4800, base=BASE)


def test_yaml_and_json_files_give_the_same_keyframes(tmp_path):
    entries = [{"at": "0:00", "prompts": ["fog over a city at night"]},
               {"at": "bar 17", "scene": 7, "transition": "2 beats", "ease": "smooth", "pulse_react": 1.2},
               {"at": "section B", "prompts": ["a storm of glass"]}]
    (tmp_path / "t.json").write_text(json.dumps(entries))
    (tmp_path / "t.yaml").write_text("""
- at: "0:00"
  prompts: ["fog over a city at night"]
- at: bar 17
  scene: 7
  transition: 2 beats      # or seconds (a number), "1 bar", "cut"
  ease: smooth
  pulse_react: 1.2
- at: section B            # a label (sections="repeat") or "section 3"
  prompts: ["a storm of glass"]
""")
    assert load_timeline(tmp_path / "t.yaml") == load_timeline(tmp_path / "t.json") == load_timeline(entries)


def test_a_timeline_file_runs_no_code_and_bad_files_are_named(tmp_path, marker):
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(f"- at: !!python/object/apply:os.system ['touch {marker}']\n  scene: 1\n")
    with pytest.raises(ValueError, match="hostile.yaml is not valid YAML"):
        load_timeline(hostile)
    assert not marker.exists()
    (tmp_path / "bad.json").write_text("[{'at': 1}]")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        load_timeline(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_timeline(tmp_path / "missing.yaml")
    with pytest.raises(TypeError, match="timeline must be a list of keyframes"):
        load_timeline({"at": 1})
    with pytest.raises(ValueError, match="timeline is not valid YAML"):
        load_timeline("- at: [1\n")
    assert load_timeline("- at: bar 2\n  scene: 3\n") == load_timeline([{"at": "bar 2", "scene": 3}])  # the app's box


# --- in a render -------------------------------------------------------------------------------------------------

QUIET = {"resolution": 16, "seed": 3, "progress": lambda *a: None}


@pytest.fixture(scope="module")
def groove(tmp_path_factory):
    """16 s of kicks at 120 BPM from 0.5 s over a held chord."""
    y = 0.8 * kick_track(np.arange(0.5, 16, 0.5), 16) + 0.2 * chord_track((261.63, 329.63, 392.0), 16)
    return write(tmp_path_factory.mktemp("groove") / "groove.wav", y)


@pytest.mark.parametrize("fps", [24, 60])
def test_a_scheduled_setting_reads_back_exactly_at_any_frame_rate(groove, fps):
    dream = LucidSonicDream(str(groove))
    dream.plan("x.mp4", fps=fps, pulse_react="0:(0.2), 0:04:(1.0), 0:10:(0.5)", beat_react="0:(0), 8:(0.7)",
               **QUIET)
    times = np.arange(dream.signals.n_frames) / fps
    assert np.allclose(dream.signals.settings["pulse_react"], np.interp(times, [0, 4, 10], [0.2, 1.0, 0.5]),
                       rtol=0, atol=1e-12)
    assert np.allclose(dream.signals.settings["beat_react"], np.interp(times, [0, 8], [0, 0.7]), rtol=0, atol=1e-12)


def test_bars_count_from_the_songs_start_wherever_the_render_starts(groove):
    """A render from 4.3 s places "bar 3" where the whole song's render does (it counted from the excerpt's
    first beat, four beats later), and so does one that ends sooner."""
    dream = LucidSonicDream(str(groove))
    timeline = [{"at": "bar 3", "pulse_react": 1.5, "transition": "cut"}, {"at": "beat 14", "scene": 2}]
    dream.plan("x.mp4", fps=10, timeline=timeline, **QUIET)
    whole = [frame for frame, _, _ in dream.signals.keyframes]
    dream.plan("x.mp4", fps=10, start=4.3, timeline=timeline, **QUIET)
    part = [frame for frame, _, _ in dream.signals.keyframes]
    assert whole == [round(10 * (0.5 + 8 * 0.5)), round(10 * (0.5 + 13 * 0.5))]  # the 9th and 14th kick
    assert part == [w - 43 for w in whole]
    dream.plan("x.mp4", fps=10, duration=7, timeline=timeline, **QUIET)  # an excerpt that ends sooner
    assert [frame for frame, _, _ in dream.signals.keyframes] == whole


def test_a_bar_keyframe_in_a_render_lands_on_its_downbeat_and_the_music_still_drives(groove):
    dream = LucidSonicDream(str(groove))
    timeline = [{"at": "bar 3", "pulse_react": 1.5, "transition": "cut"}]
    plan = dream.plan("x.mp4", fps=30, timeline=timeline, **QUIET)
    beats = dream.signals.song.cached(("beats",), None).frames * GRID_SECONDS
    frame = round(beats[8] * 30)  # bar 3 starts on the 9th beat
    curve = dream.signals.settings["pulse_react"]
    assert np.all(curve[:frame] == 0.5) and np.all(curve[frame:] == 1.5)
    plain = dream.plan("x.mp4", fps=30, **QUIET)
    assert np.allclose(plan.drives["pulse"][frame + 30:], 3 * plain.drives["pulse"][frame + 30:])  # the music, x3


def test_a_scene_cut_changes_the_picture_in_one_frame_and_a_transition_spreads_it(groove):
    dream = LucidSonicDream(str(groove))
    still = {"pulse_react": 0, "motion_react": 0, **QUIET}  # the vectors are the base path alone

    def noise(**settings):
        return dream.plan("x.mp4", fps=24, **{**still, **settings}).noise.astype(np.float64)

    plain = noise()
    cut = noise(timeline=[{"at": 6, "scene": 9, "transition": "cut"}])
    faded = noise(timeline=[{"at": 6, "scene": 9, "transition": 2}])
    assert np.array_equal(cut[:144], plain[:144]) and np.array_equal(faded[:144], plain[:144])
    step = np.abs(np.diff(cut, axis=0)).mean(axis=1)
    assert step[143] == step.max() and step[143] > 20 * np.median(step)  # frames 143 -> 144: all at once
    w = np.arange(48)[:, None] / 48  # linear, from frame 144 (6 s) over 2 s
    assert np.allclose(faded[144:192], plain[144:192] + w * (cut[144:192] - plain[144:192]), rtol=0, atol=1e-5)
    assert np.allclose(faded[192:], cut[192:], rtol=0, atol=1e-6)
    assert np.array_equal(noise(timeline=[{"at": 6, "scene": 9, "transition": "cut"}]), cut)  # same seed, same place
    other = noise(timeline=[{"at": 6, "scene": 10, "transition": "cut"}])
    assert np.abs(other[144:] - cut[144:]).mean() > 0.3


def test_offset_moves_every_hit_by_exactly_that_many_frames(groove):
    dream = LucidSonicDream(str(groove))
    dream.plan("x.mp4", fps=25, beat_react=0.5, **QUIET)
    hits, beats = dream.signals.hits.copy(), dream.signals.beat_frames.copy()
    dream.plan("x.mp4", fps=25, beat_react=0.5, offset=-0.08, **QUIET)  # 2 frames early
    assert np.array_equal(dream.signals.hits[:-2], hits[2:])
    assert np.array_equal(dream.signals.beat_frames, beats[beats >= 2] - 2)


@pytest.mark.parametrize("settings, message", [
    ({"timeline": [{"at": "0:20", "scene": 1}]}, r"keyframe 1 \(at 20 s\): 20 s is past the end of the song"),
    ({"timeline": [{"at": 2, "pulse_rect": 1}]}, "did you mean 'pulse_react'"),
    ({"timeline": [{"at": "bar 0", "scene": 1}]}, "bars are counted from 1"),
    ({"timeline": [{"at": 2, "prompts": ["a fox"]}]}, "prompts are for diffusion styles"),
    ({"pulse_react": "0:(0.2), 3:(1.0"}, "pulse_react: the schedule .* is malformed at character 9"),
    ({"pulse_react": "0:(0.2), 0:30:(1.0)"}, "the key 30 s is past the end of the song"),
    ({"fps": 24, "snap": "downbeat"}, "snap must be 'beat', 'bar' or None"),
])
def test_bad_timelines_are_refused_before_any_analysis(groove, monkeypatch, settings, message):
    def no_analysis(*args, **kwargs):
        raise AssertionError("analysed before refusing")

    monkeypatch.setattr(dream_module, "route_signals", no_analysis)
    with pytest.raises(ValueError, match=message):
        LucidSonicDream(str(groove)).plan("x.mp4", **{"fps": 24, **settings}, **QUIET)


def test_the_command_line_takes_a_timeline_file(groove, tmp_path):
    (tmp_path / "show.yaml").write_text("- at: bar 2\n  scene: 4\n  transition: 1 beat\n- at: 5\n  "
                                        "beat_react: 0.8\n  ease: smooth\n  transition: 1\n")
    out = tmp_path / "show.mp4"
    assert main(["render", str(groove), "-o", str(out), "--timeline", str(tmp_path / "show.yaml"), "--snap", "beat",
                 "--offset", "-0.04", "--pulse-react", "0:(0.2), 0:04:(1.0)", "--fps", "12", "--resolution", "16",
                 "--duration", "8", "--seed", "1"]) == 0
    assert out.exists()


def test_the_command_line_names_a_bad_schedule_in_one_line(groove, tmp_path, capsys):
    assert main(["render", str(groove), "-o", str(tmp_path / "x.mp4"), "--pulse-react", "0:(0.2) 4:(1)"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pulse_react: the schedule" in err and "character 9" in err
    assert not (tmp_path / "x.mp4").exists()


# --- choruses come back ------------------------------------------------------------------------------------------

def test_sections_with_the_same_label_take_the_same_path():
    from lucidsonicdreams.latents.noise import SECTION_FADE_SECONDS, repeating_section_latents

    starts, labels = [100, 220, 320], ["A", "B", "A", "C"]
    out = repeating_section_latents(np.random.default_rng(1), starts, labels, 450, 8, 25, 12, 1.0)
    fade = round(SECTION_FADE_SECONDS * 25)
    assert np.array_equal(out[220 + fade : 320], out[fade : 100])  # the second A, from the end of its fade
    assert np.abs(out[100 + fade : 220] - out[fade : 120]).mean() > 0.3  # B is elsewhere
    assert np.abs(out[320 + fade :] - out[fade : 130]).mean() > 0.3  # and so is C


@pytest.fixture(scope="module")
def abab(tmp_path_factory):
    """Two clearly different textures, 8 s each, in the form A B A B."""
    from conftest import texture

    rng = np.random.default_rng(0)
    return write(tmp_path_factory.mktemp("abab") / "abab.wav",
                 np.concatenate([texture(k, 8, rng) for k in "ABAB"]))


def test_choruses_return_to_their_look(abab):
    dream = LucidSonicDream(str(abab))
    still = {"pulse_react": 0, "motion_react": 0, "fps": 20, **QUIET}  # the vectors are the base path alone
    noise = dream.plan("x.mp4", sections="repeat", **still).noise.astype(np.float64)
    signals = dream.signals
    assert signals.section_labels == ("A", "B", "A", "B")
    starts = [0, *signals.section_frames.tolist(), len(noise)]
    assert all(abs(s - 160 * i) <= 10 for i, s in enumerate(starts[1:-1], start=1))  # every 8 s, give or take
    fade, common = 20, min(np.diff(starts))  # the 1 s cross-fade into each section
    first_a, second_a = noise[starts[0] + fade : starts[0] + common], noise[starts[2] + fade : starts[2] + common]
    first_b, second_b = noise[starts[1] + fade : starts[1] + common], noise[starts[3] + fade : starts[3] + common]
    assert np.array_equal(first_a, second_a) and np.array_equal(first_b, second_b)
    assert np.abs(first_a - first_b).mean() > 0.3
    classes = dream.plan("x.mp4", sections="repeat", **still).classes  # the same pitches drive the same classes
    assert np.abs(classes[starts[2] + fade : starts[2] + common] - classes[fade:common]).max() < 0.05
    new_looks = dream.plan("x.mp4", sections=True, **still)  # each section its own look
    later = new_looks.noise.astype(np.float64)[starts[2] + fade : starts[2] + common]
    assert np.abs(later - new_looks.noise[fade:common]).mean() > 0.3


def test_a_keyframe_can_name_a_section_label(abab):
    dream = LucidSonicDream(str(abab))
    dream.plan("x.mp4", fps=20, timeline=[{"at": "section B", "pulse_react": 2, "transition": "cut"}], **QUIET)
    first_b = dream.signals.section_frames[0]
    assert np.flatnonzero(dream.signals.settings["pulse_react"] == 2)[0] == first_b


def test_sections_repeat_from_the_command_line(abab, tmp_path):
    out = tmp_path / "abab.mp4"
    assert main(["render", str(abab), "-o", str(out), "--sections-repeat", "--fps", "8", "--resolution", "16",
                 "--seed", "1"]) == 0 and out.exists()
    before = tmp_path / "flag-first.mp4"  # the flag before the song, as it always could be
    assert main(["render", "--sections", str(abab), "-o", str(before), "--fps", "8", "--resolution", "16",
                 "--duration", "2"]) == 0 and before.exists()
    with pytest.raises(ValueError, match="sections must be True, False or 'repeat'"):
        LucidSonicDream(str(abab)).plan("x.mp4", sections="again", **QUIET)


def test_two_sections_in_a_row_with_one_label_are_one_stretch():
    from lucidsonicdreams.latents.noise import repeating_section_latents

    joined = repeating_section_latents(np.random.default_rng(1), [100, 220], ["A", "A", "B"], 300, 8, 25, 12, 1.0)
    single = repeating_section_latents(np.random.default_rng(1), [220], ["A", "B"], 300, 8, 25, 12, 1.0)
    assert np.array_equal(joined, single)


def test_constant_per_frame_speed_and_truncation_give_what_the_values_give():
    from lucidsonicdreams.latents.noise import base_latents

    values = base_latents(np.random.default_rng(4), 500, 16, 25, 12.0, 0.7)
    arrays = base_latents(np.random.default_rng(4), 500, 16, 25, np.full(500, 12.0), np.full(500, 0.7))
    assert np.allclose(arrays, values, rtol=0, atol=1e-12)


def test_speed_truncation_and_class_pitch_react_follow_a_timeline(groove):
    dream = LucidSonicDream(str(groove))
    still = {"pulse_react": 0, "motion_react": 0, "fps": 20, **QUIET}  # the vectors are the base path alone
    plain = dream.plan("x.mp4", **still).noise.astype(np.float64)
    halved = dream.plan("x.mp4", timeline=[{"at": 5, "truncation": 0.5, "transition": "cut"}], **still)
    assert np.array_equal(halved.noise[:100], plain[:100])
    assert np.allclose(halved.noise[100:], 0.5 * plain[100:], rtol=0, atol=1e-6)
    held = dream.plan("x.mp4", speed_fpm="0:(0), 0:08:(0), 0:08.05:(30)", **still).noise  # still, then moving
    assert np.array_equal(held[0], held[159]) and not np.array_equal(held[161], held[200])
    dream.plan("x.mp4", class_pitch_react="0:(0.1), 0:10:(2)", **still)
    pitch_react = dream.signals.settings["class_pitch_react"]
    assert pitch_react[0] == 0.1 and pitch_react[-1] == 2



def test_an_effect_strength_follows_a_timeline_and_a_keyframe_turns_the_effect_on(groove):
    dream = LucidSonicDream(str(groove))
    plain = dream.plan("x.mp4", fps=10, flash_strength=0.4, **QUIET).effects[0]
    keyed = dream.plan("x.mp4", fps=10, flash_strength=0.4, **QUIET,
                       timeline=[{"at": 6, "flash_strength": 0.8, "transition": "cut"}]).effects[0]
    assert keyed.effect.strength == 0.8  # drawn at its largest strength, the amplitude scaled frame by frame
    assert np.allclose(keyed.effect.strength * keyed.amplitude[:60], 0.4 * plain.amplitude[:60])
    assert np.allclose(keyed.effect.strength * keyed.amplitude[60:], 0.8 * plain.amplitude[60:])
    turned_on = dream.plan("x.mp4", fps=10, **QUIET, timeline=[{"at": 6, "contrast_strength": 0.5}]).effects
    assert len(turned_on) == 1 and not turned_on[0].amplitude[:60].any() and turned_on[0].amplitude[60:].any()
    scheduled = dream.plan("x.mp4", fps=10, flash_strength="0:(0.1), 0:10:(0.6)", **QUIET).effects[0]
    assert scheduled.effect.strength == 0.6 and dream.signals.settings["flash_strength"][0] == 0.1


def test_the_signal_plot_shows_the_timeline(abab, tmp_path):
    from PIL import Image

    dream = LucidSonicDream(str(abab))
    dream.plan("x.mp4", fps=10, sections="repeat", **QUIET)
    plain = Image.open(dream.plot_signals(tmp_path / "plain.png")).size
    dream.plan("x.mp4", fps=10, sections="repeat", speed_fpm="0:(6), 0:20:(30)", **QUIET,
               timeline=[{"at": "section B", "scene": 4, "transition": 1.5}, {"at": 20, "flash_strength": 0.6}])
    assert dream.signals.keyframes == ((dream.signals.section_frames[0], 15, "1: scene 4"),
                                       (200, 0, "2: flash_strength 0.6"))
    timed = Image.open(dream.plot_signals(tmp_path / "timed.png")).size
    assert timed[1] > plain[1]  # a panel more: the settings the timeline sets


def test_the_web_app_takes_a_timeline_in_its_text_box(tmp_path):
    pytest.importorskip("gradio")
    from lucidsonicdreams.app.page import ADVANCED, MAIN, _form, app_default
    from lucidsonicdreams.app.state import STEMS
    from lucidsonicdreams.render import arguments

    named = {"song": None, **dict.fromkeys(STEMS), "style": "cppn", "model_file": None, "prompts": "",
             "shape": "square", "size": 256, **{a.name: app_default(a) for a in MAIN + ADVANCED}}
    assert arguments.parse(tmp_path / "v.mp4", **_form(named)[2].render).timeline.keyframes == ()  # empty: none
    named["timeline"] = arguments.BY_NAME["timeline"].app.placeholder  # the box's own example
    keyframes = arguments.parse(tmp_path / "v.mp4", **_form(named)[2].render).timeline.keyframes
    assert [str(k.at) for k in keyframes] == ["bar 17", "92 s"] and keyframes[0].scene == 7


def test_the_web_app_sets_snap_offset_bars_and_repeating_sections(tmp_path):
    pytest.importorskip("gradio")
    from lucidsonicdreams.app.page import ADVANCED, MAIN, _form, app_default
    from lucidsonicdreams.app.state import STEMS
    from lucidsonicdreams.render import arguments

    named = {"song": None, **dict.fromkeys(STEMS), "style": "cppn", "model_file": None, "prompts": "",
             "shape": "square", "size": 256, **{a.name: app_default(a) for a in MAIN + ADVANCED}}
    values = arguments.parse(tmp_path / "v.mp4", **_form(named)[2].render).values
    assert (values["snap"], values["offset"], values["beats_per_bar"], values["bar_one"]) == (None, 0.0, 4, None)
    assert values["sections"] is True  # the app's default: a new look for each section
    named.update(snap="bar", offset=-0.04, beats_per_bar=3, bar_one=1.5,
                 sections=arguments.BY_NAME["sections"].app.shown("repeat"))
    values = arguments.parse(tmp_path / "v.mp4", **_form(named)[2].render).values
    assert (values["snap"], values["offset"], values["beats_per_bar"], values["bar_one"]) == ("bar", -0.04, 3, 1.5)
    assert values["sections"] == "repeat"
    named["sections"] = arguments.BY_NAME["sections"].app.shown(False)
    assert arguments.parse(tmp_path / "v.mp4", **_form(named)[2].render).values["sections"] is False


def test_a_classes_keyframe_drives_other_classes_from_its_frame(groove, monkeypatch):
    dream = LucidSonicDream(str(groove))
    plain = dream.plan("x.mp4", fps=10, classes=[0, 1, 2], **QUIET)
    switched = dream.plan("x.mp4", fps=10, classes=[0, 1, 2], timeline=[{"at": 6, "classes": [9]}], **QUIET)
    smooth = 10  # class_smooth_seconds: the weights are averaged over 1 s around each frame
    assert np.array_equal(switched.classes[: 60 - smooth], plain.classes[: 60 - smooth])
    assert set(np.argmax(plain.classes[100:], axis=1)) <= {0, 1, 2}
    assert np.all(np.argmax(switched.classes[100:], axis=1) == 9)
    monkeypatch.setattr(dream_module, "route_signals", lambda *a, **k: pytest.fail("analysed before refusing"))
    with pytest.raises(ValueError, match=r"keyframe 1 \(at 6 s\): classes must be between 0 and 11"):
        dream.plan("x.mp4", fps=10, timeline=[{"at": 6, "classes": [12]}], **QUIET)


def test_a_classes_keyframe_with_a_transition_fades_to_its_classes(groove):
    dream = LucidSonicDream(str(groove))
    plain = dream.plan("x.mp4", fps=10, classes=[0, 1, 2], **QUIET)
    cut = dream.plan("x.mp4", fps=10, classes=[0, 1, 2], timeline=[{"at": 6, "classes": [9]}], **QUIET)
    faded = dream.plan("x.mp4", fps=10, classes=[0, 1, 2], **QUIET,
                       timeline=[{"at": 6, "classes": [9], "transition": 3, "ease": "linear"}])
    # From the classes before to those after along the ease: 3 s from frame 60, linear.
    share = np.clip((np.arange(len(plain.classes)) - 60) / 30, 0, 1)[:, None]
    np.testing.assert_allclose(faded.classes, (1 - share) * plain.classes + share * cut.classes, atol=1e-6)
    assert faded.classes[75, :3].sum() > 0 and faded.classes[75, 9] > 0  # both sound half way
    assert np.array_equal(faded.classes[100:], cut.classes[100:])


def test_a_prompt_keyframe_switches_a_diffusion_style_to_the_prompts_named(groove, tmp_path):
    pytest.importorskip("diffusers")
    from diffusion_files import write_tiny_pipeline

    model = write_tiny_pipeline(tmp_path / "tiny-sd")
    dream = LucidSonicDream(str(groove), style=str(model), prompts=["a red fox in snow", "blue ocean waves"])
    timeline = [{"at": 4, "prompts": ["golden desert dunes"], "transition": "cut"},
                {"at": 8, "prompts": ["blue ocean waves", "a red fox in snow"]}]
    plan = dream.plan(tmp_path / "x.mp4", fps=5, duration=12, resolution=64, seed=2, progress=lambda *a: None,
                      timeline=timeline)
    style = dream._load_style(plan.style_seed, plan.style)
    assert list(style.prompts) == ["a red fox in snow", "blue ocean waves", "golden desert dunes"]
    smooth = 5  # class_smooth_seconds: the weights are averaged over 1 s around each frame
    before, dunes, after = plan.classes[: 20 - smooth], plan.classes[20 + smooth : 40 - smooth], plan.classes[45:]
    assert not before[:, 2].any() and before[:, :2].any()  # the style's own prompts only
    assert not dunes[:, :2].any() and dunes[:, 2].all()
    assert not after[:, 2].any()
    table = style._embeddings["prompt_embeds"]
    assert torch.equal(style._mix(dunes[:1])["prompt_embeds"][0], table[2])  # exactly the prompt named
    mixed = style._mix(before[:1])["prompt_embeds"][0]
    weights = before[0, :2] / before[0, :2].sum()
    assert torch.allclose(mixed, weights[0] * table[0] + weights[1] * table[1], atol=1e-6)
    assert dream.signals.keyframes[0][2] == "1: prompts ['golden desert dunes']"
    frames = render_window_frames(plan, style)
    assert len(frames) == 60


def render_window_frames(plan, style):
    from lucidsonicdreams.render.loop import render_window

    kept = []
    render_window(plan, 0, plan.n_frames, lambda index, frame: kept.append(frame), style=style)
    return kept


def test_a_transition_that_began_before_the_render_is_that_far_along_at_its_first_frame():
    keyframes = load_timeline([{"at": 5, "pulse_react": 1.5, "transition": 4}, {"at": 5, "scene": 3, "transition": 4}])
    placed = place(keyframes, GRID, fps=10, n_frames=100, base=BASE, start=7.0)
    assert placed.values["pulse_react"][0] == pytest.approx(0.5 + 1.0 * 0.5)  # 2 s into a 4 s linear change
    assert placed.values["pulse_react"][20] == 1.5 and placed.scenes[0].frame == -20


def test_a_scene_that_comes_back_is_the_same_place_frame_for_frame(groove):
    dream = LucidSonicDream(str(groove))
    still = {"pulse_react": 0, "motion_react": 0, "fps": 20, **QUIET}  # the vectors are the base path alone
    early = dream.plan("x.mp4", timeline=[{"at": 4, "scene": 9, "transition": "cut"}], **still).noise
    late = dream.plan("x.mp4", timeline=[{"at": 10, "scene": 9, "transition": "cut"}], **still).noise
    assert np.array_equal(early[80 : 80 + 120], late[200:320])


def test_offset_brings_no_hit_in_from_beyond_the_ends(groove):
    dream = LucidSonicDream(str(groove))
    dream.plan("x.mp4", fps=25, beat_react=0.5, offset=-0.4, **QUIET)  # 10 frames early
    assert not dream.signals.hits[-10:].any()
    dream.plan("x.mp4", fps=25, beat_react=0.5, offset=0.4, **QUIET)
    assert not dream.signals.hits[:10].any()


def test_an_effect_on_by_default_keeps_its_strength_until_a_keyframe_changes_it(groove):
    dream = LucidSonicDream(str(groove))
    plain = dream.plan("x.mp4", fps=10, flash_percussive=True, **QUIET).effects[0]  # on, at strength 0.5
    keyed = dream.plan("x.mp4", fps=10, flash_percussive=True, **QUIET,
                       timeline=[{"at": 6, "flash_strength": 0.8, "transition": "cut"}]).effects[0]
    assert np.allclose(keyed.effect.strength * keyed.amplitude[:60], 0.5 * plain.amplitude[:60])
    assert np.allclose(keyed.effect.strength * keyed.amplitude[60:], 0.8 * plain.amplitude[60:])


def test_a_setting_with_both_a_schedule_and_a_keyframe_is_refused_before_any_analysis(groove, monkeypatch):
    monkeypatch.setattr(dream_module, "route_signals", lambda *a, **k: pytest.fail("analysed before refusing"))
    with pytest.raises(ValueError, match=r"keyframe 1 \(at 2 s\): pulse_react has a schedule too"):
        LucidSonicDream(str(groove)).plan("x.mp4", pulse_react="0:(0.2), 4:(1)", **QUIET,
                                          timeline=[{"at": 2, "pulse_react": 1}])


def tiny_stylegan(path):
    from stylegan_files import write_pytorch_pickle

    from lucidsonicdreams.models import stylegan2

    tiny = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 2}, "channel_base": 256, "channel_max": 16}
    return write_pytorch_pickle(path, "stylegan2", tiny, stylegan2.Generator(**tiny).state_dict())


def drawn(plan):
    from lucidsonicdreams.render.loop import render_window

    kept = []
    render_window(plan, 0, plan.n_frames, lambda index, frame: kept.append(frame))
    return np.stack(kept).astype(np.float64)


def test_a_style_keyframe_fades_to_another_model_and_the_music_drives_both(groove, tmp_path, model_cache,
                                                                            monkeypatch):
    """The built-in style, then a StyleGAN pickle from 4 s: a cut switches on the frame, a 2 s transition blends
    the two models' frames by weight; before the keyframe the frames are the render's without a timeline."""
    model = str(tiny_stylegan(tmp_path / "tiny.pkl"))
    dream = LucidSonicDream(str(groove))
    settings = {"fps": 10, "duration": 8, "resolution": 32, "seed": 5, "progress": lambda *a: None}
    plain = drawn(dream.plan("x.mp4", **settings))
    cut = drawn(dream.plan("x.mp4", timeline=[{"at": 4, "style": model, "transition": "cut"}], **settings))
    faded = drawn(dream.plan("x.mp4", timeline=[{"at": 4, "style": model, "transition": 2, "ease": "linear"}],
                             **settings))
    assert np.array_equal(cut[:40], plain[:40]) and np.array_equal(faded[:40], plain[:40])
    assert np.abs(cut[40:] - plain[40:]).mean() > 20  # another model's pictures from the keyframe's frame
    changes = np.abs(np.diff(cut, axis=0)).mean(axis=(1, 2, 3))
    assert changes[39] > changes[30:39].max()  # the switch is one frame: the largest change around it
    share = np.clip((np.arange(80) - 40) / 20, 0, 1)[:, None, None, None]
    assert np.abs(faded - np.rint((1 - share) * plain + share * cut)).max() <= 1  # blended by weight
    assert np.array_equal(faded[60:], cut[60:])
    assert np.abs(np.diff(cut[45:], axis=0)).mean() > 0.5  # the music still moves the new model's picture
    # A worker gets the plan pickled and loads its styles from it: the same frames.
    import pickle

    from lucidsonicdreams.render import loop

    plan = pickle.loads(pickle.dumps(dream.plan("x.mp4", timeline=[{"at": 4, "style": model}], **settings)))
    monkeypatch.setattr(loop, "_loaded", [])
    assert np.array_equal(drawn(plan), cut)
    assert "style" in dream.signals.keyframes[0][2]
    video = dream.hallucinate(tmp_path / "v.mp4", timeline=[{"at": 4, "style": model}], **settings)
    assert video.frames == 80
    # Back to the render's own style: its own frames again, as if it had never left.
    back = drawn(dream.plan("x.mp4", timeline=[{"at": 2, "style": model}, {"at": 5, "style": "cppn"}], **settings))
    assert np.array_equal(back[50:], plain[50:]) and np.abs(back[20:50] - plain[20:50]).mean() > 20
    with pytest.raises(ValueError, match=r"keyframe 2 \(at 6 s\): a timeline that switches models takes no classes"):
        dream.plan("x.mp4", timeline=[{"at": 2, "style": model}, {"at": 6, "classes": [1]}], **settings)


def test_a_style_that_fails_to_load_is_refused_before_analysis(groove, tmp_path, monkeypatch):
    bad = tmp_path / "broken.pkl"
    bad.write_bytes(b"not a pickle")
    dream = LucidSonicDream(str(groove))
    monkeypatch.setattr(dream_module, "route_signals", lambda *a, **k: pytest.fail("analysed before refusing"))
    with pytest.raises((ValueError, OSError, LucidSonicDreamsError),
                       match=r"keyframe 1 \(at 2 s\): the style '.*broken.pkl' did not load"):
        dream.plan("x.mp4", resolution=32, progress=lambda *a: None, timeline=[{"at": 2, "style": str(bad)}])
    with pytest.raises((ValueError, OSError), match=r"keyframe 1 \(at 2 s\): the style 'nowhere.pkl' did not load"):
        dream.plan("x.mp4", resolution=32, progress=lambda *a: None, timeline=[{"at": 2, "style": "nowhere.pkl"}])
    model = str(tiny_stylegan(tmp_path / "tiny.pkl"))
    with pytest.raises(ValueError, match="give the render a resolution"):
        dream.plan("x.mp4", progress=lambda *a: None, timeline=[{"at": 2, "style": model}])
