"""The StyleGAN2 generator and the FIR resampling op, on tiny seeded networks (CPU, no NVIDIA code)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lucidsonicdreams.models.ops import make_fir_filter, upfirdn2d
from lucidsonicdreams.models.stylegan2 import Generator

# ---------------------------------------------------------------------------------------------------------------
# upfirdn2d


def literal_upfirdn2d(x, f, up, down, padding, flip_filter=False, gain=1.0):
    """The operation done step by step in numpy: zero insertion, zero padding or cropping, true convolution with
    only full-footprint outputs, decimation."""
    x = np.asarray(x, dtype=np.float64)
    upx, upy = (up, up) if isinstance(up, int) else up
    downx, downy = (down, down) if isinstance(down, int) else down
    if isinstance(padding, int):
        padding = (padding,) * 4
    elif len(padding) == 2:
        padding = (padding[0], padding[0], padding[1], padding[1])
    px0, px1, py0, py1 = padding
    f = np.ones((1, 1)) if f is None else np.asarray(f, dtype=np.float64)
    f = f * gain ** (f.ndim / 2)
    f2 = np.outer(f, f) if f.ndim == 1 else f
    if flip_filter:
        f2 = f2[::-1, ::-1]
    n, c, h, w = x.shape
    u = np.zeros((n, c, h * upy, w * upx))
    u[:, :, ::upy, ::upx] = x
    u = np.pad(u, ((0, 0), (0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))))
    u = u[:, :, max(-py0, 0) : u.shape[2] - max(-py1, 0), max(-px0, 0) : u.shape[3] - max(-px1, 0)]
    kh, kw = f2.shape
    out = np.zeros((n, c, u.shape[2] - kh + 1, u.shape[3] - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = u[:, :, i : i + kh, j : j + kw]
            out[:, :, i, j] = (window * f2[::-1, ::-1]).sum(axis=(2, 3))
    return out[:, :, ::downy, ::downx]


UPFIRDN_CASES = [
    # filter taps, up, down, padding, flip_filter, gain
    ((1, 3, 3, 1), 2, 1, (2, 1), False, 4.0),  # StyleGAN2 2x upsampling
    ((1, 3, 3, 1), 1, 2, 1, False, 1.0),  # 2x downsampling
    ((1, 3, 3, 1), 1, 1, 1, False, 1.0),  # plain blur
    ("2d-asym", 2, 1, (1, 2, 0, 3), False, 1.0),
    ("2d-asym", 1, 1, (1, -1, 2, 0), True, 2.0),
    ("2d-asym", (2, 3), (3, 2), (3, 0, -2, 4), False, 1.0),
    ("2d-asym", 2, 1, (-4, -9, -3, -6), False, 1.0),  # crops wider than the filter
    ("1d-8", 2, 1, 3, False, 4.0),  # separable
    ("1d-8", 1, 2, (4, 3), True, 1.0),
    ("1d-8", 2, 2, (-1, 5), False, 1.0),
    (None, 2, 1, (0, 1), False, 3.0),  # identity filter
    (None, 1, (2, 3), (1, -1), False, 1.0),
    ((2.0,), 3, 1, 0, False, 1.0),  # one-tap separable
]


def make_taps(spec, rng):
    if spec == "2d-asym":
        return rng.standard_normal((3, 5))
    if spec == "1d-8":
        return rng.standard_normal(8)
    return None if spec is None else np.asarray(spec, dtype=np.float64)


@pytest.mark.parametrize("spec, up, down, padding, flip, gain", UPFIRDN_CASES)
def test_upfirdn2d_matches_literal_reference(spec, up, down, padding, flip, gain):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 9))
    taps = make_taps(spec, rng)
    f = None if taps is None else torch.tensor(taps, dtype=torch.float32)
    got = upfirdn2d(
        torch.tensor(x, dtype=torch.float32), f, up=up, down=down, padding=padding, flip_filter=flip, gain=gain
    )
    want = literal_upfirdn2d(x, taps, up, down, padding, flip, gain)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


def test_upfirdn2d_rejects_bad_input():
    with pytest.raises(ValueError, match="x must be"):
        upfirdn2d(torch.zeros(3, 4, 4), None)
    with pytest.raises(ValueError, match="smaller than the filter"):
        upfirdn2d(torch.zeros(1, 1, 2, 2), torch.ones(5, 5))
    with pytest.raises(ValueError, match="padding"):
        upfirdn2d(torch.zeros(1, 1, 4, 4), None, padding=(1, 2, 3))


def test_make_fir_filter_layouts():
    f = make_fir_filter([1, 3, 3, 1])
    assert f.shape == (4, 4) and f.dtype == torch.float32
    assert torch.isclose(f.sum(), torch.tensor(1.0))
    assert make_fir_filter(list(range(1, 9))).shape == (8,)  # 8 taps and more stay separable
    assert make_fir_filter(None).shape == (1, 1)


# ---------------------------------------------------------------------------------------------------------------
# Generator

Z, W, C = 8, 8, 3


def tiny_kwargs(**overrides) -> dict:
    kwargs = dict(
        z_dim=Z,
        c_dim=0,
        w_dim=W,
        img_resolution=16,
        img_channels=3,
        mapping_kwargs=dict(num_layers=2),
        channel_base=64,
        channel_max=8,
        num_fp16_res=0,
        conv_clamp=None,
    )
    kwargs.update(overrides)
    return kwargs


def fill(G: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Seeded values for every learned tensor, in sorted key order (the NVIDIA-anchored test relies on it)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in sorted(G.state_dict().items()):
            if name.endswith("resample_filter"):
                continue
            r = torch.randn(t.shape, generator=g)
            if name.endswith("affine.bias"):
                r = 1 + 0.2 * r
            elif name.endswith(("bias", "noise_strength", "w_avg")):
                r = 0.2 * r
            t.copy_(r)
    return G


def latents(n: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, Z, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def G() -> Generator:
    return fill(Generator(**tiny_kwargs())).eval()


# Statistics of the images NVIDIA's own generator (stylegan3 repository, training/networks_stylegan2.py) produced
# for `fill(G)`, z = latents(2), c = one-hot classes 0 and 2, truncation_psi=0.7, noise_mode='const':
# [mean, mean of squares, mean of image * linspace(-1, 1) over the flattened image].
NVIDIA_STATS = {
    "skip": (-0.525593101978302, 1.364735722541809, 0.11268866807222366),
    "orig": (0.03940968960523605, 0.33036521077156067, 0.09365396946668625),
    "resnet": (-0.031886398792266846, 0.17559002339839935, 0.015948288142681122),
}


@pytest.mark.parametrize("architecture", sorted(NVIDIA_STATS))
def test_images_match_nvidia_reference_numbers(architecture):
    kwargs = tiny_kwargs(c_dim=C, architecture=architecture, mapping_kwargs=dict(num_layers=2, embed_features=4))
    G = fill(Generator(**kwargs))
    img = G(latents(2), torch.eye(C)[[0, 2]], truncation_psi=0.7, noise_mode="const")
    ramp = torch.linspace(-1, 1, img.numel()).reshape(img.shape)
    got = (img.mean().item(), img.square().mean().item(), (img * ramp).mean().item())
    np.testing.assert_allclose(got, NVIDIA_STATS[architecture], rtol=1e-4, atol=1e-6)


def test_shapes_and_attributes(G):
    # blocks 4, 8, 16: one conv at 4, two at 8 and 16, plus the last block's torgb
    assert (G.z_dim, G.c_dim, G.w_dim, G.img_resolution, G.img_channels, G.num_ws) == (Z, 0, W, 16, 3, 6)
    ws = G.mapping(latents(3), None)
    assert ws.shape == (3, 6, W) and ws.dtype == torch.float32
    img = G.synthesis(ws)
    assert img.shape == (3, 3, 16, 16) and img.dtype == torch.float32
    assert torch.equal(G(latents(3)), img)


def expected_keys(resolution: int, architecture: str, conditional: bool, mapping_layers: int) -> set[str]:
    """The state-dict keys of NVIDIA's StyleGAN2 generator for this layout."""
    keys = {"mapping.w_avg"} | {f"mapping.fc{i}.{p}" for i in range(mapping_layers) for p in ("weight", "bias")}
    if conditional:
        keys |= {"mapping.embed.weight", "mapping.embed.bias"}
    layer = ("weight", "bias", "noise_strength", "noise_const", "resample_filter", "affine.weight", "affine.bias")
    r = 4
    while r <= resolution:
        b = f"synthesis.b{r}"
        keys.add(f"{b}.resample_filter")
        keys |= {f"{b}.conv1.{p}" for p in layer}
        if r == 4:
            keys.add(f"{b}.const")
        else:
            keys |= {f"{b}.conv0.{p}" for p in layer}
            if architecture == "resnet":
                keys |= {f"{b}.skip.weight", f"{b}.skip.resample_filter"}
        if architecture == "skip" or r == resolution:
            keys |= {f"{b}.torgb.{p}" for p in ("weight", "bias", "affine.weight", "affine.bias")}
        r *= 2
    return keys


