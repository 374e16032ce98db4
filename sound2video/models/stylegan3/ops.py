"""Fast versions of the generator's ops; ``ops_reference`` holds the definitions they are tested against.

Where the time goes and what is done about it:

- Up-sampling never multiplies stuffed zeros and down-sampling never computes a sample that decimation drops.
  Each is a banded linear map along one axis, ``y[m] = sum_n x[n] h[n*a - m*b + c]``, evaluated block by block:
  a block of ``B`` outputs depends on ``K`` consecutive inputs through one small ``[B, K]`` matrix shared by all
  blocks, so the work is one batched matmul over overlapping windows (``unfold``), at about ``K/B`` multiply-adds per
  output instead of ``taps x up`` (polyphase in matrix form).
- Every axis pass runs along dimension 1 of a ``[n, length, other]`` tensor, which keeps memory access row-wise;
  the image is transposed once between the two axes of each resampling.
- Images are processed a few channels at a time so that the up-sampled intermediate stays in cache, and the
  leaky ReLU and clamp run in place on it (outside autograd). The ``sqrt(2)`` gain is folded into the
  down-sampling matrix, with the clamp bound divided by it.
- The modulated convolution uses the shared-weight form: scale the input by the styles, run one ordinary convolution
  with the normalised weight for the whole batch, scale the output by the demodulation coefficients.
- Filter matrices and normalised weights are cached per device and dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sound2video.models.stylegan3 import ops_reference

CHUNK_ELEMENTS = 1 << 20  # channel-images per chunk x up-sampled pixels: ~4 MB of fp32 intermediate


def cache_mode() -> Any:
    """Where cached constants are made: ordinary tensors even inside ``torch.inference_mode`` (so a cache filled
    while sampling can still serve a later pass that needs gradients), and outside autograd."""
    import contextlib

    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode(False))
    stack.enter_context(torch.no_grad())
    return stack


class AxisResampler:
    """``y[m] = sum_n x[n] h[n*a - m*b + c]`` along dimension 1 of ``[n, in_len, other]`` (zero outside x, h).

    Up-sampling by ``u`` with padding ``lo``: ``h`` = flipped filter x gain, ``a = u``, ``b = 1``, ``c = lo``.
    Strided down-sampling by ``d``: ``a = 1``, ``b = d``, ``c = 0``.
    """

    def __init__(self, h: np.ndarray, a: int, b: int, c: int, in_len: int, out_len: int, block: int) -> None:
        if block % a or out_len < 1:
            raise ValueError(f"block {block} must be a multiple of a={a} and out_len {out_len} >= 1")
        taps = len(h)
        self.in_len, self.out_len, self.block = in_len, out_len, block
        self.step = block * b // a  # input shift between consecutive output blocks
        self.first = math.ceil(-c / a)  # first input index that block 0 reads
        last = ((block - 1) * b - c + taps - 1) // a  # last input index that block 0 reads
        self.window = last - self.first + 1
        matrix = np.zeros((block, self.window))
        for i in range(block):
            for k in range(self.window):
                j = (self.first + k) * a - i * b + c
                if 0 <= j < taps:
                    matrix[i, k] = h[j]
        self.matrix = matrix
        self.blocks = -(-out_len // block)
        self.pad_lo = -self.first
        self.pad_hi = (self.blocks - 1) * self.step + self.window - in_len - self.pad_lo
        self._tensors: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}
        self._h, self._abc = np.asarray(h, dtype=np.float64), (a, b, c)
        self._transposed: AxisResampler | None = None

    def transposed(self) -> AxisResampler:
        """The adjoint map (in_len <-> out_len): h[n a - m b + c] = h_rev[m b - n a + (taps - 1 - c)]."""
        if self._transposed is None:
            a, b, c = self._abc
            block = b * max(1, 32 // b)
            self._transposed = AxisResampler(
                self._h[::-1].copy(), b, a, len(self._h) - 1 - c, self.out_len, self.in_len, block
            )
        return self._transposed

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return _Banded.apply(x, self)  # backward = the transposed banded map (unfold's own backward is slow)
        return self.forward(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (x.device, x.dtype)
        mat = self._tensors.get(key)
        if mat is None:
            with cache_mode():
                mat = self._tensors[key] = torch.as_tensor(self.matrix, dtype=x.dtype, device=x.device)
        n, length, other = x.shape
        if length != self.in_len:
            raise ValueError(f"resampler built for length {self.in_len}, got {length}")
        x = F.pad(x, [0, 0, self.pad_lo, self.pad_hi])  # negative pads crop
        windows = x.unfold(1, self.window, self.step).transpose(-1, -2)  # [n, blocks, window, other]
        y = torch.matmul(mat, windows).reshape(n, self.blocks * self.block, other)
        return y if y.shape[1] == self.out_len else y[:, : self.out_len]


class _Banded(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, op: AxisResampler) -> torch.Tensor:
        ctx.op = op
        return op.forward(x)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return ctx.op.transposed().forward(grad.contiguous()), None


def _up_resampler(f: np.ndarray | None, up: int, lo: int, hi: int, in_len: int) -> tuple[AxisResampler, int]:
    h = np.ones(1) if f is None else np.asarray(f, dtype=np.float64)[::-1] * up  # gain up^2 over two axes
    out_len = in_len * up + lo + hi - (len(h) - 1)
    return AxisResampler(h, up, 1, lo, in_len, out_len, block=up * max(1, 32 // up)), out_len


def _down_resampler(f: np.ndarray | None, down: int, gain: float, in_len: int) -> tuple[AxisResampler, int]:
    h = (np.ones(1) if f is None else np.asarray(f, dtype=np.float64)[::-1]) * gain
    out_len = (in_len - (len(h) - 1) + down - 1) // down
    return AxisResampler(h, 1, down, 0, in_len, out_len, block=16), out_len


@dataclass(frozen=True)
class _Plan:
    """The resamplers for one input size; ``down_x``/``down_y`` are None for a 2-D (radial) down filter."""

    up_y: AxisResampler
    up_x: AxisResampler
    down_x: AxisResampler | None
    down_y: AxisResampler | None
    out_h: int
    out_w: int
    tmp_pixels: int


@dataclass
class FilteredLReLU:
    """Bias + up-sample + leaky ReLU (x gain, clamped) + down-sample for one layer's fixed input size."""

    up_filter: np.ndarray | None  # 1-D
    down_filter: np.ndarray | None  # 1-D, or 2-D (radial)
    up: int
    down: int
    padding: tuple[int, int, int, int]
    gain: float
    slope: float
    clamp: float | None
    _plans: dict[tuple[int, int], _Plan] = field(default_factory=dict, repr=False)
    _radial: dict[tuple[torch.device, torch.dtype], torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def is_pointwise(self) -> bool:
        return (
            self.up_filter is None
            and self.down_filter is None
            and self.up == 1
            and self.down == 1
            and not any(self.padding)
        )

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None = None, owned: bool = False) -> torch.Tensor:
        """``owned``: ``x`` is the caller's temporary, so the pointwise case may work on it in place."""
        if bias is not None:
            x = x + bias.reshape(1, -1, 1, 1).to(x.dtype)
            owned = True
        if self.is_pointwise:
            return _bias_act(
                x,
                self.slope,
                self.gain,
                self.clamp,
                inplace=owned and not (torch.is_grad_enabled() and x.requires_grad),
            )
        b, c, h, w = x.shape
        plan = self._plan(h, w)
        flat = x.reshape(b * c, h, w)
        chunk = max(1, min(b * c, CHUNK_ELEMENTS // plan.tmp_pixels))
        grad = torch.is_grad_enabled() and x.requires_grad
        outs = [self._chunk(flat[i : i + chunk], plan, inplace=not grad) for i in range(0, b * c, chunk)]
        return torch.cat(outs).reshape(b, c, plan.out_h, plan.out_w)

    def _chunk(self, x: torch.Tensor, plan: _Plan, inplace: bool) -> torch.Tensor:
        t = plan.up_y(x)  # [n, tmp_h, w]
        t = plan.up_x(t.transpose(1, 2).contiguous())  # [n, tmp_w, tmp_h]  (transposed)
        t = _bias_act(t, self.slope, 1.0, None if self.clamp is None else self.clamp / self.gain, inplace)
        if plan.down_x is None or plan.down_y is None:  # radial: one 2-D strided pass (gain in the kernel)
            kernel = self._radial_kernel(t)
            return F.conv2d(t.unsqueeze(1), kernel, stride=self.down).squeeze(1).transpose(1, 2)
        t = plan.down_x(t)  # [n, out_w, tmp_h]
        return plan.down_y(t.transpose(1, 2).contiguous())  # [n, out_h, out_w]

    def _radial_kernel(self, t: torch.Tensor) -> torch.Tensor:
        key = (t.device, t.dtype)
        if key not in self._radial:
            k = np.asarray(self.down_filter, dtype=np.float64)[::-1, ::-1].T * self.gain  # transposed image
            with cache_mode():
                self._radial[key] = torch.as_tensor(k.copy(), dtype=t.dtype, device=t.device)[None, None]
        return self._radial[key]

    def _plan(self, h: int, w: int) -> _Plan:
        plan = self._plans.get((h, w))
        if plan is None:
            px0, px1, py0, py1 = self.padding
            up_y, tmp_h = _up_resampler(self.up_filter, self.up, py0, py1, h)
            up_x, tmp_w = _up_resampler(self.up_filter, self.up, px0, px1, w)
            if self.down_filter is not None and np.ndim(self.down_filter) == 2:
                taps = self.down_filter.shape[0]
                out_h = (tmp_h - taps + self.down) // self.down
                out_w = (tmp_w - taps + self.down) // self.down
                down_x = down_y = None
            else:
                down_x, out_w = _down_resampler(self.down_filter, self.down, self.gain, tmp_w)
                down_y, out_h = _down_resampler(self.down_filter, self.down, 1.0, tmp_h)
            plan = self._plans[(h, w)] = _Plan(up_y, up_x, down_x, down_y, out_h, out_w, tmp_h * tmp_w)
        return plan


def _bias_act(x: torch.Tensor, slope: float, gain: float, clamp: float | None, inplace: bool) -> torch.Tensor:
    """``ops_reference.bias_act`` without the bias, in place on a temporary when autograd allows."""
    if not inplace:
        return ops_reference.bias_act(x, None, slope=slope, gain=gain, clamp=clamp)
    if slope != 1:
        F.leaky_relu_(x, slope)
    if gain != 1:
        x.mul_(gain)
    if clamp is not None and clamp >= 0:
        x.clamp_(-clamp, clamp)
    return x


class ModulationCache:
    """The demodulation-ready weight of a layer, recomputed only when the weight changes or needs gradients."""

    def __init__(self) -> None:
        self._key: Any = None
        self._value: tuple[torch.Tensor, torch.Tensor] | None = None

    def get(self, weight: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        key = (weight.data_ptr(), weight._version, weight.device, dtype)
        if weight.requires_grad and torch.is_grad_enabled():
            return _normalised_weight(weight.to(dtype))
        if key != self._key or self._value is None:
            with cache_mode():
                self._value = _normalised_weight(weight.to(dtype))
            self._key = key
        return self._value


def _normalised_weight(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    w = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
    return w, w.square().sum([2, 3])  # [out, in, k, k], [out, in]


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool,
    padding: int,
    input_gain: torch.Tensor,
    bias: torch.Tensor,
    cache: ModulationCache | None = None,
) -> torch.Tensor:
    """Modulated convolution plus bias, in the shared-weight form (equal to ``ops_reference.modulated_conv2d``
    followed by the bias add, up to rounding)."""
    batch, in_ch = styles.shape
    if demodulate:
        w, w_sq = cache.get(weight, x.dtype) if cache is not None else _normalised_weight(weight.to(x.dtype))
        s = styles * styles.square().mean().rsqrt()
        dcoefs = (s.square() @ w_sq.t() + 1e-8).rsqrt()  # [batch, out]
    else:
        w, s, dcoefs = weight.to(x.dtype), styles, None
    s = s * input_gain
    if batch == 1:  # cheaper to scale the weight than the image
        y = F.conv2d(x, w * s.reshape(1, in_ch, 1, 1), padding=padding)
    else:
        y = F.conv2d(x * s.reshape(batch, in_ch, 1, 1), w, padding=padding)
    bias = bias.to(y.dtype).reshape(1, -1, 1, 1)
    if dcoefs is None:
        return y + bias
    return torch.addcmul(bias, y, dcoefs.reshape(batch, -1, 1, 1))
