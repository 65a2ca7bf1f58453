"""The StyleGAN3 generator: layout of NVIDIA's files, filter design, geometry, truncation, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

from lucidsonicdreams.models import stylegan3
from lucidsonicdreams.models.stylegan3 import Generator, band_schedule, filtered_lrelu, lowpass_filter

TINY_T = {"z_dim": 8, "w_dim": 8, "img_resolution": 32, "img_channels": 3, "channel_base": 128, "channel_max": 8}
TINY_R = {**TINY_T, "channel_base": 256, "channel_max": 16, "conv_kernel": 1, "use_radial_filters": True}

# Layer names (size and width of each layer) of NVIDIA's published configurations, as stored in their files.
PUBLISHED_LAYERS = {
    (1024, 32768, 512): [
        "L0_36_512",
        "L1_36_512",
        "L2_52_512",
        "L3_52_512",
        "L4_84_512",
        "L5_148_512",
        "L6_148_512",
        "L7_276_323",
        "L8_276_203",
        "L9_532_128",
        "L10_1044_81",
        "L11_1044_51",
        "L12_1044_32",
        "L13_1024_32",
        "L14_1024_3",
    ],
    (1024, 65536, 1024): [
        "L0_36_1024",
        "L1_36_1024",
        "L2_52_1024",
        "L3_52_1024",
        "L4_84_1024",
        "L5_148_1024",
        "L6_148_1024",
        "L7_276_645",
        "L8_276_406",
        "L9_532_256",
        "L10_1044_161",
        "L11_1044_102",
        "L12_1044_64",
        "L13_1024_64",
        "L14_1024_3",
    ],
    (512, 32768, 512): [
        "L0_36_512",
        "L1_36_512",
        "L2_52_512",
        "L3_52_512",
        "L4_84_512",
        "L5_84_512",
        "L6_148_512",
        "L7_148_483",
        "L8_276_323",
        "L9_276_215",
        "L10_532_144",
        "L11_532_96",
        "L12_532_64",
        "L13_512_64",
        "L14_512_3",
    ],
    (256, 65536, 1024): [
        "L0_36_1024",
        "L1_36_1024",
        "L2_36_1024",
        "L3_52_1024",
        "L4_52_1024",
        "L5_84_1024",
        "L6_84_1024",
        "L7_148_1024",
        "L8_148_1024",
        "L9_148_724",
        "L10_276_512",
        "L11_276_362",
        "L12_276_256",
        "L13_256_256",
        "L14_256_3",
    ],
}


def make(config: dict, c_dim: int = 0, seed: int = 0, **overrides) -> Generator:
    """A tiny generator with every learned value random (the default init leaves biases and w_avg at zero)."""
    torch.manual_seed(seed)
    G = Generator(c_dim=c_dim, **{**config, **overrides}).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in G.state_dict().items():
            if name.endswith(("bias", "w_avg")):
                tensor.copy_(0.3 * torch.randn(tensor.shape, generator=gen))
            elif name.endswith("magnitude_ema"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=gen))
            elif name.endswith(".weight"):
                tensor.copy_(torch.randn(tensor.shape, generator=gen))
    return G


@pytest.fixture(scope="module")
def g_t() -> Generator:
    return make(TINY_T)


@pytest.fixture(scope="module")
def g_r() -> Generator:
    return make(TINY_R, c_dim=4)


def latents(n: int, dim: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------------------------------
# Layout


@pytest.mark.parametrize("key", sorted(PUBLISHED_LAYERS))
def test_layer_names_match_published_files(key):
    res, base, cmax = key
    bands = band_schedule(
        img_resolution=res,
        img_channels=3,
        channel_base=base,
        channel_max=cmax,
        num_layers=14,
        num_critical=2,
        first_cutoff=2,
        first_stopband=2**2.1,
        last_stopband_rel=2**0.3,
        margin_size=10,
    )
    assert [f"L{i}_{b.size}_{b.channels}" for i, b in enumerate(bands[1:])] == PUBLISHED_LAYERS[key]


def test_state_dict_has_nvidias_keys_and_shapes(g_t, g_r):
    sd = g_t.state_dict()
    assert g_t.synthesis.layer_names[-2:] == ["L13_32_4", "L14_32_3"]
    expected = {
        "mapping.w_avg": (8,),
        "mapping.fc0.weight": (8, 8),
        "mapping.fc1.bias": (8,),
        "synthesis.input.weight": (8, 8),
        "synthesis.input.affine.weight": (4, 8),
        "synthesis.input.affine.bias": (4,),
        "synthesis.input.transform": (3, 3),
        "synthesis.input.freqs": (8, 2),
        "synthesis.input.phases": (8,),
        "synthesis.L0_36_8.weight": (8, 8, 3, 3),
        "synthesis.L0_36_8.bias": (8,),
        "synthesis.L0_36_8.affine.weight": (8, 8),
        "synthesis.L0_36_8.affine.bias": (8,),
        "synthesis.L0_36_8.magnitude_ema": (),
        "synthesis.L0_36_8.up_filter": (12,),
        "synthesis.L0_36_8.down_filter": (12,),
        "synthesis.L4_36_8.up_filter": (12,),
        "synthesis.L5_52_8.up_filter": (24,),
        "synthesis.L14_32_3.weight": (3, 4, 1, 1),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key
        assert sd[key].dtype == torch.float32
    assert "mapping.embed.weight" not in sd and "mapping.fc2.weight" not in sd
    assert not any(k.startswith("synthesis.L14_32_3.") and k.endswith("_filter") for k in sd)  # ToRGB: identity
    assert len(sd) == 6 + 2 * 2 + 1 + 14 * 7 + 5

    sd = g_r.state_dict()
    assert tuple(sd["mapping.embed.weight"].shape) == (8, 4)
    assert tuple(sd["mapping.fc0.weight"].shape) == (8, 16)  # z and the embedded label, concatenated
    assert tuple(sd["synthesis.L0_36_16.weight"].shape) == (16, 16, 1, 1)
    assert tuple(sd["synthesis.L0_36_16.down_filter"].shape) == (12, 12)  # radial
    assert tuple(sd["synthesis.L12_52_8.down_filter"].shape) == (12,)  # critically sampled: separable


def test_state_dict_round_trips_strictly(g_r):
    copy = Generator(c_dim=4, **TINY_R).eval()
    copy.load_state_dict(g_r.state_dict(), strict=True)
    z, c = latents(2, 8), torch.eye(4)[:2]
    with torch.no_grad():
        torch.testing.assert_close(copy(z, c), g_r(z, c), rtol=0, atol=0)


def test_accepts_nvidias_stored_kwargs_and_refuses_unknown_ones():
    Generator(
        z_dim=8,
        c_dim=0,
        w_dim=8,
        img_resolution=16,
        img_channels=3,
        channel_base=64,
        channel_max=4,
        mapping_kwargs={"num_layers": 2, "w_avg_beta": 0.995},
        magnitude_ema_beta=0.5 ** (32 / 20000),
        num_fp16_res=4,
        conv_clamp=256,
        filter_size=6,
        lrelu_upsampling=2,
        output_scale=0.25,
    )
    with pytest.raises(TypeError):
        Generator(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, resample_kernel=[1, 3, 3, 1])


# ---------------------------------------------------------------------------------------------------------------------
# Filters


def test_lowpass_filter_is_a_symmetric_kaiser_windowed_sinc_with_unit_dc_gain():
    numtaps, cutoff, width, fs = 12, 4.0, 8.0, 32
    taps = lowpass_filter(numtaps, cutoff, width, fs).double().numpy()
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    n = np.arange(numtaps) - (numtaps - 1) / 2
    expected = np.sinc(2 * cutoff / fs * n) * np.kaiser(numtaps, beta)
    np.testing.assert_allclose(taps, expected / expected.sum(), atol=1e-7)
    assert lowpass_filter(1, cutoff, width, fs) is None


def test_filter_buffers_are_symmetric_low_passes(g_t, g_r):
    for G in (g_t, g_r):
        for name in G.synthesis.layer_names[:-1]:
            layer = getattr(G.synthesis, name)
            for f in (layer.up_filter, layer.down_filter):
                assert f.sum().item() == pytest.approx(1.0, abs=1e-5)  # unit DC gain
                torch.testing.assert_close(f, f.flip(list(range(f.ndim))))
                if f.ndim == 2:
                    torch.testing.assert_close(f, f.t())  # radially symmetric: also a diagonal mirror
            assert layer.up_filter.shape[0] == 6 * layer.up and layer.down_filter.shape[0] == 6 * layer.down
        torgb = getattr(G.synthesis, G.synthesis.layer_names[-1])
        assert torgb.up_filter is None and torgb.down_filter is None


def test_radial_filter_handles_a_centre_tap():
    f = stylegan3.radial_lowpass_filter(7, 2.0, 4.0, 16)
    assert torch.isfinite(f).all() and f.argmax() == 24  # the centre of 7 × 7
    assert f.sum().item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("config", [TINY_T, TINY_R])
def test_filtered_lrelu_passes_a_constant_with_gain_and_slope(config):
    G = make(config)
    layer = getattr(G.synthesis, G.synthesis.layer_names[5])  # upsamples by 4, downsamples by 2
    assert (layer.up, layer.down) == (4, 2)
    size = layer.band_in.size + layer.conv_kernel - 1
    for value, expected in ((0.5, 0.5 * math.sqrt(2)), (-0.5, -0.1 * math.sqrt(2))):
        x = torch.zeros(1, 3, size, size)
        out = filtered_lrelu(
            x,
            torch.full((3,), value),
            layer.up_filter,
            layer.down_filter,
            up=layer.up,
            down=layer.down,
            padding=layer.padding,
            gain=math.sqrt(2),
            slope=0.2,
            clamp=None,
        )
        assert out.shape == (1, 3, layer.band_out.size, layer.band_out.size)
        core = out[:, :, 8:-8, 8:-8]  # away from the zero padding at the borders
        torch.testing.assert_close(core, torch.full_like(core, expected), atol=2e-3, rtol=0)
    clamped = filtered_lrelu(
        torch.full((1, 3, size, size), 10.0),
        None,
        layer.up_filter,
        layer.down_filter,
        up=layer.up,
        down=layer.down,
        padding=layer.padding,
        gain=math.sqrt(2),
        slope=0.2,
        clamp=1.0,
    )
    assert clamped[:, :, 8:-8, 8:-8].sub(1.0).abs().max() < 2e-3


def test_input_transform_translates_the_features():
    G = make(TINY_T)
    net = G.synthesis.input
    w = latents(1, 8)
    with torch.no_grad():
        plain = net(w)
        net.transform[0, 2] = 1 / net.sampling_rate  # one pixel, as an inverse transform of the image
        shifted = net(w)
        net.transform.copy_(torch.eye(3))
    torch.testing.assert_close(shifted[..., :-1], plain[..., 1:], atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# Forward


@pytest.mark.parametrize("which", ["t", "r"])
def test_forward_shapes_and_determinism(g_t, g_r, which):
    G = g_t if which == "t" else g_r
    z = latents(3, 8)
    c = torch.eye(4)[:3] if G.c_dim else None
    with torch.no_grad():
        images = G(z, c, truncation_psi=0.7, noise_mode="const")
        again = G(z, c, truncation_psi=0.7, noise_mode="random")
        ws = G.mapping(z, c, truncation_psi=0.7)
        via_w = G.synthesis(ws)
        single = G(z[1:2], None if c is None else c[1:2], truncation_psi=0.7)
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.float32
    assert ws.shape == (3, G.num_ws, G.w_dim) and G.num_ws == 16
    assert torch.isfinite(images).all() and images.std() > 1e-3
    torch.testing.assert_close(again, images, rtol=0, atol=0)
    torch.testing.assert_close(via_w, images, rtol=0, atol=0)
    torch.testing.assert_close(single, images[1:2], rtol=1e-5, atol=1e-6)  # no batch coupling


def test_truncation_to_w_avg(g_r):
    z, c = latents(4, 8), torch.eye(4)
    with torch.no_grad():
        images = g_r(z, c, truncation_psi=0)
        ws = g_r.mapping(z, c, truncation_psi=0, truncation_cutoff=3)
        free = g_r.mapping(z, c)
    torch.testing.assert_close(images, images[:1].expand_as(images), rtol=0, atol=1e-6)
    torch.testing.assert_close(ws[:, :3], g_r.mapping.w_avg.expand(4, 3, -1), rtol=0, atol=0)
    torch.testing.assert_close(ws[:, 3:], free[:, 3:], rtol=0, atol=0)


def test_truncation_of_a_half_precision_mapping():
    """ws come out float32 whatever the weights; w_avg follows them, so a .half() copy still truncates."""
    mapping = make(TINY_R, c_dim=4).mapping.half()
    ws = mapping(latents(2, 8), torch.eye(4)[:2], truncation_psi=0.5)
    assert ws.dtype == torch.float32 and torch.isfinite(ws).all()


def test_bad_inputs_raise_clear_errors(g_t, g_r):
    with pytest.raises(ValueError, match=r"z must be a tensor of shape \[N, 8\], got a tensor of shape \[2, 7\]"):
        g_t(torch.zeros(2, 7))
    with pytest.raises(ValueError, match="conditional: c must be a"):
        g_r(latents(2, 8), None)
    with pytest.raises(ValueError, match=r"c must be a tensor of shape \[N, 4\], got a tensor of shape \[2, 3\]"):
        g_r(latents(2, 8), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="unconditional"):
        g_t(latents(2, 8), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"ws must have shape \[N, 16, 8\], got \(2, 15, 8\)"):
        g_t.synthesis(torch.zeros(2, 15, 8))
    with pytest.raises(ValueError, match="noise_mode"):
        g_t(latents(2, 8), noise_mode="loud")
    with torch.no_grad():
        assert g_t(latents(2, 8), torch.zeros(2, 0)).shape == (2, 3, 32, 32)  # an empty label is fine


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_float16_layers_on_cuda_stay_close_to_float32(g_t):
    G = make(TINY_T, num_fp16_res=2).cuda()
    z = latents(2, 8).cuda()
    with torch.no_grad():
        half = G(z, truncation_psi=0.7)
        G.use_fp16 = False
        full = G(z, truncation_psi=0.7)
    assert half.dtype == torch.float32
    assert (half - full).abs().max() < 1e-2 * full.abs().max()
