"""Held-out evaluation of a trained video generator, and the sample sheet.

Figures (``metrics/details/video_train.json``; ``metrics/video_train.json`` keeps the judge and switch accuracies):
- ``clip_av`` / ``clip_at``: L_clip(a<->v) and L_clip(a<->t) (1 - cosine) of the generated frames on held-out sounds;
- the independent judge (``judge.FrameJudge``, a pixel classifier fitted on the REAL train-split frames): the share
  of held-out videos judged as their sound's class, the same with the audio replaced by zeros (chance-level expected),
  the judge's accuracy on the real held-out clips (its own ceiling), and the switch test: a sound that changes class
  half-way must give a video whose first and last thirds are judged as the two classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sound2video.models.video.judge import FrameJudge
from sound2video.models.video.modeling_video import VideoGenerator

if TYPE_CHECKING:
    from sound2video.models.video.cache import VideoCache


def video_for(generator: VideoGenerator, windows: np.ndarray, seed: int) -> np.ndarray:
    """uint8 frames [F, R, R, 3] for mel windows [F, n_mels, W]."""
    frames, _ = generator.frames(generator.start(seed), windows)
    return frames


def _clip_losses(clip_image: Any, frames: np.ndarray, targets: np.ndarray, text: np.ndarray) -> tuple[float, float]:
    import torch

    x = torch.tensor(frames).permute(0, 3, 1, 2).float() / 127.5 - 1  # a copy: frames of the read-only cache
    with torch.inference_mode():
        emb = clip_image(x).numpy()
    t = targets / (np.linalg.norm(targets, axis=-1, keepdims=True) + 1e-12)
    return float(1 - (emb * t).sum(-1).mean()), float(1 - (emb @ text).mean())


def evaluate(
    generator: VideoGenerator, cache: VideoCache, targets: np.ndarray, text: np.ndarray, clip_image: Any, params: Any
) -> dict[str, Any]:
    """Judge and CLIP figures on the test split (val when the test split is empty)."""
    split = "test" if len(cache.rows("test")) else "val"
    rows = cache.rows(split)
    train = cache.rows("train")
    labels = np.asarray(cache.labels)
    n_frames = cache.frames.shape[1]
    judge = FrameJudge.fit(
        np.asarray(cache.frames[train]).reshape(-1, *cache.frames.shape[2:]),
        np.repeat(labels[train], n_frames),
        cache.class_names,
    )
    real_hits, hits, zero_hits, av, at = [], [], [], [], []
    for k, i in enumerate(rows):
        windows = np.asarray(cache.mels[i], np.float32)
        video = video_for(generator, windows, seed=k)
        hits.append(judge.judge(video) == labels[i])
        zero_hits.append(judge.judge(video_for(generator, np.zeros_like(windows), seed=k)) == labels[i])
        real_hits.append(judge.judge(np.asarray(cache.frames[i])) == labels[i])
        a, t = _clip_losses(clip_image, video, np.asarray(targets[i]), text[labels[i]])
        av.append(a)
        at.append(t)
    switch = switch_test(generator, judge, cache, rows)
    return {
        "split": split,
        "videos": int(len(rows)),
        "frames_per_video": int(n_frames),
        "fps": generator.fps,
        "resolution": generator.resolution,
        "classes": len(cache.class_names),
        "chance": round(1 / len(cache.class_names), 4),
        "judge_accuracy": float(np.mean(hits)),
        "judge_accuracy_zero_audio": float(np.mean(zero_hits)),
        "judge_accuracy_real": float(np.mean(real_hits)),
        **switch,
        "clip_av": float(np.mean(av)),
        "clip_at": float(np.mean(at)),
        "judge": "pixel logistic regression (8x8 thumbnails + colour histograms) fitted on real train frames",
    }


def switch_test(
    generator: VideoGenerator, judge: FrameJudge, cache: VideoCache, rows: np.ndarray, pairs: int = 18
) -> dict[str, Any]:
    """Sounds that switch class half-way: the first F/2 windows of clip A then the last F/2 of clip B (A, B of
    different classes, paired deterministically). Success: first third judged A's class and last third B's."""
    labels = np.asarray(cache.labels)
    n = cache.frames.shape[1]
    third, half = n // 3, n // 2
    ok, first_ok, last_ok, made = 0, 0, 0, 0
    for k, i in enumerate(rows):
        others = [j for j in rows if labels[j] != labels[i]]
        if not others or made >= pairs:
            continue
        j = others[k % len(others)]
        windows = np.concatenate([np.asarray(cache.mels[i][:half]), np.asarray(cache.mels[j][half:])]).astype(
            np.float32
        )
        video = video_for(generator, windows, seed=1000 + k)
        a = judge.judge(video[:third]) == labels[i]
        b = judge.judge(video[n - third :]) == labels[j]
        ok += int(a and b)
        first_ok += int(a)
        last_ok += int(b)
        made += 1
    made = max(made, 1)
    return {
        "switch_pairs": made,
        "switch_accuracy": ok / made,
        "switch_first_third": first_ok / made,
        "switch_last_third": last_ok / made,
    }


def sample_sheet(
    generator: VideoGenerator, cache: VideoCache, params: Any, out: Path, sounds: int = 4, columns: int = 8
) -> None:
    """PNG: for a few held-out sounds, a row of real frames above a row of generated frames, over time."""
    from PIL import Image

    from sound2video.core.fsutil import atomic_path

    rows = cache.rows("val")
    if len(rows) == 0:
        rows = cache.rows("test")
    labels = np.asarray(cache.labels)
    pick: list[int] = []
    for c in range(len(cache.class_names)):  # one sound per class first, so the sheet shows different classes
        hit = [int(i) for i in rows if labels[i] == c]
        if hit and len(pick) < sounds:
            pick.append(hit[0])
    n = cache.frames.shape[1]
    times = np.linspace(0, n - 1, min(columns, n)).round().astype(int)
    strips = []
    for k, i in enumerate(pick):
        video = video_for(generator, np.asarray(cache.mels[i], np.float32), seed=k)
        strips.append(np.concatenate(list(np.asarray(cache.frames[i])[times]), axis=1))
        strips.append(np.concatenate(list(video[times]), axis=1))
    sheet = np.concatenate(strips, axis=0) if strips else np.zeros((8, 8, 3), np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".tmp.png") as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
