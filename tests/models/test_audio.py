"""Audio tower pieces: mel front-end, encoder, contrastive losses."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from sound2video.models.audio.configuration_audio import AudioEncoderConfig
from sound2video.models.audio.encoder import AudioEncoder
from sound2video.models.audio.losses import LogitScale, class_info_nce, info_nce, spec_augment
from sound2video.models.audio.mel import AudioError, MelParams, load_audio, log_mel

P = MelParams(sample_rate=16000, clip_seconds=1.0, n_fft=512, hop_length=160, n_mels=32, fmin=50, fmax=8000)


def flac_bytes(wave: np.ndarray, sr: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wave, sr, format="FLAC")
    return buf.getvalue()


def test_info_nce_hand_computation():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    scale = torch.tensor(2.0)
    # logits = 2 * [[1, 0.6], [0, 0.8]]; rows: CE(row0, 0), CE(row1, 1); columns: CE(col0, 0), CE(col1, 1)
    logits = 2 * np.array([[1.0, 0.6], [0.0, 0.8]])
    ce = lambda row, k: -row[k] + math.log(np.exp(row).sum())  # noqa: E731
    expected = ((ce(logits[0], 0) + ce(logits[1], 1)) / 2 + (ce(logits[:, 0], 0) + ce(logits[:, 1], 1)) / 2) / 2
    assert float(info_nce(a, b * 5, scale)) == pytest.approx(expected, rel=1e-6)  # scale-free in b


def test_class_info_nce_hand_computation():
    audio = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])
    scale = torch.tensor(3.0)
    logits = 3 * audio.numpy() @ text.numpy().T  # (3 clips, 2 classes)
    lse = lambda v: math.log(np.exp(v).sum())  # noqa: E731
    a2t = np.mean([lse(logits[i]) - logits[i, labels[i]] for i in range(3)])
    col0, col1 = logits[:, 0], logits[:, 1]
    t2a = (np.mean([lse(col0) - col0[0], lse(col0) - col0[1]]) + (lse(col1) - col1[2])) / 2
    assert float(class_info_nce(audio, text, labels, scale)) == pytest.approx((a2t + t2a) / 2, rel=1e-6)


def test_logit_scale_starts_at_clip_temperature_and_is_capped():
    s = LogitScale()
    assert float(s()) == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        s.log_scale.fill_(10.0)
    assert float(s()) == pytest.approx(100.0, rel=1e-5)


def test_mel_params_round_trip_and_identical_features():
    again = MelParams.model_validate_json(P.model_dump_json())
    assert again == P
    wave = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32) * 0.5
    assert np.array_equal(log_mel(wave, P), log_mel(wave, again))
    assert log_mel(wave, P).shape == (32, P.num_frames) == (32, 101)
    with pytest.raises(ValueError, match="fmax 9000.0 is above the Nyquist"):
        MelParams(sample_rate=16000, fmax=9000)


def reference_log_mel(wave: np.ndarray, p: MelParams) -> np.ndarray:
    """The front-end written out with librosa's building blocks (STFT, mel filter bank), in float64."""
    import librosa

    wave = np.pad(wave, (0, max(0, p.num_samples - len(wave))))[: p.num_samples]
    spec = librosa.stft(wave.astype(np.float64), n_fft=p.n_fft, hop_length=p.hop_length, center=True)
    bank = librosa.filters.mel(sr=p.sample_rate, n_fft=p.n_fft, n_mels=p.n_mels, fmin=p.fmin, fmax=p.fmax)
    db = 10 * np.log10(np.maximum(bank.astype(np.float64) @ np.abs(spec) ** 2, 1e-10))
    return (np.maximum(db, -p.top_db) + p.top_db) / p.top_db


