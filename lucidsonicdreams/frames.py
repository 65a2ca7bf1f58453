"""Image batches to frames: dtype and layout conversion, and resizing to the video's size."""

from __future__ import annotations

import numpy as np
from PIL import Image


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
