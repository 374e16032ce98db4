"""Inception Score: per-frame Inception-v3 (torchvision weights) or per-clip C3D (UCF-101 TorchScript), 10 splits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from sound2video.core.log import progress
from sound2video.metrics.fvd import clip_batches
from sound2video.metrics.videos import iter_videos

INCEPTION_SIZE = 299
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def inception_score(probs: np.ndarray, splits: int = 10, seed: int = 42) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split, after a seeded shuffle; returns (mean, std) over splits."""
    p = np.array(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) < splits:
        raise ValueError(f"need a (samples, classes) table with at least {splits} rows, got shape {p.shape}")
    np.random.RandomState(seed).shuffle(p)
    scores = []
    n = len(p)
    for i in range(splits):
        part = p[i * n // splits : (i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.where(part > 0, part * (np.log(np.maximum(part, 1e-300)) - np.log(np.maximum(marginal, 1e-300))), 0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_probs_fn(model: Any, device: str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    """Per-frame class probabilities: uint8 (B, T, H, W, 3) -> (B*T, 1000). Frames are resized to 299x299
    (bilinear, no antialias, as the TF Inception protocol does) and normalised with ImageNet's mean and std."""
    import torch
    import torch.nn.functional as F

    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def run(clips: np.ndarray) -> np.ndarray:
        frames = torch.from_numpy(np.ascontiguousarray(clips.reshape(-1, *clips.shape[2:]))).to(device)
        x = frames.permute(0, 3, 1, 2).float() / 255.0
        x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
        with torch.inference_mode():
            return torch.softmax(model((x - mean) / std).double(), dim=1).cpu().numpy()

    return run


def c3d_probs_fn(detector: Any, device: str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    """Per-clip UCF-101 probabilities from the C3D TorchScript port: uint8 [B, 3, T, H, W] in, probabilities out
    (its preprocessing is inside the TorchScript, and StyleGAN-V calls it with no keyword arguments)."""
    import torch

    def run(clips: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(clips)).to(device).permute(0, 4, 1, 2, 3)
        with torch.inference_mode():
            return detector(x).double().cpu().numpy()

    return run


def collect_probs(
    spec: str,
    probs: Callable[[np.ndarray], np.ndarray],
    num_frames: int,
    stride: int,
    batch_size: int,
    limit: int | None,
) -> tuple[np.ndarray, dict[str, int]]:
    counts = {"used": 0, "skipped_short": 0}
    out: list[np.ndarray] = []
    with progress(total=limit, desc="is", unit="clip") as bar:
        batches: Iterable[np.ndarray] = clip_batches(iter_videos(spec), num_frames, stride, batch_size, limit, counts)
        for batch in batches:
            out.append(probs(batch))
            bar.update(len(batch))
    if not out:
        raise ValueError(f"{spec}: no video with at least {num_frames} frames (stride {stride})")
    return np.concatenate(out), counts