@pytest.mark.parametrize("p", [P, MelParams()], ids=["small", "defaults"])
def test_log_mel_matches_a_reference_built_from_librosas_pieces(p):
    rng = np.random.default_rng(3)
    t = np.arange(p.num_samples) / p.sample_rate
    waves = {
        "tone": (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
        "noise": (0.2 * rng.standard_normal(p.num_samples)).astype(np.float32),
        "short": (0.3 * rng.standard_normal(p.num_samples // 3)).astype(np.float32),  # padded with silence
        "long": (0.3 * rng.standard_normal(p.num_samples + 999)).astype(np.float32),  # cut
        "silence": np.zeros(p.num_samples, np.float32),
    }
    for name, wave in waves.items():
        got = log_mel(wave, p)
        assert got.dtype == np.float32 and got.shape == (p.n_mels, p.num_frames), name
        np.testing.assert_allclose(got, reference_log_mel(wave, p), rtol=0, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("p", [P, MelParams(clip_seconds=0.5)], ids=["small", "defaults-0.5s"])
def test_batched_log_mel_equals_one_by_one(p):
    waves = np.random.default_rng(0).standard_normal((2, 3, p.num_samples)).astype(np.float32) * 0.3
    waves[0, 1] = 0  # silence
    batched = log_mel(waves, p)
    assert batched.shape == (2, 3, p.n_mels, p.num_frames) and batched.dtype == np.float32
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(batched[i, j], log_mel(waves[i, j], p))
    short = waves[:, :, : p.num_samples // 2]  # every row padded with silence, as one wave alone is
    np.testing.assert_array_equal(log_mel(short, p)[1, 2], log_mel(short[1, 2], p))


def test_bad_audio_is_handled():
    silent = log_mel(np.zeros(16000, np.float32), P)
    assert np.isfinite(silent).all() and silent.max() == 0.0
    short = load_audio(flac_bytes(np.full(8000, 0.1, np.float32), 16000), P)  # 0.5 s -> padded to 1 s
    assert short.shape == (16000,) and short[8000:].max() == 0.0 and short[:8000].min() > 0.09
    odd_rate = load_audio(flac_bytes(np.random.default_rng(0).uniform(-0.5, 0.5, 11025).astype(np.float32), 11025), P)
    assert odd_rate.shape == (16000,) and np.abs(odd_rate[:15000]).max() > 0.1
    with pytest.raises(AudioError, match="clip.flac: cannot decode audio"):
        load_audio(b"not audio at all", P, name="clip.flac")
    stereo = load_audio(
        flac_bytes(np.stack([np.full(16000, 0.2), np.full(16000, 0.4)], 1).astype(np.float32), 16000), P
    )
    assert stereo.shape == (16000,) and abs(float(stereo.mean()) - 0.3) < 1e-3


@pytest.mark.parametrize("blocks, width, embed", [([2, 2, 2, 2], 8, 512), ([1, 1], 4, 64), ([1, 1, 1], 16, 32)])
def test_encoder_shapes_and_gradients(blocks, width, embed):
    enc = AudioEncoder(AudioEncoderConfig(width=width, blocks=blocks, embed_dim=embed))
    mel = torch.rand(3, 32, 101, requires_grad=True)
    out = enc(mel)
    assert out.shape == (3, embed)
    out.sum().backward()
    assert mel.grad is not None and mel.grad.abs().sum() > 0


def test_spec_augment_is_seeded_and_masks():
    mel = torch.ones(2, 32, 100)
    a = spec_augment(mel, torch.Generator().manual_seed(1))
    b = spec_augment(mel, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and (a == 0).any() and torch.equal(mel, torch.ones(2, 32, 100))


def test_a_few_steps_lower_the_loss_on_synthetic_sounds():
    from sound2video.data.sources.synthetic import rng_for
    from sound2video.data.sources.synthetic_audio import render_audio

    classes = ["raining", "thunderstorm", "fire_crackling", "underwater_bubbling"]
    mels, labels = [], []
    for k, c in enumerate(classes):
        for seed in range(4):
            wave = render_audio(c, rng_for(c, seed, 3), 1.0, 16000).mean(axis=1)
            mels.append(log_mel(wave, P))
            labels.append(k)
    x, y = torch.from_numpy(np.stack(mels)), torch.tensor(labels)
    torch.manual_seed(0)
    text = torch.nn.functional.normalize(torch.randn(len(classes), 32), dim=-1)  # frozen "prompt" embeddings
    enc = AudioEncoder(AudioEncoderConfig(width=8, blocks=[1, 1], embed_dim=32))
    scale = LogitScale()
    opt = torch.optim.AdamW(list(enc.parameters()) + list(scale.parameters()), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = class_info_nce(enc(x), text, y, scale())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    # text->audio has a floor of log(positives per class) = log 4, so the loss cannot go below log(4) / 2
    assert losses[-1] < 0.5 * losses[0] and losses[-1] >= math.log(4) / 2 - 1e-4
    with torch.no_grad():  # batch-norm in training mode: 25 steps are too few for its running averages to settle
        predicted = (torch.nn.functional.normalize(enc(x), dim=-1) @ text.t()).argmax(1)
    assert torch.equal(predicted, y)
