"""What every style is: noise and class vectors in, uint8 frames out. Knows no concrete style (see
:mod:`.resolve` for the one place that maps a ``style=`` value to one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RenderOptions:
    """Per-render settings, given to every style with every batch (styles are never configured by changing them).

    size : the video's (width, height) when the user chose one; styles that can render at any size use it
    truncation_psi : StyleGAN's pull towards the average latent (1 = off)
    """

    size: tuple[int, int] | None = None
    truncation_psi: float = 1.0


class Style:
    """What the renderer needs of a style: noise and class vectors in, uint8 frames out.

    Subclass it for a style of your own (``LucidSonicDream(song, style=MyStyle())``); a plain function
    ``f(noise_batch, class_batch)`` works too.
    """

    input_shape: int  # noise vector length at the style's own size
    num_possible_classes: int  # 0 for an unconditional model

    def input_shape_for(self, options: RenderOptions) -> int:
        """The noise vector length for a render with these options (most styles: always ``input_shape``)."""
        return self.input_shape

    def bytes_per_pixel(self, options: RenderOptions) -> int:
        """Memory the style holds per output pixel during a render, for the memory check before it starts."""
        return 0

    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        """Images for a batch: uint8, shape (batch, height, width, 3)."""
        raise NotImplementedError
