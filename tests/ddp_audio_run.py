"""Train the audio tower (tiny) on seeded random features; run by tests/test_distributed.py through the stages'
launcher, so ``train_audio.distributed.nproc_per_node`` > 1 in the given params file re-runs it under torchrun.

python tests/ddp_audio_run.py PARAMS CKPT_DIR OUT [STOP_AFTER]: rank 0 writes the weights and history to OUT.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from sound2video.audio.data import Features
from sound2video.audio.params import TrainAudioParams
from sound2video.audio.train import train
from sound2video.launch import exit_with_launch
from sound2video.params_io import load_block
from sound2video.training import world

N, CLASSES, DIM = 12, 3, 16


def features(params: TrainAudioParams) -> tuple[Features, torch.Tensor]:
    rng = np.random.default_rng(0)
    mels = rng.normal(size=(N, params.mel.n_mels, 24)).astype(np.float32)
    labels = np.arange(N) % CLASSES
    images = rng.normal(size=(N, DIM)).astype(np.float32)
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    text = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(CLASSES, DIM)).astype(np.float32)), dim=-1)
    return Features([f"k{i}" for i in range(N)], labels, mels, images), text


def main(params_path: str, ckpt: str, out: str, stop_after: int | None) -> None:
    params = load_block(params_path, "train_audio", TrainAudioParams)
    feats, text = features(params)
    tower, history = train(params, feats, text, Path(ckpt), stop_after=stop_after)
    if world().is_main:
        torch.save({"state": tower.state_dict(), "history": history, "world": world().size}, out)


if __name__ == "__main__":
    args = sys.argv[1:]
    stop = int(args[3]) if len(args) > 3 else None
    exit_with_launch(args[0], "train_audio", lambda: main(args[0], args[1], args[2], stop))
