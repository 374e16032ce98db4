"""The train_video loop, the video model folder, the judge and `sound2video generate` with a real (tiny) model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import TINY_G

from sound2video import models
from sound2video.core.frozen_clip import ClipModelSpec, load_clip
from sound2video.models.audio.mel import MelParams
from sound2video.models.stylegan3.checkpoint import save_generator
from sound2video.models.stylegan3.stage import random_generator
from sound2video.models.video.configuration_video import TrainVideoParams
from sound2video.models.video.judge import FrameJudge, frame_features
from sound2video.models.video.modeling_video import VideoGenerator, save_video_model
from sound2video.models.video.train import TrainingData, VideoTrainer, train
from sound2video.training import TrainState

ROOT = Path(__file__).resolve().parents[2]
N_MELS, WIDTH = 16, 11  # a 0.5 s window at 16 kHz with hop 800: 1 + 8000 // 800 columns


def tiny_params(**over) -> TrainVideoParams:
    base = {
        "fps": 4,
        "frames": 4,
        "window_seconds": 0.5,
        "start": {"kind": "mapping", "psi": 0.5},
        "encoder": {"width": 8, "blocks": [1, 1, 1, 1], "style_channels": 8, "sound_dim": 8},
        "recurrent": {"groups": [2, 4], "gru_layers": 1, "hidden": 8, "noise_dim": 4},
        "discriminator": {
            "image": {"width": 8, "layers": 2},
            "video": {"width": 8, "layers": 2, "temporal_kernel": 2, "two_scales": False},
        },
        "loss": {
            "clip_av": 1.0,
            "clip_at": 1.0,
            "consistency": 0.1,
            "adv_image": 0.05,
            "adv_video": 0.05,
            "latent": 1.0,
        },
        "steps": 6,
        "batch_size": 2,
        "lr": 0.003,
        "warmup_steps": 0,
        "checkpoint_every": 2,
        "log_every": 1,
        "device": "cpu",
    }
    for k, v in over.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return TrainVideoParams.model_validate(base)


@pytest.fixture(scope="module")
def G():
    return random_generator(TINY_G)


@pytest.fixture(scope="module")
def clip():
    return load_clip(
        ClipModelSpec(model="tiny-clip", pretrained=None, config=str(ROOT / "configs/clip/tiny-clip.json"))
    )


@pytest.fixture(scope="module")
def data(G, clip) -> TrainingData:
    """Six 8-frame clips of three classes: each class has its own colour and its own loud mel band, and the
    'inverted' latents of its frames are a class-specific W+ point."""
    rng = np.random.default_rng(0)
    n, f, r = 6, 8, G.img_resolution
    labels = np.array([0, 1, 2, 0, 1, 2])
    colours = np.array([[220, 40, 40], [40, 220, 40], [40, 40, 220]], np.uint8)
    frames = np.broadcast_to(colours[labels][:, None, None, None], (n, f, r, r, 3)).copy()
    mels = (rng.random((n, f, N_MELS, WIDTH)) * 0.1).astype(np.float16)
    for i, c in enumerate(labels):
        mels[i, :, 4 * c : 4 * c + 4] += 0.8
    dim = clip.embed_text(["x"]).shape[1]
    targets = rng.standard_normal((n, f, dim)).astype(np.float32)
    with torch.no_grad():
        points = G.mapping(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(5)), None)
    inverted = np.repeat(points.numpy()[labels][:, None], f, axis=1).astype(np.float32)
    text = clip.embed_text(["red", "green", "blue"]).astype(np.float32)
    return TrainingData(frames, mels, targets, labels, text, inverted)


def _weights(state: TrainState) -> dict[str, torch.Tensor]:
    return {f"{m}.{k}": v.detach().clone() for m, mod in state.modules.items() for k, v in mod.state_dict().items()}


def test_a_few_steps_lower_the_generator_loss(G, clip, data):
    p = tiny_params(steps=20, loss={"adv_image": 0.0, "adv_video": 0.0})
    trainer = VideoTrainer(p, G, clip, data, torch.device("cpu"))
    logs = [trainer.step(s) for s in range(p.steps)]
    total, latent = [h["loss_g"] for h in logs], [h["latent"] for h in logs]
    assert np.mean(total[-4:]) < np.mean(total[:4]), total
    assert np.mean(latent[-4:]) < 0.5 * np.mean(latent[:4]), latent  # the paired term is learnable here


def test_steps_log_every_term_and_train_both_sides(G, clip, data):
    trainer = VideoTrainer(tiny_params(), G, clip, data, torch.device("cpu"))
    before = _weights(trainer.state)
    out = trainer.step(0)
    assert {"loss_g", "clip_av", "clip_at", "consistency", "latent", "adv_g", "loss_d"} <= set(out)
    after = _weights(trainer.state)
    for name in ("latents", "d_image", "d_video"):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(name + ".")), name


def test_no_video_discriminator_switch(G, clip, data):
    trainer = VideoTrainer(tiny_params(loss={"adv_video": 0.0}), G, clip, data, torch.device("cpu"))
    before = _weights(trainer.state)
    trainer.step(0)
    after = _weights(trainer.state)
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("d_video."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("d_image."))


def test_resume_equals_uninterrupted(G, clip, data, tmp_path):
    p = tiny_params(steps=5)
    whole = train(VideoTrainer(p, G, clip, data, torch.device("cpu")), tmp_path / "a", "fp")
    train(VideoTrainer(p, G, clip, data, torch.device("cpu")), tmp_path / "b", "fp", stop_after=3)
    resumed = train(VideoTrainer(p, G, clip, data, torch.device("cpu")), tmp_path / "b", "fp")
    a, b = _weights(whole), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ema_a, ema_b = whole.ema["latents"].state_dict(), resumed.ema["latents"].state_dict()
    assert all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)
    assert [h["step"] for h in whole.history] == [h["step"] for h in resumed.history]


def _generator(G, trainer: VideoTrainer) -> VideoGenerator:
    mel = MelParams(sample_rate=16000, clip_seconds=0.5, n_fft=1024, hop_length=800, n_mels=N_MELS, fmin=50, fmax=8000)
    return VideoGenerator(trainer.state.ema["latents"], G, None, mel, 4.0, 0.5, 0.5)


def test_chunked_generation_equals_one_pass(G, clip, data):
    gen = _generator(G, VideoTrainer(tiny_params(), G, clip, data, torch.device("cpu")))
    windows = np.asarray(data.mels[0], np.float32)
    whole, _ = gen.frames(gen.start(3), windows)
    state = gen.start(3)
    parts = []
    for lo in range(0, len(windows), 3):
        frames, state = gen.frames(state, windows[lo : lo + 3])
        parts.append(frames)
    assert np.array_equal(whole, np.concatenate(parts))
    other, _ = gen.frames(gen.start(4), windows)
    assert not np.array_equal(whole, other)


def test_model_folder_round_trip_and_format_errors(G, clip, data, tmp_path):
    gen_dir = tmp_path / "models" / "stylegan3"
    save_generator(G, gen_dir, source={"random_init": True})
    from sound2video.core.fsutil import sha256_file

    trainer = VideoTrainer(tiny_params(), G, clip, data, torch.device("cpu"))
    gen = _generator(G, trainer)
    out = tmp_path / "models" / "video"
    save_video_model(
        gen,
        out,
        {"generator": {"path": str(gen_dir), "sha256": sha256_file(gen_dir / "model.safetensors")}, "inversion": None},
    )
    config = json.loads((out / "config.json").read_text())
    assert config["format"] == "video" and config["fps"] == 4.0 and config["mel"]["n_mels"] == N_MELS
    loaded = models.load(out)
    windows = np.asarray(data.mels[1], np.float32)
    a, _ = gen.frames(gen.start(0), windows)
    b, _ = loaded.frames(loaded.start(0), windows)
    assert np.array_equal(a, b)
    with pytest.raises(Exception, match="'stylegan3' model, expected 'video'"):
        models.load(gen_dir, expected_format="video")
    # a generator other than the one it was trained with is refused by name
    G2 = random_generator(TINY_G.model_copy(update={"seed": 1}))
    save_generator(G2, gen_dir, source={"random_init": True})
    with pytest.raises(ValueError, match="generator"):
        models.load(out)


def test_judge_separates_colours_and_not_noise():
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 255, (4, 3))
    labels = np.repeat(np.arange(4), 30)
    frames = np.clip(colours[labels][:, None, None] + rng.normal(0, 20, (len(labels), 16, 16, 3)), 0, 255)
    judge = FrameJudge.fit(frames.astype(np.uint8), labels, ["a", "b", "c", "d"])
    test = np.clip(colours[labels][:, None, None] + rng.normal(0, 20, (len(labels), 16, 16, 3)), 0, 255)
    assert (judge.frame_probs(test.astype(np.uint8)).argmax(1) == labels).mean() > 0.95
    assert frame_features(test[:2].astype(np.uint8)).shape == (2, 3 * 64 + 3 * 8)
    shuffled = rng.permutation(labels)
    noise_judge = FrameJudge.fit(frames.astype(np.uint8), shuffled, ["a", "b", "c", "d"])
    assert (noise_judge.frame_probs(test.astype(np.uint8)).argmax(1) == shuffled).mean() < 0.6


def test_generate_command_with_a_trained_model_folder(G, clip, data, tmp_path):
    from sound2video.core.fsutil import sha256_file

    gen_dir = tmp_path / "models" / "stylegan3"
    save_generator(G, gen_dir, source={"random_init": True})
    trainer = VideoTrainer(tiny_params(), G, clip, data, torch.device("cpu"))
    out = tmp_path / "models" / "video"
    save_video_model(
        _generator(G, trainer),
        out,
        {"generator": {"path": str(gen_dir), "sha256": sha256_file(gen_dir / "model.safetensors")}, "inversion": None},
    )
    wav = tmp_path / "tone.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1.3:sample_rate=16000", str(wav)],
        check=True,
    )
    mp4 = tmp_path / "out.mp4"
    cmd = [
        sys.executable,
        "-m",
        "sound2video.cli",
        "generate",
        "--audio",
        str(wav),
        "--out",
        str(mp4),
        "--model",
        str(out),
        "--size",
        "64",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    probe = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(mp4)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["streams"]
    video = next(s for s in probe if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and video["width"] == 64 and video["pix_fmt"] == "yuv420p"
    assert any(s["codec_type"] == "audio" and s["codec_name"] == "aac" for s in probe)
    assert abs(float(video["duration"]) - 1.3) <= 1 / 4 + 1e-6
    first = mp4.read_bytes()
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode != 0 and "exists" in again.stderr  # no overwrite without --force
    assert subprocess.run(cmd + ["--force"], capture_output=True, text=True, cwd=ROOT).returncode == 0
    assert mp4.read_bytes() == first  # same seed, same bytes
    wrong = subprocess.run([*cmd[:-4], "--model", str(gen_dir), "--force"], capture_output=True, text=True, cwd=ROOT)
    assert wrong.returncode != 0 and "expected 'video'" in wrong.stderr and "\n" not in wrong.stderr.strip()


def test_stage_records_offline_once_and_keeps_headline_metrics_short(G, tmp_path):
    """``train_video`` end to end on tiny shards: the model folder records why its figures are offline ones (the
    evaluate stage reads that record), and the declared metrics file keeps the headline numbers only."""
    from evaluate_fixtures import CLASSES, make_shards

    from sound2video.core.frozen_clip import class_text_embeddings
    from sound2video.evaluation.loading import recorded_offline_reasons
    from sound2video.models.audio.configuration_audio import TrainAudioParams
    from sound2video.models.audio.data import Features
    from sound2video.models.audio.modeling_audio import save
    from sound2video.models.audio.train import train as train_audio
    from sound2video.models.stylegan3 import stage as g_stage
    from sound2video.models.stylegan3.configuration_stylegan3 import StyleGAN3Params
    from sound2video.models.video import stage

    shards = make_shards(tmp_path / "shards", {"train": 1, "test": 1})
    g_stage.main(StyleGAN3Params(network=None, random=TINY_G), tmp_path / "stylegan3")
    mel = MelParams(sample_rate=16000, clip_seconds=1.0, n_fft=512, hop_length=400, n_mels=N_MELS, fmax=8000)
    tiny_clip = {"model": "tiny-clip", "pretrained": None, "config": str(ROOT / "configs/clip/tiny-clip.json")}
    audio_params = TrainAudioParams.model_validate(
        {"mel": mel.model_dump(), "encoder": {"width": 4, "blocks": [1, 1]}, "steps": 1, "batch_size": 3}
        | {"warmup_steps": 0, "clip_model": tiny_clip}
    )
    rng = np.random.default_rng(0)
    feats = Features(
        ["a", "b", "c"], np.arange(3), rng.normal(size=(3, N_MELS, 41)).astype(np.float32), None, ["a", "b", "c"]
    )
    text = class_text_embeddings(load_clip(audio_params.clip_model), CLASSES, audio_params.prompt_templates)
    tower, _ = train_audio(audio_params, feats, torch.from_numpy(text), tmp_path / "audio_ckpt")
    save(tower, audio_params, tmp_path / "audio", {"classes": CLASSES})
    paths = stage.VideoStagePaths(
        shards=shards,
        generator=tmp_path / "stylegan3",
        audio=tmp_path / "audio",
        inversion=tmp_path / "no_inversion",  # loss.latent 0 and a mapping start: not needed
        out=tmp_path / "video",
        checkpoints=tmp_path / "ckpt",
        metrics=tmp_path / "metrics" / "video_train.json",
        plots=tmp_path / "plots",
        classes=ROOT / "data" / "classes.csv",
    )
    block = tiny_params(steps=2, loss={"latent": 0.0}).model_dump(mode="json")
    (tmp_path / "params.yaml").write_text(json.dumps({"train_video": block}))  # JSON is YAML
    result = stage.main_from_files(tmp_path / "params.yaml", paths)
    details = json.loads((tmp_path / "metrics" / "details" / "video_train.json").read_text())
    assert details == json.loads(json.dumps(result)) and "offline_profile" in details
    headline = json.loads(paths.metrics.read_text())
    assert headline == {"judge_accuracy": details["judge_accuracy"], "switch_accuracy": details["switch_accuracy"]}
    config = json.loads((paths.out / "config.json").read_text())
    assert config["offline"] is True and config["offline_reasons"] == ["random-init generator", "random-init CLIP"]
    assert recorded_offline_reasons(config, paths.out, {}) == config["offline_reasons"]  # read, not re-derived
    assert recorded_offline_reasons(config | {"offline_reasons": []}, paths.out, {}) == []
    older = {k: v for k, v in config.items() if k not in ("offline", "offline_reasons")}  # a folder before the record
    assert recorded_offline_reasons(older, paths.out, tower_config={}) == ["random-init generator"]
    assert (paths.plots / "samples.png").is_file() and (paths.plots / "train_log.csv").is_file()
