"""Inversion losses: L2, LPIPS, CLIP image-image cosine, and the w-norm regulariser (pSp's definitions)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..metrics.clip_similarity import CLIP_MEAN, CLIP_STD
from .config import LossParams


class LpipsLoss(nn.Module):
    """Per-pair LPIPS distances ``[N]`` of two batches of [-1, 1] images, from an ``lpips.LPIPS`` model
    (``sound2video.metrics.image.load_lpips``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.model(a, b, normalize=False).flatten(1).mean(1)


class ClipImageEmbed(nn.Module):
    """Differentiable CLIP image embedding of [-1, 1] images: bicubic resize to CLIP's size, CLIP normalisation,
    ``encode_image``, L2 normalisation."""

    def __init__(self, clip_model: Any, size: int) -> None:
        super().__init__()
        self.model, self.size = clip_model, size
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x + 1) / 2
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False)
        return F.normalize(self.model.encode_image((x - self.mean) / self.std).float(), dim=-1)


class InversionLoss(nn.Module):
    """``l2 * MSE + lpips * LPIPS + clip * (1 - cos CLIP) + w_norm * mean_b ||w_b - w_avg||_F``."""

    def __init__(self, weights: LossParams, lpips: LpipsLoss | None, clip: ClipImageEmbed | None,
                 w_avg: torch.Tensor) -> None:
        super().__init__()
        if weights.lpips and lpips is None or weights.clip and clip is None:
            raise ValueError("a loss with non-zero weight has no model")
        self.weights, self.lpips, self.clip = weights, lpips, clip
        self.register_buffer("w_avg", w_avg.detach().clone())

    def forward(self, target: torch.Tensor, recon: torch.Tensor, ws: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.weights
        parts: dict[str, torch.Tensor] = {"l2": F.mse_loss(recon, target)}
        if w.lpips:
            parts["lpips"] = self.lpips(recon, target).mean()
        if w.clip:
            parts["clip"] = (1 - (self.clip(recon) * self.clip(target)).sum(-1)).mean()
        if w.w_norm:
            parts["w_norm"] = (ws - self.w_avg).flatten(1).norm(dim=1).mean()
        total = sum(getattr(w, k) * v for k, v in parts.items())
        return total, {k: float(v.detach()) for k, v in parts.items()}
