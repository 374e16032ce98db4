"""The video model's networks and losses: E_a + recurrent blocks (causality, ablations, streaming, smoothing, noise),
rendering (chunking / checkpointing), the discriminators (D_V sees frame order) and the losses against hand
computations. Tiny widths on CPU."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from sound2video.models.stylegan3 import GeneratorConfig
from sound2video.models.stylegan3.modeling_stylegan3 import Generator
from sound2video.models.video.configuration_video import (
    DiscriminatorParams,
    ImageDiscriminatorParams,
    RecurrentParams,
    SoundEncoderParams,
    VideoDiscriminatorParams,
)
from sound2video.models.video.discriminators import (
    ImageDiscriminator,
    VideoDiscriminator,
    discriminator_loss,
    generator_adv_loss,
    maybe_time_reverse,
    r1_penalty,
)
from sound2video.models.video.losses import clip_cosine_loss, latent_supervision, temporal_consistency
from sound2video.models.video.modeling_video import SoundToLatents
from sound2video.models.video.render import render_frames
from sound2video.models.video.sound_encoder import SoundEncoder

N_MELS, WIN = 16, 12


def tiny_enc(**kw) -> SoundEncoderParams:
    return SoundEncoderParams(**{"width": 4, "blocks": [1, 1, 1, 1], "style_channels": 8, "sound_dim": 8, **kw})


def tiny_model(num_ws: int = 10, w_dim: int = 16, enc: dict | None = None, seed: int = 0, **rec) -> SoundToLatents:
    torch.manual_seed(seed)
    params = RecurrentParams(**{"gru_layers": 2, "hidden": 8, "noise_dim": 4, "init_scale": 1.0, **rec})
    # init_scale 1: the tests need visible motion and offsets; the small default start is tested separately
    return SoundToLatents(tiny_enc(**{"init_scale": 1.0, **(enc or {})}), params, num_ws, w_dim, N_MELS, WIN)


def inputs(model: SoundToLatents, b: int = 2, t: int = 5, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, t, N_MELS, WIN, generator=g),
        torch.randn(b, model.num_ws, model.w_dim, generator=g),
        torch.randn(b, t, model.noise_dim, generator=g),
    )


def motion(model: SoundToLatents, ws: torch.Tensor, mels: torch.Tensor, w0: torch.Tensor) -> torch.Tensor:
    """m_t = w_hat_t - w_start - E_a(x_t) (every_step mode)."""
    offsets, _ = model.encoder(mels.flatten(0, 1))
    return ws - w0[:, None] - offsets.unflatten(0, mels.shape[:2])


# --- shapes and params -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_ws,w_dim,groups", [(10, 64, [3, 6]), (16, 512, [3, 6]), (16, 32, [4, 8])])
def test_shapes(num_ws, w_dim, groups):
    model = tiny_model(num_ws, w_dim, groups=groups)
    mels, w0, noise = inputs(model, b=2, t=3)
    ws = model(mels, w0, noise)
    assert ws.shape == (2, 3, num_ws, w_dim)
    offset, code = model.encoder(mels[:, 0])
    assert offset.shape == (2, num_ws, w_dim) and code.shape == (2, 8)
    lo, hi = groups
    assert {n: b.gru.input_size for n, b in model.blocks.items()} == {
        "coarse": lo * w_dim + 8,
        "mid": (hi - lo) * w_dim + 8,
        "fine": (num_ws - hi) * w_dim + 8,
    }


def test_wrong_shapes_are_named():
    model = tiny_model()
    mels, w0, noise = inputs(model)
    with pytest.raises(ValueError, match=r"mels has shape \[2, 5, 16, 11\]"):
        model(mels[..., :11], w0, noise)
    with pytest.raises(ValueError, match="noise has shape"):
        model(mels, w0, noise[:, :4])
    with pytest.raises(ValueError, match="w_start has shape"):
        model(mels, w0[:, :9], noise)
    with pytest.raises(ValueError, match="mel has shape"):
        model.encoder(mels)
    with pytest.raises(ValueError, match="mel_t has shape"):
        model.step(model.init_state(w0), mels[:1, 0], noise[:, 0])
    with pytest.raises(ValueError, match="groups must be"):
        tiny_model(num_ws=6, groups=[3, 6])


def test_params_are_strict_and_errors_name_the_key():
    with pytest.raises(ValidationError, match="groups"):
        RecurrentParams(groups=[6, 3])
    with pytest.raises(ValidationError, match="temporal_kernel"):
        VideoDiscriminatorParams(temporal_kernel=1)
    with pytest.raises(ValidationError, match="smoothing"):
        RecurrentParams(smoothing=1.5)
    with pytest.raises(ValidationError, match="active_blocks"):
        RecurrentParams(active_blocks=["coarse", "coarse"])
    with pytest.raises(ValidationError, match="bogus"):
        DiscriminatorParams(video={"bogus": 1})
    assert RecurrentParams(active_blocks=["fine", "coarse"]).active_blocks == ["coarse", "fine"]
    for cls in (
        SoundEncoderParams,
        RecurrentParams,
        ImageDiscriminatorParams,
        VideoDiscriminatorParams,
        DiscriminatorParams,
    ):
        assert all(f.description for f in cls.model_fields.values()), cls


def test_training_starts_near_the_start_latent():
    torch.manual_seed(0)
    model = SoundToLatents(tiny_enc(), RecurrentParams(gru_layers=2, hidden=8, noise_dim=4), 10, 16, N_MELS, WIN)
    mels, w0, noise = inputs(model, t=4)
    ws = model(mels, w0, noise)
    assert (ws - w0[:, None]).abs().max() < 0.1 * w0.abs().mean()


@pytest.mark.parametrize("norm", ["group", "instance", "none"])
def test_no_batchnorm_anywhere(norm):
    mels = torch.randn(3, 20, WIN)
    enc = SoundEncoder(tiny_enc(norm=norm), 10, 16, 20, WIN, [3, 6]).train()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in enc.modules())
    offset, _ = enc(mels)
    alone, _ = enc(mels[:1])
    assert torch.allclose(offset[:1], alone, atol=1e-5)  # batch items do not interact in train() mode


def test_instance_norm_on_a_1x1_feature_map_is_refused():
    with pytest.raises(ValueError, match="norm 'instance'"):
        SoundEncoder(tiny_enc(norm="instance"), 10, 16, N_MELS, WIN, [3, 6])


# --- audio conditioning and ablations --------------------------------------------------------------------------


@pytest.mark.parametrize("train", [True, False])
def test_audio_enters_every_step_and_is_causal(train):
    model = tiny_model().train(train)
    mels, w0, noise = inputs(model, t=6)
    base = model(mels, w0, noise)
    for t in (1, 3, 5):
        changed = mels.clone()
        changed[0, t] += torch.randn_like(changed[0, t])
        ws = model(changed, w0, noise)
        assert torch.equal(ws[:, :t], base[:, :t]), t  # the past never changes
        assert torch.equal(ws[1], base[1]), t  # nor another batch item
        for u in range(t, 6):  # frame t and every later frame do
            assert not torch.allclose(ws[0, u], base[0, u]), (t, u)
        # ... beyond the offset: the recurrence itself heard window t (through the sound code)
        if t < 5:
            assert not torch.allclose(motion(model, ws, changed, w0)[0, t + 1], motion(model, base, mels, w0)[0, t + 1])


def test_first_step_ablation_ignores_later_windows():
    model = tiny_model(audio_mode="first_step")
    mels, w0, noise = inputs(model)
    base = model(mels, w0, noise)
    changed = mels.clone()
    changed[:, 1:] = torch.randn_like(changed[:, 1:])
    assert torch.equal(model(changed, w0, noise), base)
    changed[:, 0] += 1
    assert not torch.allclose(model(changed, w0, noise), base)
    offset0, _ = model.encoder(mels[:, 0])
    assert torch.allclose(base[:, 0], w0 + offset0, atol=1e-6)


def test_none_ablation_is_independent_of_the_mel():
    model = tiny_model(audio_mode="none")
    mels, w0, noise = inputs(model)
    base = model(mels, w0, noise)
    assert torch.equal(model(torch.randn_like(mels) * 5, w0, noise), base)
    assert not torch.allclose(base[:, 1:], base[:, :1])  # it still moves (noise and recurrence)


def test_coarse_only_moves_only_the_coarse_latents():
    model = tiny_model(active_blocks=["coarse"])
    assert set(model.blocks) == {"coarse"}
    mels, w0, noise = inputs(model, t=4)
    m = motion(model, model(mels, w0, noise), mels, w0)
    assert torch.allclose(m[:, :, 3:], torch.zeros_like(m[:, :, 3:]), atol=1e-6)
    assert torch.allclose(m[:, 0], torch.zeros_like(m[:, 0]), atol=1e-6)
    assert (m[:, 1:, :3].abs().amax(dim=(2, 3)) > 1e-3).all()


def test_noise_changes_motion_but_not_frame_zero():
    model = tiny_model()
    mels, w0, noise = inputs(model)
    a, b = model(mels, w0, noise), model(mels, w0, torch.randn_like(noise))
    assert torch.equal(a[:, 0], b[:, 0])
    assert not torch.allclose(a[:, 1:], b[:, 1:])


# --- streaming and smoothing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["every_step", "first_step", "none"])
def test_step_iterated_and_chunked_equal_forward(mode):
    model = tiny_model(audio_mode=mode, smoothing=0.4)
    mels, w0, noise = inputs(model, t=7)
    for smooth in (False, True):
        whole = model(mels, w0, noise, smooth=smooth)
        with torch.no_grad():
            state, out = model.init_state(w0), []
            for chunk in ((0, 3), (3, 4), (4, 7)):  # streaming generation: state carried across chunks
                for t in range(*chunk):
                    w_t, state = model.step(state, mels[:, t], noise[:, t], smooth=smooth)
                    out.append(w_t)
        assert state.step == 7
        assert torch.allclose(torch.stack(out, 1), whole, atol=1e-5), (mode, smooth)


def test_smoothing_is_an_ema_of_the_raw_latents():
    model = tiny_model(smoothing=0.4)
    mels, w0, noise = inputs(model)
    raw = model(mels, w0, noise)
    smooth = model(mels, w0, noise, smooth=True)
    expect = [raw[:, 0]]
    for t in range(1, raw.shape[1]):
        expect.append(0.4 * raw[:, t] + 0.6 * expect[-1])
    assert torch.allclose(smooth, torch.stack(expect, 1), atol=1e-6)
    assert not torch.allclose(smooth, raw)
    off = tiny_model(smoothing=None)
    assert torch.equal(off(mels, w0, noise, smooth=True), off(mels, w0, noise))


# --- rendering and gradients -------------------------------------------------------------------------------------


def linear_synthesis(num_ws: int, w_dim: int, res: int = 8, seed: int = 3):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(num_ws * w_dim, 3 * res * res, generator=g) / (num_ws * w_dim) ** 0.5
    return lambda ws: torch.tanh(ws.flatten(1) @ weight).view(-1, 3, res, res)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Relative error of a whole gradient tensor (chunked matmuls sum in another order)."""
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item()


