"""Video generator costs: generation frames/s against ``G.synthesis`` alone on the same latents, and one training
step split into its phases, with random weights (no trained model needed).

    python benchmarks/video_generate.py --size demo          # the demo's 64 px generator and G side
    python benchmarks/video_generate.py --size lhq256 --frames 4 --train-frames 2

``demo``: the demo profile's StyleGAN3 (64 px, 8 layers) and train_video networks. ``lhq256``: the LHQ T-256
generator config (random weights) with the paper-size G side (num_ws 16, w_dim 512, 5 GRU layers of 512).
Prints a JSON line per measurement; the figures and the commands are recorded in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sound2video.core.frozen_clip import ClipModelSpec, load_clip  # noqa: E402
from sound2video.models.audio.mel import MelParams  # noqa: E402
from sound2video.models.stylegan3.configuration_stylegan3 import RandomGeneratorParams  # noqa: E402
from sound2video.models.stylegan3.stage import random_generator  # noqa: E402
from sound2video.models.video.configuration_video import TrainVideoParams  # noqa: E402
from sound2video.models.video.modeling_video import VideoGenerator  # noqa: E402
from sound2video.models.video.train import TrainingData, VideoTrainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = {
    "demo": {
        "G": RandomGeneratorParams(
            config="T",
            resolution=64,
            channel_base=1024,
            channel_max=32,
            z_dim=64,
            w_dim=64,
            num_layers=8,
            margin_size=2,
            seed=0,
            w_avg_samples=1000,
        ),
        "video": {
            "encoder": {"width": 16, "blocks": [1, 1, 1, 1], "style_channels": 32, "sound_dim": 64},
            "recurrent": {"groups": [3, 6], "gru_layers": 2, "hidden": 64, "noise_dim": 32},
            "discriminator": {
                "image": {"width": 16, "layers": 3},
                "video": {"width": 16, "layers": 3, "temporal_kernel": 3, "two_scales": False},
            },
            "frames": 6,
            "batch_size": 4,
        },
    },
    "lhq256": {
        "G": RandomGeneratorParams(
            config="T",
            resolution=256,
            channel_base=32768,
            channel_max=512,
            z_dim=512,
            w_dim=512,
            num_layers=14,
            margin_size=10,
            seed=0,
            w_avg_samples=1000,
        ),
        "video": {
            "encoder": {"width": 64, "sound_dim": 512},
            "recurrent": {"groups": [3, 6], "gru_layers": 5, "hidden": 512, "noise_dim": 512},
            "discriminator": {
                "image": {"width": 64, "layers": 4},
                "video": {"width": 64, "layers": 3, "temporal_kernel": 3, "two_scales": True},
            },
            "frames": 10,
            "batch_size": 2,
        },
    },
}
MEL = MelParams(sample_rate=16000, clip_seconds=1.0, n_fft=1024, hop_length=320, n_mels=64, fmin=50, fmax=8000)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(**kw: object) -> None:
    print(json.dumps(kw), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=sorted(SIZES), default="demo")
    ap.add_argument("--frames", type=int, default=32, help="frames generated for the frames/s figure")
    ap.add_argument("--train-frames", type=int, default=None, help="T of the timed training step (default: size's)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = SIZES[a.size]
    G = random_generator(cfg["G"])
    window = 1 + MEL.num_samples // MEL.hop_length
    frames = a.train_frames or cfg["video"]["frames"]
    p = TrainVideoParams.model_validate(
        {**cfg["video"], "frames": frames, "steps": 10, "device": "cpu", "loss": {"latent": 1.0}}
    )
    clip = load_clip(
        ClipModelSpec(model="tiny-clip", pretrained=None, config=str(ROOT / "configs/clip/tiny-clip.json"))
    )
    rng = np.random.default_rng(0)
    n, f, r = 4, max(frames, 8), G.img_resolution
    data = TrainingData(
        frames=rng.integers(0, 255, (n, f, r, r, 3), dtype=np.uint8),
        mels=rng.random((n, f, MEL.n_mels, window)).astype(np.float16),
        audio_targets=rng.standard_normal((n, f, 64)).astype(np.float32),
        labels=np.arange(n) % 3,
        text=rng.standard_normal((3, 64)).astype(np.float32),
        inverted=np.repeat(G.mapping.w_avg.numpy()[None, None, None], n * f * G.num_ws, 0).reshape(
            n, f, G.num_ws, G.w_dim
        ),
    )
    trainer = VideoTrainer(p, G, clip, data, torch.device("cpu"))

    # generation: the G side + rendering, against rendering alone on the same latents
    gen = VideoGenerator(trainer.state.ema["latents"], G, None, MEL, 4.0, 1.0, 0.7)
    windows = rng.random((a.frames, MEL.n_mels, window)).astype(np.float32)
    gen.frames(gen.start(0), windows[:2])  # warm-up (caches)
    t = time.perf_counter()
    ws, _ = gen.step_latents(gen.start(0), windows)
    latents_s = time.perf_counter() - t
    t = time.perf_counter()
    gen.render(ws)
    render_s = time.perf_counter() - t
    emit(
        size=a.size,
        what="generate",
        frames=a.frames,
        resolution=r,
        latents_s=round(latents_s, 3),
        render_s=round(render_s, 3),
        fps_generate=round(a.frames / (latents_s + render_s), 3),
        fps_synthesis_alone=round(a.frames / render_s, 3),
        overhead=round(latents_s / render_s, 4),
        peak_rss_mb=round(rss_mb()),
    )

    # one training step, phase by phase (the same calls VideoTrainer.step makes)
    trainer.step(0)  # warm-up
    times: dict[str, float] = {}
    t = time.perf_counter()
    b = trainer.batch(1)
    times["sample_batch"] = time.perf_counter() - t
    t = time.perf_counter()
    ws = trainer.state.modules["latents"](b["mels"], b["w_start"], b["noise"])
    times["latents"] = time.perf_counter() - t
    from sound2video.models.video.render import render_frames

    t = time.perf_counter()
    fake = render_frames(G.synthesis, ws, chunk=p.render.chunk, checkpoint=p.render.checkpoint)
    times["render"] = time.perf_counter() - t
    for m in ("d_image", "d_video"):
        trainer.state.modules[m].requires_grad_(True)
    t = time.perf_counter()
    trainer.d_phase(b, fake, 1)
    times["d_phase"] = time.perf_counter() - t
    for m in ("d_image", "d_video"):
        trainer.state.modules[m].requires_grad_(False)
    t = time.perf_counter()
    trainer.g_phase(b, ws, fake)  # losses + backward through the renderer + optimiser step
    times["g_losses_backward"] = time.perf_counter() - t
    emit(
        size=a.size,
        what="train_step",
        batch=p.batch_size,
        frames=frames,
        resolution=r,
        **{k: round(v, 3) for k, v in times.items()},
        total_s=round(sum(times.values()), 3),
        peak_rss_mb=round(rss_mb()),
    )


if __name__ == "__main__":
    main()
