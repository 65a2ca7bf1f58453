"""A render is a value: a RenderPlan pickles, and any split of it into windows draws the frames of one pass, in
this process or another; hallucinate and preview are windows of the same plan."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import probe

from lucidsonicdreams import EffectsGenerator, LucidSonicDream, RenderPlan, RenderResult, render_window

SETTINGS = {"fps": 12, "resolution": (40, 24), "seed": 5, "beat_react": 0.6, "sections": True,
            "flash_strength": 0.5, "contrast_percussive": True, "batch_size": 3}


def invert_on_hits(array, strength, amplitude):
    """A custom effect defined at module level, so that a plan that holds it pickles."""
    return np.where(amplitude * strength > 0.3, 255 - array, array).astype(np.uint8)


def draw(plan: RenderPlan, first: int, end: int) -> dict[int, np.ndarray]:
    frames: dict[int, np.ndarray] = {}
    render_window(plan, first, end, lambda i, frame: frames.__setitem__(i, frame.copy()))
    return frames


@pytest.fixture
def plan(song, tmp_path) -> RenderPlan:
    fx = EffectsGenerator(invert_on_hits, strength=1.0)
    return LucidSonicDream(song).plan(tmp_path / "v.mp4", custom_effects=[fx], **SETTINGS)


def test_a_plan_holds_what_a_render_draws(plan, song):
    assert isinstance(plan, RenderPlan)
    assert plan.n_frames == round(3.5 * 12) and plan.seed == 5 and plan.fps == 12
    assert plan.noise.shape == (plan.n_frames, 128) and plan.classes.shape == (plan.n_frames, 12)
    assert [fx.effect.func.__name__ for fx in plan.effects] == ["contrast_effect", "flash_effect", "invert_on_hits"]
    assert all(fx.amplitude.shape == (plan.n_frames,) for fx in plan.effects)
    assert plan.style.kind == "builtin" and plan.audio == song
    assert not plan.output.file.exists()  # planning writes nothing


def test_three_windows_in_a_fresh_process_draw_the_frames_of_one_pass(plan, tmp_path):
    one_pass = draw(plan, 0, plan.n_frames)
    (tmp_path / "plan.pkl").write_bytes(pickle.dumps(plan))
    script = textwrap.dedent(f"""
        import pickle, sys
        import numpy as np
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
        from lucidsonicdreams import render_window
        plan = pickle.loads(open({str(tmp_path / "plan.pkl")!r}, "rb").read())
        frames = {{}}
        for first, end in ((0, 7), (7, 20), (20, plan.n_frames)):
            render_window(plan, first, end, lambda i, f: frames.__setitem__(i, f.copy()))
        np.savez({str(tmp_path / "frames.npz")!r}, **{{str(i): f for i, f in frames.items()}})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    with np.load(tmp_path / "frames.npz") as windows:
        assert sorted(int(k) for k in windows.files) == list(range(plan.n_frames))
        for i, frame in one_pass.items():
            np.testing.assert_array_equal(windows[str(i)], frame, err_msg=f"frame {i}")
    assert len({f.tobytes() for f in one_pass.values()}) > plan.n_frames // 2  # the picture moves


def test_hallucinate_draws_the_plan_and_returns_a_result(song, tmp_path):
    dream = LucidSonicDream(song)
    plan = dream.plan(tmp_path / "v.mp4", save_frames=True, **SETTINGS)
    expected = draw(plan, 0, plan.n_frames)
    calls = []
    result = dream.hallucinate(tmp_path / "v.mp4", save_frames=True, progress=lambda *a: calls.append(a),
                               **SETTINGS)
    assert isinstance(result, RenderResult)
    assert (result.file, result.seed, result.frames) == (tmp_path / "v.mp4", 5, plan.n_frames)
    assert result.seconds > 0 and dream.seed == 5
    np.testing.assert_array_equal(result.signals.pulse, dream.signals.pulse)
    saved = sorted((tmp_path / "v_frames").glob("*.png"))
    from PIL import Image

    for i, png in enumerate(saved):
        np.testing.assert_array_equal(np.asarray(Image.open(png)), expected[i])
    assert len(probe(result)["frames"]) == plan.n_frames  # the result is the file's path, as it was
    assert result == str(tmp_path / "v.mp4") and pickle.loads(pickle.dumps(result)).frames == plan.n_frames
    assert result.signals.song is None  # the song's analysis stays with the LucidSonicDream
    # Progress came through the callback: the analysis, then every frame.
    assert ("Analysing audio" in {c[2] for c in calls}) and calls[-1] == (plan.n_frames, plan.n_frames, "Rendering")


def test_a_preview_is_a_window_of_the_plan(song, tmp_path):
    dream = LucidSonicDream(song)
    plan = dream.plan(tmp_path / "v.mp4", **SETTINGS)
    result = dream.preview(tmp_path / "p.mp4", at=1.0, seconds=1.0, save_frames=True, **SETTINGS)
    assert result.frames == 12
    expected = draw(plan, 12, 24)
    from PIL import Image

    for i, png in enumerate(sorted((tmp_path / "p_frames").glob("*.png"))):
        np.testing.assert_array_equal(np.asarray(Image.open(png)), expected[12 + i])


def test_seed_and_signals_are_read_only_views_of_the_latest_result(song, tmp_path):
    dream = LucidSonicDream(song)
    assert dream.seed is None and dream.signals is None
    dream.hallucinate(tmp_path / "v.mp4", fps=6, resolution=16, duration=1, seed=9)
    assert dream.seed == 9 and dream.signals.n_frames == 6
    with pytest.raises(AttributeError):
        dream.seed = 3