def grads(model: SoundToLatents, synthesis, mels, w0, noise, **kw) -> dict[str, torch.Tensor]:
    model.zero_grad()
    frames = render_frames(synthesis, model(mels, w0, noise), **kw)
    (frames * torch.linspace(-1, 1, frames.numel()).view_as(frames)).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_render_chunking_and_checkpointing_give_the_same_frames_and_gradients():
    model = tiny_model()
    mels, w0, noise = inputs(model, b=2, t=5)
    synth = linear_synthesis(10, 16)
    frames = render_frames(synth, model(mels, w0, noise), chunk=3)
    assert frames.shape == (2, 5, 3, 8, 8)
    ref = grads(model, synth, mels, w0, noise, chunk=100)
    names = set(ref)
    assert any(n.startswith("encoder.body") for n in names) and any(n.startswith("encoder.heads") for n in names)
    assert any(n.startswith("encoder.sound") for n in names)
    for block in ("coarse", "mid", "fine"):
        assert f"blocks.{block}.gru.weight_ih_l0" in names and f"blocks.{block}.fc.weight" in names
        assert ref[f"blocks.{block}.gru.weight_hh_l1"].abs().sum() > 0
    for kw in ({"chunk": 3}, {"chunk": 3, "checkpoint": True}, {"chunk": 1, "checkpoint": True}):
        got = grads(model, synth, mels, w0, noise, **kw)
        assert set(got) == names
        for n in names:
            assert rel_err(got[n], ref[n]) < 1e-5, (kw, n)


