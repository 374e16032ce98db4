"""Zero-shot classification and audio<->image retrieval in CLIP space."""

from __future__ import annotations

import numpy as np


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    top = np.argsort(-scores, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def recall_at(sim: np.ndarray, k: int) -> float:
    """Row i's match is column i: the fraction of rows whose match ranks in the top k."""
    ranks = (sim > np.diag(sim)[:, None]).sum(axis=1)
    return float((ranks < k).mean())


def evaluate(audio: np.ndarray, text: np.ndarray, labels: np.ndarray, images: np.ndarray | None) -> dict[str, float]:
    """Metrics of ``metrics/audio_train.json``; embeddings L2-normalised, ``text`` one row per class."""
    scores = audio @ text.T
    out = {
        "zero_shot_top1": topk_accuracy(scores, labels, 1),
        "zero_shot_top5": topk_accuracy(scores, labels, min(5, text.shape[0])),
        "samples": int(len(labels)),
        "classes": int(text.shape[0]),
    }
    if images is not None:
        sim = audio @ images.T
        out |= {
            "a2i_r1": recall_at(sim, 1),
            "a2i_r5": recall_at(sim, 5),
            "i2a_r1": recall_at(sim.T, 1),
            "i2a_r5": recall_at(sim.T, 5),
        }
    return out
