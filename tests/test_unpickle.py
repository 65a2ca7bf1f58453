"""Reading StyleGAN pickles as data: every layout converts to the right spec, and nothing in a file is ever run."""

from __future__ import annotations

import builtins
import json
import os
import pickle
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from stylegan_files import (
    TF_KWARGS,
    Call,
    marker_source,
    stylegan2_state_dict,
    stylegan3_state_dict,
    tf_discriminator,
    tf_generator_variables,
    write_pytorch_pickle,
    write_stylegan1_pickle,
    write_tf_discriminator_pickle,
    write_tf_pickle,
)

from lucidsonicdreams.errors import ModelFileError
from lucidsonicdreams.models.convert import NetworkSpec, to_spec
from lucidsonicdreams.models.unpickle import ModuleRecord, TFNetwork, read_pickle


def load_spec(path) -> NetworkSpec:
    """Read and convert a file with no conversion cache involved."""
    return to_spec(read_pickle(path))

SG2_KWARGS = dict(
    z_dim=8,
    c_dim=0,
    w_dim=16,
    img_resolution=16,
    img_channels=3,
    mapping_kwargs={"num_layers": 2},
    channel_base=256,
    channel_max=32,
    num_fp16_res=1,
    conv_clamp=256,
)
ADA_KWARGS = dict(
    z_dim=8,
    c_dim=3,
    w_dim=16,
    img_resolution=16,
    img_channels=3,
    mapping_kwargs={"num_layers": 2},
    synthesis_kwargs={"channel_base": 256, "channel_max": 32, "num_fp16_res": 0, "conv_clamp": None},
)
SG3_KWARGS = dict(
    z_dim=8,
    c_dim=2,
    w_dim=16,
    img_resolution=16,
    img_channels=3,
    mapping_kwargs={"num_layers": 2},
    channel_base=256,
    channel_max=8,
    magnitude_ema_beta=0.999,
    conv_kernel=1,
    use_radial_filters=True,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def marker(tmp_path):
    """A file that hostile fixtures try to create; it must never appear."""
    path = tmp_path / "executed.txt"
    yield path
    assert not path.exists(), "something stored in a pickle was executed"


def assert_same_state(spec: NetworkSpec, state_dict: dict[str, torch.Tensor]) -> None:
    assert list(spec.state) == list(state_dict)
    for key, tensor in state_dict.items():
        got = spec.state[key]
        assert got.dtype == torch.float32 and got.device.type == "cpu", key
        assert torch.equal(got, tensor.float()), key


# --------------------------------------------------------------------------------------------------------------------
# PyTorch StyleGAN2-ADA / StyleGAN3 files.


@pytest.mark.parametrize(
    ("arch", "kwargs", "make_state"),
    [
        ("stylegan2", SG2_KWARGS, stylegan2_state_dict),
        ("stylegan2", ADA_KWARGS, stylegan2_state_dict),
        ("stylegan2", {**SG2_KWARGS, "architecture": "resnet", "c_dim": 4}, stylegan2_state_dict),
        ("stylegan3", SG3_KWARGS, stylegan3_state_dict),
        ("stylegan3", {**SG3_KWARGS, "c_dim": 0}, stylegan3_state_dict),
    ],
    ids=["sg2-flat", "sg2-ada-nested", "sg2-resnet-conditional", "sg3-conditional", "sg3"],
)
def test_pytorch_pickle_round_trips(tmp_path, arch, kwargs, make_state):
    state_dict = make_state(kwargs)
    path = write_pytorch_pickle(tmp_path / "net.pkl", arch, kwargs, state_dict)
    spec = load_spec(path)
    assert spec.arch == arch
    assert spec.kwargs == kwargs
    assert json.loads(json.dumps(spec.kwargs)) == spec.kwargs
    assert_same_state(spec, state_dict)


@pytest.mark.parametrize(
    ("protocol", "numpy_module"), [(2, "numpy.core"), (3, "numpy.core"), (3, "numpy._core"), (4, None), (5, None)]
)
def test_pytorch_pickle_protocols_and_numpy_names(tmp_path, protocol, numpy_module):
    state_dict = stylegan3_state_dict(SG3_KWARGS)
    path = write_pytorch_pickle(
        tmp_path / "net.pkl", "stylegan3", SG3_KWARGS, state_dict, protocol=protocol, numpy_module=numpy_module
    )
    assert_same_state(load_spec(path), state_dict)


def test_pytorch_pickle_without_g_ema_uses_g(tmp_path):
    state_dict = stylegan2_state_dict(SG2_KWARGS)
    path = write_pytorch_pickle(tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, state_dict, keys=("G", "D"))
    assert_same_state(load_spec(path), state_dict)


def test_records_keep_stored_source_as_text(tmp_path, marker):
    source = marker_source(marker)
    path = write_pytorch_pickle(
        tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, stylegan2_state_dict(SG2_KWARGS), module_src=source
    )
    data = read_pickle(path)
    assert data.layout == "pytorch"
    assert isinstance(data.generator, ModuleRecord)
    assert data.generator.class_name == "Generator"
    assert data.generator.module_src == source
    assert isinstance(to_spec(data), NetworkSpec)
    assert not {name.split(".")[0] for name in sys.modules} & {"dnnlib", "torch_utils"}


def test_spec_tensors_are_independent_float32_copies(tmp_path):
    state_dict = {k: v.half() for k, v in stylegan2_state_dict(SG2_KWARGS).items()}
    path = write_pytorch_pickle(tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, state_dict)
    spec = load_spec(path)
    assert all(t.dtype == torch.float32 and t.is_contiguous() for t in spec.state.values())
    assert len({t.untyped_storage().data_ptr() for t in spec.state.values()}) == len(spec.state)


# --------------------------------------------------------------------------------------------------------------------
# TensorFlow StyleGAN2 / StyleGAN2-ADA files.


def tf_state(tmp_path, static_kwargs, rng, **write_kwargs):
    variables = tf_generator_variables(static_kwargs, rng)
    path = write_tf_pickle(tmp_path / "tf.pkl", static_kwargs, variables, **write_kwargs)
    spec = load_spec(path)
    flat = {f"{comp}/{name}" if comp else name: v for comp, vs in variables.items() for name, v in vs.items()}
    return spec, flat


def conv(w: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))


