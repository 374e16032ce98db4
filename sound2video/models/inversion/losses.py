"""Inversion losses: L2, LPIPS, CLIP image-image cosine, and the w-norm regulariser (pSp's definitions)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sound2video.core.frozen_clip import ClipModel
from sound2video.models.inversion.configuration_inversion import LossParams


class LpipsLoss(nn.Module):
    """Per-pair LPIPS distances ``[N]`` of two batches of [-1, 1] images, from an ``lpips.LPIPS`` model
    (``sound2video.metrics.image.load_lpips``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.model(a, b, normalize=False).flatten(1).mean(1)


class ClipImageEmbed(nn.Module):
    """Differentiable, L2-normalised CLIP image embedding of [-1, 1] images (``ClipModel.embed_images``); CLIP's
    weights are frozen, gradients flow to the images."""

    def __init__(self, clip: ClipModel) -> None:
        super().__init__()
        self.clip = clip
        self.model = clip.model  # registered, so ``.to(device)`` moves CLIP with the loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.clip.embed_images(x)


class InversionLoss(nn.Module):
    """``l2 * MSE + lpips * LPIPS + clip * (1 - cos CLIP) + w_norm * mean_b ||w_b - w_avg||_F``."""

    def __init__(
        self, weights: LossParams, lpips: LpipsLoss | None, clip: ClipImageEmbed | None, w_avg: torch.Tensor
    ) -> None:
        super().__init__()
        if weights.lpips and lpips is None or weights.clip and clip is None:
            raise ValueError("a loss with non-zero weight has no model")
        self.weights, self.lpips, self.clip = weights, lpips, clip
        self.register_buffer("w_avg", w_avg.detach().clone())

    def forward(
        self, target: torch.Tensor, recon: torch.Tensor, ws: torch.Tensor
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
