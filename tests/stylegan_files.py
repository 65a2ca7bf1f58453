"""Writers for StyleGAN pickle fixtures in the layouts of the real files, without NVIDIA's code.

TensorFlow StyleGAN2(-ADA) files are a ``(G, D, Gs)`` tuple of ``dnnlib.tflib.network.Network`` objects whose pickled
state holds the build options, the sub-networks, the stored build-module source and the variables as numpy
arrays. PyTorch StyleGAN2-ADA / StyleGAN3 files are a dict ``{'G', 'D', 'G_ema', 'augment_pipe',
'training_set_kwargs'}`` whose networks pickle as ``torch_utils.persistence._reconstruct_persistent_obj(meta)``
calls, ``meta`` holding the class name, the module source and the module's ``__dict__``.

To write the same globals as the real files, the writers put small stand-in modules (``dnnlib``,
``dnnlib.tflib.network``, ``dnnlib.util``, ``torch_utils.persistence``) into ``sys.modules`` while pickling and
remove them afterwards. Hostile pieces (:class:`Call`) pickle as calls of any function, such as ``os.system``.
"""

from __future__ import annotations

import contextlib
import math
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

HARMLESS_SOURCE = "# stored module source; a loader that executes it is broken\n"
PERSISTENCE_VERSION = 6

STYLEGAN2_BUFFERS = {"resample_filter", "noise_const", "w_avg"}
STYLEGAN3_BUFFERS = {"w_avg", "transform", "freqs", "phases", "magnitude_ema", "up_filter", "down_filter"}


class Call:
    """Pickles as ``func(*args)``: a REDUCE of whatever global ``func`` is (``os.system``, ``builtins.exec``, ...)."""

    def __init__(self, func, *args) -> None:
        self.func = func
        self.args = args

    def __reduce__(self):
        return self.func, self.args


def marker_source(marker: Path) -> str:
    """Python source that creates ``marker`` when executed."""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('executed')\n"


# --------------------------------------------------------------------------------------------------------------------
# Stand-in modules.


class _TFNetwork:
    """Pickles exactly like ``dnnlib.tflib.network.Network``: by class reference plus a ``__getstate__`` dict."""

    def __init__(self, state: dict) -> None:
        self._state = state

    def __getstate__(self) -> dict:
        return self._state


class _EasyDict(dict):
    pass


def _reconstruct_persistent_obj(meta):  # never called: only its name is pickled
    raise AssertionError("the fixture stand-in must not be called")


class _Persistent:
    """Pickles like a ``torch_utils.persistence`` object: ``_reconstruct_persistent_obj(meta)``."""

    def __init__(self, class_name: str, state: dict, module_src: str) -> None:
        self.meta = dict(
            type="class", version=PERSISTENCE_VERSION, module_src=module_src, class_name=class_name, state=state
        )

    def __reduce__(self):
        return _reconstruct_persistent_obj, (self.meta,)


def _named(obj, module: str, name: str):
    obj.__module__ = module
    obj.__qualname__ = obj.__name__ = name
    return obj


_named(_TFNetwork, "dnnlib.tflib.network", "Network")
_named(_EasyDict, "dnnlib.util", "EasyDict")
_named(_reconstruct_persistent_obj, "torch_utils.persistence", "_reconstruct_persistent_obj")


@contextlib.contextmanager
def _stand_in_modules() -> Iterator[None]:
    modules = {
        "dnnlib": {},
        "dnnlib.util": {"EasyDict": _EasyDict},
        "dnnlib.tflib": {},
        "dnnlib.tflib.network": {"Network": _TFNetwork},
        "torch_utils": {},
        "torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
    }
    saved = {name: sys.modules.get(name) for name in modules}
    try:
        for name, contents in modules.items():
            module = types.ModuleType(name)
            module.__dict__.update(contents)
            sys.modules[name] = module
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def _dump(path: Path, obj, protocol: int, numpy_module: str | None) -> Path:
    """Pickle ``obj``; ``numpy_module='numpy.core'`` writes numpy's globals as numpy 1 did (protocols 2 and 3)."""
    with _stand_in_modules():
        data = pickle.dumps(obj, protocol=protocol)
    if numpy_module is not None and numpy_module != "numpy._core":
        if protocol > 3:
            raise ValueError("renaming numpy's module needs protocol 2 or 3, whose globals are plain text")
        for sub in (b"multiarray", b"numeric"):
            data = data.replace(b"cnumpy._core." + sub + b"\n", b"c" + numpy_module.encode() + b"." + sub + b"\n")
    path = Path(path)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------------------------------
