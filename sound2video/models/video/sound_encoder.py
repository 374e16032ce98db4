"""The sound inversion encoder E_a (eq. 1): a log-mel window -> a W+ offset and a pooled sound code.

pSp layout on a 1-channel "image" ``[n_mels, W]``: the shared ResNet backbone of ``models/blocks.py`` (the
inversion encoder's, with ``in_channels=1``), its feature pyramid (c3; p2 = up(c3) + lateral(c2); p1 = up(p2) +
lateral(c1)) and one map2style head (``GradualStyleBlock``) per latent: coarse latents read c3, mid ones p2, fine
ones p1, with the recurrent blocks' group boundaries. A second output, the "encoded sound" vector (paper: 512-d), is
a linear map of the globally pooled c3; the recurrent blocks consume it.

Why the backbone is built with per-sample norms (GroupNorm, InstanceNorm as GroupNorm with one channel per group,
or none) instead of the inversion encoder's BatchNorm: BatchNorm in train() mode mixes statistics across the batch,
i.e. across the frames of a clip and across clips, so changing one window would change other frames' latents.

The heads' last linear layers start at ``init_scale`` times their default init, so ``E_a(x)`` starts near zero and
training starts near the start latent ``w``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sound2video.models.blocks import GradualStyleBlock, NormLayer, PyramidEncoder
from sound2video.models.video.configuration_video import SoundEncoderParams


def per_sample_norm(kind: str, groups: int) -> NormLayer:
    """The backbone's ``norm_layer``: channels -> a per-sample normalisation layer of ``kind``."""
    if kind not in ("group", "instance", "none"):
        raise ValueError(f"norm must be 'group', 'instance' or 'none' (got {kind!r})")

    def make(channels: int) -> nn.Module:
        if kind == "group":
            return nn.GroupNorm(math.gcd(groups, channels), channels)
        if kind == "instance":
            return nn.GroupNorm(channels, channels)
        return nn.Identity()

    return make


def check_groups(groups: list[int], num_ws: int) -> tuple[int, int]:
    """``[coarse_end, mid_end]`` validated against ``num_ws`` (every group non-empty)."""
    if len(groups) != 2 or not 0 < groups[0] < groups[1] < num_ws:
        raise ValueError(
            f"groups must be [coarse_end, mid_end] with 0 < coarse_end < mid_end < num_ws={num_ws} (got {groups})"
        )
    return groups[0], groups[1]


class SoundEncoder(PyramidEncoder):
    """E_a: mel ``[N, n_mels, W]`` -> (offset ``[N, num_ws, w_dim]``, sound code ``[N, sound_dim]``).

    Each of the N windows is encoded independently (per-sample norms only).
    """

    def __init__(
        self, params: SoundEncoderParams, num_ws: int, w_dim: int, n_mels: int, window_frames: int, groups: list[int]
    ) -> None:
        coarse_end, mid_end = check_groups(groups, num_ws)
        if n_mels < 1 or window_frames < 1:
            raise ValueError(f"n_mels and window_frames must be >= 1 (got {n_mels}, {window_frames})")
        deepest = [-(-n // 16) for n in (n_mels, window_frames)]  # stride 16, rounding up
        if params.norm == "instance" and deepest == [1, 1]:
            raise ValueError(
                f"norm 'instance' needs deepest features larger than 1x1, but a {n_mels}x{window_frames} "
                f"mel window gives 1x1 (use norm 'group' or a window with a side > 16)"
            )
        style = params.style_width(w_dim)
        norm = per_sample_norm(params.norm, params.norm_groups)
        super().__init__(params.backbone, params.width, params.stage_blocks, 1, style, norm)
        self.coarse_end, self.mid_end = coarse_end, mid_end
        self.num_ws, self.w_dim, self.n_mels, self.window_frames = num_ws, w_dim, n_mels, window_frames
        self.sound_dim = params.sound_dim
        # Feature sizes depend on the (non-square) mel window: measure them once instead of re-deriving the strides.
        with torch.no_grad():
            sizes = [max(f.shape[-2:]) for f in self.body(torch.zeros(1, 1, n_mels, window_frames))]
        level = [2 if i < self.coarse_end else 1 if i < self.mid_end else 0 for i in range(num_ws)]
        self.level = level  # index into (p1, p2, c3) per latent
        heads = [GradualStyleBlock(style, w_dim, sizes[lv]) for lv in level]
        with torch.no_grad():
            for head in heads:
                head.linear.weight.mul_(params.init_scale)
                head.linear.bias.zero_()
        self.heads = nn.ModuleList(heads)
        self.sound = nn.Linear(style, params.sound_dim)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if mel.ndim != 3 or tuple(mel.shape[1:]) != (self.n_mels, self.window_frames):
            raise ValueError(
                f"mel has shape {list(mel.shape)}, expected [N, {self.n_mels}, {self.window_frames}] "
                f"(N windows of n_mels x window_frames)"
            )
        feats = self.pyramid(mel.unsqueeze(1))  # (p1, p2, c3)
        c3 = feats[2]
        offset = torch.stack([head(feats[lv]) for head, lv in zip(self.heads, self.level)], dim=1)
        return offset, self.sound(c3.mean((2, 3)))
