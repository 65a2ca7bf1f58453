"""``load_network``: a StyleGAN pickle in, one of our generators out, with a conversion cache.

The first load of a file reads the pickle as data (never executing it) and stores the generator as
``model.safetensors`` plus ``config.json`` under ``<cache>/converted/<sha256 of the file>/``; later loads of the
same content read only those two files, with no unpickling at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import ModelFileError
from ..utils.device import resolve_device
from ..utils.paths import cache_dir
from . import stylegan2, stylegan3
from .convert import NetworkSpec, to_spec
from .unpickle import read_pickle

FORMAT_VERSION = 1


def _generator_class(arch: str) -> type[torch.nn.Module]:
    generators = {"stylegan2": stylegan2.Generator, "stylegan3": stylegan3.Generator}
    if arch not in generators:
        raise ModelFileError(f"unknown network architecture {arch!r}")
    return generators[arch]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_cached(folder: Path) -> NetworkSpec | None:
    try:
        config = json.loads((folder / "config.json").read_text())
        if config.get("format_version") != FORMAT_VERSION:
            return None
        state = load_file(str(folder / "model.safetensors"))
    except (OSError, ValueError, KeyError, SafetensorError):
        return None
    return NetworkSpec(arch=config["arch"], kwargs=config["kwargs"], state=state)


def _write_cache(folder: Path, spec: NetworkSpec, source: Path) -> None:
    """Write both files into a temporary folder and rename it into place, so a cache entry is whole or absent."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        state = {
            name: tensor.detach().to("cpu", torch.float32).contiguous().clone() for name, tensor in spec.state.items()
        }
        save_file(state, str(tmp / "model.safetensors"))
        config = {"format_version": FORMAT_VERSION, "arch": spec.arch, "kwargs": spec.kwargs, "source": source.name}
        (tmp / "config.json").write_text(json.dumps(config, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_spec(path: str | os.PathLike, *, use_cache: bool = True) -> NetworkSpec:
    """The network stored in a StyleGAN pickle, from the conversion cache when this content was seen before."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    folder = cache_dir() / "converted" / file_sha256(path)
    if use_cache:
        cached = _read_cached(folder)
        if cached is not None:
            return cached
    spec = to_spec(read_pickle(path))
    if use_cache:
        try:
            _write_cache(folder, spec, path)
        except OSError:
            pass  # an unwritable cache only costs the conversion next time
    return spec


def build_generator(spec: NetworkSpec, device: str | torch.device | None = None) -> torch.nn.Module:
    """Instantiate our generator for ``spec`` and load its weights (every key must match)."""
    try:
        generator = _generator_class(spec.arch)(**spec.kwargs)
        generator.load_state_dict(spec.state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ModelFileError(f"the {spec.arch} weights do not fit the network they describe: {exc}") from None
    return generator.eval().requires_grad_(False).to(resolve_device(device))


def load_network(path: str | os.PathLike, device: str | torch.device | None = None) -> torch.nn.Module:
    """Load a StyleGAN2, StyleGAN2-ADA or StyleGAN3 pickle (TensorFlow or PyTorch) as a ``torch.nn.Module``.

    The result is called like NVIDIA's generators: ``G(z, c, truncation_psi=1.0, noise_mode='const')`` returns
    NCHW float images in about [-1, 1]; ``G.mapping(z, c)`` and ``G.synthesis(ws)`` work in W space; it has
    ``z_dim``, ``c_dim``, ``w_dim``, ``img_resolution`` and ``img_channels``. Nothing stored in the file is
    executed; a file that asks to run code raises :class:`~lucidsonicdreams.ModelFileError`.
    """
    return build_generator(load_spec(path), device)
