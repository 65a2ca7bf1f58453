"""Pickled weight files read as data: ``torch.load(..., weights_only=True)`` and a safetensors mirror of model folders.

Some published models ship their weights only as pickles (``pytorch_model.bin``, ``diffusion_pytorch_model.bin``,
Auffusion's ``vocoder.pt``). Unpickling one normally may call any function the file names; here the files are read
with torch's restricted unpickler, which rebuilds tensors and plain containers and refuses everything else, so a
file that asks to run code is reported (:class:`~lucidsonicdreams.ModelFileError`) and nothing in it is run.

:func:`safe_folder` converts a diffusers / transformers folder's ``.bin`` weights once into safetensors in the
cache, so that the folder can then be loaded with ``use_safetensors=True`` and later loads unpickle nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..errors import ModelFileError
from ..utils.paths import cache_dir
from .pipelines import first_line

FORMAT_VERSION = 1
# The first bytes of a zip archive: torch.save's format since PyTorch 1.6 (earlier files are one raw pickle stream).
_ZIP_MAGIC = b"PK\x03\x04"
_REFUSED_GLOBAL = re.compile(r"GLOBAL (\S+)")
# transformers names its weights pytorch_model*.bin and model*.safetensors; diffusers keeps the stem.
_TRANSFORMERS_STEM = "pytorch_model"
_INDEX_SUFFIX = ".bin.index.json"


def read_pickled_weights(path: str | os.PathLike, *, entry: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.save`` file, read as data on the CPU; nothing stored in the file is run.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.bin``, ``.pt`` or ``.pth`` file, in torch's zip format (memory-mapped, so the file is not read into
        memory at once) or the legacy one. Single-file ``.ckpt`` checkpoints are refused: convert them to
        safetensors.
    entry : str, optional
        The key under which the file keeps its state dict (``"generator"`` in Auffusion's ``vocoder.pt``); ``None``
        when the file is the state dict itself.

    Returns
    -------
    dict[str, torch.Tensor]
        Tensor name to tensor, in stored order.

    Raises
    ------
    ModelFileError
        The file asks to run code, is not a torch file, or holds something other than named tensors.
    """
    path = Path(path).expanduser()
    if path.suffix.lower() == ".ckpt":
        raise ModelFileError(f"{path} is a pickled single-file checkpoint (.ckpt), and loading a pickle can run "
                             "code; convert it to .safetensors and give that file instead")
    if not path.is_file():
        raise FileNotFoundError(f"weight file {str(path)!r} does not exist")
    with open(path, "rb") as f:
        is_zip = f.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    try:
        with warnings.catch_warnings():
            # torch warns about pickles of a protocol it did not write itself before refusing or reading them.
            warnings.simplefilter("ignore", UserWarning)
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except pickle.UnpicklingError as exc:
        refused = _REFUSED_GLOBAL.search(str(exc))
        if "weights only" not in str(exc).lower():
            raise ModelFileError(f"{path} is damaged or not a torch weight file ({first_line(exc)})") from None
        what = f" ({refused.group(1)})" if refused else ""
        raise ModelFileError(f"{path.name} asks to run code{what} when unpickled; it was not loaded, and nothing "
                             f"from it was run ({path})") from None
    except Exception as exc:  # torch reports damaged files with RuntimeError, KeyError, EOFError, ...
        raise ModelFileError(f"{path} is damaged or not a torch weight file ({type(exc).__name__}: "
                             f"{first_line(exc)})") from None
    return _named_tensors(loaded, entry, path)


def _named_tensors(loaded: object, entry: str | None, path: Path) -> dict[str, torch.Tensor]:
    """``loaded`` (or its ``entry``) checked to be a mapping of names to tensors."""
    if entry is not None:
        if not isinstance(loaded, Mapping) or entry not in loaded:
            keys = sorted(map(str, loaded)) if isinstance(loaded, Mapping) else type(loaded).__name__
            raise ModelFileError(f"{path} has no {entry!r} entry (it holds {keys})")
        loaded = loaded[entry]
    where = f"{path}" + (f" [{entry!r}]" if entry is not None else "")
    if not isinstance(loaded, Mapping):
        raise ModelFileError(f"{where} holds a {type(loaded).__name__}, not a state dict of named tensors")
    for name, value in loaded.items():
        if not isinstance(name, str):
            raise ModelFileError(f"{where} is not a state dict of named tensors: it has the key {name!r}")
        if not isinstance(value, torch.Tensor):
            raise ModelFileError(f"{where} is not a state dict of named tensors: entry {name!r} has type "
                                 f"{type(value).__name__}")
    return dict(loaded)