def test_gradients_through_a_tiny_stylegan3():
    torch.manual_seed(0)
    G = (
        Generator(GeneratorConfig.preset("T", 16, channel_base=256, channel_max=8, z_dim=8, w_dim=16, num_layers=4))
        .eval()
        .requires_grad_(False)
    )
    model = tiny_model(num_ws=G.num_ws, w_dim=G.w_dim, groups=[2, 4])
    mels, w0, noise = inputs(model, b=1, t=3)
    w0 = G.mapping(torch.randn(1, G.z_dim), None)
    ref = grads(model, G.synthesis, mels, w0, noise, chunk=8)
    got = grads(model, G.synthesis, mels, w0, noise, chunk=2, checkpoint=True)
    assert ref["blocks.fine.gru.weight_ih_l0"].abs().sum() > 0 and ref["encoder.sound.weight"].abs().sum() > 0
    assert set(got) == set(ref) and all(rel_err(got[n], ref[n]) < 1e-4 for n in ref)
    assert not any(p.grad is not None for p in G.parameters())


def test_render_rejects_bad_input():
    with pytest.raises(ValueError, match="expected \\[B, T, num_ws, w_dim\\]"):
        render_frames(lambda w: w, torch.zeros(2, 10, 16))
    with pytest.raises(ValueError, match="chunk"):
        render_frames(lambda w: w, torch.zeros(1, 2, 10, 16), chunk=0)


