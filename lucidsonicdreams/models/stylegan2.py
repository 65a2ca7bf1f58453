"""The StyleGAN2 generator (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

Written from the paper for inference. The parameter and buffer names, shapes and meanings follow the layout of the
generator stored in NVIDIA's StyleGAN2-ADA and StyleGAN3 PyTorch files, so their state dicts load with
``load_state_dict(strict=True)`` and give the same images.

Data flow::

    z [N, z_dim], c [N, c_dim] ──> MappingNetwork ──> ws [N, num_ws, w_dim] ──> SynthesisNetwork ──> img [N, C, R, R]

The synthesis network is a chain of :class:`SynthesisBlock` s, one per resolution 4, 8, ..., R. Each block runs two
:class:`StyledConv` layers (modulated 3x3 convolution, noise, bias, activation) and, depending on the architecture,
a :class:`ToRGB` layer whose output is added to the upsampled image of the previous block.

Equalized learning rate: weights are stored at unit variance and scaled at use (``1 / sqrt(fan_in)``, times the
learning-rate multiplier in the mapping network), so stored values load unchanged.

dtypes: parameters are float32. On CUDA the ``num_fp16_res`` highest resolutions run in float16, with activations
clamped to ``conv_clamp``; on CPU and MPS everything runs in float32 (set ``Generator.use_fp16 = False`` to force it on
CUDA too). Images come out as float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .layers import EqualizedLinear, GeneratorBase, MappingNetwork, activate_, activation_named, describe_input
from .ops import make_fir_filter, upfirdn2d

NOISE_MODES = ("const", "random", "none")
ARCHITECTURES = ("orig", "skip", "resnet")

# Synthesis keyword arguments that only steer training in NVIDIA's code; accepted and ignored here.
TRAINING_ONLY_KWARGS = ("fused_modconv_default",)
# Every synthesis keyword argument the generator takes, in either of NVIDIA's layouts.
SYNTHESIS_KWARGS = (
    "channel_base",
    "channel_max",
    "num_fp16_res",
    "architecture",
    "resample_filter",
    "conv_clamp",
    "fp16_channels_last",
    "kernel_size",
    "use_noise",
    "activation",
    *TRAINING_ONLY_KWARGS,
)


def _is_channels_last(x: torch.Tensor) -> bool:
    """Whether ``x [N, C, H, W]`` is laid out channels-last (and not also plain contiguous)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _upsample_padding(f: torch.Tensor, up: int) -> list[int]:
    """Padding ``[x0, x1, y0, y1]`` that makes ``upfirdn2d(x, f, up)`` produce exactly ``up`` times the input size."""
    fw, fh = f.shape[-1], f.shape[0]
    return [(fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2]


class StyledConv(nn.Module):
    """One synthesis layer: style-modulated, demodulated convolution (optionally upsampling 2x), noise, bias,
    activation and clamping.

    ``up=2`` is a stride-2 transposed convolution followed by the FIR low-pass filter ``resample_filter``.
    """

    def __init__(
        self,
        in_channels: int,  # input feature maps
        out_channels: int,  # output feature maps
        w_dim: int,  # width of the w vector that sets the style
        resolution: int,  # output height and width
        *,
        kernel_size: int = 3,  # convolution kernel size (odd)
        up: int = 1,  # 1, or 2 to double the resolution
        use_noise: bool = True,  # add per-pixel noise scaled by the learned noise_strength
        activation: str = "lrelu",  # activation after the bias
        resample_filter: Sequence[float] = (1, 3, 3, 1),  # FIR taps of the upsampling low-pass filter
        conv_clamp: float | None = None,  # clamp outputs to +-conv_clamp, None = no clamping
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.act = activation_named(activation)
        self.conv_clamp = conv_clamp
        self.padding = kernel_size // 2
        self.register_buffer("resample_filter", make_fir_filter(resample_filter))
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self._prepared: tuple | None = None  # (weight identity, conv weight, squared-tap sums), see below

    def _noise(self, x: torch.Tensor, noise_mode: str) -> torch.Tensor | None:
        """Noise to add to the convolution output, ``[N or 1, 1, R, R]`` float32, or None."""
        if not self.use_noise or noise_mode == "none":
            return None
        if noise_mode == "const":
            return (self.noise_const * self.noise_strength)[None, None]
        shape = (x.shape[0], 1, self.resolution, self.resolution)
        return torch.randn(shape, device=x.device) * self.noise_strength

    def _prepared_weight(
        self, memory_format: torch.memory_format = torch.contiguous_format
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight laid out for the shared convolution (``[O, I, k, k]``, or ``[I, O, k, k]`` for the transposed
        one, in ``memory_format``) and the sums of its squared taps ``[O, I]``; both are recomputed only when the
        weight or the layout changes.
        """
        w = self.weight
        key = (w.device, w.data_ptr(), w._version, memory_format)
        if self._prepared is None or self._prepared[0] != key:
            w = w.detach()
            conv_weight = w.transpose(0, 1) if self.up > 1 else w
            self._prepared = (key, conv_weight.contiguous(memory_format=memory_format), w.square().sum(dim=(2, 3)))
        return self._prepared[1], self._prepared[2]

    def _styles(
        self, w: torch.Tensor, sq_sums: torch.Tensor, fp16: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Styles ``[N, I]``, demodulation factors ``[N, O]`` (from the weight's squared-tap sums ``[O, I]``) and,
        for float16, a per-output-channel weight scale ``[O]`` (None otherwise).

        In float16 the styles and the weight are scaled down so that products stay in range; demodulation
        cancels both factors.
        """
        styles = self.affine(w)
        weight_scale = None
        if fp16:
            fan_in = self.weight[0].numel()
            weight_scale = 1 / (math.sqrt(fan_in) * self.weight.detach().abs().amax(dim=(1, 2, 3)))
            sq_sums = sq_sums * weight_scale[:, None].square()
            styles = styles / styles.abs().amax(dim=1, keepdim=True)
        # |W_o * s|^2 summed over inputs and taps = sum_i s_i^2 * |W_oi|^2
        dcoefs = (styles.square() @ sq_sums.t() + 1e-8).rsqrt()
        return styles, dcoefs, weight_scale

    def _upsample_filter(self, y: torch.Tensor) -> torch.Tensor:
        """Low-pass filter the output of the stride-2 transposed convolution down to ``resolution`` pixels.

        The transposed convolution spans ``(R/2 - 1) * up + k`` pixels: trim or pad it so the filter returns R.
        """
        k, p, up = self.weight.shape[-1], self.padding, self.up
        px0, px1, py0, py1 = _upsample_padding(self.resample_filter, up)
        pad = [px0 + p - (k - 1), px1 + p - (k - up), py0 + p - (k - 1), py1 + p - (k - up)]
        return upfirdn2d(y, self.resample_filter, padding=pad, gain=up**2)

    def _conv_shared(self, x: torch.Tensor, weight: torch.Tensor, weight_scale: torch.Tensor | None) -> torch.Tensor:
        """Convolve the (already modulated) ``x [N, I, H, W]`` with the prepared weight, scaled per output channel
        by ``weight_scale`` if given.
        """
        if weight_scale is not None:
            weight = weight * (weight_scale[:, None, None, None] if self.up == 1 else weight_scale[:, None, None])
        weight = weight.to(x.dtype)
        if self.up == 1:
            return F.conv2d(x, weight, padding=self.padding)
        return self._upsample_filter(F.conv_transpose2d(x, weight, stride=self.up))

    def _conv_grouped(self, x: torch.Tensor, per_sample: torch.Tensor) -> torch.Tensor:
        """Convolve each sample of ``x [N, I, H, W]`` with its own weight ``per_sample [N, O, I, k, k]``."""
        n, o, i, k, _ = per_sample.shape
        x = x.reshape(1, n * i, *x.shape[2:])
        if self.up == 1:
            y = F.conv2d(x, per_sample.reshape(n * o, i, k, k), padding=self.padding, groups=n)
        else:
            weight = per_sample.transpose(1, 2).reshape(n * i, o, k, k)
            y = self._upsample_filter(F.conv_transpose2d(x, weight, stride=self.up, groups=n))
        return y.reshape(n, o, *y.shape[2:])

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "const",
        gain: float = 1.0,
        fused: bool = False,
    ) -> torch.Tensor:
        """Features ``x [N, I, R/up, R/up]`` and ``w [N, w_dim]`` → ``[N, O, R, R]`` in ``x.dtype``.

        ``gain`` scales the output (and the clamp); ``fused`` convolves with per-sample weights in one grouped
        convolution instead of scaling the activations before and after a shared convolution.
        """
        fmt = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
        conv_weight, sq_sums = self._prepared_weight(fmt)
        styles, dcoefs, weight_scale = self._styles(w, sq_sums, fp16=x.dtype == torch.float16)
        noise = self._noise(x, noise_mode)
        out_gain = self.act.gain * gain
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        # Fold the output gain into the demodulation when the activation allows it: one pass less over x.
        fold = out_gain if self.act.scale_commutes else 1.0
        scale = dcoefs * fold
        if fused:
            weight = self.weight if weight_scale is None else self.weight * weight_scale[:, None, None, None]
            per_sample = weight[None] * (styles[:, None, :, None, None] * scale[:, :, None, None, None])
            y = self._conv_grouped(x, per_sample.to(x.dtype))
        else:
            y = self._conv_shared(x * styles.to(x.dtype)[:, :, None, None], conv_weight, weight_scale)
            y = y.mul_(scale.to(x.dtype)[:, :, None, None])
        if noise is not None:
            y = y.add_((noise * fold).to(x.dtype))
        y = y.add_((self.bias * fold).to(x.dtype)[None, :, None, None])
        return activate_(y, self.act, out_gain / fold, clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 convolution (no demodulation) from features to image channels, plus bias and clamping."""

    def __init__(
        self,
        in_channels: int,  # input feature maps
        out_channels: int,  # image channels
        w_dim: int,  # width of the w vector that sets the style
        *,
        conv_clamp: float | None = None,  # clamp outputs to +-conv_clamp, None = no clamping
    ) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Features ``x [N, I, R, R]`` and ``w [N, w_dim]`` → ``[N, img_channels, R, R]`` in ``x.dtype``."""
        n, c, h, wd = x.shape
        styles = self.affine(w) * self.weight_gain
        per_sample = (self.weight[None, :, :, 0, 0] * styles[:, None, :]).to(x.dtype)  # [N, O, I]
        if _is_channels_last(x):
            y = torch.bmm(x.permute(0, 2, 3, 1).reshape(n, h * wd, c), per_sample.transpose(1, 2))
            y = y.reshape(n, h, wd, -1).permute(0, 3, 1, 2)
        else:
            y = torch.bmm(per_sample, x.reshape(n, c, h * wd)).reshape(n, -1, h, wd)
        y = y.add_(self.bias.to(x.dtype)[None, :, None, None])
        return y if self.conv_clamp is None else y.clamp_(-self.conv_clamp, self.conv_clamp)


class UpsampleSkip(nn.Module):
    """The residual branch of a 'resnet' block: 1x1 convolution without bias, then 2x FIR upsampling."""

    def __init__(
        self,
        in_channels: int,  # input feature maps
        out_channels: int,  # output feature maps
        *,
        resample_filter: Sequence[float] = (1, 3, 3, 1),  # FIR taps of the upsampling low-pass filter
    ) -> None:
        super().__init__()
        self.register_buffer("resample_filter", make_fir_filter(resample_filter))
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """``x [N, I, R/2, R/2]`` → ``[N, O, R, R]``, scaled by ``gain``."""
        x = F.conv2d(x, (self.weight * (self.weight_gain * gain)).to(x.dtype))
        f = self.resample_filter
        return upfirdn2d(x, f, up=2, padding=_upsample_padding(f, 2), gain=4)


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: (learned constant or 2x upsampling conv), conv, and the image path."""

    def __init__(
        self,
        in_channels: int,  # feature maps coming in, 0 = first block (starts from a learned constant)
        out_channels: int,  # feature maps going out
        w_dim: int,  # intermediate latent width
        resolution: int,  # output height and width of this block
        img_channels: int,  # image channels
        is_last: bool,  # the block at the output resolution
        *,
        architecture: str = "skip",  # 'orig', 'skip' or 'resnet'
        resample_filter: Sequence[float] = (1, 3, 3, 1),  # FIR taps of the upsampling low-pass filter
        conv_clamp: float | None = None,  # clamp conv outputs to +-conv_clamp, None = no clamping
        use_fp16: bool = False,  # run in float16 (on CUDA only)
        fp16_channels_last: bool = False,  # with float16, keep features channels-last
        **layer_kwargs,  # kernel_size, use_noise, activation for the StyledConv layers
    ) -> None:
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.img_channels = img_channels
        self.is_last = is_last
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.channels_last = use_fp16 and fp16_channels_last
        self.register_buffer("resample_filter", make_fir_filter(resample_filter))
        conv_kwargs = dict(conv_clamp=conv_clamp, **layer_kwargs)
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = StyledConv(
                in_channels, out_channels, w_dim, resolution, up=2, resample_filter=resample_filter, **conv_kwargs
            )
        # conv1 does not resample; the files store the default filter for it whatever `resample_filter` says.
        self.conv1 = StyledConv(out_channels, out_channels, w_dim, resolution, **conv_kwargs)
        self.has_torgb = is_last or architecture == "skip"
        if self.has_torgb:
            self.torgb = ToRGB(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        if in_channels != 0 and architecture == "resnet":
            self.skip = UpsampleSkip(in_channels, out_channels, resample_filter=resample_filter)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = int(self.has_torgb)

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        *,
        dtype: torch.dtype = torch.float32,
        noise_mode: str = "const",
        fused: bool = False,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features ``x [N, in, R/2, R/2]`` (None for the first block), image ``img [N, C, R/2, R/2]`` float32 or
        None, and ``ws [N, num_conv + num_torgb, w_dim]`` → features ``[N, out, R, R]`` in ``dtype`` and the image
        ``[N, C, R, R]`` float32 (None until a block draws one).
        """
        fmt = memory_format
        w = ws.unbind(dim=1)
        if self.in_channels == 0:
            x = self.const.to(dtype)[None].expand(ws.shape[0], -1, -1, -1).contiguous(memory_format=fmt)
            x = self.conv1(x, w[0], noise_mode, fused=fused)
        else:
            x = x.to(dtype=dtype, memory_format=fmt)
            if self.architecture == "resnet":
                y = self.skip(x, gain=math.sqrt(0.5))
                x = self.conv0(x, w[0], noise_mode, fused=fused)
                x = self.conv1(x, w[1], noise_mode, gain=math.sqrt(0.5), fused=fused).add_(y)
            else:
                x = self.conv0(x, w[0], noise_mode, fused=fused)
                x = self.conv1(x, w[1], noise_mode, fused=fused)
        if img is not None:
            f = self.resample_filter
            img = upfirdn2d(img, f, up=2, padding=_upsample_padding(f, 2), gain=4)
        if self.has_torgb:
            rgb = self.torgb(x, w[self.num_conv]).to(dtype=torch.float32, memory_format=torch.contiguous_format)
            img = rgb if img is None else img.add_(rgb)
        return x, img


class SynthesisNetwork(nn.Module):
    """Turns intermediate latents ``ws`` into images, one :class:`SynthesisBlock` per resolution 4..R."""

    def __init__(
        self,
        w_dim: int,  # intermediate latent width
        img_resolution: int,  # output height and width, a power of 2 >= 4
        img_channels: int,  # image channels
        *,
        channel_base: int = 32768,  # feature maps at resolution r are min(channel_base // r, channel_max)
        channel_max: int = 512,  # most feature maps in any block
        num_fp16_res: int = 4,  # run the highest this many resolutions in float16 (on CUDA only)
        **block_kwargs,  # architecture, resample_filter, conv_clamp, fp16_channels_last, layer kwargs
    ) -> None:
        if img_resolution < 4 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of 2 and at least 4, got {img_resolution}")
        super().__init__()
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.use_fp16 = True
        self.fused_modconv: bool | None = None
        log2 = int(math.log2(img_resolution))
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions}
        fp16_from = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for r in self.block_resolutions:
            block = SynthesisBlock(
                channels[r // 2] if r > 4 else 0,
                channels[r],
                w_dim,
                r,
                img_channels,
                is_last=r == img_resolution,
                use_fp16=r >= fp16_from,
                **block_kwargs,
            )
            self.add_module(f"b{r}", block)
            self.num_ws += block.num_conv
        self.num_ws += block.num_torgb

    def _fused(self, device: torch.device, batch: int, dtype: torch.dtype) -> bool:
        """Grouped convolution with per-sample weights, or shared weights with scaled activations."""
        if self.fused_modconv is not None:
            return self.fused_modconv
        return device.type == "cuda" and (batch == 1 or dtype == torch.float32)

    def _memory_format(self, device: torch.device, block: SynthesisBlock, dtype: torch.dtype) -> torch.memory_format:
        """Channels-last on the CPU, where oneDNN convolves it faster, and for float16 blocks whose file asks."""
        if device.type == "cpu" or (block.channels_last and dtype == torch.float16):
            return torch.channels_last
        return torch.contiguous_format

    @torch.no_grad()
    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        """Intermediate latents to images.

        Parameters
        ----------
        ws : torch.Tensor [shape=(N, num_ws, w_dim)]
        noise_mode : {'const', 'random', 'none'}
            'const' adds the stored noise images (deterministic), 'random' fresh noise, 'none' no noise.

        Returns
        -------
        torch.Tensor [shape=(N, img_channels, img_resolution, img_resolution), dtype=float32]
            Images in about [-1, 1].
        """
        if not isinstance(ws, torch.Tensor) or ws.ndim != 3 or tuple(ws.shape[1:]) != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must be a tensor of shape [N, {self.num_ws}, {self.w_dim}], got {describe_input(ws)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        ws = ws.to(torch.float32)
        x = img = None
        start = 0
        for r in self.block_resolutions:
            block = getattr(self, f"b{r}")
            fp16 = self.use_fp16 and block.use_fp16 and ws.device.type == "cuda"
            dtype = torch.float16 if fp16 else torch.float32
            block_ws = ws[:, start : start + block.num_conv + block.num_torgb]
            fused = self._fused(ws.device, ws.shape[0], dtype)
            fmt = self._memory_format(ws.device, block, dtype)
            x, img = block(x, img, block_ws, dtype=dtype, noise_mode=noise_mode, fused=fused, memory_format=fmt)
            start += block.num_conv
        return img


class Generator(GeneratorBase):
    """The StyleGAN2 generator: :class:`MappingNetwork` then :class:`SynthesisNetwork`.

    Takes the constructor arguments NVIDIA's files store for their generator (``G._init_kwargs``), in either
    layout: StyleGAN3's networks_stylegan2 passes synthesis arguments as keywords, StyleGAN2-ADA nests them in
    ``synthesis_kwargs={...}``. Unset synthesis arguments take that version's defaults (``num_fp16_res`` 4 and
    ``conv_clamp`` 256 for StyleGAN3's, 0 and None for StyleGAN2-ADA's). ``fused_modconv_default`` and
    ``mapping_kwargs['w_avg_beta']`` only steer training and are ignored (except that ``w_avg_beta=None`` means
    the file has no ``w_avg``).
    """

    synthesis_class = SynthesisNetwork
    mapping_class = MappingNetwork

    @staticmethod
    def synthesis_arguments(kwargs: dict) -> dict:
        return _synthesis_kwargs(kwargs)

    @torch.no_grad()
    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
    ) -> torch.Tensor:
        """Latents (and labels) to images.

        Parameters
        ----------
        z : torch.Tensor [shape=(N, z_dim)]
        c : torch.Tensor [shape=(N, c_dim)] or None
            Labels; ``None`` (or an empty tensor) for unconditional generators.
        truncation_psi, truncation_cutoff
            See :meth:`MappingNetwork.forward`.
        noise_mode : {'const', 'random', 'none'}
            See :meth:`SynthesisNetwork.forward`.

        Returns
        -------
        torch.Tensor [shape=(N, img_channels, img_resolution, img_resolution), dtype=float32]
            Images in about [-1, 1].
        """
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)


def _synthesis_kwargs(kwargs: dict) -> dict:
    """Synthesis arguments in StyleGAN3's flat layout with that version's defaults, minus training-only ones."""
    kwargs = dict(kwargs)
    nested = kwargs.pop("synthesis_kwargs", None)
    if nested is not None:
        # StyleGAN2-ADA layout, whose defaults differ.
        kwargs = {"num_fp16_res": 0, "conv_clamp": None, **nested, **kwargs}
    unknown = sorted(set(kwargs) - set(SYNTHESIS_KWARGS))
    if unknown:
        raise TypeError(f"unknown StyleGAN2 synthesis argument(s) {unknown}; known: {', '.join(SYNTHESIS_KWARGS)}")
    kwargs.setdefault("num_fp16_res", 4)
    kwargs.setdefault("conv_clamp", 256)
    for name in TRAINING_ONLY_KWARGS:
        kwargs.pop(name, None)
    return kwargs