@pytest.mark.parametrize("architecture", ["orig", "skip", "resnet"])
@pytest.mark.parametrize("c_dim", [0, C])
def test_state_dict_layout(architecture, c_dim):
    G = Generator(**tiny_kwargs(architecture=architecture, c_dim=c_dim))
    sd = G.state_dict()
    assert set(sd) == expected_keys(16, architecture, c_dim > 0, 2)
    assert all(t.dtype == torch.float32 for t in sd.values())
    # channels at resolution r are min(channel_base // r, channel_max): 8 at 4 and 8, 4 at 16
    assert sd["synthesis.b4.const"].shape == (8, 4, 4)
    assert sd["synthesis.b16.conv0.weight"].shape == (4, 8, 3, 3)
    assert sd["synthesis.b16.conv0.affine.weight"].shape == (8, W)
    assert sd["synthesis.b16.conv0.noise_const"].shape == (16, 16)
    assert sd["synthesis.b16.conv0.noise_strength"].shape == ()
    assert sd["synthesis.b16.torgb.weight"].shape == (3, 4, 1, 1)
    assert sd["synthesis.b8.resample_filter"].shape == (4, 4)
    assert sd["mapping.fc0.weight"].shape == (W, Z + (W if c_dim else 0))
    if architecture == "resnet":
        assert sd["synthesis.b16.skip.weight"].shape == (4, 8, 1, 1)
    other = Generator(**tiny_kwargs(architecture=architecture, c_dim=c_dim))
    other.load_state_dict(fill(G).state_dict(), strict=True)
    c = torch.eye(C)[[0, 1]] if c_dim else None
    assert torch.equal(other(latents(), c), G(latents(), c))


