"""The synthesis network's per-layer schedule (sizes, rates, cutoffs, channels, filters, paddings) from its formulas.

Everything here is derived from a ``GeneratorConfig``; nothing is hard-coded per resolution. The formulas are those
of the StyleGAN3 paper's alias-free design (section 3 and appendix F of Karras et al. 2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sound2video.models.stylegan3.config import GeneratorConfig, StyleGAN3ConfigError


@dataclass(frozen=True)
class InputSpec:
    channels: int
    size: int
    sampling_rate: float
    bandwidth: float


@dataclass(frozen=True)
class LayerSpec:
    """One SynthesisLayer's hyperparameters (attribute names as in the official implementation)."""

    name: str
    is_torgb: bool
    is_critically_sampled: bool
    use_fp16: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_sampling_rate: int
    out_sampling_rate: int
    tmp_sampling_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    conv_kernel: int
    conv_clamp: float | None
    up_factor: int
    up_taps: int
    down_factor: int
    down_taps: int
    down_radial: bool
    padding: tuple[int, int, int, int]  # x_lo, x_hi, y_lo, y_hi on the up-sampled grid (negative = crop)

    @property
    def conv_flops(self) -> float:
        """Multiply-adds x 2 of the layer's convolution for one image."""
        conv_out = self.in_size + self.conv_kernel - 1
        return 2.0 * conv_out**2 * self.in_channels * self.out_channels * self.conv_kernel**2


def synthesis_schedule(cfg: GeneratorConfig) -> tuple[InputSpec, list[LayerSpec]]:
    """The input's and every layer's hyperparameters, in layer order (the last layer is ToRGB)."""
    n = cfg.num_layers
    res = cfg.img_resolution
    last_cutoff = res / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    exponents = np.minimum(np.arange(n + 1) / (n - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exponents
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + cfg.margin_size * 2
    sizes[-2:] = res
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels

    inp = InputSpec(
        channels=int(channels[0]),
        size=int(sizes[0]),
        sampling_rate=float(sampling_rates[0]),
        bandwidth=float(cutoffs[0]),
    )
    layers = []
    for i in range(n + 1):
        prev = max(i - 1, 0)
        is_torgb = i == n
        in_rate, out_rate = int(sampling_rates[prev]), int(sampling_rates[i])
        tmp_rate = max(in_rate, out_rate) * (1 if is_torgb else cfg.lrelu_upsampling)
        up = int(np.rint(tmp_rate / in_rate))
        down = int(np.rint(tmp_rate / out_rate))
        if in_rate * up != tmp_rate or out_rate * down != tmp_rate:
            raise ValueError(f"layer {i}: sampling rates {in_rate}->{out_rate} are not integer multiples")
        kernel = 1 if is_torgb else cfg.conv_kernel
        up_taps = cfg.filter_size * up if up > 1 and not is_torgb else 1
        down_taps = cfg.filter_size * down if down > 1 and not is_torgb else 1
        in_size, out_size = int(sizes[prev]), int(sizes[i])
        # Pad the up-sampled image so that the output lands on out_size samples, symmetric about the centre.
        pad_total = (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        pad_lo = (pad_total + up) // 2
        pad_hi = pad_total - pad_lo
        is_critical = i >= n - cfg.num_critical
        out_channels = int(channels[i])
        layers.append(
            LayerSpec(
                name=f"L{i}_{out_size}_{out_channels}",
                is_torgb=is_torgb,
                is_critically_sampled=is_critical,
                use_fp16=bool(sampling_rates[i] * 2**cfg.num_fp16_res > res),
                in_channels=int(channels[prev]),
                out_channels=out_channels,
                in_size=in_size,
                out_size=out_size,
                in_sampling_rate=in_rate,
                out_sampling_rate=out_rate,
                tmp_sampling_rate=tmp_rate,
                in_cutoff=float(cutoffs[prev]),
                out_cutoff=float(cutoffs[i]),
                in_half_width=float(half_widths[prev]),
                out_half_width=float(half_widths[i]),
                conv_kernel=kernel,
                conv_clamp=cfg.conv_clamp,
                up_factor=up,
                up_taps=up_taps,
                down_factor=down,
                down_taps=down_taps,
                down_radial=cfg.use_radial_filters and not is_critical,
                padding=(pad_lo, pad_hi, pad_lo, pad_hi),
            )
        )
    return inp, layers


def design_lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> np.ndarray | None:
    """A unit-DC low-pass FIR: separable Kaiser (1-D taps) or radial jinc x Kaiser (2-D); None for one tap."""
    import scipy.signal
    import scipy.special

    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1 (got {numtaps})")
    if numtaps == 1:
        return None
    if not radial:
        return scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs).astype(np.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    w = np.kaiser(numtaps, beta)
    f = f * np.outer(w, w)
    return (f / np.sum(f)).astype(np.float32)


def layer_filters(spec: LayerSpec) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(up_filter, down_filter) of a layer, as the official code designs them."""
    up = design_lowpass_filter(spec.up_taps, spec.in_cutoff, spec.in_half_width * 2, spec.tmp_sampling_rate)
    down = design_lowpass_filter(
        spec.down_taps, spec.out_cutoff, spec.out_half_width * 2, spec.tmp_sampling_rate, radial=spec.down_radial
    )
    return up, down


def check_architecture(cfg: GeneratorConfig) -> None:
    """Raise StyleGAN3ConfigError when a network of ``cfg`` cannot be built: every layer's sampling rates must be
    integer multiples of each other and every layer must keep at least one channel."""
    try:
        inp, layers = synthesis_schedule(cfg)
    except ValueError as e:
        raise StyleGAN3ConfigError(str(e)) from None
    thin = [layer.name for layer in layers[:-1] if layer.out_channels < 1]
    if inp.channels < 1 or thin:
        raise StyleGAN3ConfigError(
            f"channel_base {cfg.channel_base} is too small for resolution {cfg.img_resolution}:"
            f" layers {thin or ['input']} would have no channels"
        )


def validate_random_generator(config: str, resolution: int, **overrides: Any) -> GeneratorConfig:
    """The architecture a random-init ``stylegan3`` params block asks for (``GeneratorConfig.preset(config,
    resolution, **overrides)``), checked as the network will be built; raises StyleGAN3ConfigError (a ValueError) that
    names the value the architecture does not accept, e.g. a resolution that is not a power of two."""
    cfg = GeneratorConfig.preset(config, resolution, **overrides)
    check_architecture(cfg)
    return cfg