# TensorFlow StyleGAN2 / StyleGAN2-ADA.

TF_KWARGS = dict(
    num_channels=3,
    resolution=16,
    label_size=0,
    latent_size=32,
    dlatent_size=32,
    fmap_base=128,
    fmap_max=32,
    mapping_layers=2,
)


def tf_generator_variables(static_kwargs: dict, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    """Random variables named and shaped as TensorFlow StyleGAN2-ADA's ``G_main`` creates them.

    Returns ``{'': Gs's own, 'mapping': ..., 'synthesis': ...}``, each ``{variable name: float32 array}``.
    """
    kw = {"latent_size": 512, "dlatent_size": 512, **static_kwargs}
    res_log2 = int(math.log2(kw["resolution"]))
    fmap_base, fmap_max = kw.get("fmap_base", 16384), kw.get("fmap_max", 512)
    channels, label_size = kw.get("num_channels", 3), kw.get("label_size", 0)
    architecture = kw.get("architecture", "skip")
    use_noise = kw.get("use_noise", True)
    w = kw["dlatent_size"]

    def nf(stage: int) -> int:
        return int(np.clip(int(fmap_base / 2.0**stage), 1, fmap_max))

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    synthesis: dict[str, np.ndarray] = {}
    if use_noise:
        for i in range(res_log2 * 2 - 3):
            size = 2 ** ((i + 5) // 2)
            synthesis[f"noise{i}"] = rand(1, 1, size, size)

    def layer(scope: str, fin: int, fout: int, kernel: int, noise: bool) -> None:
        synthesis[f"{scope}/weight"] = rand(kernel, kernel, fin, fout)
        synthesis[f"{scope}/mod_weight"] = rand(w, fin)
        synthesis[f"{scope}/mod_bias"] = rand(fin)
        if noise:
            synthesis[f"{scope}/noise_strength"] = rand()
        synthesis[f"{scope}/bias"] = rand(fout)

    synthesis["4x4/Const/const"] = rand(1, nf(1), 4, 4)
    layer("4x4/Conv", nf(1), nf(1), 3, use_noise)
    if architecture == "skip":
        layer("4x4/ToRGB", nf(1), channels, 1, False)
    for level in range(3, res_log2 + 1):
        scope = f"{2**level}x{2**level}"
        layer(f"{scope}/Conv0_up", nf(level - 2), nf(level - 1), 3, use_noise)
        layer(f"{scope}/Conv1", nf(level - 1), nf(level - 1), 3, use_noise)
        if architecture == "resnet":
            synthesis[f"{scope}/Skip/weight"] = rand(1, 1, nf(level - 2), nf(level - 1))
        if architecture == "skip" or level == res_log2:
            layer(f"{scope}/ToRGB", nf(level - 1), channels, 1, False)

    mapping: dict[str, np.ndarray] = {}
    fin = kw["latent_size"]
    if label_size:
        embed = kw.get("label_fmaps") or kw["latent_size"]
        mapping["LabelEmbed/weight"] = rand(label_size, embed)
        mapping["LabelEmbed/bias"] = rand(embed)
        fin += embed
    layers = kw.get("mapping_layers", 8)
    for i in range(layers):
        fout = kw["mapping_fmaps"] if kw.get("mapping_fmaps") and i < layers - 1 else w
        mapping[f"Dense{i}/weight"] = rand(fin, fout)
        mapping[f"Dense{i}/bias"] = rand(fout)
        fin = fout
    return {"": {"dlatent_avg": rand(w)}, "mapping": mapping, "synthesis": synthesis}


def tf_network(
    name: str,
    build_func_name: str,
    static_kwargs: dict,
    variables: dict[str, np.ndarray],
    components: dict | None = None,
    *,
    version: int = 5,
    module_src: str = HARMLESS_SOURCE,
) -> _TFNetwork:
    """One ``dnnlib.tflib.network.Network`` with the pickled state of format ``version`` (4: StyleGAN2, 5: -ADA)."""
    state = {
        "version": version,
        "name": name,
        "static_kwargs": dict(static_kwargs),
        "components": dict(components or {}),
        "build_module_src": module_src,
        "build_func_name": build_func_name,
        "variables": list(variables.items()),
    }
    if version >= 5:
        state.update(input_shapes=[[None, 1]], output_shapes=[[None, 1]], input_names=["in"], output_names=["out"])
    return _TFNetwork(state)


def tf_generator(
    static_kwargs: dict,
    variables_by_component: dict[str, dict[str, np.ndarray]],
    *,
    name: str = "Gs",
    version: int = 5,
    module_src: str = HARMLESS_SOURCE,
    build_func_name: str = "G_main",
) -> _TFNetwork:
    """A ``G_main`` network with its ``mapping`` and ``synthesis`` components, as the training scripts build it."""
    num_ws = int(math.log2(static_kwargs["resolution"])) * 2 - 2
    components = {
        "synthesis": tf_network(
            "G_synthesis",
            "G_synthesis",
            static_kwargs,
            variables_by_component["synthesis"],
            version=version,
            module_src=module_src,
        ),
        "mapping": tf_network(
            "G_mapping",
            "G_mapping",
            {"dlatent_broadcast": num_ws, **static_kwargs},
            variables_by_component["mapping"],
            version=version,
            module_src=module_src,
        ),
    }
    return tf_network(
        name,
        build_func_name,
        static_kwargs,
        variables_by_component[""],
        components,
        version=version,
        module_src=module_src,
    )


def tf_discriminator(static_kwargs: dict, rng: np.random.Generator, *, version: int = 5, **extra) -> _TFNetwork:
    """A small ``D_main`` network; ``extra`` goes into its build options (e.g. a hostile :class:`Call`)."""
    variables = {
        "4x4/Conv/weight": rng.standard_normal((3, 3, 8, 8)).astype(np.float32),
        "Output/weight": rng.standard_normal((8, 1)).astype(np.float32),
    }
    return tf_network("D", "D_main", {**static_kwargs, **extra}, variables, version=version)


def write_tf_pickle(
    path: Path,
    static_kwargs: dict,
    variables_by_component: dict[str, dict[str, np.ndarray]],
    *,
    version: int = 5,
    module_src: str = HARMLESS_SOURCE,
    discriminator: _TFNetwork | None = None,
    gs_extra_kwargs: dict | None = None,
    protocol: int = 3,
    numpy_module: str = "numpy.core",
) -> Path:
    """Write a TensorFlow ``(G, D, Gs)`` pickle as StyleGAN2(-ADA) training does (Python 3, numpy 1 names).

    ``gs_extra_kwargs`` is merged into Gs's build options only (e.g. to put a hostile :class:`Call` there).
    """
    rng = np.random.default_rng(1)
    gen = tf_generator(static_kwargs, variables_by_component, name="G", version=version, module_src=module_src)
    gs_kwargs = {**static_kwargs, **(gs_extra_kwargs or {})}
    gs = tf_generator(gs_kwargs, variables_by_component, version=version, module_src=module_src)
    disc = discriminator if discriminator is not None else tf_discriminator(static_kwargs, rng, version=version)
    return _dump(path, (gen, disc, gs), protocol, numpy_module)


def write_tf_discriminator_pickle(path: Path) -> Path:
    """A pickle of a lone TensorFlow discriminator network (no generator)."""
    return _dump(path, tf_discriminator(TF_KWARGS, np.random.default_rng(0)), 3, "numpy.core")


STYLEGAN1_KWARGS = dict(num_channels=3, resolution=8, label_size=0, fmap_base=64, fmap_max=16, mapping_layers=2)


def write_stylegan1_pickle(path: Path) -> Path:
    """A TensorFlow StyleGAN (version 1) ``(G, D, Gs)`` pickle: ``G_style``, StyleMod layers, format version 3."""
    rng = np.random.default_rng(2)

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    synthesis = {"lod": np.float32(0), "noise0": rand(1, 1, 4, 4), "4x4/Const/const": rand(1, 16, 4, 4)}
    for scope in ("4x4/Const", "4x4/Conv", "8x8/Conv0_up", "8x8/Conv1"):
        synthesis[f"{scope}/Noise/weight"] = rand(16)
        synthesis[f"{scope}/bias"] = rand(16)
        synthesis[f"{scope}/StyleMod/weight"] = rand(16, 32)
        synthesis[f"{scope}/StyleMod/bias"] = rand(32)
    synthesis["ToRGB_lod0/weight"] = rand(1, 1, 16, 3)
    synthesis["ToRGB_lod0/bias"] = rand(3)
    mapping = {"Dense0/weight": rand(16, 16), "Dense0/bias": rand(16)}
    variables = {"": {"lod": np.float32(0), "dlatent_avg": rand(16)}, "mapping": mapping, "synthesis": synthesis}
    nets = [
        tf_generator(STYLEGAN1_KWARGS, variables, name=name, version=3, build_func_name="G_style")
        for name in ("G", "Gs")
    ]
    disc = tf_discriminator(STYLEGAN1_KWARGS, rng, version=3)
    return _dump(path, (nets[0], disc, nets[1]), 3, "numpy.core")


# --------------------------------------------------------------------------------------------------------------------
# PyTorch StyleGAN2-ADA / StyleGAN3.


def _class_name(arch: str, module_path: str) -> str:
    """The class NVIDIA's code uses for the module at ``module_path`` of a generator."""
    last = module_path.rsplit(".", 1)[-1]
    if module_path == "":
        return "Generator"
    if module_path in ("mapping", "synthesis"):
        return {"mapping": "MappingNetwork", "synthesis": "SynthesisNetwork"}[module_path]
    if last in ("affine", "embed") or last.startswith("fc"):
        return "FullyConnectedLayer"
    if arch == "stylegan3":
        return "SynthesisInput" if last == "input" else "SynthesisLayer"
    if module_path.count(".") == 1:
        return "SynthesisBlock"
    return {"conv0": "SynthesisLayer", "conv1": "SynthesisLayer", "torgb": "ToRGBLayer", "skip": "Conv2dLayer"}[last]


def _module_state(init_kwargs: dict | None = None, **attributes) -> dict:
    """A module ``__dict__`` as the current torch version pickles it, with hooks, flags and NVIDIA's init record."""
    state = {k: (type(v)() if isinstance(v, (dict, set)) else v) for k, v in torch.nn.Module().__dict__.items()}
    state["training"] = False
    state.update(attributes)
    state["_init_args"] = ()
    state["_init_kwargs"] = init_kwargs if init_kwargs is not None else {}
    return state


def _easy(value):
    """Nested dicts as ``dnnlib.util.EasyDict`` (how NVIDIA's training scripts pass options)."""
    if isinstance(value, dict):
        return _EasyDict({k: _easy(v) for k, v in value.items()})
    return value


def generator_record(
    arch: str,
    init_kwargs: dict,
    state_dict: dict[str, torch.Tensor],
    *,
    module_src: str = HARMLESS_SOURCE,
    extra: dict | None = None,
) -> _Persistent:
    """A persistent generator whose module tree follows the state-dict key prefixes, as NVIDIA's files have it.

    Tensors named like NVIDIA's buffers are stored as buffers, the rest as parameters. ``extra`` is merged into
    the root module's ``__dict__`` (e.g. to plant a hostile :class:`Call`).
    """
    buffer_names = STYLEGAN3_BUFFERS if arch == "stylegan3" else STYLEGAN2_BUFFERS
    tree: dict[str, dict] = {"": {}}
    for key, tensor in state_dict.items():
        *parents, leaf = key.split(".")
        for depth in range(len(parents) + 1):
            tree.setdefault(".".join(parents[:depth]), {})
        tree[".".join(parents)][leaf] = tensor

    def build(module_path: str) -> _Persistent:
        prefix = module_path + "." if module_path else ""
        children = list(dict.fromkeys(p[len(prefix) :].split(".")[0] for p in tree if p and p.startswith(prefix)))
        children = [child for child in children if child]
        params, buffers = {}, {}
        for name, tensor in tree[module_path].items():
            if name in buffer_names:
                buffers[name] = tensor.clone()
            else:
                params[name] = torch.nn.Parameter(tensor.clone(), requires_grad=False)
        class_name = _class_name(arch, module_path)
        attributes: dict = {}
        if class_name == "FullyConnectedLayer":
            attributes = {"activation": "linear", "weight_gain": np.float64(0.25), "bias_gain": 1}
        if arch == "stylegan3" and class_name == "SynthesisLayer":
            buffers.setdefault("up_filter", None)
            buffers.setdefault("down_filter", None)
            attributes = {"in_size": np.array([36, 36]), "out_size": np.array([36, 36]), "use_fp16": False}
        state = _module_state(
            _easy(init_kwargs) if module_path == "" else {},
            _parameters=params,
            _buffers=buffers,
            _modules={child: build(prefix + child) for child in children},
            **attributes,
        )
        if module_path == "":
            for name in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
                state[name] = init_kwargs.get(name)
            state.update(extra or {})
        return _Persistent(class_name, state, module_src)

    return build("")


def discriminator_record(extra: dict | None = None) -> _Persistent:
    """A small persistent discriminator; ``extra`` is merged into its ``__dict__``."""
    rng = torch.Generator().manual_seed(3)
    fc = _Persistent(
        "FullyConnectedLayer",
        _module_state(
            _parameters={
                "weight": torch.nn.Parameter(torch.randn(1, 8, generator=rng), requires_grad=False),
                "bias": torch.nn.Parameter(torch.zeros(1), requires_grad=False),
            }
        ),
        HARMLESS_SOURCE,
    )
    state = _module_state({"c_dim": 0, "img_resolution": 16, "img_channels": 3}, _modules={"out": fc})
    state.update(extra or {})
    return _Persistent("Discriminator", state, HARMLESS_SOURCE)


def augment_pipe_record() -> _Persistent:
    state = _module_state({"xflip": 1}, _buffers={"p": torch.zeros([])}, xflip=1.0)
    return _Persistent("AugmentPipe", state, HARMLESS_SOURCE)


def write_pytorch_pickle(
    path: Path,
    arch: str,
    init_kwargs: dict,
    state_dict: dict[str, torch.Tensor],
    *,
    module_src: str = HARMLESS_SOURCE,
    g_ema_extra: dict | None = None,
    d_extra: dict | None = None,
    keys: tuple[str, ...] = ("G", "D", "G_ema", "augment_pipe", "training_set_kwargs"),
    protocol: int = 4,
    numpy_module: str | None = None,
) -> Path:
    """Write a PyTorch StyleGAN2-ADA / StyleGAN3 snapshot pickle as NVIDIA's training loop does.

    ``arch`` ('stylegan2' or 'stylegan3') picks the class names and which tensors are buffers; ``init_kwargs`` is
    what the generator was constructed with; ``keys`` selects which entries the dict has.
    """
    entries = {
        "G": lambda: generator_record(arch, init_kwargs, state_dict, module_src=module_src),
        "D": lambda: discriminator_record(d_extra),
        "G_ema": lambda: generator_record(arch, init_kwargs, state_dict, module_src=module_src, extra=g_ema_extra),
        "augment_pipe": augment_pipe_record,
        "training_set_kwargs": lambda: {"class_name": "training.dataset.ImageFolderDataset", "path": "data.zip"},
    }
    return _dump(path, {key: entries[key]() for key in keys}, protocol, numpy_module)


def stylegan2_state_dict(init_kwargs: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with the keys and shapes of NVIDIA's StyleGAN2 ``Generator.state_dict()`` for ``init_kwargs``.

    Built from the architecture's rules, independently of the package's converter; flat (StyleGAN3-repo) or nested
    (StyleGAN2-ADA) synthesis options both work.
    """
    gen = torch.Generator().manual_seed(seed)
    kw = {**init_kwargs, **init_kwargs.get("synthesis_kwargs", {})}
    mapping = init_kwargs.get("mapping_kwargs", {})
    w_dim, channels = kw["w_dim"], kw["img_channels"]
    arch = kw.get("architecture", "skip")
    use_noise = kw.get("use_noise", True)
    res_log2 = int(math.log2(kw["img_resolution"]))
    filt = torch.tensor([1.0, 3.0, 3.0, 1.0])
    filt = torch.outer(filt, filt) / 64

    def ch(res: int) -> int:
        return min(kw.get("channel_base", 32768) // res, kw.get("channel_max", 512))

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen)

    sd: dict[str, torch.Tensor] = {}

    def layer(key: str, cin: int, cout: int, res: int) -> None:
        sd[f"{key}.weight"] = rand(cout, cin, 3, 3)
        if use_noise:
            sd[f"{key}.noise_strength"] = rand()
        sd[f"{key}.bias"] = rand(cout)
        sd[f"{key}.resample_filter"] = filt.clone()
        if use_noise:
            sd[f"{key}.noise_const"] = rand(res, res)
        sd[f"{key}.affine.weight"] = rand(cin, w_dim)
        sd[f"{key}.affine.bias"] = rand(cin)

    for level in range(2, res_log2 + 1):
        res = 2**level
        key = f"synthesis.b{res}"
        if res == 4:
            sd[f"{key}.const"] = rand(ch(4), 4, 4)
        sd[f"{key}.resample_filter"] = filt.clone()
        if res > 4:
            layer(f"{key}.conv0", ch(res // 2), ch(res), res)
        layer(f"{key}.conv1", ch(res), ch(res), res)
        if arch == "skip" or res == kw["img_resolution"]:
            sd[f"{key}.torgb.weight"] = rand(channels, ch(res), 1, 1)
            sd[f"{key}.torgb.bias"] = rand(channels)
            sd[f"{key}.torgb.affine.weight"] = rand(ch(res), w_dim)
            sd[f"{key}.torgb.affine.bias"] = rand(ch(res))
        if arch == "resnet" and res > 4:
            sd[f"{key}.skip.weight"] = rand(ch(res), ch(res // 2), 1, 1)
            sd[f"{key}.skip.resample_filter"] = filt.clone()
    sd["mapping.w_avg"] = rand(w_dim)
    embed = 0
    if kw["c_dim"]:
        embed = mapping.get("embed_features") or w_dim
        sd["mapping.embed.weight"] = rand(embed, kw["c_dim"])
        sd["mapping.embed.bias"] = rand(embed)
    layers = mapping.get("num_layers", 8)
    hidden = mapping.get("layer_features") or w_dim
    features = [kw["z_dim"] + embed] + [hidden] * (layers - 1) + [w_dim]
    for i in range(layers):
        sd[f"mapping.fc{i}.weight"] = rand(features[i + 1], features[i])
        sd[f"mapping.fc{i}.bias"] = rand(features[i + 1])
    return sd


def stylegan3_state_dict(init_kwargs: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with StyleGAN3 ``Generator.state_dict()`` keys for a tiny two-layer synthesis network.

    The shapes follow NVIDIA's naming (``synthesis.input``, ``synthesis.L{i}_{size}_{channels}``); they are meant
    for loading tests, not for running the network.
    """
    gen = torch.Generator().manual_seed(seed)
    w_dim, z_dim, c_dim = init_kwargs["w_dim"], init_kwargs["z_dim"], init_kwargs["c_dim"]
    channels = init_kwargs["img_channels"]

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen)

    sd = {
        "synthesis.input.weight": rand(8, 8),
        "synthesis.input.transform": torch.eye(3),
        "synthesis.input.freqs": rand(8, 2),
        "synthesis.input.phases": rand(8),
        "synthesis.input.affine.weight": rand(4, w_dim),
        "synthesis.input.affine.bias": torch.tensor([1.0, 0.0, 0.0, 0.0]),
    }
    for name, cin, cout, filters in (("L0_20_8", 8, 8, True), ("L1_16_3", 8, channels, False)):
        key = f"synthesis.{name}"
        sd[f"{key}.weight"] = rand(cout, cin, 1 if not filters else 3, 1 if not filters else 3)
        sd[f"{key}.bias"] = rand(cout)
        sd[f"{key}.magnitude_ema"] = torch.ones([])
        if filters:
            sd[f"{key}.up_filter"] = rand(6)
            sd[f"{key}.down_filter"] = rand(6)
        sd[f"{key}.affine.weight"] = rand(cin, w_dim)
        sd[f"{key}.affine.bias"] = rand(cin)
    sd["mapping.w_avg"] = rand(w_dim)
    if c_dim:
        sd["mapping.embed.weight"] = rand(w_dim, c_dim)
        sd["mapping.embed.bias"] = rand(w_dim)
    fin = z_dim + (w_dim if c_dim else 0)
    for i in range(init_kwargs.get("mapping_kwargs", {}).get("num_layers", 2)):
        sd[f"mapping.fc{i}.weight"] = rand(w_dim, fin)
        sd[f"mapping.fc{i}.bias"] = rand(w_dim)
        fin = w_dim
    return sd
