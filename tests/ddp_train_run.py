"""Tiny training runs for tests/training/test_distributed.py, started through the stages' launcher: a params file with
``<section>.distributed.nproc_per_node`` > 1 re-runs this script under torchrun (gloo on CPU).

python tests/ddp_train_run.py audio|video PARAMS CKPT_DIR OUT [STOP_AFTER]: rank 0 writes the weights and the history
to OUT. The test also calls ``run`` in its own process for the single-process reference.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sound2video.core.params_io import load_block
from sound2video.training import world
from sound2video.training.launch import exit_with_launch

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {"audio": "train_audio", "video": "train_video"}


def audio(params_path: str, ckpt: Path, stop_after: int | None) -> tuple[dict[str, torch.Tensor], list]:
    """The audio tower (BatchNorm, InfoNCE over the batch, SpecAugment) on seeded random features."""
    from sound2video.models.audio.configuration_audio import TrainAudioParams
    from sound2video.models.audio.data import Features
    from sound2video.models.audio.train import train

    params = load_block(params_path, "train_audio", TrainAudioParams)
    n, classes, dim = 12, 3, 16
    rng = np.random.default_rng(0)
    mels = rng.normal(size=(n, params.mel.n_mels, 24)).astype(np.float32)
    images = rng.normal(size=(n, dim)).astype(np.float32)
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    text = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(classes, dim)).astype(np.float32)), dim=-1)
    feats = Features([f"k{i}" for i in range(n)], np.arange(n) % classes, mels, images, [f"s{i}" for i in range(n)])
    tower, history = train(params, feats, text, ckpt, stop_after=stop_after)
    return tower.state_dict(), history


def video(params_path: str, ckpt: Path, stop_after: int | None) -> tuple[dict[str, torch.Tensor], list]:
    """The video GAN step (D with time reversal, G with CLIP terms) with the tiny random StyleGAN3 and CLIP."""
    from tiny_models import TINY_G

    from sound2video.core.frozen_clip import ClipModelSpec, load_clip
    from sound2video.models.stylegan3.stage import random_generator
    from sound2video.models.video.configuration_video import TrainVideoParams
    from sound2video.models.video.train import TrainingData, VideoTrainer, train

    params = load_block(params_path, "train_video", TrainVideoParams)
    G = random_generator(TINY_G)
    clip = load_clip(
        ClipModelSpec(model="tiny-clip", pretrained=None, config=str(ROOT / "configs/clip/tiny-clip.json"))
    )
    rng = np.random.default_rng(0)
    n, f, r = 4, 6, G.img_resolution
    labels = np.array([0, 1, 2, 0])
    frames = rng.integers(0, 255, (n, f, r, r, 3), dtype=np.uint8)
    mels = rng.random((n, f, 16, 11)).astype(np.float16)
    dim = clip.embed_text(["x"]).shape[1]
    targets = rng.standard_normal((n, f, dim)).astype(np.float32)
    inverted = rng.standard_normal((n, f, G.num_ws, G.w_dim)).astype(np.float32)
    text = clip.embed_text(["red", "green", "blue"]).astype(np.float32)
    data = TrainingData(frames, mels, targets, labels, text, inverted)
    state = train(VideoTrainer(params, G, clip, data, torch.device("cpu")), ckpt, "fp", stop_after=stop_after)
    weights = {f"{m}.{k}": v for m, mod in state.modules.items() for k, v in mod.state_dict().items()}
    weights |= {f"ema.{k}": v for k, v in state.ema["latents"].state_dict().items()}
    return weights, state.history


def run(kind: str, params_path: str, ckpt: str, out: str | None, stop_after: int | None = None) -> dict[str, Any]:
    weights, history = {"audio": audio, "video": video}[kind](params_path, Path(ckpt), stop_after)
    result = {"state": weights, "history": history, "world": world().size}
    if out and world().is_main:
        torch.save(result, out)
    return result


if __name__ == "__main__":
    kind, params_file, ckpt_dir, out_file, *rest = sys.argv[1:]
    stop = int(rest[0]) if rest else None
    exit_with_launch(params_file, SECTIONS[kind], lambda: run(kind, params_file, ckpt_dir, out_file, stop))
