"""pSp's GradualStyleEncoder for StyleGAN3's W+: backbone, feature pyramid, one map2style head per latent.

The backbone (``resnet34`` or ``ir_se50``), the pyramid and the heads are the shared ones of ``models/blocks.py``,
with BatchNorm. Style split as pSp: coarse ws 0-2 read the pyramid's 1/16 level, middle 3-6 the 1/8 level, fine 7+
the 1/4 level (for StyleGAN3-256's 16 ws: fine = 7-15). The encoder predicts offsets that are added to the
generator's ``w_avg``.
"""

from __future__ import annotations

import torch
from torch import nn

from sound2video.models.blocks import GradualStyleBlock, PyramidEncoder
from sound2video.models.inversion.configuration_inversion import EncoderParams

COARSE_END, MIDDLE_END = 3, 7


class GradualStyleEncoder(PyramidEncoder):
    """Image in [-1, 1] ``[N, 3, R, R]`` -> W+ offsets ``[N, num_ws, w_dim]``."""

    def __init__(self, params: EncoderParams, num_ws: int, w_dim: int, resolution: int) -> None:
        if resolution < 32:
            raise ValueError(f"the encoder needs images of at least 32x32 (got {resolution})")
        style = params.style_width(w_dim)
        super().__init__(params.backbone, params.width, params.stage_blocks, 3, style, nn.BatchNorm2d)
        self.num_ws, self.w_dim = num_ws, w_dim
        sizes = [resolution // 16, resolution // 8, resolution // 4]
        self.coarse_end, self.middle_end = min(COARSE_END, num_ws), min(MIDDLE_END, num_ws)
        self.styles = nn.ModuleList(
            GradualStyleBlock(style, w_dim, sizes[0 if i < self.coarse_end else 1 if i < self.middle_end else 2])
            for i in range(num_ws)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p1, p2, c3 = self.pyramid(x)
        out = []
        for i, head in enumerate(self.styles):
            feat = c3 if i < self.coarse_end else p2 if i < self.middle_end else p1
            out.append(head(feat))
        return torch.stack(out, dim=1)
