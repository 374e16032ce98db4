"""CLIP similarities of Table 3a: text<->video and audio<->video cosine in CLIP space.

A video's embedding is the mean of its L2-normalised frame embeddings (frames preprocessed exactly as OpenAI's CLIP
does: ``sound2video.core.frozen_clip``); the cosine with the (normalised) text or audio embedding is then taken.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

AudioEncoder = Callable[[np.ndarray, int], np.ndarray]  # (mono float32 waveform, sample rate) -> CLIP-space vector


def video_embedding(frame_embeddings: np.ndarray) -> np.ndarray:
    """Mean of normalised frame embeddings."""
    return np.asarray(frame_embeddings, np.float64).mean(axis=0)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
