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
    assert result.seconds > 0 and result.signals is dream.signals and dream.seed == 5
    saved = sorted((tmp_path / "v_frames").glob("*.png"))
    from PIL import Image

    for i, png in enumerate(saved):
        np.testing.assert_array_equal(np.asarray(Image.open(png)), expected[i])
    assert len(probe(result)["frames"]) == plan.n_frames  # the result is the file's path, as it was
    assert result == str(tmp_path / "v.mp4") and pickle.loads(pickle.dumps(result)).frames == plan.n_frames
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