def test_tf_kwargs_are_renamed(tmp_path, rng):
    static = {**TF_KWARGS, "label_size": 5, "num_fp16_res": 2, "conv_clamp": 256, "truncation_psi": 0.7}
    spec, _ = tf_state(tmp_path, static, rng)
    assert spec.arch == "stylegan2"
    assert spec.kwargs == {
        "z_dim": 32,
        "c_dim": 5,
        "w_dim": 32,
        "img_resolution": 16,
        "img_channels": 3,
        "channel_base": 256,
        "channel_max": 32,
        "num_fp16_res": 2,
        "conv_clamp": 256,
        "architecture": "skip",
        "resample_filter": [1, 3, 3, 1],
        "use_noise": True,
        "activation": "lrelu",
        "mapping_kwargs": {
            "num_layers": 2,
            "embed_features": None,
            "layer_features": None,
            "activation": "lrelu",
            "lr_multiplier": 0.01,
            "w_avg_beta": 0.995,
        },
    }


@pytest.mark.parametrize("architecture", ["skip", "resnet", "orig"])
@pytest.mark.parametrize("label_size", [0, 4])
def test_tf_variables_follow_the_pytorch_layout(tmp_path, rng, architecture, label_size):
    static = {**TF_KWARGS, "architecture": architecture}
    static["label_size"] = label_size
    spec, tf = tf_state(tmp_path, static, rng)
    expected = stylegan2_state_dict(spec.kwargs)
    assert list(spec.state) == list(expected)
    assert {k: v.shape for k, v in spec.state.items()} == {k: v.shape for k, v in expected.items()}
    state = spec.state
    assert torch.equal(state["mapping.w_avg"], torch.from_numpy(tf["dlatent_avg"]))
    assert torch.equal(state["mapping.fc1.weight"], torch.from_numpy(tf["mapping/Dense1/weight"].T))
    assert torch.equal(state["mapping.fc1.bias"], torch.from_numpy(tf["mapping/Dense1/bias"]))
    assert torch.equal(state["synthesis.b4.const"], torch.from_numpy(tf["synthesis/4x4/Const/const"][0]))
    assert torch.equal(state["synthesis.b4.conv1.weight"], conv(tf["synthesis/4x4/Conv/weight"]))
    assert torch.equal(state["synthesis.b8.conv0.weight"], conv(tf["synthesis/8x8/Conv0_up/weight"][::-1, ::-1]))
    assert torch.equal(state["synthesis.b8.conv1.weight"], conv(tf["synthesis/8x8/Conv1/weight"]))
    assert torch.equal(
        state["synthesis.b16.conv1.affine.weight"], torch.from_numpy(tf["synthesis/16x16/Conv1/mod_weight"].T)
    )
    assert torch.equal(
        state["synthesis.b16.conv1.affine.bias"], torch.from_numpy(tf["synthesis/16x16/Conv1/mod_bias"] + 1)
    )
    assert torch.equal(state["synthesis.b4.conv1.noise_const"], torch.from_numpy(tf["synthesis/noise0"][0, 0]))
    assert torch.equal(state["synthesis.b8.conv0.noise_const"], torch.from_numpy(tf["synthesis/noise1"][0, 0]))
    assert torch.equal(state["synthesis.b16.conv1.noise_const"], torch.from_numpy(tf["synthesis/noise4"][0, 0]))
    assert state["synthesis.b8.conv0.noise_strength"].shape == ()
    assert torch.equal(state["synthesis.b16.torgb.weight"], conv(tf["synthesis/16x16/ToRGB/weight"]))
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    assert torch.equal(state["synthesis.b8.conv0.resample_filter"], torch.outer(f, f) / 64)
    if architecture == "resnet":
        skip = tf["synthesis/16x16/Skip/weight"][::-1, ::-1]
        assert torch.equal(state["synthesis.b16.skip.weight"], conv(skip))
    if label_size:
        assert torch.equal(state["mapping.embed.weight"], torch.from_numpy(tf["mapping/LabelEmbed/weight"].T))
    assert all(t.dtype == torch.float32 for t in state.values())


