"""Network building blocks shared by more than one model: the ResNet units, the pSp-style backbone built of them,
its feature pyramid and map2style heads.

Who uses what:

- ``BasicBlock``: the audio tower's encoder, and the ``resnet34`` backbone.
- ``Backbone`` + ``PyramidEncoder`` + ``GradualStyleBlock``: the inversion encoder (an RGB image -> W+, BatchNorm)
  and the video model's sound encoder E_a (a 1-channel log-mel window -> W+, per-sample norms).

Backbones (both give features at 1/4, 1/8 and 1/16 of the input size, like pSp's):

- ``resnet34``: ReStyle's ResNetBackboneEncoder body: 7x7/2 stem + norm + PReLU, BasicBlock stages [3, 4, 6, 3]
  with strides 1, 2, 2, 2 (no max-pool).
- ``ir_se50``: pSp's IR-SE-50 body: 3x3/1 stem + norm + PReLU, bottleneck_IR_SE stages [3, 4, 14, 3], each starting
  with stride 2; unit = norm, 3x3 conv, PReLU, 3x3 conv (stride), norm, squeeze-excitation (r = 16).

Every norm comes from a ``norm_layer`` factory (channels -> module), as in torchvision's ResNet: BatchNorm by
default, a per-sample norm where batch items must not interact. A norm sits under the same attribute name whatever
it is, so state-dict keys do not depend on the choice (a norm without parameters, ``nn.Identity``, has no keys).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

NormLayer = Callable[[int], nn.Module]  # channels -> a normalisation layer for that many feature maps


def _check_channels(x: torch.Tensor, channels: int, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} input has shape {list(x.shape)}, expected [N, {channels}, H, W]")


class BasicBlock(nn.Module):
    """ResNet basic block: 3x3 conv (stride) + norm + ReLU, 3x3 conv + norm, plus the shortcut (a 1x1 conv + norm
    when the shape changes), ReLU."""

    def __init__(
        self,
        cin: int,  # input channels
        cout: int,  # output channels
        stride: int,  # stride of the first conv (and of the shortcut): 2 halves the feature map
        norm_layer: NormLayer = nn.BatchNorm2d,  # channels -> norm module
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = norm_layer(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = norm_layer(cout)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), norm_layer(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: channel weights in (0, 1) from the globally pooled features (no biases, as pSp)."""

    def __init__(
        self,
        channels: int,  # feature maps in and out
        reduction: int = 16,  # hidden width = channels // reduction (at least 1)
    ) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class BottleneckIRSE(nn.Module):
    """pSp's bottleneck_IR_SE unit: norm, 3x3 conv, PReLU, 3x3 conv (stride), norm, SE; plus the shortcut."""

    def __init__(
        self,
        cin: int,  # input channels
        cout: int,  # output channels
        stride: int,  # stride of the second conv (and of the shortcut)
        norm_layer: NormLayer = nn.BatchNorm2d,  # channels -> norm module
    ) -> None:
        super().__init__()
        self.shortcut = (
            nn.MaxPool2d(1, stride)  # pSp's parameter-free strided identity
            if cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), norm_layer(cout))
        )
        self.residual = nn.Sequential(
            norm_layer(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            norm_layer(cout),
            SqueezeExcite(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


BACKBONE_UNITS = {"resnet34": (BasicBlock, [1, 2, 2, 2]), "ir_se50": (BottleneckIRSE, [2, 2, 2, 2])}  # unit, strides


class Backbone(nn.Module):
    """Stem + four stages ``[N, in_channels, H, W]`` -> the outputs of stages 2, 3 and 4 (strides 4, 8, 16), with
    ``channels`` = their widths (2, 4 and 8 times ``width``)."""

    def __init__(
        self,
        kind: str,  # 'resnet34' or 'ir_se50' (see the module docstring)
        width: int,  # channels of the first stage; each stage doubles it
        blocks: list[int],  # units per stage, four entries
        in_channels: int = 3,  # 3: an RGB image; 1: a log-mel window
        norm_layer: NormLayer = nn.BatchNorm2d,  # channels -> norm module, for every norm of the body
    ) -> None:
        super().__init__()
        if kind not in BACKBONE_UNITS:
            raise ValueError(f"backbone kind must be one of {sorted(BACKBONE_UNITS)} (got {kind!r})")
        if len(blocks) != 4 or min(blocks) < 1:
            raise ValueError(f"backbone blocks must be 4 stages of at least 1 unit (got {blocks})")
        self.in_channels = in_channels
        widths = [width, width * 2, width * 4, width * 8]
        stem_conv = (
            nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
            if kind == "resnet34"
            else nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        )
        self.stem = nn.Sequential(stem_conv, norm_layer(width), nn.PReLU(width))
        unit, strides = BACKBONE_UNITS[kind]
        stages, cin = [], width
        for cout, n, stride in zip(widths, blocks, strides):
            first = unit(cin, cout, stride, norm_layer)
            stages.append(nn.Sequential(first, *[unit(cout, cout, 1, norm_layer) for _ in range(n - 1)]))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.channels = widths[1:]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        _check_channels(x, self.in_channels, "Backbone")
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats[1:]


class GradualStyleBlock(nn.Module):
    """pSp's map2style: log2(size) stride-2 3x3 convs with LeakyReLU(0.01) down to 1x1, then a linear layer;
    ``[N, channels, size, size]`` -> ``[N, out_dim]``."""

    def __init__(
        self,
        channels: int,  # feature maps in (and through the convs)
        out_dim: int,  # size of the latent it predicts (the generator's w_dim)
        size: int,  # side of the feature map it reads; sets the number of convs (at least 1)
    ) -> None:
        super().__init__()
        self.channels = channels
        n = max(1, int(round(math.log2(size))))
        layers: list[nn.Module] = []
        for _ in range(n):
            layers += [nn.Conv2d(channels, channels, 3, 2, 1), nn.LeakyReLU(0.01)]
        self.convs = nn.Sequential(*layers)
        self.linear = nn.Linear(channels, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_channels(x, self.channels, "GradualStyleBlock")
        x = self.convs(x)
        return self.linear(x.mean((2, 3)))  # 1x1 after the convs; the mean also covers odd input sizes


class PyramidEncoder(nn.Module):
    """Base of the pSp-style encoders: a ``Backbone`` (``self.body``) and pSp's feature pyramid on it, every level
    ``style`` channels wide: c3 (1/16, through ``top``), p2 = up(c3) + lateral2(c2) (1/8), p1 = up(p2) + lateral1(c1)
    (1/4); bilinear up-sampling with align_corners=True, 1x1 laterals.

    A base class rather than a submodule, so that the encoders' state-dict keys stay ``body.*``, ``top.*``,
    ``lateral2.*`` and ``lateral1.*`` (model folders saved before it load unchanged). Subclasses add their heads
    after calling ``__init__`` (parameter order, hence optimiser state, stays as it was).
    """

    def __init__(
        self,
        kind: str,  # the Backbone's kind
        width: int,  # the Backbone's first-stage channels
        blocks: list[int],  # the Backbone's units per stage
        in_channels: int,  # 3: an RGB image; 1: a log-mel window
        style: int,  # channels of every pyramid level (and of the heads reading them)
        norm_layer: NormLayer = nn.BatchNorm2d,  # channels -> norm module, for the Backbone
    ) -> None:
        super().__init__()
        self.body = Backbone(kind, width, blocks, in_channels, norm_layer)
        c1, c2, c3 = self.body.channels
        self.top = nn.Identity() if c3 == style else nn.Conv2d(c3, style, 1)
        self.lateral2 = nn.Conv2d(c2, style, 1)
        self.lateral1 = nn.Conv2d(c1, style, 1)

    def pyramid(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(p1, p2, c3): the fine (1/4), middle (1/8) and coarse (1/16) levels of ``x``."""
        c1, c2, c3 = self.body(x)
        c3 = self.top(c3)
        p2 = F.interpolate(c3, size=c2.shape[-2:], mode="bilinear", align_corners=True) + self.lateral2(c2)
        p1 = F.interpolate(p2, size=c1.shape[-2:], mode="bilinear", align_corners=True) + self.lateral1(c1)
        return p1, p2, c3
