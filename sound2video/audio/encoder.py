"""A ResNet-18-style audio encoder on log-mel spectrograms, projecting into CLIP's embedding space.

Every hyperparameter is in ``AudioEncoderConfig``; the default (width 64, blocks [2, 2, 2, 2]) is ResNet-18's layout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AudioEncoderConfig


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual connection (1x1 projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
                     if stride != 1 or c_in != c_out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.skip(x))


class AudioEncoder(nn.Module):
    """log-mel (B, n_mels, T) or (B, 1, n_mels, T) -> (B, embed_dim), not normalised."""

    def __init__(self, cfg: AudioEncoderConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.stem = nn.Sequential(nn.Conv2d(1, w, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(w),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        stages, c_in = [], w
        for i, n in enumerate(cfg.blocks):
            c_out = w * 2**i
            stages += [BasicBlock(c_in if j == 0 else c_out, c_out, 2 if (i > 0 and j == 0) else 1) for j in range(n)]
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.dropout = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(c_in, cfg.embed_dim)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = mel.unsqueeze(1) if mel.dim() == 3 else mel
        x = self.stages(self.stem(x))
        return self.proj(self.dropout(x.mean(dim=(2, 3))))
