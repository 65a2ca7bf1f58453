"""Frames to the video's size: scaled to fill it and centre-cropped."""

from __future__ import annotations

import numpy as np
from PIL import Image


def fit_frame(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Scale a frame to fill ``size = (width, height)`` and centre-crop it (a plain resize for the same aspect)."""
    height, width = frame.shape[:2]
    if size is None or size == (width, height):
        return frame
    target_w, target_h = size
    scale = max(target_w / width, target_h / height)
    scaled_w, scaled_h = max(target_w, round(width * scale)), max(target_h, round(height * scale))
    image = Image.fromarray(frame).resize((scaled_w, scaled_h), Image.BILINEAR)
    left, top = (scaled_w - target_w) // 2, (scaled_h - target_h) // 2
    return np.asarray(image.crop((left, top, left + target_w, top + target_h)))
