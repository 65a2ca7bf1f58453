"""Reading StyleGAN pickles as data: a restricted unpickler that never imports or runs anything from the file.

A StyleGAN ``.pkl`` is a Python pickle, and unpickling one normally executes Python source stored inside it
(``build_module_src`` in TensorFlow files, ``module_src`` in PyTorch ones) and may call any function the file
names. Here every global the file refers to is looked up in a fixed table of harmless stand-ins:

- the network containers become plain records (:class:`TFNetwork`, :class:`ModuleRecord`) that keep the stored
  source as text only;
- arrays and tensors are rebuilt by numpy's array reconstructor and by ``torch.load(..., weights_only=True)``;
- anything else becomes a :class:`Unreadable` placeholder that records the name and does nothing when called.

The generator (``Gs`` of a TensorFlow ``(G, D, Gs)`` tuple; ``G_ema``, or else ``G``, of a PyTorch dict) must be
free of placeholders; the discriminator, the augmentation pipeline and the training options are ignored,
whatever they hold.
"""

from __future__ import annotations

import io
import os
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
import torch

from ..errors import ModelFileError

SUPPORTED_FORMATS = (
    "TensorFlow StyleGAN2 / StyleGAN2-ADA pickles (a (G, D, Gs) tuple of dnnlib.tflib.network.Network) and "
    "PyTorch StyleGAN2-ADA / StyleGAN3 pickles (a dict with 'G_ema', built by torch_utils.persistence)"
)


# --------------------------------------------------------------------------------------------------------------------
# Records standing in for the network classes.


class TFNetwork:
    """The pickled state of a ``dnnlib.tflib.network.Network``; built from data only, never run.

    Attributes
    ----------
    version : int or None
        The state's format version (2-3: StyleGAN1 era, 4: StyleGAN2, 5: StyleGAN2-ADA).
    name, build_func_name : str
        Network name (``'Gs'``, ``'G_mapping'``, ...) and the name of its build function (``'G_main'``, ...).
    build_module_src : str
        The stored source of the build module, kept as text and never executed.
    static_kwargs : dict
        Keyword arguments of the build function.
    components : dict[str, TFNetwork]
        Sub-networks (``'mapping'``, ``'synthesis'``).
    variables : dict[str, np.ndarray]
        The network's own variables by TensorFlow name, in stored order.
    malformed : str or None
        Why the stored state could not be read as a network, if it could not.
    """

    version: Any = None
    name: Any = ""
    build_func_name: Any = ""
    build_module_src: Any = ""
    static_kwargs: Any = None
    components: Any = None
    variables: Any = None
    malformed: str | None = None

    def __setstate__(self, state: object) -> None:
        self.static_kwargs, self.components, self.variables = {}, {}, {}
        if not isinstance(state, dict):
            self.malformed = f"its state is a {type(state).__name__}, not a dict"
            return
        self.version = state.get("version")
        self.name = state.get("name", "")
        self.build_func_name = state.get("build_func_name", "")
        self.build_module_src = state.get("build_module_src", "")
        self.static_kwargs = state.get("static_kwargs", {})
        self.components = state.get("components", {})
        variables = state.get("variables", [])
        pairs = variables.items() if isinstance(variables, dict) else variables
        try:
            self.variables = {name: value for name, value in pairs}
        except (TypeError, ValueError):
            self.variables = variables
            self.malformed = "its variables are not a list of (name, array) pairs"

    def __repr__(self) -> str:
        return f"TFNetwork(name={self.name!r}, build_func_name={self.build_func_name!r}, version={self.version!r})"


class ModuleRecord:
    """A ``torch_utils.persistence`` object: class name, stored source (text, never run) and module state.

    ``state`` is the module's ``__dict__`` as pickled: ``_parameters``, ``_buffers`` and ``_modules`` (sub-modules
    are again :class:`ModuleRecord`), ``_init_args``, ``_init_kwargs`` and the plain attributes.
    """

    def __init__(self, meta: object) -> None:
        meta = meta if isinstance(meta, dict) else {}
        self.kind = meta.get("type")
        self.version = meta.get("version")
        self.class_name = meta.get("class_name", "")
        self.module_src = meta.get("module_src", "")
        state = meta.get("state")
        self.state = state if isinstance(state, dict) else {}
        self.malformed = None if isinstance(state, dict) else f"its state is a {type(state).__name__}, not a dict"

    def section(self, name: str) -> dict:
        """``_parameters``, ``_buffers`` or ``_modules`` of the state (empty when absent)."""
        value = self.state.get(name)
        return value if isinstance(value, dict) else {}

    def __repr__(self) -> str:
        return f"ModuleRecord(class_name={self.class_name!r})"


