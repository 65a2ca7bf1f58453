"""The StyleGAN3 ("alias-free") generator in plain PyTorch: the T and R configurations of NVIDIA's files.

Written from the paper (Karras et al. 2021, "Alias-Free Generative Adversarial Networks") and the parameter layout
of the published pickles; ``state_dict()`` has exactly the keys, shapes and meaning of NVIDIA's ``G_ema``, so their
weights load with ``strict=True``. Runs on CPU, CUDA and MPS; inference only (the moving averages ``w_avg`` and
``magnitude_ema`` are read, never updated).

Signal path, one image::

    w ──> SynthesisInput: Fourier features at frequencies inside a disc, rotated/translated by an affine of w
      ──> SynthesisLayer × (num_layers + 1): modulated conv ─> bias ─> filtered leaky ReLU
              (upsample ×up with a Kaiser low-pass, leaky ReLU at the higher rate, low-pass and keep every down-th)
      ──> × output_scale ──> image

Every layer works on a discrete signal with a known sampling rate, cutoff and transition band; the last layer
(ToRGB) is a 1×1 modulated conv without demodulation or nonlinearity. The R configuration differs only in its
hyper-parameters: 1×1 convolutions and a radially symmetric (jinc) downsampling filter in the non-critical layers.

Training-only constructor arguments, accepted so that a file's stored arguments can be passed as they are, and
ignored: ``w_avg_beta`` (mapping) and ``magnitude_ema_beta`` (synthesis), the decay rates of the moving averages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal
import scipy.special
import torch
import torch.nn.functional as F

from . import layers
from .layers import EqualizedLinear, GeneratorBase
from .ops import upfirdn2d

_NOISE_MODES = ("const", "random", "none")


def _check_noise_mode(noise_mode: str) -> None:
    if noise_mode not in _NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {_NOISE_MODES}, got {noise_mode!r}")


# ---------------------------------------------------------------------------------------------------------------------
# Filter design


def lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float) -> torch.Tensor | None:
    """A separable Kaiser-windowed FIR low-pass with unit DC gain, or ``None`` for a single tap (identity).

    Parameters
    ----------
    numtaps : int
        Filter length.
    cutoff, width : float
        Cutoff frequency and full transition-band width, in the units of ``fs``.
    fs : float
        Sampling rate the filter runs at.

    Returns
    -------
    torch.Tensor [shape=(numtaps,), dtype=float32] or None
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be at least 1, got {numtaps}")
    if numtaps == 1:
        return None
    taps = scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)
    return torch.tensor(taps, dtype=torch.float32)


