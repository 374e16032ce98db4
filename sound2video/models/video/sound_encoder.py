"""The sound inversion encoder E_a (eq. 1): a log-mel window -> a W+ offset and a pooled sound code.

pSp layout on a 1-channel "image" ``[n_mels, W]``: the inversion encoder's ResNet body (``Backbone`` with
``in_channels=1``), a feature pyramid (c3; p2 = up(c3) + lateral(c2); p1 = up(p2) + lateral(c1)) and one map2style
head (the inversion encoder's ``GradualStyleBlock``) per latent: coarse latents read c3, mid ones p2, fine ones p1,
with the recurrent blocks' group boundaries. A second output, the "encoded sound" vector (paper: 512-d), is a linear
map of the globally pooled c3; the recurrent blocks consume it.

Why the backbone's BatchNorm layers are swapped: BatchNorm in train() mode mixes statistics across the batch, i.e.
across the frames of a clip and across clips, so changing one window would change other frames' latents. Every
``nn.BatchNorm2d`` of the reused body is replaced by a per-sample norm (GroupNorm, InstanceNorm as GroupNorm with
one channel per group, or none), in the manner of ``convert_sync_batchnorm``. The inversion body itself is left
untouched (its own tests and checkpoints rely on BatchNorm).

The heads' last linear layers start at ``init_scale`` times their default init, so ``E_a(x)`` starts near zero and
training starts near the start latent ``w``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from sound2video.models.inversion.encoder import DEFAULT_BLOCKS, Backbone, GradualStyleBlock
from sound2video.models.video.configuration_video import SoundEncoderParams


def make_norm(kind: str, channels: int, groups: int) -> nn.Module:
    """A per-sample normalisation layer for ``channels`` feature maps."""
    if kind == "group":
        return nn.GroupNorm(math.gcd(groups, channels), channels)
    if kind == "instance":
        return nn.GroupNorm(channels, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'group', 'instance' or 'none' (got {kind!r})")


def replace_batchnorm(module: nn.Module, kind: str, groups: int) -> int:
    """Replace every ``nn.BatchNorm2d`` below ``module`` in place; returns how many were replaced."""
    count = 0
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, make_norm(kind, child.num_features, groups))
            count += 1
        else:
            count += replace_batchnorm(child, kind, groups)
    return count


def check_groups(groups: list[int], num_ws: int) -> tuple[int, int]:
    """``[coarse_end, mid_end]`` validated against ``num_ws`` (every group non-empty)."""
    if len(groups) != 2 or not 0 < groups[0] < groups[1] < num_ws:
        raise ValueError(
            f"groups must be [coarse_end, mid_end] with 0 < coarse_end < mid_end < num_ws={num_ws} (got {groups})"
        )
    return groups[0], groups[1]


class SoundEncoder(nn.Module):
    """E_a: mel ``[N, n_mels, W]`` -> (offset ``[N, num_ws, w_dim]``, sound code ``[N, sound_dim]``).

    Each of the N windows is encoded independently (per-sample norms only).
    """

    def __init__(
        self, params: SoundEncoderParams, num_ws: int, w_dim: int, n_mels: int, window_frames: int, groups: list[int]
    ) -> None:
        super().__init__()
        self.coarse_end, self.mid_end = check_groups(groups, num_ws)
        if n_mels < 1 or window_frames < 1:
            raise ValueError(f"n_mels and window_frames must be >= 1 (got {n_mels}, {window_frames})")
        self.num_ws, self.w_dim, self.n_mels, self.window_frames = num_ws, w_dim, n_mels, window_frames
        self.sound_dim = params.sound_dim
        style = params.style_channels or w_dim
        self.body = Backbone(
            params.backbone, params.width, params.blocks or DEFAULT_BLOCKS[params.backbone], in_channels=1
        )
        if replace_batchnorm(self.body, params.norm, params.norm_groups) == 0:
            raise RuntimeError("the inversion Backbone no longer uses BatchNorm2d: revisit replace_batchnorm")
        c1, c2, c3 = self.body.channels
        self.top = nn.Identity() if c3 == style else nn.Conv2d(c3, style, 1)
        self.lateral2 = nn.Conv2d(c2, style, 1)
        self.lateral1 = nn.Conv2d(c1, style, 1)
        # Feature sizes depend on the (non-square) mel window: measure them once instead of re-deriving the strides.
        deepest = [-(-n // 16) for n in (n_mels, window_frames)]  # stride 16, rounding up
        if params.norm == "instance" and deepest == [1, 1]:
            raise ValueError(
                f"norm 'instance' needs deepest features larger than 1x1, but a {n_mels}x{window_frames} "
                f"mel window gives 1x1 (use norm 'group' or a window with a side > 16)"
            )
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
        c1, c2, c3 = self.body(mel.unsqueeze(1))
        c3 = self.top(c3)
        p2 = F.interpolate(c3, size=c2.shape[-2:], mode="bilinear", align_corners=True) + self.lateral2(c2)
        p1 = F.interpolate(p2, size=c1.shape[-2:], mode="bilinear", align_corners=True) + self.lateral1(c1)
        feats = (p1, p2, c3)
        offset = torch.stack([head(feats[lv]) for head, lv in zip(self.heads, self.level)], dim=1)
        return offset, self.sound(c3.mean((2, 3)))