class EasyDictRecord(dict):
    """Stands in for ``dnnlib.util.EasyDict``: a plain dict (with a ``__dict__``, so pickle's BUILD is harmless)."""

    def __setstate__(self, state: object) -> None:
        pass


# --------------------------------------------------------------------------------------------------------------------
# Placeholders for anything else.


class Unreadable:
    """A value the reader refused to build: an unknown global, or a known one called with bad arguments.

    Calls, ``__setstate__``, item assignment and appends are absorbed without doing anything, so that an unknown
    global in a part of the file that is not needed (the discriminator, say) does not stop the load.
    """

    what = "an unreadable value"

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __call__(self, *args: object, **kwargs: object) -> Unreadable:
        return self

    def __setstate__(self, state: object) -> None:
        pass

    def __setitem__(self, key: object, value: object) -> None:
        pass

    def append(self, item: object) -> None:
        pass

    def extend(self, items: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{self.what}>"


class _Invalid(Unreadable):
    def __init__(self, what: str) -> None:
        self.what = what


_FOREIGN_CLASSES: dict[str, type[Unreadable]] = {}


def _foreign(module: str, name: str) -> type[Unreadable]:
    """A placeholder class for the global ``module.name``, created once per name."""
    full = f"{module}.{name}"
    if full not in _FOREIGN_CLASSES:
        what = f"the Python global {full!r}"
        _FOREIGN_CLASSES[full] = type("ForeignGlobal", (Unreadable,), {"what": what, "global_name": full})
    return _FOREIGN_CLASSES[full]


# --------------------------------------------------------------------------------------------------------------------
# Safe rebuilders for the globals that real files use.


class _Marker:
    """A named token handed out for a class that pickles refer to but must never call (``numpy.ndarray``, ...)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NDARRAY = _Marker("numpy.ndarray")
_TORCH_TENSOR = _Marker("torch.Tensor")
_TORCH_PARAMETER = _Marker("torch.nn.Parameter")


def _guarded(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn any exception of a rebuilder into an :class:`_Invalid` value, so that a broken part fails only if used."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: object) -> object:
            try:
                return func(*args)
            except Exception as exc:  # a rebuilder fed bad data: record it, decide later whether it matters
                return _Invalid(f"an invalid {what} ({type(exc).__name__}: {exc})")

        return guarded

    return wrap


@_guarded("numpy dtype")
def _numpy_dtype(*args: object) -> np.dtype:
    if not args or not isinstance(args[0], str):
        raise TypeError("a dtype must be named by a string")
    return np.dtype(*args)


@_guarded("numpy array")
def _numpy_reconstruct(subtype: object, *args: object) -> np.ndarray:
    """An empty array; the array's ``__setstate__`` (pickle's BUILD) then gives it its shape, dtype and data."""
    if subtype is not _NDARRAY:
        raise TypeError("only plain numpy.ndarray arrays are allowed")
    return np.empty((0,), dtype=np.int8)


@_guarded("numpy scalar")
def _numpy_scalar(dtype: object, data: object = None) -> object:
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"expected a numpy dtype, got {type(dtype).__name__}")
    if dtype.hasobject:
        return data  # numpy stores an object scalar as the (already unpickled) object itself
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise TypeError("a scalar needs exactly dtype.itemsize bytes")
    return np.frombuffer(bytes(data), dtype=dtype)[0]


@_guarded("numpy array")
def _numpy_frombuffer(buffer: object, dtype: object, shape: object, order: object = "C") -> np.ndarray:
    if not isinstance(dtype, np.dtype) or not isinstance(buffer, (bytes, bytearray)):
        raise TypeError("array data must be bytes with a numpy dtype")
    return np.frombuffer(bytearray(buffer), dtype=dtype).reshape(shape, order="F" if order == "F" else "C")


@_guarded("byte string")
def _codecs_encode(text: object, encoding: object = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise TypeError("only latin-1 text can be turned into bytes")
    return text.encode("latin-1")


@_guarded("torch storage")
def _torch_storage(data: object) -> object:
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("storage data must be bytes")
    storage = torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)
    if not isinstance(storage, torch.storage.TypedStorage):
        raise TypeError(f"expected a storage, got {type(storage).__name__}")
    return storage


def _ints(value: object) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list, torch.Size)) or not all(isinstance(v, int) for v in value):
        raise TypeError("sizes and strides must be tuples of integers")
    return tuple(value)


@_guarded("torch tensor")
def _torch_tensor(storage: object, offset: object, size: object, stride: object, *rest: object) -> torch.Tensor:
    if not isinstance(storage, torch.storage.TypedStorage) or not isinstance(offset, int):
        raise TypeError("a tensor needs a storage and an integer offset")
    return torch._utils._rebuild_tensor_v2(storage, offset, _ints(size), _ints(stride), False, OrderedDict())


@_guarded("torch parameter")
def _torch_parameter(data: object, *rest: object) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"a parameter wraps a tensor, got {type(data).__name__}")
    return data


@_guarded("torch tensor")
def _torch_from_type(func: object, new_type: object, args: object, state: object = None) -> torch.Tensor:
    if func not in (_torch_tensor, _torch_parameter) or new_type not in (_TORCH_TENSOR, _TORCH_PARAMETER):
        raise TypeError("only plain tensors and parameters are allowed")
    tensor = func(*args) if isinstance(args, tuple) else None
    if not isinstance(tensor, torch.Tensor):
        raise TypeError("the wrapped value is not a tensor")
    return tensor


def _persistent_object(meta: object) -> ModuleRecord:
    return ModuleRecord(meta)


_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMERIC_MODULES = ("numpy.core.numeric", "numpy._core.numeric")

_KNOWN_GLOBALS: dict[tuple[str, str], object] = {
    # TensorFlow StyleGAN2 / StyleGAN2-ADA networks.
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    # PyTorch StyleGAN2-ADA / StyleGAN3 networks and their options.
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent_object,
    ("dnnlib.util", "EasyDict"): EasyDictRecord,
    ("collections", "OrderedDict"): OrderedDict,
    # Tensors as pickle.dump stores them.
    ("torch._utils", "_rebuild_tensor_v2"): _torch_tensor,
    ("torch._utils", "_rebuild_parameter"): _torch_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _torch_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _torch_from_type,
    ("torch", "Tensor"): _TORCH_TENSOR,
    ("torch.nn.parameter", "Parameter"): _TORCH_PARAMETER,
    ("torch.storage", "_load_from_bytes"): _torch_storage,
    # numpy arrays, dtypes and scalars (numpy 1 and numpy 2 module names).
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _numpy_dtype,
    **{(module, "_reconstruct"): _numpy_reconstruct for module in _NUMPY_MODULES},
    **{(module, "scalar"): _numpy_scalar for module in _NUMPY_MODULES},
    **{(module, "_frombuffer"): _numpy_frombuffer for module in _NUMERIC_MODULES},
    # Builtins that protocol 2 and 3 pickles name explicitly.
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _codecs_encode,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if module == "__builtin__":  # protocol 0-2 pickles use Python 2's name
            module = "builtins"
        known = _KNOWN_GLOBALS.get((module, name))
        return known if known is not None else _foreign(module, name)

    def persistent_load(self, pid: object) -> object:
        raise ModelFileError(
            "it uses pickle persistent IDs, as torch.save does for tensors; StyleGAN network pickles do not."
        )


class _BoundedReader:
    """A file reader that never asks for more bytes than the file has (a damaged length cannot allocate GBs)."""

    def __init__(self, f: io.BufferedReader, size: int) -> None:
        self._f = f
        self._left = size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._f.read(n)
        self._left -= len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readline(self) -> bytes:
        line = self._f.readline(self._left)
        self._left -= len(line)
        return line


# --------------------------------------------------------------------------------------------------------------------
# Reading a file.

GeneratorRecord = Union[TFNetwork, ModuleRecord]


@dataclass
class StyleGANPickle:
    """The generator part of a StyleGAN pickle, read as data.

    Attributes
    ----------
    path : Path
        The file it came from (for messages).
    layout : {'tensorflow', 'pytorch'}
        Which family of files it is.
    generator : TFNetwork or ModuleRecord
        ``Gs`` of a TensorFlow file; ``G_ema`` (or ``G`` when there is no ``G_ema``) of a PyTorch one.
    """

    path: Path
    layout: str
    generator: GeneratorRecord


def read_pickle(path: str | os.PathLike) -> StyleGANPickle:
    """Read a StyleGAN network pickle without importing or executing anything stored in it.

    Raises
    ------
    ModelFileError
        The file is missing, empty, damaged, not a pickle, a pickle of something other than a supported
        StyleGAN network, or its generator refers to a Python global outside the known network formats.
    """
    path = Path(path).expanduser()
    data = _unpickle(path)
    try:
        layout, generator = _find_generator(data, path)
    except ModelFileError:
        _refuse_unreadable(data, path, "the file")
        raise
    _refuse_unreadable(generator, path, "its generator")
    return StyleGANPickle(path=path, layout=layout, generator=generator)


def _refuse_unreadable(part: object, path: Path, name: str) -> None:
    bad = _find_unreadable(part)
    if bad is not None:
        raise ModelFileError(
            f"{path}: refusing to load it: {name} refers to {bad.what}, which is not part of any StyleGAN "
            f"network format (nothing from the file was run). Supported: {SUPPORTED_FORMATS}."
        )


def _unpickle(path: Path) -> object:
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise ModelFileError(f"model file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {str(path)!r}: {exc.strerror or exc}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(4)
        f.seek(0)
        if size == 0:
            raise ModelFileError(f"{path}: the file is empty. Supported: {SUPPORTED_FORMATS}.")
        if head == b"PK\x03\x04":
            raise ModelFileError(
                f"{path}: this is a zip archive (such as a torch.save checkpoint or a state_dict), not a StyleGAN "
                f"network pickle; it has no network hyper-parameters. Supported: {SUPPORTED_FORMATS}."
            )
        try:
            return _SafeUnpickler(_BoundedReader(f, size)).load()
        except ModelFileError as exc:
            raise ModelFileError(f"{path}: {exc} Supported: {SUPPORTED_FORMATS}.") from None
        except (EOFError, pickle.UnpicklingError) as exc:
            if isinstance(exc, EOFError) or "truncated" in str(exc):
                problem = "the file is truncated (an incomplete download or copy?)"
            else:
                problem = f"the file is damaged or not a pickle ({exc})"
            raise ModelFileError(f"{path}: {problem}. Supported: {SUPPORTED_FORMATS}.") from None
        except Exception as exc:  # any other failure of the pickle machinery on bad bytes
            raise ModelFileError(
                f"{path}: the file is damaged or not a StyleGAN pickle ({type(exc).__name__}: {exc}). "
                f"Supported: {SUPPORTED_FORMATS}."
            ) from None


def _find_generator(data: object, path: Path) -> tuple[str, GeneratorRecord]:
    """Pick the generator out of what the file holds, or say what the file holds instead."""
    if isinstance(data, tuple) and len(data) == 3 and all(isinstance(net, TFNetwork) for net in data):
        return "tensorflow", data[2]
    if isinstance(data, TFNetwork):
        if _tf_is_discriminator(data):
            raise _wrong_kind(path, "a lone TensorFlow discriminator (no generator)")
        return "tensorflow", data
    if isinstance(data, (tuple, list)) and any(isinstance(net, TFNetwork) for net in data):
        raise _wrong_kind(path, f"a {type(data).__name__} of {len(data)} items, not the (G, D, Gs) tuple")
    if isinstance(data, ModuleRecord):
        if "Discriminator" in str(data.class_name):
            raise _wrong_kind(path, f"a lone PyTorch discriminator ({data.class_name}), with no generator")
        return "pytorch", data
    if isinstance(data, int) and data == _TORCH_SAVE_MAGIC:
        raise _wrong_kind(path, "a torch.save file (such as a state_dict), with no network hyper-parameters")
    if isinstance(data, dict):
        for key in ("G_ema", "G"):
            if isinstance(data.get(key), ModuleRecord):
                return "pytorch", data[key]
        if "G_ema" in data or "G" in data:
            found = data.get("G_ema", data.get("G"))
            raise _wrong_kind(path, f"a dict whose generator is {_describe(found)}, not a persistent network")
        if isinstance(data.get("D"), ModuleRecord):
            raise _wrong_kind(path, "a dict with a discriminator ('D') but no generator ('G_ema' or 'G')")
        if data and all(isinstance(v, torch.Tensor) for v in data.values()):
            raise _wrong_kind(path, f"a plain state_dict of {len(data)} tensor(s) and no network hyper-parameters")
        keys = ", ".join(repr(k) for k in list(data)[:8])
        raise _wrong_kind(path, f"a dict with keys {keys or '(none)'} and no generator")
    raise _wrong_kind(path, _describe(data))


_TORCH_SAVE_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of torch.save's pre-zip format


def _tf_is_discriminator(net: TFNetwork) -> bool:
    components = net.components if isinstance(net.components, dict) else {}
    return str(net.build_func_name).startswith("D_") or (net.name == "D" and "synthesis" not in components)


def _describe(value: object) -> str:
    if isinstance(value, Unreadable):
        return f"an object of {value.what}"
    if isinstance(value, (list, tuple, set, dict)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__module__}.{type(value).__qualname__}"


def _wrong_kind(path: Path, found: str) -> ModelFileError:
    return ModelFileError(
        f"{path}: not a supported StyleGAN network pickle; it holds {found}. Supported: {SUPPORTED_FORMATS}."
    )


def _find_unreadable(root: object) -> Unreadable | type[Unreadable] | None:
    """The first placeholder anywhere inside ``root`` (records, containers, keys included), or ``None``."""
    stack, seen = [root], set()
    while stack:
        obj = stack.pop()
        if isinstance(obj, Unreadable) or (isinstance(obj, type) and issubclass(obj, Unreadable)):
            return obj
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, torch.Tensor, np.generic)):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:  # arrays of objects hold unpickled values too
                stack.extend(obj.ravel().tolist())
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, (TFNetwork, ModuleRecord)):
            stack.extend(vars(obj).values())
    return None
