"""Plain, obviously-correct versions of the generator's ops: the yardstick the fast ops are tested against.

They do the wasteful thing on purpose (filter the stuffed zeros, compute outputs that decimation throws away,
build one weight tensor per sample) because each step is then a literal reading of the definition.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:
    """Up-sample by zero insertion, pad (negative = crop), convolve with ``f``, keep every ``down``-th sample.

    ``f`` is 1-D (applied separably along x then y) or 2-D; ``gain`` multiplies the whole 2-D response.
    """
    b, c, h, w = x.shape
    if f is None:
        f = torch.ones([1, 1], dtype=x.dtype, device=x.device)
    x = x.reshape(b, c, h, 1, w, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    px0, px1, py0, py1 = padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    f = (f * gain ** (f.ndim / 2)).to(x.dtype).flip(list(range(f.ndim)))  # flipped: a true convolution
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)
    else:
        x = F.conv2d(x, f[None, None, None].repeat(c, 1, 1, 1), groups=c)  # along x
        x = F.conv2d(x, f[None, None, :, None].repeat(c, 1, 1, 1), groups=c)  # along y
    return x[:, :, ::down, ::down]


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    slope: float = 0.2,
    gain: float = math.sqrt(2),
    clamp: float | None = None,
) -> torch.Tensor:
    """x + b (per channel), leaky ReLU (slope 1 = linear), times gain, then clamp to +-clamp."""
    if b is not None:
        x = x + b.reshape(1, -1, *([1] * (x.ndim - 2)))
    if slope != 1:
        x = F.leaky_relu(x, slope)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    b: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
) -> torch.Tensor:
    """Bias, up-sample (gain up^2), leaky ReLU x gain with clamp, down-sample: the alias-free non-linearity."""
    if b is not None:
        x = bias_act(x, b, slope=1, gain=1)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2)
    x = bias_act(x, None, slope=slope, gain=gain, clamp=clamp)
    return upfirdn2d(x, fd, down=down)


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    padding: int = 0,
    input_gain: torch.Tensor | None = None,
) -> torch.Tensor:
    """Style-modulated convolution with one weight tensor per sample (a grouped convolution)."""
    batch = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    w = weight
    s = styles
    if demodulate:  # pre-normalisation (exists for fp16; cancels under demodulation up to eps)
        w = w * w.square().mean([1, 2, 3], keepdim=True).rsqrt()
        s = s * s.square().mean().rsqrt()
    w = w.unsqueeze(0) * s.reshape(batch, 1, in_ch, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(batch, out_ch, 1, 1, 1)
    if input_gain is not None:
        w = w * input_gain.expand(batch, in_ch).reshape(batch, 1, in_ch, 1, 1)
    x = x.reshape(1, batch * in_ch, *x.shape[2:])
    x = F.conv2d(x, w.reshape(batch * out_ch, in_ch, kh, kw).to(x.dtype), padding=padding, groups=batch)
    return x.reshape(batch, out_ch, *x.shape[2:])


def synthesis_layer_forward(layer: Any, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """A SynthesisLayer's forward pass with the reference ops (used when ``impl == 'reference'``)."""
    spec = layer.spec
    styles = layer.affine(w)
    if spec.is_torgb:
        styles = styles * (1 / math.sqrt(spec.in_channels * spec.conv_kernel**2))
    x = modulated_conv2d(
        x,
        layer.weight,
        styles,
        demodulate=not spec.is_torgb,
        padding=spec.conv_kernel - 1,
        input_gain=layer.magnitude_ema.rsqrt(),
    )
    return filtered_lrelu(
        x,
        layer.up_filter,
        layer.down_filter,
        layer.bias.to(x.dtype),
        up=spec.up_factor,
        down=spec.down_factor,
        padding=spec.padding,
        gain=1 if spec.is_torgb else math.sqrt(2),
        slope=1 if spec.is_torgb else 0.2,
        clamp=spec.conv_clamp,
    )
