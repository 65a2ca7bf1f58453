from __future__ import annotations

import numpy as np
import pytest
import torch

from lucidsonicdreams.style.function import to_uint8_frames
from lucidsonicdreams.utils.fit import fit_frame


def test_float_images_in_minus_one_to_one_by_default():
    batch = np.stack([np.full((4, 4, 3), -1.0), np.full((4, 4, 3), 1.0), np.zeros((4, 4, 3))])
    out = to_uint8_frames(batch)
    assert out.dtype == np.uint8 and out.shape == (3, 4, 4, 3)
    assert out[0].max() == 0 and out[1].min() == 255 and out[2].max() in (127, 128)


def test_stated_zero_to_one_range_and_nchw_tensors():
    batch = torch.ones(2, 3, 5, 6) * 0.5
    out = to_uint8_frames(batch, (0.0, 1.0))
    assert out.shape == (2, 5, 6, 3) and np.all(out == 128)


def test_uint8_passes_through_and_bad_shapes_are_named():
    frames = np.arange(2 * 3 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3, 3)
    assert np.array_equal(to_uint8_frames(frames), frames)
    with pytest.raises(TypeError, match="got shape"):
        to_uint8_frames(np.zeros((2, 4, 4, 2)))
    with pytest.raises(TypeError, match="uint8 or float"):
        to_uint8_frames(np.zeros((1, 4, 4, 3), dtype=np.int32))


@pytest.mark.parametrize("size", [(64, 64), (48, 48), (64, 36), (36, 64), (101, 57)])
def test_fit_frame_fills_and_crops(size):
    frame = np.zeros((32, 32, 3), dtype=np.uint8)
    frame[:, :16] = 255  # left half white
    out = fit_frame(frame, size)
    assert out.shape == (size[1], size[0], 3)
    assert out[:, : size[0] // 2 - 2].min() == 255 and out[:, size[0] // 2 + 2 :].max() == 0


def test_fit_frame_without_size_is_identity():
    frame = np.zeros((5, 7, 3), dtype=np.uint8)
    assert fit_frame(frame, None) is frame and fit_frame(frame, (7, 5)) is frame
