"""Several styles in one render, as a timeline's style keyframes ask: each frame is drawn by the styles it shows
and blended by their weights. The noise rows carry every style's own noise, one after another, then the weights;
the class rows carry every style's classes the same way. Frames a style has no weight in are not drawn by it."""

from __future__ import annotations

import numpy as np

from ..utils.fit import fit_frame
from .base import RenderOptions, Style


class CrossfadeStyle(Style):
    """``styles[0]`` is the render's own style, the others those its keyframes switch to."""

    def __init__(self, styles: list[Style]) -> None:
        self.styles = list(styles)
        self.num_possible_classes = sum(s.num_possible_classes for s in self.styles)
        self.input_shape = sum(s.input_shape for s in self.styles) + len(self.styles)

    def input_shape_for(self, options: RenderOptions) -> int:
        return sum(s.input_shape_for(options) for s in self.styles) + len(self.styles)

    def bytes_per_pixel(self, options: RenderOptions) -> int:
        return sum(s.bytes_per_pixel(options) for s in self.styles)

    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        if options.size is None:
            raise ValueError("styles switched by a timeline draw at their own sizes: give the render a resolution")
        noise_batch, class_batch = np.asarray(noise_batch), np.asarray(class_batch)
        weights = noise_batch[:, -len(self.styles):]
        width, height = options.size
        out = np.zeros((len(noise_batch), height, width, 3), np.float32)
        solo = np.zeros((len(noise_batch), height, width, 3), np.uint8)
        alone = np.isclose(weights, 1.0) & (weights.sum(axis=1, keepdims=True) <= 1.0 + 1e-6)
        noise_at = class_at = 0
        for k, style in enumerate(self.styles):
            dim, classes = style.input_shape_for(options), style.num_possible_classes
            rows = np.flatnonzero(weights[:, k] > 0)
            if len(rows):
                images = style(noise_batch[rows, noise_at : noise_at + dim],
                               class_batch[rows, class_at : class_at + classes], options)
                for row, image in zip(rows, images):
                    image = fit_frame(image, options.size)
                    if alone[row, k]:
                        solo[row] = image  # one style alone: its frame exactly
                    else:
                        out[row] += weights[row, k] * image
            noise_at, class_at = noise_at + dim, class_at + classes
        blended = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return np.where(alone.any(axis=1)[:, None, None, None], solo, blended)
