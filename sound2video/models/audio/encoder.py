"""The audio tower's networks: a ResNet-18-style encoder on log-mel spectrograms projecting into CLIP's embedding
space, and the tower (encoder + learned temperature) that training and inference share.

Every hyperparameter is in ``AudioEncoderConfig``; the default (width 64, blocks [2, 2, 2, 2]) is ResNet-18's layout.
"""

from __future__ import annotations

import torch
from torch import nn

from sound2video.models.audio.configuration_audio import AudioEncoderConfig
from sound2video.models.audio.losses import LogitScale
from sound2video.models.blocks import BasicBlock


class AudioEncoder(nn.Module):
    """log-mel (B, n_mels, T) or (B, 1, n_mels, T) -> (B, embed_dim), not normalised."""

    def __init__(self, cfg: AudioEncoderConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.stem = nn.Sequential(
            nn.Conv2d(1, w, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
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


class AudioTower(nn.Module):
    """What training learns and inference loads: the encoder and the temperature of its contrastive losses."""

    def __init__(self, cfg: AudioEncoderConfig):
        super().__init__()
        self.encoder = AudioEncoder(cfg)
        self.logit_scale = LogitScale()
