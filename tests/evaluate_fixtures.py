"""Test doubles for the ``evaluate`` stage: tiny shards of synthetic landscape clips, and tiny randomly initialised
models behind the stage's loader (a real VideoGenerator: SoundToLatents + a tiny random StyleGAN3; a small conv
net standing in for CLIP; fixed random projections standing in for the audio tower)."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sound2video.evaluation.loading import EvalModels
from sound2video.models.audio.mel import MelParams
from sound2video.models.stylegan3 import GeneratorConfig
from sound2video.models.stylegan3.modeling_stylegan3 import Generator
from sound2video.models.video.audio_windows import window_shape
from sound2video.models.video.configuration_video import RecurrentParams, SoundEncoderParams
from sound2video.models.video.modeling_video import SoundToLatents, VideoGenerator

CLASSES = ["thunderstorm", "fire_crackling", "splashing_water"]
SECONDS, SRC_FPS = 3.0, 10
FPS, WINDOW = 5.0, 0.5
MEL = MelParams(sample_rate=16000, clip_seconds=WINDOW, n_fft=512, hop_length=400, n_mels=16, fmin=50, fmax=8000)
DIM = 16


def make_shards(out: Path, per_class: dict[str, int] | None = None) -> Path:
    """``<out>/{train,test}-000000.tar`` with mp4 + flac + json members, like the shard stage writes."""
    from sound2video.data.sources.params import SyntheticParams
    from sound2video.data.sources.synthetic import render_video

    per_class = per_class or {"train": 2, "test": 1}
    out.mkdir(parents=True, exist_ok=True)
    params = SyntheticParams(
        seed=5, duration_seconds=SECONDS, resolutions=[(192, 108)], fps=SRC_FPS, sample_rate=44100, crf=28
    )
    index = 0
    for split, count in per_class.items():
        with tarfile.open(out / f"{split}-000000.tar", "w") as tf:
            for name in CLASSES:
                for _i in range(count):
                    key = f"syn_{name}_{index:04d}_000"
                    index += 1
                    mp4 = out / f"{key}.mp4"
                    render_video(mp4, name, index, params)
                    flac_path = out / f"{key}.flac"
                    subprocess.run(
                        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(mp4), "-vn", "-c:a", "flac", str(flac_path)],
                        check=True,
                    )
                    flac = flac_path.read_bytes()
                    flac_path.unlink()
                    meta = {
                        "key": key,
                        "class": name,
                        "split": split,
                        "start": 0.0,
                        "end": SECONDS,
                        "prompt": name.replace("_", " "),
                    }
                    for ext, data in (("flac", flac), ("json", json.dumps(meta).encode()), ("mp4", mp4.read_bytes())):
                        info = tarfile.TarInfo(f"{key}.{ext}")
                        info.size = len(data)
                        tf.addfile(info, io.BytesIO(data))
                    mp4.unlink()
    return out


def tiny_generator(seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    cfg = GeneratorConfig.preset("T", 16, channel_base=256, channel_max=16, z_dim=8, w_dim=8)
    return Generator(cfg).eval()


def tiny_video(audio_mode: str = "every_step", seed: int = 0) -> VideoGenerator:
    G = tiny_generator()
    n_mels, width = window_shape(MEL, WINDOW)
    torch.manual_seed(seed)
    latents = SoundToLatents(
        SoundEncoderParams(width=4, blocks=[1, 1, 1, 1], style_channels=8, sound_dim=8, init_scale=1.0),
        RecurrentParams(gru_layers=1, hidden=8, noise_dim=4, init_scale=1.0, audio_mode=audio_mode),
        G.synthesis.num_ws,
        G.w_dim,
        n_mels,
        width,
    )
    return VideoGenerator(latents, G, None, MEL, FPS, WINDOW, psi=0.7)


class TinyClip(nn.Module):
    """CLIP's interface on a few random conv layers: uint8 frames and differentiable [-1, 1] images -> unit vectors."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, DIM, 3, 2, 1))

    def embed_images(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
        return nn.functional.normalize(self.net(x).mean(dim=(2, 3)), dim=-1)

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1
        with torch.inference_mode():
            return self.embed_images(x).numpy()


def stub_loader(calls: list | None = None):
    """A loader with the stage's signature returning tiny random models (``calls`` records each load)."""
    rng = np.random.default_rng(2)
    n_mels, _ = window_shape(MEL, WINDOW)
    proj = rng.normal(size=(n_mels, DIM))
    text = {}
    for name in CLASSES + ["other"]:
        v = rng.normal(size=DIM)
        text[name] = v / np.linalg.norm(v)

    def embed_windows(windows: np.ndarray) -> np.ndarray:
        e = np.asarray(windows, np.float64).mean(axis=2) @ proj
        return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)

    def embed_audio(wave: np.ndarray, sr: int) -> np.ndarray:
        spec = np.abs(np.fft.rfft(np.asarray(wave, np.float64)[: sr * 2]))
        bands = np.array([b.mean() for b in np.array_split(spec, n_mels)])
        e = np.log1p(bands) @ proj
        return e / np.linalg.norm(e)

    def load(video_dir: Path, prompts: dict[str, str], device: str) -> EvalModels:
        if calls is not None:
            calls.append(video_dir)
        video = tiny_video()
        return EvalModels(
            video=video,
            G=video.G,
            clip=TinyClip(),
            text={n: text.get(n, text["other"]) for n in prompts},
            embed_windows=embed_windows,
            embed_audio=embed_audio,
            fingerprint="tiny-0",
            describe={"video": "tiny random (test)"},
            offline=True,
        )

    return load
