"""The built-in ``cppn`` style: a compositional pattern-producing network.

Every pixel's colour is a small MLP of its coordinates, conditioned per frame on the latent vector and the
class vector. The weights are random but fixed by a seed, so a seed is a look. It needs no download and no
GPU, and renders at any resolution without resizing.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .base import RenderOptions, Style

Z_DIM = 128
NUM_CLASSES = 12
DEFAULT_SIZE = 512

# Pixels are processed in tiles that keep every intermediate inside the CPU cache; on the 2-core reference
# machine this is about 6x faster than one pass over the whole image, which is bound by memory bandwidth.
_TILE_PIXELS = 8192


class CPPNStyle(Style):
    """A seeded CPPN that turns batches of (noise, class) vectors into images.

    Parameters
    ----------
    seed : int
        Fixes every weight of the network.
    device : str or torch.device
        Where the network runs.
    hidden : int
        Width of the hidden layers.
    layers : int
        Number of hidden layers.
    fourier_features : int
        Number of random sinusoidal coordinate features (more gives finer detail).
    """

    name = "cppn"
    input_shape = Z_DIM
    num_possible_classes = NUM_CLASSES

    def __init__(
        self,
        seed: int,
        device: str | torch.device = "cpu",
        *,
        hidden: int = 32,
        layers: int = 4,
        fourier_features: int = 12,
    ) -> None:
        self.device = torch.device(device)
        gen = torch.Generator().manual_seed(int(seed) % 2**63)

        def normal(*shape: int, std: float) -> torch.Tensor:
            return (torch.randn(*shape, generator=gen) * std).to(self.device)

        n_in = 3 + 2 * fourier_features
        self._freqs = normal(2, fourier_features, std=3.0)
        self._w_in = normal(n_in, hidden, std=1.6 / math.sqrt(n_in))
        self._w_hidden = [normal(hidden, hidden, std=2.2 / math.sqrt(hidden)) for _ in range(layers - 1)]
        self._w_out = normal(hidden, 3, std=1.8 / math.sqrt(hidden))
        # Per-frame conditioning: every layer gets a bias from z and c; the first layer also a gain from z.
        self._z_bias = normal(Z_DIM, layers * hidden, std=1.0 / math.sqrt(Z_DIM))
        self._c_bias = normal(NUM_CLASSES, layers * hidden, std=1.0 / math.sqrt(NUM_CLASSES))
        self._z_gain = normal(Z_DIM, hidden, std=0.6 / math.sqrt(Z_DIM))
        self._c_colour = normal(NUM_CLASSES, 3, std=1.0 / math.sqrt(NUM_CLASSES))
        self._hidden = hidden
        self._layers = layers
        self._first_layer: dict[tuple[int, int], torch.Tensor] = {}

    def bytes_per_pixel(self, options: RenderOptions) -> int:
        """The cached first layer (float32) and the uint8 output."""
        return 4 * self._hidden + 3

    def _coordinates(self, width: int, height: int) -> torch.Tensor:
        """First-layer pre-activations of every pixel, shape (height * width, hidden), cached per size."""
        key = (width, height)
        if key not in self._first_layer:
            # A non-square frame shows the centre of the square image that covers it (fill, then crop).
            side = max(width, height)
            xs = (torch.arange(width, device=self.device) - (width - 1) / 2) * (2 / max(side - 1, 1))
            ys = (torch.arange(height, device=self.device) - (height - 1) / 2) * (2 / max(side - 1, 1))
            y, x = torch.meshgrid(ys, xs, indexing="ij")
            xy = torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)
            phase = xy @ self._freqs
            feats = torch.cat([xy, xy.norm(dim=1, keepdim=True), torch.sin(phase), torch.cos(phase)], dim=1)
            self._first_layer = {key: feats @ self._w_in}
        return self._first_layer[key]

    @torch.inference_mode()
    def __call__(self, noise_batch: np.ndarray, class_batch: np.ndarray, options: RenderOptions) -> np.ndarray:
        """Render a batch.

        Parameters
        ----------
        noise_batch : np.ndarray [shape=(batch, 128)]
        class_batch : np.ndarray [shape=(batch, 12)]

        Returns
        -------
        np.ndarray [shape=(batch, height, width, 3), dtype=uint8]
            ``options.size = (width, height)``, or ``DEFAULT_SIZE`` square.
        """
        z = torch.as_tensor(np.asarray(noise_batch, dtype=np.float32), device=self.device)
        c = torch.as_tensor(np.asarray(class_batch, dtype=np.float32), device=self.device)
        width, height = options.size or (DEFAULT_SIZE, DEFAULT_SIZE)
        first = self._coordinates(width, height)
        biases = (z @ self._z_bias + c @ self._c_bias).view(len(z), self._layers, self._hidden)
        gains = 1.0 + torch.tanh(z @ self._z_gain)
        colour = c @ self._c_colour
        out = torch.empty(len(z), height * width, 3, dtype=torch.uint8, device=self.device)
        for b in range(len(z)):
            for lo in range(0, first.shape[0], _TILE_PIXELS):
                h = torch.sin(first[lo : lo + _TILE_PIXELS] * gains[b] + biases[b, 0])
                for i, w in enumerate(self._w_hidden, start=1):
                    h = torch.addmm(biases[b, i], h, w)
                    h = torch.tanh(h) if i % 2 else torch.sin(h)
                rgb = torch.sigmoid(torch.addmm(colour[b], h, self._w_out))
                out[b, lo : lo + _TILE_PIXELS] = (rgb * 255 + 0.5).to(torch.uint8)
        return out.view(len(z), height, width, 3).cpu().numpy()