def radial_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float) -> torch.Tensor | None:
    """A radially symmetric 2-D FIR low-pass (windowed jinc) with unit DC gain, or ``None`` for a single tap.

    The ideal low-pass for a disc of radius ``cutoff`` has the impulse response ``cutoff * J1(2π cutoff r) / r``;
    it is tapered by the outer product of the Kaiser window that :func:`lowpass_filter` would use for the same
    length and transition band, then scaled so that its taps sum to one.

    Returns
    -------
    torch.Tensor [shape=(numtaps, numtaps), dtype=float32] or None
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be at least 1, got {numtaps}")
    if numtaps == 1:
        return None
    pos = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    radius = np.hypot(pos[np.newaxis, :], pos[:, np.newaxis])
    safe = np.where(radius > 0, radius, 1.0)
    response = np.where(radius > 0, cutoff * scipy.special.j1(2 * np.pi * cutoff * safe) / safe, np.pi * cutoff**2)
    attenuation = scipy.signal.kaiser_atten(numtaps, width / (fs / 2))
    window = scipy.signal.windows.kaiser(numtaps, scipy.signal.kaiser_beta(attenuation))
    response = response * np.outer(window, window)
    return torch.tensor(response / response.sum(), dtype=torch.float32)


# ---------------------------------------------------------------------------------------------------------------------
# Functional building blocks


def filtered_lrelu(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    up_filter: torch.Tensor | None,
    down_filter: torch.Tensor | None,
    *,
    up: int,
    down: int,
    padding: tuple[int, int, int, int],
    gain: float,
    slope: float,
    clamp: float | None,
) -> torch.Tensor:
    """Bias, then a leaky ReLU evaluated at ``up`` times the input rate between two low-pass filters.

    In order: add ``bias``; upsample ×``up`` with ``up_filter`` (DC gain kept at 1 per output sample) after
    padding the zero-stuffed image by ``padding``; ``leaky_relu(·, slope) * gain``; clamp to ±``clamp``;
    filter with ``down_filter`` (no padding) and keep every ``down``-th sample.

    Parameters
    ----------
    x : torch.Tensor [shape=(N, C, H, W)]
    bias : torch.Tensor [shape=(C,)] or None
    up_filter, down_filter : torch.Tensor [shape=(k,) separable or (k, k)] or None (identity)
    padding : (x_before, x_after, y_before, y_after)
        In pixels of the upsampled image; negative crops.

    Returns
    -------
    torch.Tensor [shape=(N, C, H', W')], the dtype of ``x``.
    """
    upsample = up_filter is not None or up != 1 or any(padding)
    if bias is not None:
        x = x + bias.to(x.dtype).reshape(1, -1, 1, 1)
    if upsample:
        x = upfirdn2d(x, up_filter, up=up, padding=padding, gain=up**2)
    # The gain moves past the clamp (scaling its bound) into the linear down-filter, which saves a pass over the
    # largest tensor of the layer; the activation and the clamp work in place once x is a tensor made here.
    x = F.leaky_relu(x, slope, inplace=upsample or bias is not None)
    if clamp is not None:
        x.clamp_(-clamp / gain, clamp / gain)
    if down_filter is not None or down != 1:
        return upfirdn2d(x, down_filter, down=down, gain=gain)
    return x * gain if gain != 1 else x


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    *,
    demodulate: bool,
    input_gain: torch.Tensor,
    padding: int,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Convolution of each sample with its own weights, ``weight`` scaled per input channel by its ``styles``.

    With ``demodulate``, each sample's output filters are then rescaled to unit L2 norm (plus a 1e-8 guard on the
    squared norm, taken after normalising the weight per output channel and the styles per sample to unit RMS, so
    the guard is scale-free). The norms come from the per-(output, input) filter energies by a matrix product, so
    the large weight tensor is read only a few times.

    Parameters
    ----------
    x : torch.Tensor [shape=(N, I, H, W)]
    weight : torch.Tensor [shape=(O, I, k, k)], float32
    styles : torch.Tensor [shape=(N, I)], float32
    input_gain : torch.Tensor [shape=()], multiplies the input
    padding : int, zeros on every side
    bias : torch.Tensor [shape=(O,)] or None, added to the output

    Returns
    -------
    torch.Tensor [shape=(N, O, H + 2*padding - k + 1, W + 2*padding - k + 1)], the dtype of ``x``.
    """
    batch, in_channels = styles.shape
    out_channels, _, kh, kw = weight.shape
    in_scale = styles * input_gain  # [N, I]
    out_scale = torch.ones(1, out_channels, dtype=weight.dtype, device=weight.device)  # [N or 1, O]
    if demodulate:
        energy = weight.square().sum(dim=(2, 3))  # [O, I]
        weight_ms = energy.mean(dim=1) / (kh * kw)  # [O] mean square per output channel
        style_ms = styles.square().mean(dim=1, keepdim=True)  # [N, 1]
        norm_sq = (styles.square() @ energy.t()) / (weight_ms * style_ms)  # [N, O], of the unit-RMS operands
        out_scale = (norm_sq + 1e-8).rsqrt() * (weight_ms * style_ms).rsqrt()
    scales = out_scale.unsqueeze(2) * in_scale.unsqueeze(1)  # [N, O, I]
    w = (weight.unsqueeze(0) * scales[..., None, None]).to(x.dtype)
    b = None if bias is None else bias.to(x.dtype)
    if batch > 1 and x.is_contiguous(memory_format=torch.channels_last):
        # One convolution per sample keeps the channels-last layout that a grouped convolution would undo.
        return torch.cat([F.conv2d(x[i : i + 1], w[i], b, padding=padding) for i in range(batch)])
    x = x.reshape(1, batch * in_channels, *x.shape[2:])
    b = None if b is None else b.repeat(batch)
    x = F.conv2d(x, w.reshape(batch * out_channels, in_channels, kh, kw), b, padding=padding, groups=batch)
    return x.reshape(batch, out_channels, *x.shape[2:])


