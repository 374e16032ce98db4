"""StyleGAN3 generator (configs T and R) in plain PyTorch, with the official module and state-dict names.

Module tree: ``Generator`` = ``mapping`` (``MappingNetwork``: ``fc0..fc{L-1}``, ``embed``, buffer ``w_avg``) +
``synthesis`` (``SynthesisNetwork``: ``input`` then layers ``L{i}_{size}_{channels}``, the last one ToRGB).
Every layer's hyperparameters come from ``schedule.synthesis_schedule`` and are kept on the layer as ``spec``.

``impl`` selects the ops: ``"fast"`` (``ops``) or ``"reference"`` (``ops_reference``, the literal definitions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sound2video.models.stylegan3 import ops, ops_reference
from sound2video.models.stylegan3.config import GeneratorConfig
from sound2video.models.stylegan3.schedule import InputSpec, LayerSpec, layer_filters, synthesis_schedule

IMPLS = ("fast", "reference")


class FullyConnectedLayer(nn.Module):
    """Equalised-learning-rate linear layer: ``y = x (W lr/sqrt(in))^T + b lr``, then optional lrelu x sqrt(2)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        weight_init: float = 1.0,
        bias_init: float | Sequence[float] = 0.0,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.activation = in_features, out_features, activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) * (weight_init / lr_multiplier))
        bias = np.broadcast_to(np.asarray(bias_init, dtype=np.float32), [out_features])
        self.bias = nn.Parameter(torch.from_numpy(bias / lr_multiplier))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype)
        if self.bias_gain != 1:
            b = b * self.bias_gain
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return F.leaky_relu(x.matmul(w.t()) + b, 0.2) * math.sqrt(2)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


def _normalize_2nd_moment(x: torch.Tensor) -> torch.Tensor:
    return x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt()