# --- discriminators ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("first_frame", [False, True])
def test_video_discriminator_sees_frame_order(first_frame):
    torch.manual_seed(0)
    d = VideoDiscriminator(
        VideoDiscriminatorParams(width=4, layers=2, temporal_kernel=2, first_frame_condition=first_frame)
    )
    video = torch.randn(2, 6, 3, 16, 16)
    out = d(video)
    t_out = 5 if first_frame else 6
    assert [tuple(o.shape) for o in out] == [(2, 1, t_out, 4, 4), (2, 1, t_out, 2, 2)]
    rev = d(video.flip(1))
    # A per-frame critic would give the time-reversed logits; D_V does not.
    assert not torch.allclose(rev[0], out[0]) and not torch.allclose(rev[0], out[0].flip(2))
    assert not torch.allclose(rev[1].flip(2), out[1])  # the half-size scale too


def test_image_discriminator_is_per_frame():
    torch.manual_seed(0)
    d = ImageDiscriminator(ImageDiscriminatorParams(width=4, layers=2))
    frames = torch.randn(5, 3, 16, 16)
    out = d(frames)
    assert out.shape == (5, 1, 4, 4)
    assert torch.allclose(d(frames.flip(0)), out.flip(0), atol=1e-6)
    with pytest.raises(ValueError, match="too small"):
        d(torch.randn(1, 3, 4, 4))


