"""StyleGAN3 generator: schedule formulas, fast ops against the reference ops (and those against a loop-level
definition), whole tiny generators T and R end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sound2video.models.stylegan3 import GeneratorConfig, StyleGAN3ConfigError, ops
from sound2video.models.stylegan3 import ops_reference as ref
from sound2video.models.stylegan3.modeling_stylegan3 import Generator
from sound2video.models.stylegan3.schedule import design_lowpass_filter, layer_filters, synthesis_schedule


def tiny(kind: str, res: int = 64, **kw) -> GeneratorConfig:
    return GeneratorConfig.preset(
        kind, res, **{"channel_base": 1024, "channel_max": 32, "z_dim": 16, "w_dim": 16, **kw}
    )


def randomised(cfg: GeneratorConfig, seed: int = 0) -> Generator:
    """A generator whose biases, input gains and w_avg are not at their trivial initial values."""
    torch.manual_seed(seed)
    G = Generator(cfg).eval()
    with torch.no_grad():
        for layer in G.synthesis.layers():
            layer.bias.normal_(0, 0.5)
            layer.magnitude_ema.uniform_(0.3, 3)
        G.mapping.w_avg.normal_()
        G.synthesis.input.affine.weight.normal_(0, 0.3)  # trained nets rotate/translate per w
    return G


# --- schedule -------------------------------------------------------------------------------------------------


def test_schedule_reproduces_the_lhq_t256_layer_table():
    inp, layers = synthesis_schedule(GeneratorConfig.preset("T", 256))
    assert (inp.channels, inp.size, inp.sampling_rate, inp.bandwidth) == (512, 36, 16, 2)
    assert [s.name for s in layers] == [
        "L0_36_512",
        "L1_36_512",
        "L2_36_512",
        "L3_52_512",
        "L4_52_512",
        "L5_84_512",
        "L6_84_512",
        "L7_148_512",
        "L8_148_512",
        "L9_148_362",
        "L10_276_256",
        "L11_276_181",
        "L12_276_128",
        "L13_256_128",
        "L14_256_3",
    ]
    by = {s.name: s for s in layers}
    assert by["L0_36_512"].padding == (9, 8, 9, 8) and (by["L0_36_512"].up_taps, by["L0_36_512"].down_taps) == (12, 12)
    assert by["L3_52_512"].padding == (-6, -9, -6, -9) and by["L3_52_512"].up_factor == 4
    assert by["L13_256_128"].padding == (-11, -12, -11, -12)
    assert by["L14_256_3"].is_torgb and by["L14_256_3"].up_taps == 1 and by["L14_256_3"].conv_kernel == 1
    assert by["L9_148_362"].out_cutoff == pytest.approx(45.255, abs=1e-3)
    assert by["L9_148_362"].out_half_width == pytest.approx(18.745, abs=1e-3)
    assert sum(s.conv_flops for s in layers) / 1e9 == pytest.approx(463, abs=1)
    assert [s.is_critically_sampled for s in layers] == [False] * 12 + [True] * 3


def test_schedule_r256_names_and_radial_filters():
    _, layers = synthesis_schedule(GeneratorConfig.preset("R", 256))
    assert [s.name for s in layers][-7:] == [
        "L8_148_1024",
        "L9_148_724",
        "L10_276_512",
        "L11_276_362",
        "L12_276_256",
        "L13_256_256",
        "L14_256_3",
    ]
    assert sum(s.conv_flops for s in layers) / 1e9 == pytest.approx(199, abs=1)
    assert [s.down_radial for s in layers] == [True] * 12 + [False] * 3
    up, down = layer_filters(layers[0])
    assert up.shape == (12,) and down.shape == (12, 12)
    assert down.sum() == pytest.approx(1, abs=1e-6) and np.allclose(down, down.T)


def test_lowpass_filters_have_unit_dc_and_are_symmetric():
    f = design_lowpass_filter(24, cutoff=5.657, width=2 * 10.343, fs=64)
    assert f.shape == (24,) and f.sum() == pytest.approx(1, abs=1e-6) and np.allclose(f, f[::-1])
    assert design_lowpass_filter(1, 1, 1, 2) is None


def test_config_errors_name_the_key():
    with pytest.raises(StyleGAN3ConfigError, match="img_resolution"):
        GeneratorConfig(img_resolution=100)
    with pytest.raises(StyleGAN3ConfigError, match="unknown StyleGAN3 config"):
        GeneratorConfig.preset("X")
    with pytest.raises(StyleGAN3ConfigError, match="fancy_option"):
        GeneratorConfig.from_official_kwargs(
            {"z_dim": 8, "w_dim": 8, "img_resolution": 16, "img_channels": 3, "c_dim": 0, "fancy_option": 1}
        )


# --- reference ops against a loop-level definition ------------------------------------------------------------


def upfirdn_loops(
    x: np.ndarray, f: np.ndarray, up: int, down: int, pad: tuple[int, int, int, int], gain: float
) -> np.ndarray:
    """Literal definition, one channel at a time: stuff zeros, pad/crop, true 2-D convolution, decimate."""
    f2 = np.outer(f, f) if f.ndim == 1 else f
    f2 = f2 * gain
    h, w = x.shape
    s = np.zeros((h * up, w * up))
    s[::up, ::up] = x
    px0, px1, py0, py1 = pad
    big = np.zeros((h * up + max(py0, 0) + max(py1, 0), w * up + max(px0, 0) + max(px1, 0)))
    big[max(py0, 0) : max(py0, 0) + h * up, max(px0, 0) : max(px0, 0) + w * up] = s
    big = big[max(-py0, 0) : big.shape[0] - max(-py1, 0), max(-px0, 0) : big.shape[1] - max(-px1, 0)]
    kh, kw = f2.shape
    out = np.zeros((big.shape[0] - kh + 1, big.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(big[i : i + kh, j : j + kw] * f2[::-1, ::-1])
    return out[::down, ::down]


@pytest.mark.parametrize(
    "up,down,pad,taps,radial",
    [
        (2, 1, (3, 2, 3, 2), 6, False),
        (4, 1, (-2, -3, 1, 0), 8, False),
        (1, 2, (0, 0, 0, 0), 6, False),
        (1, 2, (0, 0, 0, 0), 6, True),
    ],
)
def test_reference_upfirdn2d_matches_the_definition(up, down, pad, taps, radial):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 10))
    f = design_lowpass_filter(taps, 2.0, 3.0, 8, radial=radial).astype(np.float64)
    gain = up**2 if not radial else 1
    got = ref.upfirdn2d(torch.from_numpy(x)[None], torch.from_numpy(f), up=up, down=down, padding=pad, gain=gain)[0]
    for c in range(2):
        np.testing.assert_allclose(got[c].numpy(), upfirdn_loops(x[c], f, up, down, pad, gain), atol=1e-12)


# --- fast ops against the reference ops -----------------------------------------------------------------------


def _nonlinearity(spec, up_f, down_f):
    return ops.FilteredLReLU(
        up_filter=up_f,
        down_filter=down_f,
        up=spec.up_factor,
        down=spec.down_factor,
        padding=spec.padding,
        gain=1.0 if spec.is_torgb else math.sqrt(2),
        slope=1.0 if spec.is_torgb else 0.2,
        clamp=spec.conv_clamp,
    )


@pytest.mark.parametrize("kind", ["T", "R"])
def test_fast_filtered_lrelu_matches_reference_for_every_layer_shape(kind):
    _, layers = synthesis_schedule(tiny(kind))
    gen = torch.Generator().manual_seed(0)
    for spec in layers:
        up_f, down_f = layer_filters(spec)
        size = spec.in_size + spec.conv_kernel - 1
        x = torch.randn(2, 5, size, size, generator=gen, dtype=torch.float64) * 300  # exercises the clamp
        b = torch.randn(5, generator=gen, dtype=torch.float64)
        t = [None if f is None else torch.from_numpy(f.astype(np.float64)) for f in (up_f, down_f)]
        want = ref.filtered_lrelu(
            x,
            t[0],
            t[1],
            b,
            up=spec.up_factor,
            down=spec.down_factor,
            padding=spec.padding,
            gain=1 if spec.is_torgb else math.sqrt(2),
            slope=1 if spec.is_torgb else 0.2,
            clamp=spec.conv_clamp,
        )
        got = _nonlinearity(spec, up_f, down_f)(x, b)
        assert got.shape == want.shape == (2, 5, spec.out_size, spec.out_size), spec.name
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10, msg=spec.name)
        unclamped = ref.filtered_lrelu(
            x,
            t[0],
            t[1],
            b,
            up=spec.up_factor,
            down=spec.down_factor,
            padding=spec.padding,
            gain=1 if spec.is_torgb else math.sqrt(2),
            slope=1 if spec.is_torgb else 0.2,
            clamp=None,
        )
        assert not torch.allclose(want, unclamped), f"{spec.name}: the clamp should be exercised"


@pytest.mark.parametrize("up,down,radial", [(2, 2, False), (4, 2, False), (2, 2, True), (1, 2, False), (2, 1, False)])
def test_fast_filtered_lrelu_up_down_cases(up, down, radial):
    gen = torch.Generator().manual_seed(up * 10 + down)
    fu = design_lowpass_filter(6 * up, 3.0, 4.0, 16) if up > 1 else None
    fd = design_lowpass_filter(6 * down, 3.0, 4.0, 16, radial=radial) if down > 1 else None
    pad = (5, 4, -1, 3)
    x = torch.randn(3, 4, 17, 13, generator=gen)
    b = torch.randn(4, generator=gen)
    t = [None if f is None else torch.from_numpy(f) for f in (fu, fd)]
    want = ref.filtered_lrelu(x, t[0], t[1], b, up=up, down=down, padding=pad, clamp=2.0)
    got = ops.FilteredLReLU(fu, fd, up, down, pad, gain=math.sqrt(2), slope=0.2, clamp=2.0)(x, b)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_fast_filtered_lrelu_gradients_match_reference():
    fu, fd = design_lowpass_filter(12, 2.0, 6.0, 16), design_lowpass_filter(12, 2.0, 6.0, 16)
    x = torch.randn(2, 3, 20, 20, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 20, 20, dtype=torch.float64)
    pad = (9, 8, 9, 8)
    want = ref.filtered_lrelu(
        x, torch.from_numpy(fu).double(), torch.from_numpy(fd).double(), None, up=2, down=2, padding=pad, clamp=0.5
    )
    (gw,) = torch.autograd.grad((want * w[..., : want.shape[2], : want.shape[3]]).sum(), x)
    got = ops.FilteredLReLU(fu, fd, 2, 2, pad, gain=math.sqrt(2), slope=0.2, clamp=0.5)(x)
    (gg,) = torch.autograd.grad((got * w[..., : got.shape[2], : got.shape[3]]).sum(), x)
    torch.testing.assert_close(gg, gw, rtol=1e-9, atol=1e-9)


def test_axis_resampler_equals_its_dense_definition():
    rng = np.random.default_rng(3)
    for a, b, c, n_in, n_out, block in [
        (2, 1, 9, 30, 50, 32),
        (4, 1, -6, 20, 70, 32),
        (1, 2, 0, 60, 25, 16),
        (1, 1, 3, 10, 14, 16),
    ]:
        h = rng.standard_normal(12)
        dense = np.zeros((n_out, n_in))
        for m in range(n_out):
            for n in range(n_in):
                if 0 <= n * a - m * b + c < len(h):
                    dense[m, n] = h[n * a - m * b + c]
        x = rng.standard_normal((3, n_in, 5))
        got = ops.AxisResampler(h, a, b, c, n_in, n_out, block)(torch.from_numpy(x))
        np.testing.assert_allclose(got.numpy(), np.einsum("mn,bnw->bmw", dense, x), atol=1e-12)


@pytest.mark.parametrize("batch,demodulate,k", [(1, True, 3), (3, True, 3), (3, False, 1), (2, True, 1)])
def test_fast_modulated_conv_matches_grouped_reference(batch, demodulate, k):
    gen = torch.Generator().manual_seed(batch + k)
    x = torch.randn(batch, 6, 11, 11, generator=gen, dtype=torch.float64)
    weight = torch.randn(5, 6, k, k, generator=gen, dtype=torch.float64)
    styles = torch.randn(batch, 6, generator=gen, dtype=torch.float64) + 1
    bias = torch.randn(5, generator=gen, dtype=torch.float64)
    gain = torch.tensor(0.7, dtype=torch.float64)
    want = ref.modulated_conv2d(x, weight, styles, demodulate, k - 1, gain) + bias.reshape(1, -1, 1, 1)
    cache = ops.ModulationCache()
    for _ in range(2):  # second call goes through the cache
        got = ops.modulated_conv2d(x, weight, styles, demodulate, k - 1, gain, bias, cache)
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    with torch.no_grad():
        weight.mul_(2)  # an in-place edit invalidates the cache
    want = ref.modulated_conv2d(x, weight, styles, demodulate, k - 1, gain) + bias.reshape(1, -1, 1, 1)
    torch.testing.assert_close(ops.modulated_conv2d(x, weight, styles, demodulate, k - 1, gain, bias, cache), want)


# --- whole generators -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["T", "R"])
def test_tiny_generator_fast_equals_reference_end_to_end(kind):
    G = randomised(tiny(kind)).double()
    G.set_input_transform(translate=(0.13, -0.2), rotate=17)
    z = torch.randn(3, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        fast = G(z, truncation_psi=0.7, truncation_cutoff=8)
        reference = G.set_impl("reference")(z, truncation_psi=0.7, truncation_cutoff=8)
    assert fast.shape == (3, 3, 64, 64) and fast.dtype == torch.float64
    scale = reference.abs().max()
    assert scale > 0.01
    assert (fast - reference).abs().max() <= 1e-9 * scale


def test_generator_float32_fast_vs_reference_and_batch_independence():
    G = randomised(tiny("T"))
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        fast = G(z, truncation_psi=0.5)
        reference = G.set_impl("reference")(z, truncation_psi=0.5)
        single = G.set_impl("fast")(z[1:2], truncation_psi=0.5)
    assert (fast - reference).abs().max() <= 1e-4 * reference.abs().max()
    # demodulation cancels the batch-wide style normalisation: one image alone renders the same
    assert (single[0] - fast[1]).abs().max() <= 1e-4 * fast.abs().max()


def test_gradients_flow_to_ws_and_match_reference():
    G = randomised(tiny("T", res=32)).double().requires_grad_(False)
    ws = G.mapping(torch.randn(2, 16, dtype=torch.float64)).detach().requires_grad_(True)
    target = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    (g_fast,) = torch.autograd.grad((G.synthesis(ws) - target).square().mean(), ws)
    G.set_impl("reference")
    (g_ref,) = torch.autograd.grad((G.synthesis(ws) - target).square().mean(), ws)
    assert g_fast.abs().sum() > 0
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-7, atol=1e-12)


def test_mapping_truncation_and_shapes():
    G = randomised(tiny("T"))
    z = torch.randn(2, 16)
    with torch.no_grad():
        w = G.mapping(z)
        wt = G.mapping(z, truncation_psi=0.6, truncation_cutoff=5)
    assert w.shape == (2, G.num_ws, G.w_dim) == (2, 16, 16)
    avg = G.mapping.w_avg
    torch.testing.assert_close(wt[:, :5], avg + 0.6 * (w[:, :5] - avg))
    torch.testing.assert_close(wt[:, 5:], w[:, 5:])
    # the mapping normalises z's second moment: scaling z changes nothing
    with torch.no_grad():
        torch.testing.assert_close(G.mapping(z * 7), w, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"ws has shape \[2, 15, 16\], expected \[N, 16, 16\]"):
        G.synthesis(w[:, :15])


def test_synthesis_input_matches_an_independent_fourier_feature_formula():
    """Pixel centres at (j + 0.5 - size/2) / rate; phases and frequencies moved by the inverse transform."""
    G = randomised(tiny("T")).double()
    G.set_input_transform(translate=(0.25, 0.1), rotate=30)
    inp = G.synthesis.input
    w = torch.randn(2, 16, dtype=torch.float64)
    with torch.no_grad():
        got = inp(w).numpy()
        t = inp.affine(w).numpy()
    freqs, phases = inp.freqs.double().numpy(), inp.phases.double().numpy()
    user = inp.transform.double().numpy()
    pos = (np.arange(inp.size) + 0.5 - inp.size / 2) / inp.sampling_rate
    weight = inp.weight.detach().double().numpy() / math.sqrt(inp.channels)
    for b in range(2):
        rc, rs, tx, ty = t[b] / np.hypot(t[b, 0], t[b, 1])
        m = np.array([[rc, -rs, 0], [rs, rc, 0], [0, 0, 1]]) @ np.array([[1, 0, -tx], [0, 1, -ty], [0, 0, 1]]) @ user
        f = freqs @ m[:2, :2]
        ph = phases + freqs @ m[:2, 2]
        amp = np.clip(1 - (np.linalg.norm(f, axis=1) - inp.bandwidth) / (inp.sampling_rate / 2 - inp.bandwidth), 0, 1)
        gx, gy = np.meshgrid(pos, pos)  # [row=y, col=x]
        feat = np.sin(2 * np.pi * (gx[..., None] * f[:, 0] + gy[..., None] * f[:, 1] + ph)) * amp
        np.testing.assert_allclose(got[b], np.moveaxis(feat @ weight.T, -1, 0), atol=1e-10)


def test_input_transform_translates_the_image():
    """A translation by whole output pixels of a critically-sampled net moves the image by that many pixels."""
    G = randomised(tiny("T", res=32))
    z = torch.randn(1, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = G(z)
        shifted = G.set_input_transform(translate=(4 / 32, 0))(z)
    # interior columns move right by 4 pixels; compare away from the borders
    inner = (slice(None), slice(None), slice(8, 24))
    a, b = base[..., 4:24][inner], shifted[..., 8:28][inner]
    assert (a - b).abs().mean() < 0.25 * (base[..., 4:24] - base[..., 8:28])[inner].abs().mean()


def test_generator_is_dtype_and_mode_agnostic():
    G = randomised(tiny("T", res=32))
    z = torch.randn(2, 16)
    with torch.inference_mode():
        a = G(z)
    b = G.to(torch.bfloat16)(z.to(torch.bfloat16))
    assert b.dtype == torch.bfloat16 and torch.isfinite(b.float()).all()
    assert (a - b.float()).abs().max() < 0.1 * a.abs().max() + 0.05
    with pytest.raises(ValueError, match="impl must be one of"):
        G.set_impl("cuda")


def test_caches_filled_under_inference_mode_serve_a_later_backward_pass():
    """Sampling first (inference mode) and then optimising ws through the same generator must work."""
    G = randomised(tiny("R", res=32)).requires_grad_(False)
    with torch.inference_mode():
        G(torch.randn(2, 16))
    ws = G.mapping(torch.randn(2, 16)).detach().requires_grad_(True)
    G.synthesis(ws).square().mean().backward()
    assert ws.grad is not None and ws.grad.abs().sum() > 0


def test_official_call_conventions():
    """Drop-in use: official constructor kwargs, ``G(z, c)`` with an empty c, ``noise_mode``/``force_fp32``."""
    G = Generator(
        z_dim=16,
        c_dim=0,
        w_dim=16,
        img_resolution=32,
        img_channels=3,
        channel_base=1024,
        channel_max=32,
        mapping_kwargs={"num_layers": 2},
    ).eval()
    assert G.config == tiny("T", res=32)
    z = torch.randn(2, 16)
    c = torch.zeros([2, G.c_dim])
    with torch.no_grad():
        a = G(z, c, truncation_psi=0.5, noise_mode="const")
        b = G.synthesis(G.mapping(z, c, truncation_psi=0.5), noise_mode="const", force_fp32=True)
    assert torch.equal(a, b)
    with pytest.raises(NotImplementedError, match="update_emas"):
        G(z, c, update_emas=True)
    with pytest.raises(StyleGAN3ConfigError, match="bogus"):
        Generator(z_dim=16, w_dim=16, img_resolution=32, img_channels=3, bogus=1)


@pytest.mark.parametrize("kind", ["T", "R"])
def test_256px_lhq_layer_schedule_fast_equals_reference(kind):
    """The 256 px LHQ configs' layer schedule (every layer's size, sampling rate, cutoff and filters; R's 1x1 convs
    and radial filters), fp32 on CPU, psi and an input transform, at 1/16 of the channels so it runs in seconds: the
    fast path must equal the reference to 1e-5 of its largest magnitude. The full-width configs (cbase 32768 /
    cmax 512, R 65536 / 1024) are checked the same way by `benchmarks/stylegan3_forward.py --check`."""
    torch.manual_seed(0)
    full = GeneratorConfig.preset(kind, 256)
    G = Generator(GeneratorConfig.preset(kind, 256, channel_base=full.channel_base // 16, channel_max=32))
    G = G.eval().requires_grad_(False)
    with torch.no_grad():
        for layer in G.synthesis.layers():
            layer.bias.normal_(0, 0.2)
            layer.magnitude_ema.uniform_(0.5, 2)
        G.synthesis.input.affine.weight.normal_(0, 0.1)
        G.mapping.w_avg.normal_()
    G.set_input_transform((0.1, -0.05), 7)
    z = torch.randn(1, 512)
    with torch.inference_mode():
        fast = G(z, truncation_psi=0.7)
        reference = G.set_impl("reference")(z, truncation_psi=0.7)
    assert fast.shape == (1, 3, 256, 256)

    def geometry(cfg: GeneratorConfig) -> list[tuple]:
        _, layers = synthesis_schedule(cfg)
        return [
            (
                s.in_size,
                s.out_size,
                s.in_sampling_rate,
                s.out_cutoff,
                s.conv_kernel,
                s.up_taps,
                s.down_radial,
                s.padding,
            )
            for s in layers
        ]

    assert geometry(G.config) == geometry(full)  # the same layer schedule as the full-width config
    assert (fast - reference).abs().max() <= 1e-5 * reference.abs().max()