class MappingNetwork(nn.Module):
    """z (and class c) -> w, broadcast to ``num_ws`` copies, with truncation towards ``w_avg``."""

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int,
        num_layers: int = 2,
        lr_multiplier: float = 0.01,
        w_avg_beta: float = 0.998,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        self.w_avg_beta = w_avg_beta
        self.embed = FullyConnectedLayer(c_dim, w_dim) if c_dim > 0 else None
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        for idx, (fin, fout) in enumerate(zip(features[:-1], features[1:])):
            setattr(self, f"fc{idx}", FullyConnectedLayer(fin, fout, activation="lrelu", lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        _no_training(update_emas)
        dtype = self.w_avg.dtype
        x = None
        if self.z_dim > 0:
            _check_shape(z, [None, self.z_dim], "z")
            x = _normalize_2nd_moment(z.to(dtype))
        if self.c_dim > 0:
            _check_shape(c, [None, self.c_dim], "c")
            y = _normalize_2nd_moment(self.embed(c.to(dtype)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            head = self.w_avg.lerp(x[:, :cutoff], truncation_psi)
            x = torch.cat([head, x[:, cutoff:]], dim=1)
        return x

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}"


class SynthesisInput(nn.Module):
    """Fourier features on a grid, rotated and translated by ``affine(w0)`` and by the user's ``transform``."""

    def __init__(self, w_dim: int, spec: InputSpec) -> None:
        super().__init__()
        self.spec = spec
        self.w_dim, self.channels, self.size = w_dim, spec.channels, spec.size
        self.sampling_rate, self.bandwidth = spec.sampling_rate, spec.bandwidth
        freqs = torch.randn([self.channels, 2])  # uniform on a disc after the next two lines
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * self.bandwidth
        phases = torch.rand([self.channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([self.channels, self.channels]))
        self.affine = FullyConnectedLayer(w_dim, 4, weight_init=0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3, 3))  # inverse transform of the resulting image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)
        self._grid: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}

    def grid(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Sample positions ``[size, size, 2]`` (x, y) in units of the input's sampling period."""
        key = (device, dtype)
        if key not in self._grid:
            with ops.cache_mode():
                theta = torch.eye(2, 3, device=device, dtype=dtype)
                theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate
                self._grid[key] = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)[
                    0
                ]
        return self._grid[key]

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        batch = w.shape[0]
        t = self.affine(w)  # (r_c, r_s, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device, dtype=w.dtype).repeat([batch, 1, 1])  # inverse rotation
        m_r[:, 0, 0] = t[:, 0]
        m_r[:, 0, 1] = -t[:, 1]
        m_r[:, 1, 0] = t[:, 1]
        m_r[:, 1, 1] = t[:, 0]
        m_t = torch.eye(3, device=w.device, dtype=w.dtype).repeat([batch, 1, 1])  # inverse translation
        m_t[:, 0, 2] = -t[:, 2]
        m_t[:, 1, 2] = -t[:, 3]
        transforms = m_r @ m_t @ self.transform.to(w.dtype).unsqueeze(0)
        freqs = self.freqs.to(w.dtype).unsqueeze(0)
        phases = self.phases.to(w.dtype).unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        # Fade out frequencies that the user transform pushed beyond the band.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        grid = self.grid(w.device, w.dtype)
        x = (grid.reshape(1, -1, 2) @ freqs.transpose(1, 2)).reshape(batch, self.size, self.size, self.channels)
        x = torch.sin((x + phases.reshape(batch, 1, 1, -1)) * (math.pi * 2)) * amplitudes.reshape(batch, 1, 1, -1)
        x = x @ (self.weight.to(w.dtype) / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return (
            f"w_dim={self.w_dim}, channels={self.channels}, size={self.size}, "
            f"sampling_rate={self.sampling_rate:g}, bandwidth={self.bandwidth:g}"
        )


class SynthesisLayer(nn.Module):
    """Modulated convolution, then the alias-free non-linearity (bias, up-sample, lrelu, down-sample)."""

    def __init__(self, w_dim: int, spec: LayerSpec) -> None:
        super().__init__()
        self.spec = spec
        self.w_dim = w_dim
        self.impl = "fast"
        self.affine = FullyConnectedLayer(w_dim, spec.in_channels, bias_init=1)
        k = spec.conv_kernel
        self.weight = nn.Parameter(torch.randn([spec.out_channels, spec.in_channels, k, k]))
        self.bias = nn.Parameter(torch.zeros([spec.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        up, down = layer_filters(spec)
        self.register_buffer("up_filter", None if up is None else torch.from_numpy(up))
        self.register_buffer("down_filter", None if down is None else torch.from_numpy(down))
        self._modulation = ops.ModulationCache()
        self._nonlinearity: tuple[Any, ops.FilteredLReLU] | None = None

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.impl == "reference":
            return ops_reference.synthesis_layer_forward(self, x, w)
        spec = self.spec
        styles = self.affine(w)
        if spec.is_torgb:
            styles = styles * (1 / math.sqrt(spec.in_channels * spec.conv_kernel**2))
        x = ops.modulated_conv2d(
            x,
            self.weight,
            styles,
            demodulate=not spec.is_torgb,
            padding=spec.conv_kernel - 1,
            input_gain=self.magnitude_ema.to(x.dtype).rsqrt(),
            bias=self.bias,
            cache=self._modulation,
        )
        return self.nonlinearity()(x, owned=True)

    def nonlinearity(self) -> ops.FilteredLReLU:
        """The fast filtered lrelu for the current filter buffers (rebuilt if they are replaced or edited)."""
        key = tuple(None if f is None else (f.data_ptr(), f._version) for f in (self.up_filter, self.down_filter))
        if self._nonlinearity is None or self._nonlinearity[0] != key:
            spec = self.spec
            as_np = [
                None if f is None else f.detach().cpu().double().numpy() for f in (self.up_filter, self.down_filter)
            ]
            self._nonlinearity = (
                key,
                ops.FilteredLReLU(
                    up_filter=as_np[0],
                    down_filter=as_np[1],
                    up=spec.up_factor,
                    down=spec.down_factor,
                    padding=spec.padding,
                    gain=1.0 if spec.is_torgb else math.sqrt(2),
                    slope=1.0 if spec.is_torgb else 0.2,
                    clamp=spec.conv_clamp,
                ),
            )
        return self._nonlinearity[1]

    def extra_repr(self) -> str:
        s = self.spec
        return (
            f"in={s.in_channels}x{s.in_size}, out={s.out_channels}x{s.out_size}, rate={s.in_sampling_rate}->"
            f"{s.out_sampling_rate}, up={s.up_factor}, down={s.down_factor}, taps={s.up_taps}/{s.down_taps}, "
            f"padding={list(s.padding)}, radial={s.down_radial}, torgb={s.is_torgb}"
        )


class SynthesisNetwork(nn.Module):
    """``ws [batch, num_ws, w_dim]`` -> image ``[batch, img_channels, res, res]``, nominally in [-1, 1]."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = cfg.w_dim, cfg.img_resolution, cfg.img_channels
        self.num_ws = cfg.num_ws
        self.output_scale = cfg.output_scale
        input_spec, layer_specs = synthesis_schedule(cfg)
        self.input = SynthesisInput(cfg.w_dim, input_spec)
        self.layer_names: list[str] = []
        for spec in layer_specs:
            setattr(self, spec.name, SynthesisLayer(cfg.w_dim, spec))
            self.layer_names.append(spec.name)

    def layers(self) -> list[SynthesisLayer]:
        return [getattr(self, name) for name in self.layer_names]

    def forward(
        self, ws: torch.Tensor, noise_mode: str = "const", force_fp32: bool = True, update_emas: bool = False
    ) -> torch.Tensor:
        """``noise_mode`` and ``force_fp32`` are accepted for drop-in compatibility: StyleGAN3 has no noise inputs,
        and computation happens in the parameters' dtype."""
        _no_training(update_emas)
        _check_shape(ws, [None, self.num_ws, self.w_dim], "ws")
        ws = ws.to(self.input.weight.dtype).unbind(dim=1)
        x = self.input(ws[0])
        for layer, w in zip(self.layers(), ws[1:]):
            x = layer(x, w)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x


class Generator(nn.Module):
    """StyleGAN3 generator: ``G(z, c)``, ``G.mapping(z, c)``, ``G.synthesis(ws)``."""

    def __init__(self, cfg: GeneratorConfig | None = None, **official_kwargs: Any) -> None:
        """``Generator(cfg)``, or the official keyword arguments (``z_dim=..., mapping_kwargs={...}, ...``)."""
        super().__init__()
        if official_kwargs:
            if cfg is not None:
                raise TypeError("give a GeneratorConfig or official keyword arguments, not both")
            cfg = GeneratorConfig.from_official_kwargs(official_kwargs)
        cfg = cfg or GeneratorConfig()
        self.config = cfg
        self.z_dim, self.c_dim, self.w_dim = cfg.z_dim, cfg.c_dim, cfg.w_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.synthesis = SynthesisNetwork(cfg)
        self.num_ws = self.synthesis.num_ws
        m = cfg.mapping
        self.mapping = MappingNetwork(
            cfg.z_dim,
            cfg.c_dim,
            cfg.w_dim,
            self.num_ws,
            num_layers=m.num_layers,
            lr_multiplier=m.lr_multiplier,
            w_avg_beta=m.w_avg_beta,
        )

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
        **synthesis_kwargs: Any,
    ) -> torch.Tensor:
        ws = self.mapping(
            z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, update_emas=update_emas
        )
        return self.synthesis(ws, update_emas=update_emas, **synthesis_kwargs)

    def set_impl(self, impl: str) -> Generator:
        """``"fast"`` (default) or ``"reference"``: which ops the synthesis layers run."""
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS} (got {impl!r})")
        for layer in self.synthesis.layers():
            layer.impl = impl
        return self

    @torch.no_grad()
    def set_input_transform(self, translate: tuple[float, float] = (0.0, 0.0), rotate: float = 0.0) -> Generator:
        """Translate (in image widths: the visible image spans one unit of the input grid) and rotate (degrees) the
        generated image, the official ``gen_images.py`` convention: store the inverse in ``synthesis.input.transform``."""
        a = math.radians(rotate)
        m = np.array([[math.cos(a), math.sin(a), translate[0]], [-math.sin(a), math.cos(a), translate[1]], [0, 0, 1]])
        tr = self.synthesis.input.transform
        tr.copy_(torch.from_numpy(np.linalg.inv(m)).to(tr.dtype))
        return self

    def param_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _no_training(update_emas: bool) -> None:
    if update_emas:
        raise NotImplementedError(
            "update_emas=True (training-time EMA updates) is not supported: this generator is "
            "for inference and optimisation through it"
        )


def _check_shape(t: torch.Tensor | None, shape: list[int | None], name: str) -> None:
    if t is None:
        raise ValueError(f"{name} is required (expected shape {_fmt(shape)})")
    if t.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
        raise ValueError(f"{name} has shape {list(t.shape)}, expected {_fmt(shape)}")


def _fmt(shape: list[int | None]) -> str:
    return "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