def test_embed_features_and_layer_features():
    G = Generator(**tiny_kwargs(c_dim=C, mapping_kwargs=dict(num_layers=3, embed_features=5, layer_features=6)))
    sd = G.state_dict()
    assert sd["mapping.embed.weight"].shape == (5, C)
    assert sd["mapping.fc0.weight"].shape == (6, Z + 5)
    assert sd["mapping.fc2.weight"].shape == (W, 6)


def test_const_noise_is_deterministic(G):
    z = latents()
    assert torch.equal(G(z, noise_mode="const"), G(z, noise_mode="const"))
    assert torch.equal(G(z, noise_mode="none"), G(z, noise_mode="none"))
    assert not torch.equal(G(z, noise_mode="random"), G(z, noise_mode="random"))


def test_noise_modes_differ_when_noise_is_on(G):
    z = latents()
    assert not torch.allclose(G(z, noise_mode="none"), G(z, noise_mode="const"))
    with torch.no_grad():
        for name, t in G.named_parameters():
            if name.endswith("noise_strength"):
                t.zero_()
    assert torch.allclose(G(z, noise_mode="none"), G(z, noise_mode="const"))


def test_truncation_to_zero_gives_the_w_avg_image(G):
    img = G(latents(3, seed=5), truncation_psi=0.0)
    assert torch.allclose(img, img[:1].expand_as(img), atol=1e-6)
    w_avg_image = G.synthesis(G.mapping.w_avg.expand(1, G.num_ws, -1))
    assert torch.allclose(img[:1], w_avg_image, atol=1e-6)


def test_truncation_cutoff_leaves_later_ws(G):
    z = latents()
    full, cut = G.mapping(z, None), G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.equal(cut[:, 2:], full[:, 2:])
    assert torch.allclose(cut[:, :2], G.mapping.w_avg + 0.5 * (full[:, :2] - G.mapping.w_avg))