# ---------------------------------------------------------------------------------------------------------------------
# Modules


class MappingNetwork(layers.MappingNetwork):
    """StyleGAN3's mapping network: StyleGAN2's, with two layers unless the file says otherwise."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, *, num_layers: int = 2, **kwargs) -> None:
        super().__init__(z_dim, c_dim, w_dim, num_ws, num_layers=num_layers, **kwargs)


class SynthesisInput(torch.nn.Module):
    """Fourier features: ``channels`` sinusoids sampled on a ``size × size`` grid, mixed by a learned matrix.

    The frequencies (inside a disc of radius ``bandwidth``) and phases are fixed buffers; an affine of w gives a
    rotation and a translation of the features, and the ``transform`` buffer (identity unless a caller sets it)
    is a further user-chosen inverse transform of the output image.
    """

    def __init__(
        self,
        w_dim: int,  # Intermediate latent w size.
        channels: int,  # Number of features.
        size: int,  # Output width and height, pixels.
        sampling_rate: float,  # Samples per unit length of the output grid.
        bandwidth: float,  # Largest frequency, cycles per unit length.
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.channels = channels
        self.size = int(size)
        self.sampling_rate = float(sampling_rate)
        self.bandwidth = float(bandwidth)

        # Uniform over the disc: for a 2-D standard normal of length r, exp(-r²/4) is distributed like the radius of
        # a uniform point of the unit disc (its square is uniform on [0, 1]).
        freqs = torch.randn(channels, 2)
        radii = freqs.norm(dim=1, keepdim=True)
        freqs = freqs / (radii * torch.exp(radii.square() / 4)) * bandwidth
        phases = torch.rand(channels) - 0.5

        self.weight = torch.nn.Parameter(torch.randn(channels, channels))
        self.affine = EqualizedLinear(w_dim, 4, weight_init=0.0, bias_init=[1.0, 0.0, 0.0, 0.0])
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """``w [N, w_dim]`` → features ``[N, channels, size, size]`` (float32)."""
        batch = w.shape[0]

        # The affine gives (cos, sin, tx, ty) of the inverse rotation and translation of the output image.
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        cos, sin, tx, ty = t.unbind(dim=1)
        zeros, ones = torch.zeros_like(cos), torch.ones_like(cos)
        rotation = torch.stack([cos, -sin, zeros, sin, cos, zeros, zeros, zeros, ones], dim=1).reshape(batch, 3, 3)
        translation = torch.stack([ones, zeros, -tx, zeros, ones, -ty, zeros, zeros, ones], dim=1).reshape(batch, 3, 3)
        transform = rotation @ translation @ self.transform.to(t.dtype)

        # A feature sin(2π (f·p + φ)) seen through p -> A p + b has frequency f A and phase φ + f·b.
        phases = self.phases + (self.freqs @ transform[:, :2, 2:]).squeeze(2)  # [N, C]
        freqs = self.freqs @ transform[:, :2, :2]  # [N, C, 2]

        # Fade out frequencies that the user transform pushed beyond the band the grid can carry.
        nyquist = self.sampling_rate / 2
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (nyquist - self.bandwidth)).clamp(0, 1)

        # Pixel centres, in units of the sampling period, centred on the image centre.
        coords = torch.arange(self.size, device=w.device, dtype=torch.float32) + 0.5 - self.size / 2
        coords = coords / self.sampling_rate
        cycles = (
            freqs[:, :, 0, None, None] * coords[None, None, None, :]
            + freqs[:, :, 1, None, None] * coords[None, None, :, None]
            + phases[:, :, None, None]
        )
        features = torch.sin(cycles * (2 * math.pi)) * amplitudes[:, :, None, None]
        mix = self.weight / math.sqrt(self.channels)
        return torch.einsum("nchw,oc->nohw", features, mix)

    def extra_repr(self) -> str:
        return (
            f"w_dim={self.w_dim}, channels={self.channels}, size={self.size}, "
            f"sampling_rate={self.sampling_rate:g}, bandwidth={self.bandwidth:g}"
        )


@dataclass(frozen=True)
class Band:
    """What one layer's signal is: its grid and its spectrum."""

    channels: int  # Feature maps.
    size: int  # Width and height of the sampled grid, margin included.
    sampling_rate: int  # Samples per unit length.
    cutoff: float  # Passband edge f_c.
    half_width: float  # Half the transition band, f_h: the stopband starts at cutoff + half_width.


