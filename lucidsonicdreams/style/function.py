"""A user's function ``f(noise_batch, class_batch)`` as a style, and the conversion of any image batch to
uint8 frames."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

import numpy as np

from ..utils import checks as validation
from .base import RenderOptions, Style


def to_uint8_frames(images, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Turn a generator's output into uint8 frames.

    images : array or torch tensor [shape=(batch, H, W, 3) or (batch, 3, H, W)], uint8, or float in
        ``value_range``.
    Returns np.ndarray [shape=(batch, H, W, 3), dtype=uint8]
    """
    if hasattr(images, "detach"):
        images = images.detach().float().cpu().numpy() if images.is_floating_point() else images.cpu().numpy()
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or 3 not in (images.shape[1], images.shape[3]):
        raise TypeError(
            f"style must return a batch of RGB images shaped (batch, H, W, 3) or (batch, 3, H, W); "
            f"got shape {images.shape}"
        )
    if images.shape[3] != 3:
        images = images.transpose(0, 2, 3, 1)
    if images.dtype == np.uint8:
        return np.ascontiguousarray(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"style must return uint8 or float images, got {images.dtype}")
    lo, hi = value_range
    scaled = (np.nan_to_num(images, nan=lo) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


class FunctionStyle(Style):
    """A function ``f(noise_batch, class_batch)`` that returns images, as a style.

    uint8 images are used as they are; float images are read as ``output_range`` (default ``(-1, 1)``,
    StyleGAN's convention; ``(0, 1)`` for [0, 1] images). Pass ``style=FunctionStyle(f, 512, 0,
    output_range=(0, 1))``; ``style=f`` with ``input_shape`` and ``num_possible_classes`` works too (0.4 scripts),
    and then an ``f.output_range`` attribute is read if present. A function that also names ``size`` or
    ``truncation_psi`` among its parameters gets those render options, like every other style.
    """

    def __init__(self, func: Callable, input_shape: int, num_possible_classes: int,
                 output_range: tuple[float, float] | None = None) -> None:
        self.func = validation.function("style function", func, ("noise_batch", "class_batch"))
        # Only options the function names: one taking **kwargs (e.g. to pass on) gets just the two vectors.
        self.option_names = validation.keyword_parameters(
            func, [f.name for f in fields(RenderOptions)], through_kwargs=False) or []
        self.input_shape = int(validation.number("input_shape", input_shape, low=1, integer=True))
        self.num_possible_classes = int(validation.number("num_possible_classes", num_possible_classes, low=0,
                                                          integer=True))
        value_range = output_range if output_range is not None else getattr(func, "output_range", (-1.0, 1.0))
        if len(value_range) != 2 or not value_range[0] < value_range[1]:
            raise ValueError(f"style function's output_range must be (low, high) with low < high, got {value_range!r}")
        self.value_range = (float(value_range[0]), float(value_range[1]))

    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        extra = {name: getattr(options, name) for name in self.option_names}
        # A copy: the function may reuse its output buffer while earlier frames still wait for the encoder.
        images = np.array(to_uint8_frames(self.func(noise_batch=noise_batch, class_batch=class_batch, **extra),
                                          self.value_range))
        if len(images) != len(noise_batch):
            raise TypeError(f"style function returned {len(images)} images for a batch of {len(noise_batch)}")
        return images
