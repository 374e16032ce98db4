"""pSp's GradualStyleEncoder for StyleGAN3's W+: backbone, feature pyramid, one map2style head per latent.

Backbones (both give features at 1/4, 1/8 and 1/16 of the input size, like pSp's):

- ``resnet34``: ReStyle's ResNetBackboneEncoder body: 7x7/2 stem + BN + PReLU, BasicBlock stages [3, 4, 6, 3]
  with strides 1, 2, 2, 2 (no max-pool).
- ``ir_se50``: pSp's IR-SE-50 body: 3x3/1 stem + BN + PReLU, bottleneck_IR_SE stages [3, 4, 14, 3], each starting
  with stride 2; unit = BN, 3x3 conv, PReLU, 3x3 conv (stride), BN, squeeze-excitation (r = 16).

Pyramid: c3 (1/16) feeds the coarse heads, p2 = up(c3) + lateral(c2) the middle ones, p1 = up(p2) + lateral(c1)
the fine ones; bilinear up-sampling with align_corners=True, 1x1 laterals. Style split as pSp: coarse ws 0-2,
middle 3-6, fine 7+ (for StyleGAN3-256's 16 ws: fine = 7-15). The encoder predicts offsets that are added to
the generator's ``w_avg``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from sound2video.models.blocks import BasicBlock
from sound2video.models.inversion.configuration_inversion import EncoderParams

COARSE_END, MIDDLE_END = 3, 7
DEFAULT_BLOCKS = {"resnet34": [3, 4, 6, 3], "ir_se50": [3, 4, 14, 3]}


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class BottleneckIRSE(nn.Module):
    """pSp's bottleneck_IR_SE unit."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.shortcut = (
            nn.MaxPool2d(1, stride)
            if cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )
        self.residual = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            SqueezeExcite(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class Backbone(nn.Module):
    """Stem + four stages; returns the outputs of stages 2, 3 and 4 (strides 4, 8, 16)."""

    def __init__(self, kind: str, width: int, blocks: list[int], in_channels: int = 3) -> None:
        super().__init__()
        widths = [width, width * 2, width * 4, width * 8]
        if kind == "resnet34":
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.PReLU(width)
            )
            unit, strides = BasicBlock, [1, 2, 2, 2]
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.PReLU(width)
            )
            unit, strides = BottleneckIRSE, [2, 2, 2, 2]
        stages, cin = [], width
        for cout, n, stride in zip(widths, blocks, strides):
            stages.append(
                nn.Sequential(*[unit(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)])
            )
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.channels = widths[1:]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats[1:]


class GradualStyleBlock(nn.Module):
    """map2style: log2(size) stride-2 3x3 convs with LeakyReLU(0.01) down to 1x1, then a linear layer."""

    def __init__(self, channels: int, out_dim: int, size: int) -> None:
        super().__init__()
        n = max(1, int(round(math.log2(size))))
        layers: list[nn.Module] = []
        for _ in range(n):
            layers += [nn.Conv2d(channels, channels, 3, 2, 1), nn.LeakyReLU(0.01)]
        self.convs = nn.Sequential(*layers)
        self.linear = nn.Linear(channels, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.convs(x)
        return self.linear(x.mean((2, 3)))  # 1x1 after the convs; the mean also covers odd input sizes


class GradualStyleEncoder(nn.Module):
    """Image in [-1, 1] ``[N, 3, R, R]`` -> W+ offsets ``[N, num_ws, w_dim]``."""

    def __init__(self, params: EncoderParams, num_ws: int, w_dim: int, resolution: int) -> None:
        super().__init__()
        if resolution < 32:
            raise ValueError(f"the encoder needs images of at least 32x32 (got {resolution})")
        blocks = params.blocks or DEFAULT_BLOCKS[params.backbone]
        self.num_ws, self.w_dim = num_ws, w_dim
        style = params.style_channels or w_dim
        self.body = Backbone(params.backbone, params.width, blocks)
        c1, c2, c3 = self.body.channels
        self.top = nn.Identity() if c3 == style else nn.Conv2d(c3, style, 1)
        self.lateral2 = nn.Conv2d(c2, style, 1)
        self.lateral1 = nn.Conv2d(c1, style, 1)
        sizes = [resolution // 16, resolution // 8, resolution // 4]
        self.coarse_end, self.middle_end = min(COARSE_END, num_ws), min(MIDDLE_END, num_ws)
        self.styles = nn.ModuleList(
            GradualStyleBlock(style, w_dim, sizes[0 if i < self.coarse_end else 1 if i < self.middle_end else 2])
            for i in range(num_ws)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1, c2, c3 = self.body(x)
        c3 = self.top(c3)
        p2 = F.interpolate(c3, size=c2.shape[-2:], mode="bilinear", align_corners=True) + self.lateral2(c2)
        p1 = F.interpolate(p2, size=c1.shape[-2:], mode="bilinear", align_corners=True) + self.lateral1(c1)
        out = []
        for i, head in enumerate(self.styles):
            feat = c3 if i < self.coarse_end else p2 if i < self.middle_end else p1
            out.append(head(feat))
        return torch.stack(out, dim=1)