def test_time_reverse():
    video = torch.arange(4 * 3, dtype=torch.float32).view(4, 3)
    assert torch.equal(maybe_time_reverse(video, 0.0, torch.Generator().manual_seed(0)), video)
    assert torch.equal(maybe_time_reverse(video, 1.0, torch.Generator().manual_seed(0)), video.flip(1))
    a = maybe_time_reverse(video, 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(a, maybe_time_reverse(video, 0.5, torch.Generator().manual_seed(7)))
    assert all(torch.equal(a[i], video[i]) or torch.equal(a[i], video[i].flip(0)) for i in range(4))


# --- losses ------------------------------------------------------------------------------------------------------


def test_adversarial_losses_against_hand_computation():
    real = [torch.tensor([[0.5, 2.0]]), torch.tensor([[1.0]])]
    fake = [torch.tensor([[-1.0, 0.0]]), torch.tensor([[3.0]])]
    # lsgan: scale 1: 0.5*mean(0.25, 1) + 0.5*mean(1, 0) = 0.3125 + 0.25; scale 2: 0 + 0.5*9 = 4.5
    assert discriminator_loss("lsgan", real, fake).item() == pytest.approx((0.5625 + 4.5) / 2)
    # G: scale 1 mean(4, 1) = 2.5, scale 2: 4
    assert generator_adv_loss("lsgan", fake).item() == pytest.approx((2.5 + 4.0) / 2)
    sp = lambda x: float(torch.log1p(torch.exp(torch.tensor(x))))
    d1 = (sp(-0.5) + sp(-2.0)) / 2 + (sp(-1.0) + sp(0.0)) / 2
    d2 = sp(-1.0) + sp(3.0)
    assert discriminator_loss("nonsat_r1", real, fake).item() == pytest.approx((d1 + d2) / 2, rel=1e-6)
    g1, g2 = (sp(1.0) + sp(0.0)) / 2, sp(-3.0)
    assert generator_adv_loss("nonsat_r1", fake).item() == pytest.approx((g1 + g2) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="loss kind"):
        generator_adv_loss("wgan", fake)
    with pytest.raises(ValueError, match="same non-zero number"):
        discriminator_loss("lsgan", real, fake[:1])


def test_r1_against_per_sample_autograd():
    torch.manual_seed(0)
    d = VideoDiscriminator(VideoDiscriminatorParams(width=2, layers=1, temporal_kernel=2))
    video = torch.randn(3, 3, 3, 8, 8, requires_grad=True)
    r1 = r1_penalty(d(video), video)
    expect = []
    for i in range(3):
        x = video[i : i + 1].detach().clone().requires_grad_()
        score = sum(o.mean() for o in d(x))
        (g,) = torch.autograd.grad(score, x)
        expect.append(g.square().sum())
    assert r1.item() == pytest.approx(torch.stack(expect).mean().item(), rel=1e-5)
    r1.backward()  # the penalty is differentiable w.r.t. D's weights
    assert d.scales[0].net[0].conv.weight.grad.abs().sum() > 0
    # hand check on a linear "D": score = mean(w * x) -> grad = w / numel
    w = torch.randn(2, 5)
    x = torch.randn(4, 2, 5, requires_grad=True)
    assert r1_penalty([(x * w).sum((1, 2), keepdim=True)], x).item() == pytest.approx(w.square().sum().item())
    with pytest.raises(ValueError, match="require grad"):
        r1_penalty([torch.zeros(1)], torch.zeros(1))


def test_clip_and_latent_losses_against_hand_computation():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[1.0, 1.0], [0.0, -1.0]])
    # cos: 1/sqrt(2), -1
    assert clip_cosine_loss(a, b).item() == pytest.approx(((1 - 2**-0.5) + 2) / 2)
    # text form: one target broadcast over the frames
    assert clip_cosine_loss(a, torch.tensor([[3.0, 0.0]])).item() == pytest.approx((0 + 1) / 2)
    with pytest.raises(ValueError, match="embedding sizes differ"):
        clip_cosine_loss(a, torch.zeros(2, 3))
    ws = torch.zeros(1, 2, 1, 2)
    ws[0, 0, 0] = torch.tensor([1.0, 3.0])
    ws[0, 1, 0] = torch.tensor([3.0, 3.0])
    # mean over time (2, 3); deviations (-1, 0), (1, 0): squared mean over 4 entries = 0.5
    assert temporal_consistency(ws).item() == pytest.approx(0.5)
    target = torch.ones_like(ws, requires_grad=True)
    assert latent_supervision(ws, target).item() == pytest.approx((0 + 4 + 4 + 4) / 4)
    with pytest.raises(ValueError, match="differ in shape"):
        latent_supervision(ws, target[:, :1])


def test_sound_encoder_direct():
    enc = SoundEncoder(tiny_enc(sound_dim=5), 10, 16, N_MELS, WIN, [3, 6])
    offset, code = enc(torch.randn(4, N_MELS, WIN))
    assert offset.shape == (4, 10, 16) and code.shape == (4, 5)
    assert [enc.level[i] for i in (0, 2, 3, 5, 6, 9)] == [2, 2, 1, 1, 0, 0]
