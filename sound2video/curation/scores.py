"""Automatic scores of candidate clips: zero-shot agreement with the prompt (audio tower, CLIP), audio-visual
agreement, similarity to accepted exemplars; the combined score, the automatic decision and ranking metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.curation.params import CurateParams, WeightParams

SCORE_TERMS = ["audio_prompt", "frames_prompt", "audio_visual", "exemplar_audio", "exemplar_image", "exemplar_both"]


@dataclass
class Embeddings:
    """Per clip: the audio tower's embedding and the mean CLIP embedding of its frames (both L2-normalised)."""

    audio: np.ndarray
    image: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-12)


def decode_frames(mp4: Path, total_frames: int, k: int) -> np.ndarray:
    """``k`` evenly spaced RGB frames (uint8, N H W 3) of a clip, via the shard stage's JPEG extraction."""
    import io

    from PIL import Image

    from sound2video.data.shard.frames import jpeg_frames

    return np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in jpeg_frames(mp4, total_frames, k)])


class Embedder:
    """Loads the audio tower and CLIP once; embeds clips and the prompt."""

    def __init__(self, params: CurateParams):
        from sound2video import models
        from sound2video.core.frozen_clip import load_clip

        self.params = params
        self.tower = models.load(params.audio_model, expected_format="audio")
        self.clip = load_clip(params.clip_model)

    def prompt(self) -> np.ndarray:
        from sound2video.core.frozen_clip import class_text_embeddings

        return class_text_embeddings(self.clip, [self.params.prompt], self.params.prompt_templates)[0]

    def clip_row(self, row: dict[str, Any], clips_dir: Path) -> Embeddings:
        audio = self.tower.embed_file(clips_dir / row["flac"])
        frames = decode_frames(clips_dir / row["mp4"], int(row["frames"]), self.params.frames)
        image = _unit(self.clip.embed_frames(frames).mean(axis=0))
        return Embeddings(np.asarray(audio, np.float32), np.asarray(image, np.float32))


def centred(embedded: dict[str, Embeddings]) -> dict[str, Embeddings]:
    """Each embedding minus the pool's mean, re-normalised. Small or untrained encoders put every input in one
    narrow cone (cosines near 1 for anything); what tells clips apart is the direction from the pool's centre."""
    if len(embedded) < 2:
        return embedded
    mean_a = np.mean([e.audio for e in embedded.values()], axis=0)
    mean_i = np.mean([e.image for e in embedded.values()], axis=0)
    return {k: Embeddings(_unit(e.audio - mean_a), _unit(e.image - mean_i)) for k, e in embedded.items()}


def score_terms(e: Embeddings, prompt: np.ndarray, exemplars: list[Embeddings]) -> dict[str, float]:
    """Every term of ``SCORE_TERMS`` for one clip (exemplar terms are 0 with no exemplars yet). The prompt terms
    and the audio-visual term use the raw embeddings (one CLIP space); exemplar terms may use centred ones."""
    out = {
        "audio_prompt": float(e.audio @ prompt),
        "frames_prompt": float(e.image @ prompt),
        "audio_visual": float(e.audio @ e.image),
    }
    if exemplars:
        out["exemplar_audio"] = float(np.mean([e.audio @ x.audio for x in exemplars]))
        out["exemplar_image"] = float(np.mean([e.image @ x.image for x in exemplars]))
    else:
        out["exemplar_audio"] = out["exemplar_image"] = 0.0
    out["exemplar_both"] = min(out["exemplar_audio"], out["exemplar_image"])
    return out


def combined(terms: dict[str, float], weights: WeightParams) -> float:
    """The weighted mean of the terms (weights need not sum to 1)."""
    w = weights.model_dump()
    total = sum(w.values())
    return float(sum(w[k] * terms[k] for k in SCORE_TERMS) / total) if total else 0.0


def decide(score: float | None, params: CurateParams) -> str:
    """'accept', 'reject' or 'review' (a clip that failed the quality checks has no score and is rejected)."""
    if score is None or score < params.reject_below:
        return "reject"
    return "accept" if score >= params.accept_above else "review"


def average_precision(scores: list[float], truth: list[int]) -> float:
    """Average precision of a ranking (descending score, ties in the given order): mean precision at each hit."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    hits, total = 0, 0.0
    for rank, i in enumerate(order, start=1):
        if truth[i]:
            hits += 1
            total += hits / rank
    return total / max(sum(truth), 1)


def precision_recall(predicted: list[bool], truth: list[int]) -> tuple[float, float]:
    tp = sum(1 for p, t in zip(predicted, truth) if p and t)
    return tp / max(sum(predicted), 1), tp / max(sum(truth), 1)
