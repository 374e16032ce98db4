"""Image and video discriminators (eq. 7-8) and the adversarial losses.

- ``ImageDiscriminator`` (D_I): a 2D PatchGAN on single frames: stride-2 4x4 convs (InstanceNorm + LeakyReLU 0.2
  after the first), then a 3x3 conv to one logit per patch.
- ``VideoDiscriminator`` (D_V): the same on space-time patches with ``Conv3d`` kernels ``(k_t, 4, 4)``, ``k_t >= 2``
  and "same" zero padding in time, so each logit sees several consecutive frames and thus motion (the released
  code's ``k_t = 1`` made it a per-frame critic). As in MoCoGAN-HD, optionally a second D_V on frames average-pooled
  to half size, and the first frame repeated and stacked channel-wise with frames 1..T-1 (each patch judges the
  motion relative to where the clip started).

Losses: ``lsgan`` (least squares, each D term weighted 0.5, as the paper's code) or ``nonsat_r1`` (the logistic
non-saturating loss; the stage adds ``r1_gamma / 2 * r1_penalty`` on reals). Multi-scale outputs are averaged over
scales. All norms are per sample (InstanceNorm), so R1's per-sample gradients are exact.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from sound2video.models.video.configuration_video import ImageDiscriminatorParams, VideoDiscriminatorParams

LossKind = Literal["lsgan", "nonsat_r1"]


def _widths(width: int, layers: int) -> list[int]:
    return [min(width * 2**i, width * 8) for i in range(layers)]


class ImageDiscriminator(nn.Module):
    """D_I: frames ``[N, C, R, R]`` -> patch logits ``[N, 1, h, w]``."""

    def __init__(self, params: ImageDiscriminatorParams, in_channels: int = 3) -> None:
        super().__init__()
        self.in_channels, self.layers = in_channels, params.layers
        mods: list[nn.Module] = []
        cin = in_channels
        for i, cout in enumerate(_widths(params.width, params.layers)):
            mods.append(nn.Conv2d(cin, cout, 4, 2, 1))
            if i > 0:
                mods.append(nn.InstanceNorm2d(cout, affine=True))
            mods.append(nn.LeakyReLU(0.2))
            cin = cout
        mods.append(nn.Conv2d(cin, 1, 3, 1, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.ndim != 4 or frames.shape[1] != self.in_channels:
            raise ValueError(f"frames has shape {list(frames.shape)}, expected [N, {self.in_channels}, R, R]")
        _check_size(frames.shape[-2:], self.layers, "ImageDiscriminator")
        return self.net(frames)


class _TimeSameConv3d(nn.Module):
    """Conv3d with zero padding that keeps the number of time steps (asymmetric when the kernel is even)."""

    def __init__(self, cin: int, cout: int, kt: int, ks: int, stride: int, pad: int) -> None:
        super().__init__()
        self.pad = (pad, pad, pad, pad, (kt - 1) // 2, kt // 2)  # F.pad order: W, H, T
        self.conv = nn.Conv3d(cin, cout, (kt, ks, ks), (1, stride, stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))


class _Patch3D(nn.Module):
    def __init__(self, cin: int, params: VideoDiscriminatorParams) -> None:
        super().__init__()
        kt = params.temporal_kernel
        mods: list[nn.Module] = []
        for i, cout in enumerate(_widths(params.width, params.layers)):
            mods.append(_TimeSameConv3d(cin, cout, kt, 4, 2, 1))
            if i > 0:
                mods.append(nn.InstanceNorm3d(cout, affine=True))
            mods.append(nn.LeakyReLU(0.2))
            cin = cout
        mods.append(_TimeSameConv3d(cin, 1, kt, 3, 1, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class VideoDiscriminator(nn.Module):
    """D_V: video ``[B, T, C, R, R]`` -> per scale, patch logits ``[B, 1, T', h, w]`` (T' = T, or T-1 with the
    first-frame condition)."""

    def __init__(self, params: VideoDiscriminatorParams, in_channels: int = 3) -> None:
        super().__init__()
        self.in_channels, self.layers = in_channels, params.layers
        self.first_frame_condition = params.first_frame_condition
        cin = in_channels * (2 if params.first_frame_condition else 1)
        self.scales = nn.ModuleList(_Patch3D(cin, params) for _ in range(2 if params.two_scales else 1))

    def forward(self, video: torch.Tensor) -> list[torch.Tensor]:
        if video.ndim != 5 or video.shape[2] != self.in_channels:
            raise ValueError(f"video has shape {list(video.shape)}, expected [B, T, {self.in_channels}, R, R]")
        t_len = video.shape[1]
        if self.first_frame_condition:
            if t_len < 2:
                raise ValueError(f"VideoDiscriminator with first_frame_condition needs T >= 2 frames (got {t_len})")
            video = torch.cat([video[:, :1].expand(-1, t_len - 1, -1, -1, -1), video[:, 1:]], dim=2)
        x = video.transpose(1, 2)  # [B, C, T, R, R] for Conv3d
        outs = []
        for i, net in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1), count_include_pad=False)
            _check_size(x.shape[-2:], self.layers, f"VideoDiscriminator scale {i}")
            outs.append(net(x))
        return outs


def _check_size(hw: torch.Size, layers: int, what: str) -> None:
    # InstanceNorm after the last stride-2 layer needs more than one spatial element.
    need = 2 ** (layers + 1)
    if min(hw) < need:
        raise ValueError(
            f"{what}: frames of {list(hw)} are too small for {layers} layers (need >= {need} px; use fewer layers)"
        )


def _check_lists(real: list[torch.Tensor], fake: list[torch.Tensor]) -> None:
    if not real or len(real) != len(fake):
        raise ValueError(
            f"need the same non-zero number of real and fake logit tensors (got {len(real)} and {len(fake)})"
        )


def discriminator_loss(kind: LossKind, real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """D's loss on real and fake patch logits (one tensor per scale), averaged over scales.

    lsgan: ``0.5 * mean((D(real) - 1)^2) + 0.5 * mean(D(fake)^2)``;
    nonsat_r1: ``mean(softplus(-D(real))) + mean(softplus(D(fake)))`` (R1 is added separately).
    """
    _check_lists(real, fake)
    if kind == "lsgan":
        terms = [0.5 * (r - 1).square().mean() + 0.5 * f.square().mean() for r, f in zip(real, fake)]
    elif kind == "nonsat_r1":
        terms = [F.softplus(-r).mean() + F.softplus(f).mean() for r, f in zip(real, fake)]
    else:
        raise ValueError(f"loss kind must be 'lsgan' or 'nonsat_r1' (got {kind!r})")
    return torch.stack(terms).mean()


def generator_adv_loss(kind: LossKind, fake: list[torch.Tensor]) -> torch.Tensor:
    """G's adversarial loss: lsgan ``mean((D(fake) - 1)^2)``; nonsat_r1 ``mean(softplus(-D(fake)))``."""
    if not fake:
        raise ValueError("need at least one fake logit tensor")
    if kind == "lsgan":
        terms = [(f - 1).square().mean() for f in fake]
    elif kind == "nonsat_r1":
        terms = [F.softplus(-f).mean() for f in fake]
    else:
        raise ValueError(f"loss kind must be 'lsgan' or 'nonsat_r1' (got {kind!r})")
    return torch.stack(terms).mean()