def band_schedule(
    *,
    img_resolution: int,
    img_channels: int,
    channel_base: int,
    channel_max: int,
    num_layers: int,
    num_critical: int,
    first_cutoff: float,
    first_stopband: float,
    last_stopband_rel: float,
    margin_size: int,
) -> list[Band]:
    """The bands of the input features (index 0) and of every synthesis layer's output (1 … num_layers + 1).

    Cutoffs and stopbands grow geometrically from the first layer to the image's Nyquist frequency, reached
    ``num_critical`` layers before the end; each sampling rate is the smallest power of two that holds the stopband
    (at most the image resolution). Width falls inversely with the cutoff. The last two layers are cropped to the
    image; the last has ``img_channels`` channels.
    """
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    progress = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** progress
    stopbands = first_stopband * (last_stopband / first_stopband) ** progress
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    bands = [
        Band(int(channels[i]), int(sizes[i]), int(rates[i]), float(cutoffs[i]), float(half_widths[i]))
        for i in range(num_layers + 1)
    ]
    return [bands[0], *bands]


class SynthesisLayer(torch.nn.Module):
    """Modulated conv, bias and filtered leaky ReLU taking a signal from band ``band_in`` to ``band_out``.

    The nonlinearity runs at ``lrelu_upsampling`` × the higher of the two sampling rates; ``up_filter`` keeps the
    input band while upsampling to that rate, ``down_filter`` the output band while coming back down. The ToRGB
    layer has neither (identity filters, 1×1 conv, no demodulation, linear).
    """

    def __init__(
        self,
        w_dim: int,  # Intermediate latent w size.
        band_in: Band,  # Signal coming in.
        band_out: Band,  # Signal going out.
        *,
        is_torgb: bool,  # The final ToRGB layer?
        is_critical: bool,  # Critically sampled (cutoff at Nyquist): never a radial filter.
        fp16: bool,  # Run in float16 when on CUDA?
        conv_kernel: int = 3,  # Conv kernel size (ToRGB: always 1).
        filter_size: int = 6,  # Low-pass taps per sample of the lower rate, when resampling.
        lrelu_upsampling: int = 2,  # Rate of the nonlinearity relative to the larger of in/out rates.
        use_radial_filters: bool = False,  # Radially symmetric downsampling filter (R config)?
        conv_clamp: float | None = 256,  # Clamp of the activations to ±conv_clamp, None = none.
        magnitude_ema_beta: float = 0.999,  # Training only: decay of magnitude_ema (ignored).
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.band_in = band_in
        self.band_out = band_out
        self.is_torgb = is_torgb
        self.is_critical = is_critical
        self.fp16 = fp16
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.gain = 1.0 if is_torgb else math.sqrt(2)
        self.slope = 1.0 if is_torgb else 0.2

        self.affine = EqualizedLinear(w_dim, band_in.channels, bias_init=1.0)
        k = self.conv_kernel
        self.weight = torch.nn.Parameter(torch.randn(band_out.channels, band_in.channels, k, k))
        self.bias = torch.nn.Parameter(torch.zeros(band_out.channels))
        self.register_buffer("magnitude_ema", torch.ones(()))

        # Resampling factors to and from the rate of the nonlinearity, and the filters that keep each band.
        high_rate = max(band_in.sampling_rate, band_out.sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.up = _exact_ratio(high_rate, band_in.sampling_rate)
        self.down = _exact_ratio(high_rate, band_out.sampling_rate)
        up_taps = filter_size * self.up if self.up > 1 and not is_torgb else 1
        down_taps = filter_size * self.down if self.down > 1 and not is_torgb else 1
        self.radial = use_radial_filters and not is_critical
        down_design = radial_lowpass_filter if self.radial else lowpass_filter
        self.register_buffer("up_filter", lowpass_filter(up_taps, band_in.cutoff, band_in.half_width * 2, high_rate))
        self.register_buffer("down_filter", down_design(down_taps, band_out.cutoff, band_out.half_width * 2, high_rate))

        # Padding of the upsampled image that leaves exactly band_out.size samples after both filters. Splitting it
        # with (total + up) // 2 before keeps every sample at the centre of its pixel on both grids (the paper's
        # symmetric interpretation of sample positions, its appendix C.3).
        wanted = (band_out.size - 1) * self.down + 1
        available = (band_in.size + self.conv_kernel - 1) * self.up - (up_taps - 1) - (down_taps - 1)
        total = wanted - available
        before = (total + self.up) // 2
        self.padding = (before, total - before, before, total - before)

    def forward(self, x: torch.Tensor, w: torch.Tensor, half: bool = False) -> torch.Tensor:
        """``x [N, C_in, S_in, S_in]``, ``w [N, w_dim]`` → ``[N, C_out, S_out, S_out]``.

        With ``half`` (CUDA only), the layer computes in float16 if it is one of the file's float16 layers.
        """
        dtype = torch.float16 if half and self.fp16 else torch.float32
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / math.sqrt(self.band_in.channels * self.conv_kernel**2)
        x = modulated_conv2d(
            x.to(dtype),
            self.weight,
            styles,
            demodulate=not self.is_torgb,
            input_gain=self.magnitude_ema.rsqrt(),
            padding=self.conv_kernel - 1,
            bias=self.bias,
        )
        return filtered_lrelu(
            x,
            None,
            self.up_filter,
            self.down_filter,
            up=self.up,
            down=self.down,
            padding=self.padding,
            gain=self.gain,
            slope=self.slope,
            clamp=self.conv_clamp,
        )

    def extra_repr(self) -> str:
        return (
            f"in={self.band_in}, out={self.band_out}, up={self.up}, down={self.down}, "
            f"torgb={self.is_torgb}, critical={self.is_critical}, radial={self.radial}, fp16={self.fp16}"
        )


def _memory_format(device: torch.device) -> torch.memory_format:
    """Channels-last on the CPU, where oneDNN's depthwise (filter) convolutions are several times faster with it."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def _exact_ratio(high: int, low: int) -> int:
    ratio = int(round(high / low))
    if ratio * low != high:
        raise ValueError(f"sampling rate {high} is not an integer multiple of {low}")
    return ratio


class SynthesisNetwork(torch.nn.Module):
    """ws ``[N, num_ws, w_dim]`` → images ``[N, img_channels, img_resolution, img_resolution]`` (float32).

    Layers are registered as ``L{index}_{size}_{channels}``, the names of NVIDIA's files.
    """

    def __init__(
        self,
        w_dim: int,  # Intermediate latent w size.
        img_resolution: int,  # Output width and height.
        img_channels: int,  # Output colour channels.
        channel_base: int = 32768,  # Width scale: channels = channel_base / (2 * cutoff).
        channel_max: int = 512,  # Widest layer.
        num_layers: int = 14,  # Layers between the Fourier features and ToRGB.
        num_critical: int = 2,  # Critically sampled layers at the end.
        first_cutoff: float = 2,  # Cutoff of the first layer, f_c,0.
        first_stopband: float = 2**2.1,  # Minimum stopband of the first layer, f_t,0.
        last_stopband_rel: float = 2**0.3,  # Minimum stopband of the last layer, relative to its cutoff.
        margin_size: int = 10,  # Extra pixels computed on each side of the image.
        output_scale: float = 0.25,  # Scale of the output image.
        num_fp16_res: int = 4,  # Highest sampling rates that run in float16 on CUDA.
        **layer_kwargs: Any,  # conv_kernel, filter_size, lrelu_upsampling, use_radial_filters, ...
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.num_layers = num_layers
        self.num_ws = num_layers + 2
        self.output_scale = output_scale
        self.use_fp16 = True
        bands = band_schedule(
            img_resolution=img_resolution,
            img_channels=img_channels,
            channel_base=channel_base,
            channel_max=channel_max,
            num_layers=num_layers,
            num_critical=num_critical,
            first_cutoff=first_cutoff,
            first_stopband=first_stopband,
            last_stopband_rel=last_stopband_rel,
            margin_size=margin_size,
        )
        first = bands[0]
        self.input = SynthesisInput(w_dim, first.channels, first.size, first.sampling_rate, first.cutoff)
        self.layer_names: list[str] = []
        for idx in range(num_layers + 1):
            band_in, band_out = bands[idx], bands[idx + 1]
            layer = SynthesisLayer(
                w_dim,
                band_in,
                band_out,
                is_torgb=idx == num_layers,
                is_critical=idx >= num_layers - num_critical,
                fp16=band_out.sampling_rate * 2**num_fp16_res > img_resolution,
                **layer_kwargs,
            )
            name = f"L{idx}_{band_out.size}_{band_out.channels}"
            self.add_module(name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", force_fp32: bool = False) -> torch.Tensor:
        """``ws [N, num_ws, w_dim]`` → images ``[N, img_channels, img_resolution, img_resolution]`` (float32).

        Float16 layers run in float16 only on CUDA, when ``use_fp16`` is set and ``force_fp32`` is not.
        ``noise_mode`` is accepted for compatibility with StyleGAN2 callers; StyleGAN3 has no noise inputs.
        """
        _check_noise_mode(noise_mode)
        expected = (self.num_ws, self.w_dim)
        if not isinstance(ws, torch.Tensor) or ws.ndim != 3 or tuple(ws.shape[1:]) != expected:
            got = tuple(ws.shape) if isinstance(ws, torch.Tensor) else type(ws).__name__
            raise ValueError(f"ws must have shape [N, {expected[0]}, {expected[1]}], got {got}")
        half = self.use_fp16 and not force_fp32 and ws.device.type == "cuda"
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        x = x.contiguous(memory_format=_memory_format(x.device))
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w, half=half)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)

    def extra_repr(self) -> str:
        return (
            f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}, "
            f"img_channels={self.img_channels}, num_layers={self.num_layers}"
        )


class Generator(GeneratorBase):
    """The StyleGAN3 generator: ``G(z, c)`` → images, or ``G.synthesis(G.mapping(z, c))``.

    Takes the constructor arguments that NVIDIA's files store (``init_kwargs`` of ``G_ema``); ``state_dict()``
    matches theirs key for key.
    """

    synthesis_class = SynthesisNetwork
    mapping_class = MappingNetwork

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
        force_fp32: bool = False,
    ) -> torch.Tensor:
        """``z [N, z_dim]``, ``c [N, c_dim]`` (``None`` when ``c_dim == 0``) → images ``[N, C, R, R]`` float32.

        ``noise_mode`` is accepted for compatibility with StyleGAN2 callers; StyleGAN3 has no noise inputs.
        """
        _check_noise_mode(noise_mode)
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, force_fp32=force_fp32)
