"""An independent judge of generated videos: a pixel-only frame classifier fitted on REAL clips' frames.

It knows nothing of CLIP, the audio tower or the generator: each frame becomes a small colour thumbnail plus
per-channel histograms, standardised, and a multinomial logistic regression (numpy, full-batch gradient descent,
deterministic) is fitted on the real training frames. A video is judged by averaging its frames' class
probabilities. On the offline demo this answers "does the video show its sound's class?" without trusting any of
the project's own models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THUMB = 8  # thumbnail side (pixels) after area averaging
HIST_BINS = 8  # histogram bins per colour channel


def frame_features(frames: np.ndarray) -> np.ndarray:
    """uint8 frames [N, H, W, 3] -> float64 features [N, 3*THUMB^2 + 3*HIST_BINS]: an area-averaged thumbnail
    (layout and colour) and per-channel histograms (colour distribution, position-free)."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [N, H, W, 3], got {frames.shape}")
    n, h, w, _ = frames.shape
    x = frames.astype(np.float64) / 255.0
    hh, ww = h - h % THUMB, w - w % THUMB
    if hh == 0 or ww == 0:
        raise ValueError(f"frames of {h}x{w} are smaller than the {THUMB}x{THUMB} thumbnail")
    thumb = x[:, :hh, :ww].reshape(n, THUMB, hh // THUMB, THUMB, ww // THUMB, 3).mean(axis=(2, 4))
    bins = np.minimum((x * HIST_BINS).astype(np.int64), HIST_BINS - 1)
    hist = np.stack(
        [np.stack([np.bincount(bins[i, ..., c].ravel(), minlength=HIST_BINS) for c in range(3)]) for i in range(n)]
    ).astype(np.float64) / (h * w)
    return np.concatenate([thumb.reshape(n, -1), hist.reshape(n, -1)], axis=1)


@dataclass
class FrameJudge:
    """A fitted classifier: standardisation + linear softmax over ``classes``."""

    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    weight: np.ndarray  # [features, classes]
    bias: np.ndarray  # [classes]

    @classmethod
    def fit(
        cls,
        frames: np.ndarray,
        labels: np.ndarray,
        classes: list[str],
        steps: int = 400,
        lr: float = 0.5,
        l2: float = 1e-3,
    ) -> FrameJudge:
        """Fit on uint8 frames [N, H, W, 3] with integer ``labels`` in [0, len(classes))."""
        labels = np.asarray(labels, np.int64)
        if len(frames) != len(labels) or len(labels) == 0:
            raise ValueError(f"need as many labels as frames, got {len(frames)} frames and {len(labels)} labels")
        x = frame_features(frames)
        mean, std = x.mean(0), x.std(0) + 1e-6
        x = (x - mean) / std
        k = len(classes)
        onehot = np.eye(k)[labels]
        weight, bias = np.zeros((x.shape[1], k)), np.zeros(k)
        for _ in range(steps):  # convex problem: plain gradient descent from zero is deterministic and enough
            p = _softmax(x @ weight + bias)
            grad = (p - onehot) / len(x)
            weight -= lr * (x.T @ grad + l2 * weight)
            bias -= lr * grad.sum(0)
        return cls(list(classes), mean, std, weight, bias)

    def frame_probs(self, frames: np.ndarray) -> np.ndarray:
        """Class probabilities per frame [N, classes]."""
        return _softmax(((frame_features(frames) - self.mean) / self.std) @ self.weight + self.bias)

    def judge(self, frames: np.ndarray) -> int:
        """The class index of a video (frames [T, H, W, 3]): the argmax of its frames' mean probability."""
        return int(self.frame_probs(frames).mean(0).argmax())


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