def test_labels_are_required_and_checked():
    G = Generator(**tiny_kwargs(c_dim=C))
    with pytest.raises(ValueError, match=r"conditional: c must be a tensor of shape \[N, 3\]"):
        G(latents())
    with pytest.raises(ValueError, match=r"c must be a tensor of shape \[N, 3\], got a tensor of shape \[2, 4\]"):
        G(latents(), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="same batch size"):
        G(latents(2), torch.zeros(3, C))
    assert G(latents(), torch.eye(C)[[0, 1]]).shape == (2, 3, 16, 16)


def test_unconditional_accepts_no_or_empty_labels(G):
    z = latents()
    assert torch.equal(G(z, None), G(z, torch.zeros(2, 0)))
    with pytest.raises(ValueError, match="unconditional"):
        G(z, torch.zeros(2, 3))


def test_bad_latents_and_ws_are_rejected(G):
    with pytest.raises(ValueError, match=r"z must be a tensor of shape \[N, 8\], got a tensor of shape \[2, 5\]"):
        G(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"ws must be a tensor of shape \[N, 6, 8\]"):
        G.synthesis(torch.zeros(2, 5, W))
    with pytest.raises(ValueError, match=r"truncation_cutoff must be in \[0, 6\]"):
        G(latents(), truncation_psi=0.5, truncation_cutoff=7)
    with pytest.raises(ValueError, match="noise_mode"):
        G(latents(), noise_mode="fresh")


@pytest.mark.parametrize("architecture", ["orig", "skip", "resnet"])
def test_architectures_run(architecture):
    G = fill(Generator(**tiny_kwargs(architecture=architecture, img_resolution=32)))
    img = G(latents(), truncation_psi=0.7)
    assert img.shape == (2, 3, 32, 32)
    assert torch.isfinite(img).all()


def test_fused_and_shared_convolutions_agree(G):
    z = latents(3)
    G.synthesis.fused_modconv = False
    shared = G(z, truncation_psi=0.7)
    G.synthesis.fused_modconv = True
    assert torch.allclose(G(z, truncation_psi=0.7), shared, atol=1e-5)


def test_conv_clamp_bounds_the_output():
    G = fill(Generator(**tiny_kwargs(conv_clamp=0.25, architecture="orig")))  # one ToRGB, clamped
    assert G(latents()).abs().max() <= 0.25 + 1e-6


def test_both_nvidia_argument_layouts():
    flat = Generator(
        z_dim=Z,
        c_dim=0,
        w_dim=W,
        img_resolution=16,
        img_channels=3,
        channel_base=64,
        channel_max=8,
        fused_modconv_default="inference_only",
    )
    assert flat.synthesis.b16.conv1.conv_clamp == 256 and flat.synthesis.b16.use_fp16  # StyleGAN3 defaults
    nested = Generator(
        z_dim=Z,
        c_dim=0,
        w_dim=W,
        img_resolution=16,
        img_channels=3,
        mapping_kwargs={},
        synthesis_kwargs=dict(channel_base=64, channel_max=8),
    )
    assert nested.synthesis.b16.conv1.conv_clamp is None and not nested.synthesis.b16.use_fp16  # StyleGAN2-ADA's
    assert set(flat.state_dict()) == set(nested.state_dict())


def test_no_w_avg_means_no_truncation():
    G = Generator(**tiny_kwargs(mapping_kwargs=dict(num_layers=2, w_avg_beta=None)))
    assert "mapping.w_avg" not in G.state_dict()
    with pytest.raises(ValueError, match="no w_avg"):
        G(latents(), truncation_psi=0.5)


def test_cpu_never_uses_fp16():
    G = fill(Generator(**tiny_kwargs(num_fp16_res=2, conv_clamp=256)))
    assert G.use_fp16 and G.synthesis.b16.use_fp16
    assert G(latents()).dtype == torch.float32
    G.use_fp16 = False
    assert not G.synthesis.use_fp16


def test_no_gradients_are_recorded(G):
    assert not G(latents()).requires_grad


def test_invalid_configuration_is_rejected():
    with pytest.raises(ValueError, match="architecture"):
        Generator(**tiny_kwargs(architecture="unet"))
    with pytest.raises(ValueError, match="power of 2"):
        Generator(**tiny_kwargs(img_resolution=24))
    with pytest.raises(TypeError, match="magnitude_ema_beta"):
        Generator(**tiny_kwargs(magnitude_ema_beta=0.99))
