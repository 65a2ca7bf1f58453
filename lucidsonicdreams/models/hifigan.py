"""HiFi-GAN (Kong et al., 2020): our own generator, log-mel spectrograms in, waveforms out, as Auffusion uses it.

A vocoder folder is HiFi-GAN's ``config.json`` plus its weights, either ``vocoder.safetensors`` or Auffusion's
``vocoder.pt`` (a pickle of ``{"generator": state_dict}``, read as data by
:func:`~lucidsonicdreams.models.weights.read_pickled_weights` and converted once into the cache). Stored weights
may be weight-normalised (``weight_g``/``weight_v``, or ``parametrizations.weight.original0/1``); they are folded
into plain weights on loading, as ``remove_weight_norm`` does, so the network runs plain convolutions.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..errors import ModelFileError
from ..utils.device import resolve_device
from ..utils.paths import cache_dir
from .weights import FORMAT_VERSION, read_pickled_weights, save_tensors, source_key, write_entry

LRELU_SLOPE = 0.1
# HiFi-GAN applies its last leaky ReLU (before conv_post) with torch's default slope, not LRELU_SLOPE.
FINAL_LRELU_SLOPE = 0.01
# Names of the two halves of a weight-normalised weight, w = g * v / ||v||: torch.nn.utils.weight_norm's, then
# torch.nn.utils.parametrizations.weight_norm's.
_WEIGHT_NORM_PARTS = {
    ".weight_g": "g",
    ".weight_v": "v",
    ".parametrizations.weight.original0": "g",
    ".parametrizations.weight.original1": "v",
}
_DILATIONS_PER_BLOCK = {"1": 3, "2": 2}


@dataclass(frozen=True)
class HifiGanConfig:
    """The settings of a HiFi-GAN generator, named as in its ``config.json``."""

    num_mels: int                                    # mel bands of the input spectrogram
    upsample_rates: tuple[int, ...]                  # stride of each transposed convolution; product = hop length
    upsample_kernel_sizes: tuple[int, ...]           # kernel of each transposed convolution (>= its rate)
    upsample_initial_channel: int                    # channels after conv_pre, halved by each upsampling
    resblock: str                                    # "1": V1/V2 residual blocks (two convs a dilation), "2": V3's
    resblock_kernel_sizes: tuple[int, ...]           # odd kernel of each parallel residual block
    resblock_dilation_sizes: tuple[tuple[int, ...], ...]  # dilations of each block: 3 for resblock "1", 2 for "2"
    sampling_rate: int                               # Hz of the output waveform

    @property
    def hop_length(self) -> int:
        """Output samples per input frame."""
        return math.prod(self.upsample_rates)

    @classmethod
    def from_dict(cls, config: object, source: object = "config") -> HifiGanConfig:
        """Read and check a HiFi-GAN ``config.json`` (other keys, such as training settings, are ignored)."""
        if not isinstance(config, Mapping):
            raise ModelFileError(f"{source}: a HiFi-GAN config is a JSON object, got {type(config).__name__}")

        def value(key: str):
            if key not in config:
                raise ModelFileError(f"{source}: the HiFi-GAN config has no {key!r}")
            return config[key]

        def bad(key: str, wanted: str) -> ModelFileError:
            return ModelFileError(f"{source}: {key!r} must be {wanted}, got {config[key]!r}")

        def positive_int(key: str, item: object = None) -> int:
            got = value(key) if item is None else item
            if isinstance(got, bool) or not isinstance(got, int) or got < 1:
                raise bad(key, "a positive integer" if item is None else "a list of positive integers")
            return got

        def int_list(key: str) -> tuple[int, ...]:
            got = value(key)
            if not isinstance(got, list) or not got:
                raise bad(key, "a non-empty list of positive integers")
            return tuple(positive_int(key, item) for item in got)

        rates, kernels = int_list("upsample_rates"), int_list("upsample_kernel_sizes")
        if len(kernels) != len(rates):
            raise bad("upsample_kernel_sizes", f"one kernel size per upsample rate ({len(rates)})")
        for rate, kernel in zip(rates, kernels):
            # A kernel smaller than its stride leaves gaps; for odd kernel - rate the output padding of 1 needs a
            # stride of at least 2.
            if kernel < rate or ((kernel - rate) % 2 and rate < 2):
                raise bad("upsample_kernel_sizes", f"at least its upsample rate ({rates}), with kernel - rate even "
                                                   "where the rate is 1")
        initial = positive_int("upsample_initial_channel")
        if initial >> len(rates) < 1:
            raise bad("upsample_initial_channel", f"at least 2**{len(rates)} (halved at each of {len(rates)} "
                                                  "upsamplings)")
        resblock = value("resblock")
        if resblock not in _DILATIONS_PER_BLOCK:
            raise bad("resblock", '"1" or "2" (a string)')
        block_kernels = int_list("resblock_kernel_sizes")
        if any(k % 2 == 0 for k in block_kernels):
            raise bad("resblock_kernel_sizes", "odd integers (residual convolutions keep the length)")
        dilations = value("resblock_dilation_sizes")
        wanted = _DILATIONS_PER_BLOCK[resblock]
        if (not isinstance(dilations, list) or len(dilations) != len(block_kernels)
                or any(not isinstance(d, list) or len(d) != wanted for d in dilations)):
            raise bad("resblock_dilation_sizes", f"one list of {wanted} dilations per resblock kernel size "
                                                 f"({len(block_kernels)}) for resblock {resblock!r}")
        config_out = cls(
            num_mels=positive_int("num_mels"),
            upsample_rates=rates,
            upsample_kernel_sizes=kernels,
            upsample_initial_channel=initial,
            resblock=resblock,
            resblock_kernel_sizes=block_kernels,
            resblock_dilation_sizes=tuple(tuple(positive_int("resblock_dilation_sizes", d) for d in ds)
                                          for ds in dilations),
            sampling_rate=positive_int("sampling_rate"),
        )
        hop = config.get("hop_size")
        if hop is not None and hop != config_out.hop_length:
            raise bad("hop_size", f"the product of upsample_rates ({config_out.hop_length})")
        return config_out

    def to_dict(self) -> dict:
        """The config as JSON-ready data (lists, not tuples); ``from_dict`` reads it back."""
        return json.loads(json.dumps(asdict(self)))


# --------------------------------------------------------------------------------------------------------------------
# The network.


def _conv(channels_in: int, channels_out: int, kernel: int, dilation: int = 1) -> nn.Conv1d:
    """A 1-D convolution that keeps the length (odd kernel, 'same' padding)."""
    return nn.Conv1d(channels_in, channels_out, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)


def _upsample(channels_in: int, channels_out: int, kernel: int, rate: int) -> nn.ConvTranspose1d:
    """A transposed convolution that makes the length exactly ``rate`` times longer: padding (k - u) / 2, or for
    odd k - u one more sample of padding and one of output padding."""
    odd = (kernel - rate) % 2
    return nn.ConvTranspose1d(channels_in, channels_out, kernel, rate, padding=(kernel - rate) // 2 + odd,
                              output_padding=odd)


class ResBlock1(nn.Module):
    """HiFi-GAN V1/V2 residual block: for each dilation, leaky ReLU, dilated conv, leaky ReLU, conv, plus the
    input."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_conv(channels, channels, kernel, d) for d in dilations)
        self.convs2 = nn.ModuleList(_conv(channels, channels, kernel) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2):
            x = x + conv2(F.leaky_relu(conv1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class ResBlock2(nn.Module):
    """HiFi-GAN V3 residual block: for each dilation, leaky ReLU, dilated conv, plus the input."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(_conv(channels, channels, kernel, d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x


class HifiGan(nn.Module):
    """HiFi-GAN's generator with plain (not weight-normalised) weights: ``conv_pre``, then per upsampling a
    transposed convolution and the mean of parallel residual blocks (multi-receptive-field fusion), then
    ``conv_post`` and tanh. Parameter names follow the original, less the weight norm. ``config`` is a
    :class:`HifiGanConfig` or the contents of a ``config.json`` (checked by :meth:`HifiGanConfig.from_dict`)."""

    def __init__(self, config: HifiGanConfig | Mapping) -> None:
        super().__init__()
        if not isinstance(config, HifiGanConfig):
            config = HifiGanConfig.from_dict(config)
        self.config = config
        block = ResBlock1 if config.resblock == "1" else ResBlock2
        channels = config.upsample_initial_channel
        self.conv_pre = _conv(config.num_mels, channels, 7)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for rate, kernel in zip(config.upsample_rates, config.upsample_kernel_sizes):
            self.ups.append(_upsample(channels, channels // 2, kernel, rate))
            channels //= 2
            self.resblocks.extend(block(channels, k, d)
                                  for k, d in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes))
        self.conv_post = _conv(channels, 1, 7)

    @property
    def num_mels(self) -> int:
        """Mel bands of the input spectrogram."""
        return self.config.num_mels

    @property
    def hop_length(self) -> int:
        """Output samples per input frame (the product of the upsample rates)."""
        return self.config.hop_length

    @property
    def sample_rate(self) -> int:
        """Hz of the output waveform."""
        return self.config.sampling_rate

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Waveforms from log-mel spectrograms.

        Parameters
        ----------
        log_mel : torch.Tensor [shape=(batch, num_mels, frames)]
            Natural-log mel magnitudes, as the model was trained on.

        Returns
        -------
        torch.Tensor [shape=(batch, frames * hop_length), dtype=float32]
            Samples in [-1, 1] at :attr:`sample_rate`.
        """
        if log_mel.ndim != 3 or log_mel.shape[1] != self.config.num_mels or log_mel.shape[2] < 1:
            raise ValueError(f"log_mel must have shape (batch, {self.config.num_mels}, frames), got "
                             f"{tuple(log_mel.shape)}")
        blocks = len(self.config.resblock_kernel_sizes)
        x = self.conv_pre(log_mel.to(self.conv_pre.weight.dtype))
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            x = sum(block(x) for block in self.resblocks[i * blocks:(i + 1) * blocks]) / blocks
        x = torch.tanh(self.conv_post(F.leaky_relu(x, FINAL_LRELU_SLOPE)))
        return x.squeeze(1).float()


# --------------------------------------------------------------------------------------------------------------------
# Weights.


def _fold(g: torch.Tensor, v: torch.Tensor, name: str, source: object) -> torch.Tensor:
    """``g * v / ||v||`` with the norm over every dimension but the first, as torch's weight norm (dim=0) computes
    it for convolutions and transposed convolutions alike."""
    g, v = g.float(), v.float()
    if v.ndim < 2 or g.numel() != v.shape[0]:
        raise ModelFileError(f"{source}: the weight norm of {name!r} does not fit: g has shape {tuple(g.shape)}, "
                             f"v has shape {tuple(v.shape)}")
    norm = v.reshape(v.shape[0], -1).norm(dim=1)
    return v * (g.reshape(-1) / norm).reshape((-1,) + (1,) * (v.ndim - 1))


def plain_weights(state: Mapping[str, torch.Tensor], source: object = "weights") -> dict[str, torch.Tensor]:
    """A HiFi-GAN state dict with every weight-normalised weight folded into a plain ``.weight``, all float32."""
    plain: dict[str, torch.Tensor] = {}
    halves: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in state.items():
        part = next((suffix for suffix in _WEIGHT_NORM_PARTS if name.endswith(suffix)), None)
        if part is None:
            plain[name] = tensor.float()
        else:
            halves.setdefault(name[: -len(part)], {})[_WEIGHT_NORM_PARTS[part]] = tensor
    for prefix, parts in halves.items():
        if set(parts) != {"g", "v"}:
            lacking = "g" if "g" not in parts else "v"
            raise ModelFileError(f"{source}: {prefix!r} has half of a weight-normalised weight; its {lacking} is "
                                 "missing")
        if f"{prefix}.weight" in plain:
            raise ModelFileError(f"{source}: {prefix!r} has both a plain and a weight-normalised weight")
        plain[f"{prefix}.weight"] = _fold(parts["g"], parts["v"], prefix, source)
    return plain


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def build_vocoder(config: HifiGanConfig, weights: Mapping[str, torch.Tensor], source: object = "weights") -> HifiGan:
    """Our generator for ``config`` with ``weights`` (plain or weight-normalised); every name and shape must
    match."""
    state = plain_weights(weights, source)
    vocoder = HifiGan(config)
    expected = vocoder.state_dict()
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    if missing or unexpected:
        parts = ([f"missing {_names(missing)}"] if missing else []) + (
            [f"unexpected {_names(unexpected)}"] if unexpected else [])
        raise ModelFileError(f"{source}: the weights do not fit the HiFi-GAN its config describes: "
                             + "; ".join(parts))
    wrong = [f"{name} {tuple(state[name].shape)} (expected {tuple(tensor.shape)})"
             for name, tensor in expected.items() if state[name].shape != tensor.shape]
    if wrong:
        raise ModelFileError(f"{source}: weights of the wrong shape for the HiFi-GAN its config describes: "
                             f"{_names(wrong)}")
    vocoder.load_state_dict(state, strict=True)
    return vocoder.eval().requires_grad_(False)


# --------------------------------------------------------------------------------------------------------------------
# Folders and the conversion cache.


def _read_config(path: Path) -> HifiGanConfig:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a readable HiFi-GAN config ({exc})") from None
    return HifiGanConfig.from_dict(config, path)


def _vocoder_folder(folder: Path) -> Path:
    """``folder``, or its ``vocoder/`` subfolder when given a whole model folder (Auffusion's layout)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"vocoder folder {str(folder)!r} does not exist")
    if not (folder / "config.json").is_file() and (folder / "vocoder" / "config.json").is_file():
        return folder / "vocoder"
    if not (folder / "config.json").is_file():
        raise ModelFileError(f"{folder} has no config.json: give a HiFi-GAN vocoder folder (config.json with "
                             "vocoder.safetensors or vocoder.pt), or a model folder with a vocoder/ subfolder")
    return folder


def _from_cache(entry: Path) -> HifiGan | None:
    """The vocoder in a cache entry, or ``None`` when there is none (or it cannot be read)."""
    try:
        stored = json.loads((entry / "config.json").read_text(encoding="utf-8"))
        if stored.get("format_version") != FORMAT_VERSION:
            return None
        config = HifiGanConfig.from_dict(stored["config"], entry / "config.json")
        return build_vocoder(config, load_file(str(entry / "model.safetensors")), entry)
    except (OSError, ValueError, KeyError, AttributeError, SafetensorError, ModelFileError):
        return None


def _convert(folder: Path, config_path: Path, pickled: Path) -> HifiGan:
    """The vocoder of a pickled ``vocoder.pt``, read as data once and then kept in the cache as safetensors."""
    entry = cache_dir() / "vocoders" / source_key(config_path, pickled)
    cached = _from_cache(entry)
    if cached is not None:
        return cached
    shutil.rmtree(entry, ignore_errors=True)  # a damaged or outdated entry is rebuilt
    config = _read_config(config_path)
    vocoder = build_vocoder(config, read_pickled_weights(pickled, entry="generator"), pickled)

    def fill(tmp: Path) -> None:
        save_tensors(vocoder.state_dict(), tmp / "model.safetensors")
        stored = {"format_version": FORMAT_VERSION, "config": config.to_dict(), "source": str(folder)}
        (tmp / "config.json").write_text(json.dumps(stored, indent=1), encoding="utf-8")

    try:
        write_entry(entry, fill)
    except OSError:
        pass  # an unwritable cache only costs the conversion next time
    return vocoder


def load_vocoder(folder: str | os.PathLike, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float32) -> HifiGan:
    """Load a HiFi-GAN vocoder folder (``config.json`` with ``vocoder.safetensors`` or a pickled ``vocoder.pt``).

    Parameters
    ----------
    folder : str or os.PathLike
        The vocoder folder, or a model folder holding it as ``vocoder/`` (Auffusion's layout).
    device : str or torch.device, optional
        Where the network runs; ``None`` picks the best available.
    dtype : torch.dtype
        Parameter dtype (float32, float16 or bfloat16); the output is float32 whatever it is.

    Returns
    -------
    HifiGan
        In eval mode, without gradients: ``vocoder(log_mel)`` maps ``(batch, num_mels, frames)`` to
        ``(batch, frames * vocoder.hop_length)`` samples at ``vocoder.sample_rate``.

    Raises
    ------
    ModelFileError
        A bad config (naming the key), weights that do not fit it (naming them), or a ``vocoder.pt`` that asks to
        run code. A ``vocoder.pt`` is converted once into the cache (``<cache>/vocoders/``), keyed by the files'
        paths, sizes and modification times, so later loads unpickle nothing.
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype such as torch.float32, got {dtype!r}")
    device = resolve_device(device)
    folder = _vocoder_folder(Path(folder).expanduser())
    config_path, safe, pickled = folder / "config.json", folder / "vocoder.safetensors", folder / "vocoder.pt"
    if safe.is_file():
        try:
            weights = load_file(str(safe))
        except (OSError, SafetensorError) as exc:
            raise ModelFileError(f"{safe}: not a readable safetensors file ({exc})") from None
        vocoder = build_vocoder(_read_config(config_path), weights, safe)
    elif pickled.is_file():
        vocoder = _convert(folder, config_path, pickled)
    else:
        raise ModelFileError(f"{folder} has a config.json but no weights: vocoder.safetensors or vocoder.pt")
    return vocoder.to(device=device, dtype=dtype)
