"""Inversion losses: L2, LPIPS, CLIP image-image cosine, and the w-norm regulariser (pSp's definitions)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import LossParams, LpipsParams

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
LPIPS_RANDOM_SEED = 0


def load_lpips_model(params: LpipsParams, device: str | torch.device = "cpu") -> nn.Module:
    """The ``lpips`` package's LPIPS (its linear heads ship inside the package); the backbone by name, from a local
    torchvision state dict, or seeded random ('random': for offline smoke runs only)."""
    import lpips

    from ..metrics.image import load_lpips

    if params.backbone == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(LPIPS_RANDOM_SEED)
            model = lpips.LPIPS(net=params.net, pretrained=True, pnet_rand=True, verbose=False)
    else:
        model = load_lpips(params.net, params.backbone)
    return model.eval().requires_grad_(False).to(device)


class LpipsLoss(nn.Module):
    """Mean LPIPS distance of two batches of [-1, 1] images (what ``lpips.LPIPS`` computes per pair)."""

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
