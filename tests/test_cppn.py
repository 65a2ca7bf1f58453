from __future__ import annotations

import numpy as np
import pytest

from lucidsonicdreams.style import RenderOptions
from lucidsonicdreams.style.cppn import CPPNStyle


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 128)), rng.random((2, 12))


def render(seed, noise, classes, size=(48, 48)):
    return CPPNStyle(seed)(noise, classes, RenderOptions(size=size))


def test_output_shape_and_type(inputs):
    out = render(0, *inputs, size=(40, 24))
    assert out.shape == (2, 24, 40, 3) and out.dtype == np.uint8


def test_same_seed_same_images_other_seed_other_images(inputs):
    assert np.array_equal(render(3, *inputs), render(3, *inputs))
    assert np.abs(render(3, *inputs).astype(int) - render(4, *inputs)).mean() > 10


def test_images_vary_with_noise_and_classes(inputs):
    noise, classes = inputs
    base = render(1, noise, classes)
    moved = render(1, noise + 0.5, classes)
    other_classes = render(1, noise, np.roll(classes, 3, axis=1))
    assert np.abs(base.astype(int) - moved).mean() > 5
    assert np.abs(base.astype(int) - other_classes).mean() > 5
    assert base.std() > 20  # not a flat colour


def test_small_latent_steps_give_small_image_changes(inputs):
    noise, classes = inputs
    a, b = render(2, noise, classes), render(2, noise + 0.01, classes)
    assert np.abs(a.astype(int) - b).mean() < 3


def test_wide_frame_is_the_centre_of_the_square_image(inputs):
    square = render(5, *inputs, size=(64, 64))
    wide = render(5, *inputs, size=(64, 32))
    np.testing.assert_array_equal(wide, square[:, 16:48])