@pytest.mark.parametrize("version", [4, 5])
@pytest.mark.parametrize(
    ("protocol", "numpy_module"), [(2, "numpy.core"), (3, "numpy.core"), (3, "numpy._core"), (4, None)]
)
def test_tf_versions_protocols_and_numpy_names(tmp_path, rng, version, protocol, numpy_module):
    reference, _ = tf_state(tmp_path, TF_KWARGS, np.random.default_rng(5))
    spec, _ = tf_state(
        tmp_path, TF_KWARGS, np.random.default_rng(5), version=version, protocol=protocol, numpy_module=numpy_module
    )
    assert spec.kwargs == reference.kwargs
    assert_same_state(spec, reference.state)


def test_tf_without_noise(tmp_path, rng):
    spec, _ = tf_state(tmp_path, {**TF_KWARGS, "use_noise": False}, rng)
    assert spec.kwargs["use_noise"] is False
    assert not [k for k in spec.state if "noise" in k]


def test_tf_progressive_torgb_means_orig_architecture(tmp_path, rng):
    static = {**TF_KWARGS, "architecture": "orig"}
    variables = tf_generator_variables(static, rng)
    synthesis = variables["synthesis"]
    for name in [n for n in synthesis if n.startswith("16x16/ToRGB/")]:
        synthesis[name.replace("16x16/ToRGB/", "ToRGB_lod0/")] = synthesis.pop(name)
    written = {k: v for k, v in static.items() if k != "architecture"}
    spec = load_spec(write_tf_pickle(tmp_path / "tf.pkl", written, variables))
    assert spec.kwargs["architecture"] == "orig"
    assert torch.equal(spec.state["synthesis.b16.torgb.bias"], torch.from_numpy(synthesis["ToRGB_lod0/bias"]))
    assert "synthesis.b8.torgb.weight" not in spec.state


def test_tf_record_fields(tmp_path, rng, marker):
    variables = tf_generator_variables(TF_KWARGS, rng)
    path = write_tf_pickle(tmp_path / "tf.pkl", TF_KWARGS, variables, module_src=marker_source(marker))
    data = read_pickle(path)
    gs = data.generator
    assert data.layout == "tensorflow" and isinstance(gs, TFNetwork)
    assert (gs.name, gs.build_func_name, gs.version) == ("Gs", "G_main", 5)
    assert gs.build_module_src == marker_source(marker)
    assert set(gs.components) == {"mapping", "synthesis"}
    assert gs.components["synthesis"].variables.keys() == variables["synthesis"].keys()