def r1_penalty(real_logits: list[torch.Tensor], real_input: torch.Tensor) -> torch.Tensor:
    """R1: ``mean_n || d score_n / d real_input_n ||^2`` with ``score_n`` = the sum over scales of sample n's mean
    patch logit (the quantity the losses average). ``real_input`` must require grad and have produced the logits;
    the graph is kept so the penalty can be back-propagated. Multiply by ``r1_gamma / 2`` in the D loss."""
    if not real_input.requires_grad:
        raise ValueError("r1_penalty: real_input must require grad (call real.requires_grad_() before D)")
    if not real_logits:
        raise ValueError("r1_penalty: need at least one logit tensor")
    n = real_input.shape[0]
    score = torch.stack([lg.reshape(n, -1).mean(1) for lg in real_logits]).sum(0)
    # Samples are independent (per-sample norms), so the gradient of the sum holds each sample's own gradient.
    (grad,) = torch.autograd.grad(score.sum(), real_input, create_graph=True)
    return grad.square().reshape(n, -1).sum(1).mean()


def maybe_time_reverse(video: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Reverse each clip of ``video [B, T, ...]`` in time with probability ``p`` (one draw per clip from
    ``generator``, always B draws, so the random stream does not depend on p)."""
    if not 0 <= p <= 1:
        raise ValueError(f"time-reversal probability must be in [0, 1] (got {p})")
    if video.ndim < 2:
        raise ValueError(f"video has shape {list(video.shape)}, expected [B, T, ...]")
    flip = torch.rand(video.shape[0], generator=generator, device=generator.device) < p
    flip = flip.to(video.device).view(-1, *([1] * (video.ndim - 1)))
    return torch.where(flip, video.flip(1), video)
