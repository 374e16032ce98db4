"""Tiny randomly initialised detectors with the real ones' call signatures, for offline smoke runs and tests.

Their numbers mean nothing about video quality; results computed with them say so (``detector.tiny: true``).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F


class TinyI3D(torch.nn.Module):
    """Called like StyleGAN-V's I3D TorchScript: uint8 [B, 3, T, H, W] -> [B, dim] features."""

    def __init__(self, dim: int = 400, size: int = 224):
        super().__init__()
        self.size = size
        self.conv = torch.nn.Conv3d(3, 16, kernel_size=(3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3))
        self.head = torch.nn.Linear(32, dim)

    def forward(
        self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False
    ) -> torch.Tensor:
        v = x.float()
        if rescale:
            v = v / 127.5 - 1.0
        if resize:
            v = F.interpolate(v, size=(v.shape[2], self.size, self.size), mode="trilinear", align_corners=False)
        h = F.relu(self.conv(v))
        pooled = torch.cat([h.mean(dim=(2, 3, 4)), h.amax(dim=(2, 3, 4))], dim=1)
        out = self.head(pooled)
        return out if return_features else torch.softmax(out, dim=1)


class TinyC3D(torch.nn.Module):
    """Called like StyleGAN-V's C3D TorchScript: uint8 [B, 3, T, H, W] -> [B, classes] probabilities."""

    def __init__(self, classes: int = 101):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 8, kernel_size=3, stride=(2, 8, 8), padding=1)
        self.head = torch.nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = F.interpolate(x.float() / 127.5 - 1.0, size=(x.shape[2], 112, 112), mode="trilinear", align_corners=False)
        return torch.softmax(self.head(F.relu(self.conv(v)).mean(dim=(2, 3, 4))) * 4.0, dim=1)


def save_tiny(kind: str, out: str | Path, seed: int = 0, dim: int = 400) -> Path:
    """Script a tiny ``i3d`` or ``c3d`` detector with seeded random weights and save it."""
    torch.manual_seed(seed)
    model = TinyI3D(dim) if kind == "i3d" else TinyC3D() if kind == "c3d" else None
    if model is None:
        raise ValueError(f"unknown tiny detector kind {kind!r}; expected 'i3d' or 'c3d'")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.script(model.eval()).save(str(out))
    return out
