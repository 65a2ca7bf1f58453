"""StyleGAN2/2-ADA/3 generators (this package's own PyTorch networks, :mod:`lucidsonicdreams.models`) as a
style."""

from __future__ import annotations

import numpy as np
import torch

from .base import RenderOptions, Style


class StyleGANStyle(Style):
    """A StyleGAN generator driven by noise vectors (z) and, for conditional models, class vectors (c)."""

    def __init__(self, generator: torch.nn.Module) -> None:
        self.generator = generator
        self.input_shape = int(generator.z_dim)
        self.num_possible_classes = int(generator.c_dim)
        self.device = next(generator.parameters()).device

    @torch.inference_mode()
    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        z = torch.as_tensor(np.asarray(noise_batch, dtype=np.float32), device=self.device)
        c = torch.as_tensor(np.asarray(class_batch, dtype=np.float32), device=self.device) if \
            self.num_possible_classes else None
        images = self.generator(z, c, truncation_psi=options.truncation_psi, noise_mode="const")
        # On the device, so only uint8 crosses to the host; the same rounding as NVIDIA's generate scripts.
        images = (images.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
        if images.shape[-1] == 1:
            images = images.expand(-1, -1, -1, 3)
        return images.cpu().numpy()


