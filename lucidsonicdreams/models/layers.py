"""Layers both StyleGAN generations share: activations with their gains, the equalized-lr dense layer, and the
mapping network."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class Activation:
    """An activation function with the gain that keeps unit variance, as the StyleGAN files expect it."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], gain: float) -> None:
        self.fn = fn  # may work in place
        self.gain = gain  # default output gain
        # relu, leaky relu and the identity commute with a positive scale, so gains can be folded into the input.
        self.scale_commutes = fn in (_identity, F.relu_, _leaky_relu_)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _leaky_relu_(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu_(x, 0.2)


_ACTIVATIONS = {
    "linear": Activation(_identity, 1.0),
    "relu": Activation(F.relu_, math.sqrt(2)),
    "lrelu": Activation(_leaky_relu_, math.sqrt(2)),
    "tanh": Activation(torch.tanh, 1.0),
    "sigmoid": Activation(torch.sigmoid, 1.0),
    "elu": Activation(F.elu, 1.0),
    "selu": Activation(F.selu, 1.0),
    "softplus": Activation(F.softplus, 1.0),
    "swish": Activation(lambda x: x * torch.sigmoid(x), math.sqrt(2)),
}


def activation_named(name: str) -> Activation:
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


def activate_(x: torch.Tensor, act: Activation, gain: float, clamp: float | None) -> torch.Tensor:
    """``clamp(act(x) * gain)``, in place where possible; ``x`` must be a fresh tensor."""
    x = act.fn(x)
    if gain != 1:
        x = x.mul_(gain)
    if clamp is not None:
        x = x.clamp_(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row of ``x [N, F]`` to unit root-mean-square."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualizedLinear(nn.Module):
    """Fully connected layer with equalized learning rate, then an activation.

    Parameters ``weight [out, in]`` and ``bias [out]`` are stored unscaled; they are multiplied at use by
    ``lr_multiplier / sqrt(in)`` and ``lr_multiplier``.
    """

    def __init__(
        self,
        in_features: int,  # input width
        out_features: int,  # output width
        *,
        activation: str = "linear",  # name in the activation table ('linear', 'lrelu', ...)
        lr_multiplier: float = 1.0,  # learning-rate multiplier the file was trained with
        weight_init: float = 1.0,  # initial weight standard deviation
        bias_init: float | Sequence[float] = 0.0,  # initial bias, scalar or per output (1 for style affines)
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.act = activation_named(activation)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * (weight_init / lr_multiplier))
        bias = torch.as_tensor(bias_init, dtype=torch.float32).broadcast_to(out_features) / lr_multiplier
        self.bias = nn.Parameter(bias.clone())
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, in]`` → ``[N, out]``, same dtype as ``x``."""
        # Scaling the (small) input instead of the weight gives the same product without a weight-sized copy.
        x = F.linear(x * self.weight_gain, self.weight.to(x.dtype), (self.bias * self.bias_gain).to(x.dtype))
        return activate_(x, self.act, self.act.gain, None)


class GeneratorBase(nn.Module):
    """What both StyleGAN generators share: NVIDIA's constructor arguments and the mapping/synthesis pair.

    Subclasses name their ``synthesis_class`` and ``mapping_class``, may adapt the synthesis arguments in
    ``synthesis_arguments``, and define ``forward``.
    """

    synthesis_class: type[nn.Module]
    mapping_class: type[nn.Module]

    def __init__(
        self,
        z_dim: int,  # latent width
        c_dim: int,  # label width, 0 = unconditional
        w_dim: int,  # intermediate latent width
        img_resolution: int,  # output height and width
        img_channels: int,  # image channels
        mapping_kwargs: dict | None = None,  # mapping network options (num_layers, lr_multiplier, ...)
        **synthesis_kwargs: Any,  # synthesis network options, as NVIDIA's files store them
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.synthesis = self.synthesis_class(w_dim, img_resolution, img_channels,
                                              **self.synthesis_arguments(synthesis_kwargs))
        self.num_ws = self.synthesis.num_ws
        self.mapping = self.mapping_class(z_dim, c_dim, w_dim, self.num_ws, **(mapping_kwargs or {}))

    @staticmethod
    def synthesis_arguments(kwargs: dict) -> dict:
        """The synthesis network's arguments from the stored ones (as they are, unless a subclass adapts them)."""
        return kwargs

    @property
    def use_fp16(self) -> bool:
        """Whether the file's float16 layers run in float16 on CUDA (never on CPU or MPS); ``False`` forces fp32."""
        return self.synthesis.use_fp16

    @use_fp16.setter
    def use_fp16(self, value: bool) -> None:
        self.synthesis.use_fp16 = bool(value)


class MappingNetwork(nn.Module):
    """Maps latents ``z`` (and labels ``c``) to intermediate latents ``w``, with truncation toward ``w_avg``: the same
    network in StyleGAN2 and StyleGAN3 (which stores ``num_layers=2``)."""

    def __init__(
        self,
        z_dim: int,  # latent width, 0 = no latent
        c_dim: int,  # label width, 0 = unconditional
        w_dim: int,  # intermediate latent width
        num_ws: int,  # how many copies of w the synthesis network takes
        *,
        num_layers: int = 8,  # fully connected layers
        embed_features: int | None = None,  # label embedding width, None = w_dim
        layer_features: int | None = None,  # hidden width, None = w_dim
        activation: str = "lrelu",  # activation of every layer
        lr_multiplier: float = 0.01,  # learning-rate multiplier of every layer
        w_avg_beta: float | None = 0.998,  # training-time decay of w_avg; None = the file has no w_avg
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        if c_dim == 0:
            embed_features = 0
        elif embed_features is None:
            embed_features = w_dim
        layer_features = w_dim if layer_features is None else layer_features
        widths = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = EqualizedLinear(c_dim, embed_features)
        for i in range(num_layers):
            layer = EqualizedLinear(widths[i], widths[i + 1], activation=activation, lr_multiplier=lr_multiplier)
            self.add_module(f"fc{i}", layer)
        self.has_w_avg = w_avg_beta is not None
        if self.has_w_avg:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def check_inputs(self, z: torch.Tensor | None, c: torch.Tensor | None) -> int:
        """Raise ``ValueError`` unless ``z [N, z_dim]`` and ``c [N, c_dim]`` fit this network; return N."""
        n = None
        if self.z_dim > 0:
            if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must be a tensor of shape [N, {self.z_dim}], got {describe_input(z)}")
            n = z.shape[0]
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is conditional: c must be a tensor of shape [N, {self.c_dim}]")
            if not isinstance(c, torch.Tensor) or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(f"c must be a tensor of shape [N, {self.c_dim}], got {describe_input(c)}")
            if n is not None and c.shape[0] != n:
                raise ValueError(f"z and c must have the same batch size, got {n} and {c.shape[0]}")
            n = c.shape[0]
        elif c is not None and (not isinstance(c, torch.Tensor) or c.numel() != 0):
            raise ValueError(f"this generator is unconditional (c_dim=0): pass c=None, got {describe_input(c)}")
        if n is None:
            raise ValueError("the generator has neither a latent nor a label input")
        return n

    def check_truncation(self, truncation_cutoff: int | None) -> None:
        if truncation_cutoff is not None and not 0 <= truncation_cutoff <= self.num_ws:
            raise ValueError(f"truncation_cutoff must be in [0, {self.num_ws}] or None, got {truncation_cutoff}")

    @torch.no_grad()
    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        """Latents and labels to truncated intermediate latents.

        Parameters
        ----------
        z : torch.Tensor [shape=(N, z_dim)]
        c : torch.Tensor [shape=(N, c_dim)] or None
            Labels (one-hot class vectors for class-conditional files); ``None`` when ``c_dim == 0``.
        truncation_psi : float
            ``w_avg + psi * (w - w_avg)``: 1 = no truncation, 0 = always ``w_avg``.
        truncation_cutoff : int or None
            Truncate only the first this many of the ``num_ws`` vectors; ``None`` = all.

        Returns
        -------
        torch.Tensor [shape=(N, num_ws, w_dim), dtype=float32]
        """
        self.check_inputs(z, c)
        self.check_truncation(truncation_cutoff)
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim > 0:
            parts.append(normalize_2nd_moment(self.embed(c.to(torch.float32))))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            if not self.has_w_avg:
                raise ValueError("this generator stores no w_avg, so it only supports truncation_psi=1")
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cutoff] = torch.lerp(self.w_avg.to(ws.dtype), ws[:, :cutoff], truncation_psi)
        return ws


def describe_input(value: object) -> str:
    """A short description of a bad input for error messages."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {list(value.shape)}"
    return repr(value) if value is None else f"a {type(value).__name__}"
