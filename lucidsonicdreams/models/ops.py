"""Resampling with FIR filters, written with standard PyTorch ops so it runs on CPU, CUDA and MPS.

:func:`upfirdn2d` upsamples by zero insertion, pads, convolves with a FIR filter and downsamples by
decimation, the way the StyleGAN papers describe their anti-aliased resampling. It never materialises the
zero-stuffed image: upsampling is a strided transposed convolution, downsampling a strided convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """An ``(x, y)`` factor from an int or a 2-sequence, each at least 1."""
    pair = (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be a positive int or an (x, y) pair of them, got {value!r}")
    return pair


def _padding4(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """``(x_before, x_after, y_before, y_after)`` from an int, an ``(x, y)`` pair or a 4-sequence."""
    if isinstance(padding, int):
        return (padding,) * 4
    pads = tuple(int(p) for p in padding)
    if len(pads) == 2:
        return pads[0], pads[0], pads[1], pads[1]
    if len(pads) == 4:
        return pads
    raise ValueError(f"padding must be an int, (x, y) or (x0, x1, y0, y1), got {padding!r}")


def make_fir_filter(
    taps: Sequence[float] | Sequence[Sequence[float]] | torch.Tensor | float | None,
    *,
    separable: bool | None = None,
    normalize: bool = True,
) -> torch.Tensor:
    """A float32 FIR filter for :func:`upfirdn2d` from its taps.

    Parameters
    ----------
    taps : 1-D or 2-D sequence, scalar or None
        1-D taps describe a separable filter; ``None`` or a scalar is a one-tap filter.
    separable : bool or None
        Keep 1-D taps 1-D (applied along x, then y) instead of expanding them to their outer product;
        ``None`` keeps them 1-D from 8 taps up, which is how StyleGAN files store their filters.
    normalize : bool
        Scale so that the filter sums to 1 (a constant image keeps its value).

    Returns
    -------
    torch.Tensor [shape=(k,) or (kh, kw)]
    """
    f = torch.as_tensor(1.0 if taps is None else taps, dtype=torch.float32)
    if f.ndim == 0:
        f = f.reshape(1)
    if f.ndim not in (1, 2) or f.numel() == 0:
        raise ValueError(f"taps must be a non-empty 1-D or 2-D sequence, got shape {tuple(f.shape)}")
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    return f / f.sum() if normalize else f


def _depthwise(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    """A ``[kh, kw]`` kernel repeated as a grouped-conv weight ``[channels, 1, kh, kw]``."""
    return kernel[None, None].expand(channels, 1, *kernel.shape).contiguous()


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    flip_filter: bool = False,
    gain: float = 1,
) -> torch.Tensor:
    """Upsample, pad, FIR-filter and downsample every channel of a batch of images.

    In order: insert ``up - 1`` zeros after every pixel; pad with zeros (``padding`` counts pixels of the
    upsampled image, negative values crop); convolve with ``f`` keeping only outputs whose footprint lies
    inside the padded image; keep every ``down``-th pixel.

    Parameters
    ----------
    x : torch.Tensor [shape=(N, C, H, W)]
        Images, any float dtype.
    f : torch.Tensor [shape=(k,) or (kh, kw)] or None
        Float32 FIR filter: 1-D is separable (applied along x, then y), 2-D is applied as is, ``None`` is the
        identity.
    up, down : int or (x, y)
        Integer up- and downsampling factors.
    padding : int, (px, py) or (px0, px1, py0, py1)
        Padding of the upsampled image; negative crops.
    flip_filter : bool
        ``False`` is a true convolution (the filter is flipped), ``True`` a correlation.
    gain : float
        Overall signal gain; the filter is scaled by ``gain ** (f.ndim / 2)``.

    Returns
    -------
    torch.Tensor [shape=(N, C, (H*up_y + py0 + py1 - kh) // down_y + 1, ...)]
        Same dtype and device as ``x``.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a [N, C, H, W] tensor, got {getattr(x, 'shape', type(x))}")
    upx, upy = _pair(up, "up")
    downx, downy = _pair(down, "down")
    px0, px1, py0, py1 = _padding4(padding)
    if f is None:
        f = torch.ones(1, 1, dtype=torch.float32, device=x.device)
    if not isinstance(f, torch.Tensor) or f.ndim not in (1, 2):
        raise ValueError(f"f must be a 1-D or 2-D tensor or None, got {getattr(f, 'shape', type(f))}")
    kw = f.shape[-1]
    kh = f.shape[0]
    up_w, up_h = x.shape[3] * upx + px0 + px1, x.shape[2] * upy + py0 + py1
    if up_w < kw or up_h < kh:
        raise ValueError(f"padded image {up_h}x{up_w} is smaller than the filter {kh}x{kw}")

    # `kernel` is the filter of a true convolution; conv2d correlates, so it gets the kernel flipped.
    kernel = f.to(device=x.device, dtype=x.dtype) * (gain ** (f.ndim / 2))
    if flip_filter:
        kernel = kernel.flip(list(range(kernel.ndim)))
    channels = x.shape[1]

    if kernel.numel() == 1:
        # A one-tap filter only scales (twice when separable): resample with reshapes and slicing.
        x = _zero_stuff(x, upx, upy) * kernel.reshape(()) ** (3 - kernel.ndim)
        x = F.pad(x, [px0, px1, py0, py1])
        return x[:, :, ::downy, ::downx]

    if upx == 1 and upy == 1:
        conv_padding = 0
        if px0 == px1 >= 0 and py0 == py1 >= 0:
            conv_padding = (py0, px0)  # let the convolution pad: saves a copy
        else:
            x = F.pad(x, [px0, px1, py0, py1])
        flipped = kernel.flip(list(range(kernel.ndim)))
        if flipped.ndim == 2:
            weight = _depthwise(flipped, channels)
            return F.conv2d(x, weight, stride=(downy, downx), padding=conv_padding, groups=channels)
        pad_x, pad_y = (0, 0) if conv_padding == 0 else (conv_padding[1], conv_padding[0])
        x = F.conv2d(x, _depthwise(flipped[None, :], channels), stride=(1, downx), padding=(0, pad_x), groups=channels)
        return F.conv2d(
            x, _depthwise(flipped[:, None], channels), stride=(downy, 1), padding=(pad_y, 0), groups=channels
        )

    # A transposed convolution with stride `up` equals zero insertion followed by a full convolution; the
    # requested padding then becomes a pad or crop of that full result. Crops equal on both sides are left to the
    # transposed convolution, which then skips those outputs.
    pads = [px0 - kw + 1, px1 + upx - kw, py0 - kh + 1, py1 + upy - kh]
    crop_x, crop_y = max(0, -max(pads[0], pads[1])), max(0, -max(pads[2], pads[3]))
    x = _upsample_filter(x, kernel, upx, upy, channels, crop_x, crop_y)
    pads = [pads[0] + crop_x, pads[1] + crop_x, pads[2] + crop_y, pads[3] + crop_y]
    if any(pads):
        x = F.pad(x, pads)
    return x[:, :, ::downy, ::downx]


def _zero_stuff(x: torch.Tensor, upx: int, upy: int) -> torch.Tensor:
    """Insert ``up - 1`` zeros after every pixel along each axis."""
    if upx == 1 and upy == 1:
        return x
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, h, upy, w, upx)
    out[:, :, :, 0, :, 0] = x
    return out.reshape(n, c, h * upy, w * upx)


def _upsample_filter(
    x: torch.Tensor, f: torch.Tensor, upx: int, upy: int, channels: int, crop_x: int, crop_y: int
) -> torch.Tensor:
    """Full convolution of the zero-stuffed ``x`` with ``f``, as a strided depthwise transposed convolution,
    without its first and last ``crop_x`` columns and ``crop_y`` rows.

    The result has ``(H - 1) * up_y + kh - 2 * crop_y`` rows and ``(W - 1) * up_x + kw - 2 * crop_x`` columns.
    """
    if f.ndim == 2:
        weight = _depthwise(f, channels)
        return F.conv_transpose2d(x, weight, stride=(upy, upx), padding=(crop_y, crop_x), groups=channels)
    x = F.conv_transpose2d(x, _depthwise(f[None, :], channels), stride=(1, upx), padding=(0, crop_x), groups=channels)
    return F.conv_transpose2d(
        x, _depthwise(f[:, None], channels), stride=(upy, 1), padding=(crop_y, 0), groups=channels
    )
