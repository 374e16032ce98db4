"""Every metric of one row, from its videos in memory (uint8 [N, F, R, R, 3] at the generation fps): FVD against
the reference statistics, IS (mean ± std over splits), CLIP text-video and audio-video similarity (Table 3a:
averaged frame embeddings), AV-Align and motion (mean Farneback flow magnitude between consecutive frames), with
the seconds each metric took."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sound2video.evaluation.params import DetectorParams, EvaluateParams
from sound2video.metrics.av_align import av_align_score, flow_magnitudes, mean_score, video_peaks
from sound2video.metrics.clip_similarity import cosine, video_embedding
from sound2video.metrics.frechet import RunningStats, few_samples_note, frechet_distance
from sound2video.metrics.inception import inception_score

Features = Callable[[np.ndarray], np.ndarray]  # uint8 clips [B, T, H, W, 3] -> [B, D]


@dataclass
class Sound:
    """One evaluated clip's sound and what every row shares about it."""

    key: str
    label: str
    seconds: float
    audio_peaks: list[float]
    embedding: np.ndarray  # the audio tower's embedding of the whole sound


@dataclass
class Judges:
    """The networks and references every row is measured with."""

    i3d: Features
    c3d: Features
    clip_frames: Callable[[np.ndarray], np.ndarray]  # uint8 frames [n, H, W, 3] -> normalised [n, D]
    text: dict[str, np.ndarray]  # class -> normalised prompt embedding
    reference: RunningStats
    fps: float
    params: EvaluateParams


def load_detector(p: DetectorParams, kind: str, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """The I3D / C3D detector of ``p``: a seeded tiny random one, or a TorchScript file checked against sha256."""
    import torch

    if p.detector == "tiny":
        from sound2video.metrics.tiny import TinyC3D, TinyI3D

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = (TinyI3D() if kind == "i3d" else TinyC3D()).eval().to(device)
        return model, {"source": "tiny", "tiny": True, "note": "seeded random weights: numbers check the pipeline"}
    from sound2video.metrics.detectors import load_torchscript

    loaded = load_torchscript(p.detector, p.sha256, device)
    return loaded.model, loaded.describe() | {"tiny": False}


def clips_of(videos: np.ndarray, p: DetectorParams) -> np.ndarray:
    """The detector's clips: the first ``frames`` frames taken every ``stride``; raises if the videos are shorter."""
    need = (p.frames - 1) * p.stride + 1
    if videos.shape[1] < need:
        raise ValueError(
            f"videos have {videos.shape[1]} frames; frames: {p.frames} at stride {p.stride} needs "
            f"{need} (lower evaluate.fvd/inception frames, or raise the generation fps)"
        )
    return videos[:, : need : p.stride]


def feature_stats(videos: np.ndarray, fn: Features, p: DetectorParams, batch: int = 8) -> RunningStats:
    stats = RunningStats()
    clips = clips_of(videos, p)
    for i in range(0, len(clips), batch):
        stats.update(fn(np.ascontiguousarray(clips[i : i + batch])))
    return stats


def _timed(timings: dict[str, float], name: str, start: float) -> None:
    timings[name] = timings.get(name, 0.0) + time.monotonic() - start


def measure_row(
    videos: np.ndarray, sounds: list[Sound], judges: Judges
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, float]]:
    """(summary, per-clip scores, seconds per metric) of one row's videos (row k = ``sounds[k]``)."""
    params = judges.params
    timings: dict[str, float] = {}
    t = time.monotonic()
    stats = feature_stats(videos, judges.i3d, params.fvd)
    fvd = frechet_distance(judges.reference.mean(), judges.reference.cov(0), stats.mean(), stats.cov(0))
    warnings = [w for w in (few_samples_note(stats.count, stats.dim, "generated"),) if w]  # type: ignore[arg-type]
    _timed(timings, "fvd", t)

    t = time.monotonic()
    clips = clips_of(videos, params.inception)
    probs = np.concatenate([judges.c3d(np.ascontiguousarray(clips[i : i + 8])) for i in range(0, len(clips), 8)])
    splits = min(params.inception.splits, len(probs))
    is_mean, is_std = inception_score(probs, splits, params.inception.shuffle_seed)
    _timed(timings, "is", t)

    per_clip: list[dict[str, Any]] = []
    t2v, a2v = [], []
    t = time.monotonic()
    for video, sound in zip(videos, sounds):
        v = video_embedding(judges.clip_frames(video))
        t2v.append(cosine(v, judges.text[sound.label]))
        a2v.append(cosine(v, sound.embedding))
        per_clip.append({"key": sound.key, "class": sound.label, "clip_t2v": t2v[-1], "clip_a2v": a2v[-1]})
    _timed(timings, "clip", t)

    t = time.monotonic()
    results, motion = [], []
    for video, sound, row in zip(videos, sounds, per_clip):
        mags = flow_magnitudes(video)
        result = av_align_score(sound.audio_peaks, video_peaks(mags, judges.fps), judges.fps)
        results.append(result)
        motion.append(float(mags[1:].mean()))  # mags[0] repeats mags[1]: count each frame pair once
        row |= {"av_align": result.score, "motion": motion[-1], "video_peaks": len(result.video_peaks)}
    av, undefined = mean_score(results)
    _timed(timings, "av_align_motion", t)

    summary: dict[str, Any] = {
        "videos": int(len(videos)),
        "fvd": float(fvd),
        "is_mean": is_mean,
        "is_std": is_std,
        "is_splits": splits,
        "clip_t2v": float(np.mean(t2v)),
        "clip_a2v": float(np.mean(a2v)),
        "av_align": av,
        "av_align_undefined": undefined,
        "motion": float(np.mean(motion)),
    }
    if warnings:
        summary["warnings"] = warnings
    return summary, per_clip, timings
