"""Resolving ``style=`` once into a StyleSource, loading it, and function styles configured by arguments."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from lucidsonicdreams import FunctionStyle, LucidSonicDream, RenderOptions, Style
from lucidsonicdreams.style import CPPNStyle, load_style, resolve_style


def gradient(noise_batch, class_batch):
    """Float images in [0, 1]."""
    ramp = np.linspace(0, 1, 8, dtype=np.float32)
    return np.broadcast_to(ramp[None, None, :, None] * (0.5 + 0.5 * np.tanh(noise_batch[:, :1, None, None])),
                           (len(noise_batch), 8, 8, 3)).copy()


class Grey(Style):
    input_shape = 4
    num_possible_classes = 0

    def __call__(self, noise_batch, class_batch, options):
        return np.full((len(noise_batch), 4, 4, 3), 128, np.uint8)


@pytest.mark.parametrize("style, kwargs, kind", [
    ("cppn", {}, "builtin"), ("CPPN ", {}, "builtin"), (gradient, {"input_shape": 3, "num_possible_classes": 0},
                                                        "function"),
])
def test_a_style_value_is_resolved_once_into_a_record(style, kwargs, kind):
    source = resolve_style(style, **kwargs)
    assert source.kind == kind and resolve_style(source) is source
    assert source.seeded == (kind == "builtin") and not source.eager
    assert pickle.loads(pickle.dumps(source)) == source


def test_a_style_object_is_used_as_it_is():
    grey = Grey()
    source = resolve_style(grey)
    assert (source.kind, source.input_shape, source.num_possible_classes, source.eager) == ("object", 4, 0, True)
    assert load_style(source, "cpu", 0) is grey


def test_the_builtin_style_takes_its_weights_from_the_seed():
    source = resolve_style("cppn")
    a, b, c = (load_style(source, "cpu", seed) for seed in (1, 1, 2))
    assert isinstance(a, CPPNStyle)
    z, cls = np.zeros((1, 128), np.float32), np.zeros((1, 12), np.float32)
    options = RenderOptions(size=(16, 16))
    np.testing.assert_array_equal(a(z + 0.3, cls, options), b(z + 0.3, cls, options))
    assert not np.array_equal(a(z + 0.3, cls, options), c(z + 0.3, cls, options))


def test_a_function_style_reads_its_output_range_from_an_argument_not_the_function(song, tmp_path):
    styled = FunctionStyle(gradient, 3, 0, output_range=(0, 1))
    assert not hasattr(gradient, "output_range")  # nothing was set on the user's function
    frames = styled(np.full((1, 3), 2.0), np.zeros((1, 0)), RenderOptions())
    assert frames[0, 0, 0, 0] == 0  # 0.0 is black, not the middle grey that (-1, 1) makes of it
    read_as_default = FunctionStyle(gradient, 3, 0)(np.full((1, 3), 2.0), np.zeros((1, 0)), RenderOptions())
    assert read_as_default[0, 0, 0, 0] == 128
    result = LucidSonicDream(song, style=styled).hallucinate(tmp_path / "v.mp4", fps=4, duration=1, seed=1)
    assert result.frames == 4


def test_a_bad_output_range_is_named():
    with pytest.raises(ValueError, match="output_range"):
        FunctionStyle(gradient, 3, 0, output_range=(1, 0))


def test_styles_are_checked_before_any_work(song):
    with pytest.raises(TypeError, match="input_shape"):
        LucidSonicDream(song, style=gradient)
    with pytest.raises(ValueError, match="unknown style"):
        resolve_style("no such style")
    with pytest.raises(TypeError, match="instance"):
        resolve_style(Grey)
