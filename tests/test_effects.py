from __future__ import annotations

import numpy as np
import pytest

from lucidsonicdreams import EffectsGenerator, contrast_effect, flash_effect


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(40, 200, size=(8, 8, 3), dtype=np.uint8)


def test_contrast_spreads_values_with_amplitude(image):
    assert np.array_equal(contrast_effect(image, 0.5, 0.0), image)
    stronger = contrast_effect(image, 1.0, 1.0)
    assert stronger.dtype == np.uint8 and stronger.shape == image.shape
    assert stronger.astype(float).std() > image.astype(float).std() * 1.5


def test_flash_brightens_with_amplitude(image):
    assert np.array_equal(flash_effect(image, 0.5, 0.0), image)
    bright = flash_effect(image, 0.5, 1.0)
    np.testing.assert_allclose(bright, np.minimum(image * 2.0, 255), atol=1)
    white = flash_effect(image, 1.0, 1.0)
    assert white.dtype == np.uint8 and white.min() >= image.min()


def test_effects_generator_calls_func_with_keywords(image):
    seen = []

    def tint(array, strength, amplitude):
        seen.append((strength, amplitude))
        return np.zeros_like(array)

    fx = EffectsGenerator(tint, strength=0.7, percussive=False)
    assert np.all(fx.apply(image, 0.25) == 0)
    assert seen == [(0.7, 0.25)]


def test_effects_generator_rejects_bad_functions(tmp_path):
    with pytest.raises(TypeError, match="array, strength, amplitude"):
        EffectsGenerator(lambda img, s, a: img)
    with pytest.raises(TypeError, match="callable"):
        EffectsGenerator("contrast")
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        EffectsGenerator(flash_effect, audio=tmp_path / "nope.wav")
    with pytest.raises(TypeError, match="percussive"):
        EffectsGenerator(flash_effect, percussive="yes")


def test_effect_that_returns_the_wrong_thing_is_named(image):
    def shrink(array, strength, amplitude):
        return array[:4]

    with pytest.raises(TypeError, match="shrink must return a uint8 array of shape"):
        EffectsGenerator(shrink).apply(image, 0.5)


def test_a_builtin_effect_is_on_when_any_of_its_arguments_is_given(tmp_path):
    from lucidsonicdreams.effects import Contrast, EffectSettings, Flash

    stem = tmp_path / "hats.wav"
    stem.write_bytes(b"")  # only its path matters here
    assert EffectSettings(Contrast(), Flash()).chosen(None, None) == []
    on = EffectSettings(Contrast(percussive=False), Flash(strength=0.2)).chosen(None, None)
    assert [(fx.func, fx.strength, fx.percussive) for fx in on] == [(contrast_effect, 0.5, False),
                                                                    (flash_effect, 0.2, True)]
    by_stem = EffectSettings(Contrast(), Flash()).chosen(None, stem)
    assert [(fx.func, fx.audio, fx.strength) for fx in by_stem] == [(flash_effect, stem, 0.5)]
    mine = EffectsGenerator(contrast_effect, strength=1.0)
    assert EffectSettings(Contrast(), Flash(0.1), (mine,)).chosen(None, None)[-1] is mine
