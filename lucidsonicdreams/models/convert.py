"""Turning a generator read from a StyleGAN pickle into a neutral :class:`NetworkSpec`.

A spec is what our own networks need: the architecture, the constructor arguments NVIDIA's PyTorch ``Generator``
takes, and a state dict with the keys of NVIDIA's PyTorch ``Generator.state_dict()``. PyTorch files already store
both; TensorFlow files are translated: their build arguments are renamed to the PyTorch ones and their variables
are renamed, transposed to PyTorch's layouts and completed with the buffers the PyTorch network registers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import torch

from ..errors import ModelFileError
from .unpickle import SUPPORTED_FORMATS, ModuleRecord, StyleGANPickle, TFNetwork


@dataclass
class NetworkSpec:
    """A generator as data: architecture, constructor arguments and weights.

    Attributes
    ----------
    arch : {'stylegan2', 'stylegan3'}
        Which generator family the weights belong to.
    kwargs : dict
        JSON-serialisable constructor arguments, as NVIDIA's PyTorch ``Generator`` takes them: ``z_dim``, ``c_dim``,
        ``w_dim``, ``img_resolution``, ``img_channels``, ``mapping_kwargs`` and the synthesis arguments (flat, or
        nested in ``synthesis_kwargs`` as StyleGAN2-ADA's PyTorch files store them).
    state : dict[str, torch.Tensor]
        float32 CPU tensors under the keys of NVIDIA's PyTorch ``Generator.state_dict()``.
    """

    arch: str
    kwargs: dict
    state: dict[str, torch.Tensor]


def to_spec(data: StyleGANPickle | TFNetwork | ModuleRecord) -> NetworkSpec:
    """Convert the generator of an unpickled StyleGAN file into a :class:`NetworkSpec`.

    Raises
    ------
    ModelFileError
        The generator is not a StyleGAN2 or StyleGAN3 generator this package can run (StyleGAN1, a TensorFlow
        pickle older than StyleGAN2, missing variables, unknown build options, ...).
    """
    if isinstance(data, StyleGANPickle):
        source, generator = str(data.path), data.generator
    else:
        source, generator = "the model file", data
    if not isinstance(generator, (TFNetwork, ModuleRecord)):
        raise TypeError(f"to_spec expects what read_pickle returns, got {type(data).__name__}")
    try:
        if isinstance(generator, TFNetwork):
            return _from_tensorflow(generator, source)
        return _from_pytorch(generator, source)
    except RecursionError:
        raise _error(source, "its generator is nested impossibly deep, or contains itself") from None


def _error(source: str, message: str) -> ModelFileError:
    return ModelFileError(f"{source}: {message}. Supported: {SUPPORTED_FORMATS}.")


# --------------------------------------------------------------------------------------------------------------------
# PyTorch files: the record tree already is the module tree.


def _from_pytorch(root: ModuleRecord, source: str) -> NetworkSpec:
    state = dict(_record_tensors(root, "", source))
    if "synthesis.input.freqs" in state:
        arch = "stylegan3"
    elif "synthesis.b4.const" in state:
        arch = "stylegan2"
    else:
        raise _error(
            source,
            f"its generator ({root.class_name or 'unnamed class'}) is neither a StyleGAN2 generator "
            "(no 'synthesis.b4.const') nor a StyleGAN3 one (no 'synthesis.input.freqs')",
        )
    if root.state.get("_init_args", ()) not in ((), []):
        raise _error(source, "its generator was built with positional arguments, which StyleGAN files never use")
    init_kwargs = root.state.get("_init_kwargs")
    if not isinstance(init_kwargs, dict):
        raise _error(source, "its generator has no constructor arguments ('_init_kwargs')")
    kwargs = _plain(init_kwargs, "_init_kwargs", source)
    _check_dims(kwargs, source)
    return NetworkSpec(arch=arch, kwargs=kwargs, state=state)


def _record_tensors(record: ModuleRecord, prefix: str, source: str) -> Iterator[tuple[str, torch.Tensor]]:
    """``(key, float32 tensor)`` pairs in ``state_dict()`` order: own parameters, own buffers, then sub-modules."""
    if record.malformed:
        raise _error(source, f"module {prefix.rstrip('.') or 'G'} is damaged: {record.malformed}")
    transient = record.state.get("_non_persistent_buffers_set")
    transient = transient if isinstance(transient, (set, frozenset)) else set()
    for section in ("_parameters", "_buffers"):
        for name, tensor in record.section(section).items():
            if tensor is None or (section == "_buffers" and name in transient):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise _error(source, f"{prefix}{name} is {type(tensor).__name__}, not a tensor")
            yield prefix + str(name), _float32(tensor)
    for name, child in record.section("_modules").items():
        if child is None:
            continue
        if not isinstance(child, ModuleRecord):
            raise _error(source, f"sub-module {prefix}{name} is a {type(child).__name__}, not a StyleGAN layer")
        yield from _record_tensors(child, f"{prefix}{name}.", source)


def _float32(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to(device="cpu", dtype=torch.float32, memory_format=torch.contiguous_format, copy=True)


def _plain(value: Any, where: str, source: str) -> Any:
    """``value`` as JSON data: dicts (EasyDicts too) with string keys, lists, numbers, strings, booleans, None."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _error(source, f"{where} has non-string keys")
        return {k: _plain(v, f"{where}.{k}", source) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", source) for i, v in enumerate(value)]
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise _error(source, f"{where} is a {type(value).__name__}, which no StyleGAN generator takes")


def _check_dims(kwargs: dict, source: str) -> None:
    for name in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        value = kwargs.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _error(source, f"its generator's {name} is {value!r}, not a non-negative integer")
    json.dumps(kwargs)


# --------------------------------------------------------------------------------------------------------------------
# TensorFlow files: build options and variables are translated.

# TensorFlow build option -> (PyTorch argument, value when the option is absent, value that replaces None).
_TF_TOP = {
    "latent_size": ("z_dim", 512, None),
    "label_size": ("c_dim", 0, None),
    "dlatent_size": ("w_dim", 512, None),
    "resolution": ("img_resolution", 1024, None),
    "num_channels": ("img_channels", 3, None),
}
_TF_SYNTHESIS = {
    "fmap_max": ("channel_max", 512, None),
    "num_fp16_res": ("num_fp16_res", 0, None),
    "conv_clamp": ("conv_clamp", None, None),
    "architecture": ("architecture", "skip", None),
    "resample_kernel": ("resample_filter", [1, 3, 3, 1], None),
    "use_noise": ("use_noise", True, None),
    "nonlinearity": ("activation", "lrelu", None),
}
_TF_MAPPING = {
    "mapping_layers": ("num_layers", 8, None),
    "label_fmaps": ("embed_features", None, None),
    "mapping_fmaps": ("layer_features", None, None),
    "mapping_nonlinearity": ("activation", "lrelu", None),
    "mapping_lrmul": ("lr_multiplier", 0.01, None),
    "w_avg_beta": ("w_avg_beta", 0.995, 1),
}
# Options that only steer training or sampling in TensorFlow and have no PyTorch counterpart.
_TF_IGNORED = {"truncation_psi", "truncation_cutoff", "style_mixing_prob", "structure", "conditioning", "fused_modconv"}

Array = np.ndarray


def _from_tensorflow(gs: TFNetwork, source: str) -> NetworkSpec:
    _check_tf_generator(gs, source)
    kwargs = _tf_kwargs(gs.static_kwargs, source)
    variables = _tf_variables(gs, source)
    for name in list(variables):
        lod = re.fullmatch(r"synthesis/ToRGB_lod(\d+)/(.+)", name)
        if lod:
            res = kwargs["img_resolution"] // 2 ** int(lod.group(1))
            variables[f"synthesis/{res}x{res}/ToRGB/{lod.group(2)}"] = variables[name]
            kwargs["architecture"] = "orig"
    state = {}
    for key, tf_name, convert, shape in _stylegan2_layout(kwargs, source):
        if tf_name is None:
            value = convert()
        else:
            if tf_name not in variables:
                raise _error(source, f"its generator lacks the variable {tf_name!r}, which a StyleGAN2 generator has")
            try:
                value = convert(variables[tf_name])
            except (ValueError, IndexError):  # a variable of the wrong rank
                value = variables[tf_name]
        if tuple(value.shape) != shape:
            stored = list(np.shape(variables[tf_name])) if tf_name else list(value.shape)
            raise _error(
                source,
                f"variable {tf_name or key!r} of shape {stored} does not fit {key}, which the build options "
                f"{_describe_kwargs(kwargs)} make {list(shape)}",
            )
        state[key] = torch.from_numpy(np.array(value, dtype=np.float32, order="C"))
    json.dumps(kwargs)
    return NetworkSpec(arch="stylegan2", kwargs=kwargs, state=state)


def _check_tf_generator(gs: TFNetwork, source: str) -> None:
    if gs.malformed:
        raise _error(source, f"its generator network is damaged: {gs.malformed}")
    components = gs.components if isinstance(gs.components, dict) else {}
    synthesis = components.get("synthesis")
    synthesis_vars = synthesis.variables if isinstance(synthesis, TFNetwork) else {}
    if _looks_like_stylegan1(gs, synthesis_vars):
        raise _error(source, "this is a StyleGAN (version 1) TensorFlow pickle; StyleGAN1 networks are not supported")
    if not isinstance(gs.version, int) or gs.version < 4:
        raise _error(
            source, f"its TensorFlow network format version is {gs.version!r}; StyleGAN2 files have version 4 or 5"
        )
    if str(gs.build_func_name).startswith("D_"):
        raise _error(source, f"its third network is a discriminator ({gs.build_func_name}), not a generator")
    for name in ("mapping", "synthesis"):
        part = components.get(name)
        if not isinstance(part, TFNetwork):
            raise _error(source, f"its generator has no {name!r} sub-network, so it is not a StyleGAN2 generator")
        if part.malformed:
            raise _error(source, f"its {name} network is damaged: {part.malformed}")
    if "4x4/Conv/mod_weight" not in synthesis_vars:
        raise _error(
            source,
            "its synthesis network has no '4x4/Conv/mod_weight' variable, so it is not a StyleGAN2 generator "
            "(StyleGAN2 configs A-D and other variants are not supported)",
        )


def _looks_like_stylegan1(gs: TFNetwork, synthesis_vars: dict) -> bool:
    if gs.build_func_name == "G_style" or (isinstance(gs.version, int) and gs.version <= 3):
        return True
    return any("/StyleMod/" in name or name.endswith("/Noise/weight") for name in synthesis_vars)


def _tf_kwargs(static_kwargs: object, source: str) -> dict:
    if not isinstance(static_kwargs, dict):
        raise _error(source, "its generator's build options are not a dict")
    options = _plain(static_kwargs, "static_kwargs", source)
    unknown = sorted(set(options) - set(_TF_TOP) - {"fmap_base"} - set(_TF_SYNTHESIS) - set(_TF_MAPPING) - _TF_IGNORED)
    if unknown:
        raise _error(
            source,
            f"its generator uses the TensorFlow build option(s) {', '.join(map(repr, unknown))}, which the "
            "StyleGAN2 conversion does not know",
        )

    def pick(table: dict) -> dict:
        picked = {}
        for tf_name, (name, default, if_none) in table.items():
            value = options.get(tf_name, default)
            picked[name] = if_none if value is None else value
        return picked

    kwargs = pick(_TF_TOP)
    fmap_base = options.get("fmap_base", 16384)
    if isinstance(fmap_base, bool) or not isinstance(fmap_base, int):
        raise _error(source, f"its fmap_base is {fmap_base!r}, not an integer")
    kwargs["channel_base"] = fmap_base * 2
    kwargs.update(pick(_TF_SYNTHESIS))
    kwargs["mapping_kwargs"] = pick(_TF_MAPPING)
    _check_dims(kwargs, source)
    for name in ("channel_max", "num_fp16_res"):
        if isinstance(kwargs[name], bool) or not isinstance(kwargs[name], int):
            raise _error(source, f"its {name} is {kwargs[name]!r}, not an integer")
    res = kwargs["img_resolution"]
    if res < 4 or res & (res - 1):
        raise _error(source, f"its resolution is {res}, not a power of two of at least 4")
    if kwargs["architecture"] not in ("orig", "skip", "resnet"):
        raise _error(source, f"its architecture is {kwargs['architecture']!r}, not 'orig', 'skip' or 'resnet'")
    return kwargs


def _tf_variables(gs: TFNetwork, source: str) -> dict[str, Array]:
    """All variables of ``gs`` and its sub-networks, named ``component/.../variable``."""
    found: dict[str, Array] = {}
    pending = [("", gs)]
    seen: set[int] = set()
    while pending:
        prefix, net = pending.pop()
        if id(net) in seen:
            raise _error(source, "its networks contain themselves")
        seen.add(id(net))
        if not isinstance(net.variables, dict):
            raise _error(source, f"network {prefix or 'Gs'} has malformed variables")
        for name, value in net.variables.items():
            if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind not in "biuf":
                raise _error(source, f"variable {prefix}{name} is a {type(value).__name__}, not a numeric array")
            found[f"{prefix}{name}"] = np.asarray(value)
        components = net.components if isinstance(net.components, dict) else {}
        for name, child in components.items():
            if isinstance(child, TFNetwork):
                pending.append((f"{prefix}{name}/", child))
    return found


def _describe_kwargs(kwargs: dict) -> str:
    keys = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "channel_base", "channel_max")
    return ", ".join(f"{k}={kwargs[k]}" for k in keys)


# How each state tensor comes out of a TensorFlow variable.
def _conv(flip: bool = False):
    """[kh, kw, in, out] -> [out, in, kh, kw]; upsampling convolutions are also flipped in space."""
    return lambda w: (w[::-1, ::-1] if flip else w).transpose(3, 2, 0, 1)


def _dense(w: Array) -> Array:
    return w.T


def _same(v: Array) -> Array:
    return v


def _style_bias(b: Array) -> Array:
    """TensorFlow adds 1 to the style after the bias; PyTorch folds the 1 into the bias."""
    return b + np.float32(1)


def _first(v: Array) -> Array:
    return v[0]


def _noise(v: Array) -> Array:
    return v[0, 0]


def resample_filter(taps: list | None) -> Array:
    """The low-pass filter buffer NVIDIA's layers register for ``resample_filter=taps``: outer product, sum 1."""
    f = torch.as_tensor(1.0 if taps is None else taps, dtype=torch.float32)
    if f.ndim == 0:
        f = f[None]
    if f.ndim == 1 and f.numel() < 8:
        f = torch.outer(f, f)
    return (f / f.sum()).numpy()


Layout = Iterator[tuple[str, Union[str, None], Any, tuple]]


def _stylegan2_layout(kwargs: dict, source: str) -> Layout:
    """``(state key, TensorFlow variable or None, converter, shape)`` for every tensor of NVIDIA's StyleGAN2 G."""
    w_dim, img_channels = kwargs["w_dim"], kwargs["img_channels"]
    log2 = int(math.log2(kwargs["img_resolution"]))
    filt = resample_filter(kwargs["resample_filter"])
    # NVIDIA's blocks hand their filter to the upsampling layer only; the other layers keep the default [1, 3, 3, 1]
    # (unused, as they do not resample, but part of the state dict).
    default_filt = resample_filter([1, 3, 3, 1])

    def channels(res: int) -> int:
        return min(kwargs["channel_base"] // res, kwargs["channel_max"])

    def affine(key: str, tf: str, cin: int) -> Layout:
        yield f"{key}.affine.weight", f"{tf}/mod_weight", _dense, (cin, w_dim)
        yield f"{key}.affine.bias", f"{tf}/mod_bias", _style_bias, (cin,)

    def synthesis_layer(key: str, tf: str, cin: int, cout: int, res: int, noise: int, up: bool) -> Layout:
        yield f"{key}.weight", f"{tf}/weight", _conv(flip=up), (cout, cin, 3, 3)
        if kwargs["use_noise"]:
            yield f"{key}.noise_strength", f"{tf}/noise_strength", _same, ()
        yield f"{key}.bias", f"{tf}/bias", _same, (cout,)
        layer_filt = filt if up else default_filt
        yield f"{key}.resample_filter", None, lambda: layer_filt, layer_filt.shape
        if kwargs["use_noise"]:
            yield f"{key}.noise_const", f"synthesis/noise{noise}", _noise, (res, res)
        yield from affine(key, tf, cin)

    for level in range(2, log2 + 1):
        res = 2**level
        key, tf = f"synthesis.b{res}", f"synthesis/{res}x{res}"
        cout = channels(res)
        cin = channels(res // 2) if res > 4 else 0
        if res == 4:
            yield f"{key}.const", f"{tf}/Const/const", _first, (cout, 4, 4)
        yield f"{key}.resample_filter", None, lambda: filt, filt.shape
        if res == 4:
            yield from synthesis_layer(f"{key}.conv1", f"{tf}/Conv", cout, cout, res, 0, up=False)
        else:
            yield from synthesis_layer(f"{key}.conv0", f"{tf}/Conv0_up", cin, cout, res, 2 * level - 5, up=True)
            yield from synthesis_layer(f"{key}.conv1", f"{tf}/Conv1", cout, cout, res, 2 * level - 4, up=False)
        if res == kwargs["img_resolution"] or kwargs["architecture"] == "skip":
            yield f"{key}.torgb.weight", f"{tf}/ToRGB/weight", _conv(), (img_channels, cout, 1, 1)
            yield f"{key}.torgb.bias", f"{tf}/ToRGB/bias", _same, (img_channels,)
            yield from affine(f"{key}.torgb", f"{tf}/ToRGB", cout)
        if res > 4 and kwargs["architecture"] == "resnet":
            yield f"{key}.skip.weight", f"{tf}/Skip/weight", _conv(flip=True), (cout, cin, 1, 1)
            yield f"{key}.skip.resample_filter", None, lambda: filt, filt.shape

    mapping = kwargs["mapping_kwargs"]
    z_dim, c_dim = kwargs["z_dim"], kwargs["c_dim"]
    embed = 0 if c_dim == 0 else (mapping["embed_features"] or w_dim)
    hidden = mapping["layer_features"] or w_dim
    layers = mapping["num_layers"]
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
        raise _error(source, f"its mapping_layers is {layers!r}, not a positive integer")
    features = [z_dim + embed] + [hidden] * (layers - 1) + [w_dim]
    yield "mapping.w_avg", "dlatent_avg", _same, (w_dim,)
    if c_dim > 0:
        yield "mapping.embed.weight", "mapping/LabelEmbed/weight", _dense, (embed, c_dim)
        yield "mapping.embed.bias", "mapping/LabelEmbed/bias", _same, (embed,)
    for i in range(layers):
        yield f"mapping.fc{i}.weight", f"mapping/Dense{i}/weight", _dense, (features[i + 1], features[i])
        yield f"mapping.fc{i}.bias", f"mapping/Dense{i}/bias", _same, (features[i + 1],)