# --------------------------------------------------------------------------------------------------------------------
# Hostile files: refused (or ignored where not needed) and never run.

HOSTILE = {
    "os.system": lambda marker: Call(os.system, f"touch {marker}"),
    "builtins.exec": lambda marker: Call(builtins.exec, marker_source(marker)),
    "subprocess.Popen": lambda marker: Call(subprocess.Popen, ["touch", str(marker)]),
}
GLOBAL_PATTERN = {
    "os.system": r"(os|posix|nt)\.system",
    "builtins.exec": r"builtins\.exec",
    "subprocess.Popen": r"subprocess\.Popen",
}


@pytest.mark.parametrize("func", sorted(HOSTILE))
def test_code_running_pickle_is_refused(tmp_path, marker, func):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(HOSTILE[func](marker)))
    with pytest.raises(ModelFileError, match=GLOBAL_PATTERN[func]):
        read_pickle(path)


@pytest.mark.parametrize("func", sorted(HOSTILE))
def test_foreign_global_in_g_ema_is_refused(tmp_path, marker, func):
    path = write_pytorch_pickle(
        tmp_path / "evil.pkl",
        "stylegan2",
        SG2_KWARGS,
        stylegan2_state_dict(SG2_KWARGS),
        g_ema_extra={"hook": HOSTILE[func](marker)},
    )
    with pytest.raises(ModelFileError, match=GLOBAL_PATTERN[func]) as info:
        load_spec(path)
    assert "nothing from the file was run" in str(info.value)


def test_foreign_global_in_d_only_is_ignored(tmp_path, marker):
    state_dict = stylegan2_state_dict(SG2_KWARGS)
    path = write_pytorch_pickle(
        tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, state_dict, d_extra={"hook": HOSTILE["os.system"](marker)}
    )
    assert_same_state(load_spec(path), state_dict)


def test_stored_module_source_is_never_executed(tmp_path, marker):
    state_dict = stylegan3_state_dict(SG3_KWARGS)
    path = write_pytorch_pickle(
        tmp_path / "net.pkl", "stylegan3", SG3_KWARGS, state_dict, module_src=marker_source(marker)
    )
    assert_same_state(load_spec(path), state_dict)


def test_tf_foreign_global_in_gs_is_refused_and_in_d_ignored(tmp_path, rng, marker):
    variables = tf_generator_variables(TF_KWARGS, rng)
    evil = HOSTILE["subprocess.Popen"](marker)
    path = write_tf_pickle(tmp_path / "gs.pkl", TF_KWARGS, variables, gs_extra_kwargs={"hook": evil})
    with pytest.raises(ModelFileError, match=r"subprocess\.Popen"):
        load_spec(path)
    disc = tf_discriminator(TF_KWARGS, rng, hook=evil)
    path = write_tf_pickle(
        tmp_path / "d.pkl", TF_KWARGS, variables, discriminator=disc, module_src=marker_source(marker)
    )
    assert load_spec(path).arch == "stylegan2"


def test_known_rebuilder_with_bad_arguments_is_refused(tmp_path):
    bad_tensor = Call(torch._utils._rebuild_tensor_v2, "not a storage", 0, (2,), (1,), False, OrderedDict())
    path = write_pytorch_pickle(
        tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, stylegan2_state_dict(SG2_KWARGS), g_ema_extra={"x": bad_tensor}
    )
    with pytest.raises(ModelFileError, match="invalid torch tensor"):
        load_spec(path)


def test_foreign_global_inside_an_object_array_is_found(tmp_path, marker):
    hidden = np.array([1, HOSTILE["os.system"](marker)], dtype=object)
    path = write_pytorch_pickle(
        tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, stylegan2_state_dict(SG2_KWARGS), g_ema_extra={"x": hidden}
    )
    with pytest.raises(ModelFileError, match=GLOBAL_PATTERN["os.system"]):
        load_spec(path)