def test_a_window_outside_the_plan_is_refused(plan):
    with pytest.raises(ValueError, match="window"):
        render_window(plan, 5, plan.n_frames + 1, lambda i, f: None)
    with pytest.raises(ValueError, match="window"):
        render_window(plan, 4, 4, lambda i, f: None)
    with pytest.raises(ValueError, match="device must be"):
        render_window(plan, 0, 2, lambda i, f: None, device="gpu")


def test_a_preview_past_the_end_is_refused_before_any_analysis(song, tmp_path, monkeypatch):
    from lucidsonicdreams.audio import analysis

    monkeypatch.setattr(analysis, "load_mono", lambda *a, **k: pytest.fail("decoded before checking at="))
    with pytest.raises(ValueError, match=r"at=10 s is past the end of the part to render \(3.50 s\)"):
        LucidSonicDream(song).preview(tmp_path / "p.mp4", at=10, seconds=1)
    with pytest.raises(TypeError, match="progress must be a function"):
        LucidSonicDream(song).hallucinate(tmp_path / "p.mp4", progress="bars")


class Failing:
    """A function style that fails on its third batch."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, noise_batch, class_batch):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("out of memory")
        return np.zeros((len(noise_batch), 8, 8, 3), np.uint8)


def test_a_failed_render_is_still_the_latest_and_closes_its_bars(song, tmp_path, monkeypatch):
    import tqdm.auto

    opened = []

    class Bar(tqdm.auto.tqdm):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            opened.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    dream = LucidSonicDream(song, style=Failing(), input_shape=4, num_possible_classes=0)
    with pytest.raises(RuntimeError, match="out of memory"):
        dream.hallucinate(tmp_path / "v.mp4", fps=8, seed=11)
    assert dream.seed == 11 and dream.signals.fps == 8  # what drove the failed render, as 0.4 kept it
    assert [bar.desc for bar in opened] == ["Analysing audio", "Rendering"]
    assert all(bar.disable for bar in opened)  # closed: a message printed next starts on a line of its own
    assert not (tmp_path / "v.mp4").exists()


def test_a_result_is_small_and_travels_where_its_plan_cannot(song, tmp_path):
    fx = EffectsGenerator(lambda array, strength, amplitude: array, strength=1.0)
    dream = LucidSonicDream(song)
    result = dream.hallucinate(tmp_path / "v.mp4", fps=6, resolution=16, duration=1, seed=1, custom_effects=[fx])
    copy = pickle.loads(pickle.dumps(result))
    assert (copy, copy.seed, copy.frames, copy.signals.song) == (result, 1, 6, None)
    plan = dream.plan(tmp_path / "v.mp4", fps=6, resolution=16, duration=1, seed=1, custom_effects=[fx])
    with pytest.raises(TypeError, match=r"its effects\[0\]\.func .*define it at the top level of a module"):
        pickle.dumps(plan)


def test_threads_drawing_one_plan_load_its_style_once(plan, monkeypatch):
    import threading
    import time

    from lucidsonicdreams.render import loop

    loads = []
    real = loop.load_style
    monkeypatch.setattr(loop, "_loaded", [])
    monkeypatch.setattr(loop, "load_style", lambda *a: loads.append(1) or time.sleep(0.2) or real(*a))
    threads = [threading.Thread(target=draw, args=(plan, i * 10, i * 10 + 5)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1


def test_a_plan_drawn_where_it_was_made_uses_the_loaded_style(song, tmp_path, monkeypatch):
    from lucidsonicdreams.render import loop

    dream = LucidSonicDream(song)
    plan = dream.plan(tmp_path / "v.mp4", fps=6, resolution=16, duration=1, seed=4)
    monkeypatch.setattr(loop, "load_style", lambda *a: pytest.fail("a second copy of the style was loaded"))
    assert len(draw(plan, 0, plan.n_frames)) == 6


def test_a_window_can_be_drawn_on_another_device_than_the_plans(plan, monkeypatch):
    """A plan made where there is a GPU can be drawn by a worker without one."""
    import dataclasses

    from lucidsonicdreams.render import loop

    seen = []
    real = loop.load_style
    monkeypatch.setattr(loop, "_loaded", [])
    monkeypatch.setattr(loop, "load_style", lambda source, device, seed: seen.append(str(device))
                        or real(source, device, seed))
    on_gpu = dataclasses.replace(plan, device="cuda")
    frames = {}
    render_window(on_gpu, 0, 3, lambda i, f: frames.__setitem__(i, f), device="cpu")
    assert seen == ["cpu"] and sorted(frames) == [0, 1, 2]
    np.testing.assert_array_equal(frames[2], draw(plan, 0, 3)[2])


def test_no_frame_follows_a_gap_when_the_sink_fails(song, tmp_path):
    from lucidsonicdreams.render.loop import render_window

    plan = LucidSonicDream(song).plan(tmp_path / "v.mp4", fps=8, resolution=16, seed=2, batch_size=2,
                                      progress=lambda *a: None)
    seen = []

    def sink(index, frame):
        if index == 5:
            raise OSError("disk full")
        seen.append(index)

    with pytest.raises(OSError, match="disk full"):
        render_window(plan, 0, plan.n_frames, sink)
    assert seen == [0, 1, 2, 3, 4]  # the batches queued behind the failed one never reach the encoder
