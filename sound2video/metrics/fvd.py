"""Fréchet Video Distance with the StyleGAN-V ``fvd2048_16f`` protocol, streaming and batched.

Clips: the first ``num_frames`` consecutive frames of each video (every ``stride``-th frame), videos too short for
that are skipped and counted. The detector gets uint8 [B, 3, T, H, W] and is asked to resize to 224 and rescale to
[-1, 1] itself (``rescale=True, resize=True, return_features=True``), as StyleGAN-V calls the I3D TorchScript port.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sound2video.core.log import progress
from sound2video.metrics.frechet import RunningStats, few_samples_note, frechet_distance
from sound2video.metrics.videos import VideoItem, decode_frames, iter_videos

I3D_KWARGS = {"rescale": True, "resize": True, "return_features": True}


def i3d_features_fn(detector: Any, device: str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a TorchScript I3D: uint8 (B, T, H, W, 3) frames -> (B, D) float64 features."""
    import torch

    def run(clips: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(clips)).to(device).permute(0, 4, 1, 2, 3)  # B, 3, T, H, W
        with torch.inference_mode():
            return detector(x, **I3D_KWARGS).double().cpu().numpy()

    return run


DECODE_WORKERS = 2  # ffmpeg decodes run in their own processes, so these threads overlap with the detector
DECODE_AHEAD = 4  # clips decoded ahead of use; bounds memory (a 16-frame 720p clip is 44 MB)


def prefetch_clips(items: Iterable[VideoItem], num_frames: int, stride: int) -> Iterator[np.ndarray | None]:
    """Decoded clips in input order, decoded a few ahead on background threads."""
    with ThreadPoolExecutor(DECODE_WORKERS) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(decode_frames, item, num_frames, stride))
            if len(pending) >= DECODE_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def clip_batches(
    items: Iterable[VideoItem], num_frames: int, stride: int, batch_size: int, limit: int | None, counts: dict[str, int]
) -> Iterable[np.ndarray]:
    """Batches of same-sized clips, at most ``limit`` clips in all; ``counts`` gets used/skipped totals."""
    batch: list[np.ndarray] = []
    for clip in prefetch_clips(items, num_frames, stride):
        if limit is not None and counts["used"] >= limit:
            break
        if clip is None:
            counts["skipped_short"] += 1
            continue
        if batch and clip.shape != batch[0].shape:
            yield np.stack(batch)
            batch = []
        batch.append(clip)
        counts["used"] += 1
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def video_stats(
    spec: str,
    features: Callable[[np.ndarray], np.ndarray],
    num_frames: int = 16,
    stride: int = 1,
    batch_size: int = 8,
    limit: int | None = None,
    desc: str = "fvd",
) -> tuple[RunningStats, dict]:
    """Feature statistics of the videos at ``spec`` (folder of mp4s or WebDataset shards)."""
    stats = RunningStats()
    counts = {"used": 0, "skipped_short": 0}
    with progress(total=limit, desc=desc, unit="clip") as bar:
        for batch in clip_batches(iter_videos(spec), num_frames, stride, batch_size, limit, counts):
            stats.update(features(batch))
            bar.update(len(batch))
    if counts["used"] == 0:
        raise ValueError(f"{spec}: no video with at least {num_frames} frames (stride {stride})")
    return stats, counts


def compute_fvd(
    real: str,
    fake: str,
    features: Callable[[np.ndarray], np.ndarray],
    num_real: int | None = 2048,
    num_fake: int | None = 2048,
    num_frames: int = 16,
    stride: int = 1,
    batch_size: int = 8,
    ddof: int = 0,
) -> dict[str, Any]:
    """FVD between two video sets, with the counts actually used."""
    real_stats, real_counts = video_stats(real, features, num_frames, stride, batch_size, num_real, "fvd real")
    fake_stats, fake_counts = video_stats(fake, features, num_frames, stride, batch_size, num_fake, "fvd fake")
    notes = (
        few_samples_note(real_stats.count, real_stats.dim, "real"),  # type: ignore[arg-type]
        few_samples_note(fake_stats.count, fake_stats.dim, "fake"),  # type: ignore[arg-type]
    )
    warnings = [w for w in notes if w]
    value = frechet_distance(real_stats.mean(), real_stats.cov(ddof), fake_stats.mean(), fake_stats.cov(ddof))
    return {
        "fvd": value,
        "real": {"path": real, "clips": real_counts["used"], "skipped_short": real_counts["skipped_short"]},
        "fake": {"path": fake, "clips": fake_counts["used"], "skipped_short": fake_counts["skipped_short"]},
        "feature_dim": real_stats.dim,
        "warnings": warnings,
    }