def test_persistent_ids_are_refused(tmp_path):
    class WithIds(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", 0) if isinstance(obj, bytes) else None

    path = tmp_path / "persid.pkl"
    with open(path, "wb") as f:
        WithIds(f).dump({"G_ema": [b"data"]})
    with pytest.raises(ModelFileError, match="persistent IDs"):
        read_pickle(path)


# --------------------------------------------------------------------------------------------------------------------
# Files of other kinds.


def write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def torch_saved(path, obj, **kwargs):
    torch.save(obj, path, **kwargs)
    return path


BAD_FILES = {
    "empty": (lambda p: write_bytes(p, b""), "is empty"),
    "garbage": (lambda p: write_bytes(p, np.random.default_rng(0).bytes(4096)), "damaged|not a pickle"),
    "text": (lambda p: write_bytes(p, b"<html>404 Not Found</html>\n"), "damaged|not a pickle"),
    "random object": (lambda p: write_bytes(p, pickle.dumps({"hello": [1, 2, 3]})), "keys 'hello'"),
    "list": (lambda p: write_bytes(p, pickle.dumps([1, 2, 3])), "a list of 3 items"),
    "state_dict": (lambda p: write_bytes(p, pickle.dumps(stylegan2_state_dict(SG2_KWARGS))), "plain state_dict"),
    "torch.save zip": (lambda p: torch_saved(p, stylegan2_state_dict(SG2_KWARGS)), "zip archive"),
    "torch.save legacy": (
        lambda p: torch_saved(p, {"w": torch.zeros(2)}, _use_new_zipfile_serialization=False),
        "torch.save file",
    ),
    "pytorch D only": (
        lambda p: write_pytorch_pickle(p, "stylegan2", SG2_KWARGS, {}, keys=("D", "training_set_kwargs")),
        "discriminator",
    ),
    "tf D only": (write_tf_discriminator_pickle, "discriminator"),
    "stylegan1": (write_stylegan1_pickle, r"StyleGAN \(version 1\)|StyleGAN1"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_other_files_are_refused_with_a_helpful_message(tmp_path, kind):
    write, expected = BAD_FILES[kind]
    path = write(tmp_path / "model.pkl")
    with pytest.raises(ModelFileError, match=expected) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message
    assert "Supported:" in message and "G_ema" in message and "(G, D, Gs)" in message


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        read_pickle(tmp_path / "nope.pkl")


@pytest.mark.parametrize("layout", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.999])
def test_truncated_files(tmp_path, rng, layout, fraction):
    if layout == "pytorch":
        path = write_pytorch_pickle(tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, stylegan2_state_dict(SG2_KWARGS))
    else:
        path = write_tf_pickle(tmp_path / "net.pkl", TF_KWARGS, tf_generator_variables(TF_KWARGS, rng))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelFileError, match="truncated|damaged"):
        load_spec(path)


def test_tf_unknown_build_option(tmp_path, rng):
    static = {**TF_KWARGS, "fmap_decay": 0.5}
    path = write_tf_pickle(tmp_path / "tf.pkl", static, tf_generator_variables(TF_KWARGS, rng))
    with pytest.raises(ModelFileError, match="'fmap_decay'"):
        load_spec(path)


def test_tf_missing_variable(tmp_path, rng):
    variables = tf_generator_variables(TF_KWARGS, rng)
    del variables["synthesis"]["8x8/Conv1/weight"]
    path = write_tf_pickle(tmp_path / "tf.pkl", TF_KWARGS, variables)
    with pytest.raises(ModelFileError, match="'synthesis/8x8/Conv1/weight'"):
        load_spec(path)


def test_tf_wrong_variable_shape(tmp_path, rng):
    variables = tf_generator_variables(TF_KWARGS, rng)
    variables["mapping"]["Dense1/bias"] = np.zeros(7, np.float32)
    path = write_tf_pickle(tmp_path / "tf.pkl", TF_KWARGS, variables)
    with pytest.raises(ModelFileError, match="mapping/Dense1/bias"):
        load_spec(path)


def test_tf_old_format_version(tmp_path, rng):
    path = write_tf_pickle(tmp_path / "tf.pkl", TF_KWARGS, tf_generator_variables(TF_KWARGS, rng), version=2)
    with pytest.raises(ModelFileError, match="version"):
        load_spec(path)


def test_pytorch_generator_that_is_neither_architecture(tmp_path):
    path = write_pytorch_pickle(tmp_path / "net.pkl", "stylegan2", SG2_KWARGS, {"mapping.w_avg": torch.zeros(16)})
    with pytest.raises(ModelFileError, match="neither a StyleGAN2"):
        load_spec(path)