def save_tensors(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write ``tensors`` as safetensors; tensors that share memory or are views are copied first (safetensors
    refuses shared storage), the others are written as they are."""
    seen: set[int] = set()
    out = {}
    for name, tensor in tensors.items():
        storage = tensor.untyped_storage()
        whole = tensor.is_contiguous() and tensor.storage_offset() == 0 and storage.nbytes() == tensor.nbytes
        if not whole or (tensor.nbytes and storage.data_ptr() in seen):
            tensor = tensor.contiguous().clone()
        seen.add(tensor.untyped_storage().data_ptr())
        out[name] = tensor.detach().cpu()
    save_file(out, str(path), metadata={"format": "pt"})


def source_key(*files: Path) -> str:
    """A cache key for files, from each one's resolved path, size and modification time (no file is read, so a
    large file costs nothing to key): a changed or replaced file gets a new key."""
    digest = hashlib.sha256(f"format {FORMAT_VERSION}\n".encode())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def write_entry(folder: Path, fill: Callable[[Path], None]) -> None:
    """Create the cache entry ``folder`` whole or not at all: ``fill(tmp)`` writes into a temporary folder beside
    it, which is then renamed into place. When another process finished the same entry first, its copy is kept."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        fill(tmp)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------------
# Model folders.


def safetensors_name(name: str) -> str:
    """The safetensors file diffusers / transformers look for in place of a ``.bin``: ``pytorch_model*.bin`` ->
    ``model*.safetensors``, ``diffusion_pytorch_model*.bin`` -> ``diffusion_pytorch_model*.safetensors``."""
    stem = name[: -len(".bin")]
    if stem.startswith(_TRANSFORMERS_STEM):
        stem = "model" + stem[len(_TRANSFORMERS_STEM):]
    return stem + ".safetensors"


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (symbolic links followed, as in a hub snapshot), relative, sorted; hidden files
    and folders (``.cache``, ``.gitattributes``) are left out."""
    found = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, n).relative_to(folder) for n in names if not n.startswith(".")]
    return sorted(found)


def _plan(folder: Path, files: list[Path]) -> tuple[dict[Path, Path], dict[Path, tuple[Path, dict]], set[Path]]:
    """What a mirror does with each file: ``.bin`` weights to convert (source -> target name), ``.bin`` shard
    indexes to rewrite (source -> target name and the rewritten index), and weights to leave out because their
    safetensors are already beside them."""
    present = set(files)
    convert: dict[Path, Path] = {}
    indexes: dict[Path, tuple[Path, dict]] = {}
    skip: set[Path] = set()
    for rel in files:
        if rel.name.endswith(_INDEX_SUFFIX):
            target = rel.with_name(safetensors_name(rel.name[: -len(".index.json")]) + ".index.json")
            if target in present:
                skip.add(rel)
            else:
                indexes[rel] = (target, _rewritten_index(folder / rel, rel, present))
        elif rel.suffix == ".bin":
            target = rel.with_name(safetensors_name(rel.name))
            if target in present or target.with_name(target.name + ".index.json") in present:
                skip.add(rel)
            else:
                convert[rel] = target
    return convert, indexes, skip


def _rewritten_index(path: Path, rel: Path, present: set[Path]) -> dict:
    """A ``*.bin.index.json`` whose ``weight_map`` names the converted shards; each shard it names must be a
    ``.bin`` file beside it."""
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not readable JSON ({exc})") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise ModelFileError(f"{path}: a shard index needs a 'weight_map' of tensor names to files")
    for name, shard in weight_map.items():
        if not (isinstance(shard, str) and shard.endswith(".bin") and Path(shard).name == shard
                and rel.with_name(shard) in present):
            raise ModelFileError(f"{path}: tensor {name!r} is mapped to {shard!r}, which is not a .bin file beside "
                                 "the index; the sharded weights cannot be converted")
    return {**index, "weight_map": {name: safetensors_name(shard) for name, shard in weight_map.items()}}


def safe_folder(folder: str | os.PathLike) -> Path:
    """A diffusers / transformers model folder whose weights all load with ``use_safetensors=True``.

    The folder itself when no ``.bin`` weight lacks its safetensors; else a mirror in the cache
    (``<cache>/safetensors/<key>``) where each such ``.bin`` is converted once, read as data
    (:func:`read_pickled_weights`), to the name diffusers and transformers look for (:func:`safetensors_name`;
    sharded ``*.bin.index.json`` files are rewritten to name the converted shards), and every other file (configs,
    tokenizers, vocoder files) is hard-linked, or copied where links fail. The key comes from each file's path,
    size and modification time, so a later call reads only small files, and a changed file gets a new mirror.

    Raises
    ------
    ModelFileError
        A ``.bin`` asks to run code or is not a state dict; nothing is left in the cache then.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {str(folder)!r} does not exist")
    files = _files(folder)
    convert, indexes, skip = _plan(folder, files)
    if not convert and not indexes:
        return folder
    mirror = cache_dir() / "safetensors" / source_key(*(folder / rel for rel in files))
    if mirror.is_dir():
        return mirror

    def fill(tmp: Path) -> None:
        for rel in files:
            if rel in skip:
                continue
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            if rel in convert:
                save_tensors(read_pickled_weights(folder / rel), tmp / convert[rel])
            elif rel in indexes:
                target, index = indexes[rel]
                (tmp / target).write_text(json.dumps(index, indent=2), encoding="utf-8")
            else:
                _link_or_copy((folder / rel).resolve(), tmp / rel)

    write_entry(mirror, fill)
    return mirror


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
