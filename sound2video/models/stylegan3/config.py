"""Generator hyperparameters: the keyword arguments of an official StyleGAN3 ``Generator``, typed and checked."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any


class StyleGAN3ConfigError(ValueError):
    """A generator configuration (or a network file's) is not one we can build."""


@dataclass(frozen=True)
class MappingConfig:
    num_layers: int = 2  # 2 for StyleGAN3 (8 for StyleGAN2)
    lr_multiplier: float = 0.01
    w_avg_beta: float = 0.998  # training only


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that fixes the architecture; field names and defaults are those of the official code."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 256
    img_channels: int = 3
    mapping: MappingConfig = field(default_factory=MappingConfig)
    # SynthesisNetwork
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    num_fp16_res: int = 4  # recorded only: this implementation never switches to fp16 by itself
    # SynthesisLayer
    conv_kernel: int = 3
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False
    conv_clamp: float | None = 256
    magnitude_ema_beta: float = 0.999

    def __post_init__(self) -> None:
        res = self.img_resolution
        if res < 4 or res & (res - 1):
            raise StyleGAN3ConfigError(f"img_resolution must be a power of two >= 4 (got {res})")
        for name in (
            "z_dim",
            "w_dim",
            "img_channels",
            "channel_base",
            "channel_max",
            "num_layers",
            "conv_kernel",
            "filter_size",
            "lrelu_upsampling",
        ):
            if int(getattr(self, name)) < 1:
                raise StyleGAN3ConfigError(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.c_dim < 0:
            raise StyleGAN3ConfigError(f"c_dim must be >= 0 (got {self.c_dim})")
        if not 0 <= self.num_critical < self.num_layers:
            raise StyleGAN3ConfigError(f"num_critical must be in [0, num_layers) (got {self.num_critical})")
        if self.z_dim == 0 and self.c_dim == 0:
            raise StyleGAN3ConfigError("z_dim and c_dim cannot both be 0")

    @property
    def num_ws(self) -> int:
        return self.num_layers + 2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GeneratorConfig:
        """Build from our JSON form (``to_dict``)."""
        raw = dict(raw)
        mapping = MappingConfig(**raw.pop("mapping", {}))
        _reject_unknown(raw, {f.name for f in fields(cls)} - {"mapping"}, "generator config")
        return cls(mapping=mapping, **raw)

    @classmethod
    def from_official_kwargs(cls, kwargs: dict[str, Any]) -> GeneratorConfig:
        """Build from an official pickle's ``Generator._init_kwargs`` (``mapping_kwargs`` plus synthesis kwargs)."""
        raw = {k: _plain(v) for k, v in dict(kwargs).items()}
        raw.pop("class_name", None)
        mapping_raw = {k: _plain(v) for k, v in dict(raw.pop("mapping_kwargs", None) or {}).items()}
        _reject_unknown(mapping_raw, {f.name for f in fields(MappingConfig)}, "mapping_kwargs")
        _reject_unknown(raw, {f.name for f in fields(cls)} - {"mapping"}, "Generator init kwargs")
        for required in ("z_dim", "w_dim", "img_resolution", "img_channels"):
            if required not in raw:
                raise StyleGAN3ConfigError(f"Generator init kwargs lack {required!r}")
        return cls(mapping=MappingConfig(**mapping_raw), **raw)

    @classmethod
    def preset(cls, name: str, img_resolution: int = 256, **overrides: Any) -> GeneratorConfig:
        """train.py's ``--cfg stylegan3-t`` or ``stylegan3-r`` at the given resolution.

        R doubles channel_base and channel_max (65536 / 1024 by default) and uses 1x1 convolutions and radial
        down-sampling filters; both use a 2-layer mapping network.
        """
        key = name.lower().removeprefix("stylegan3-")
        if key == "t":
            base: dict[str, Any] = dict(channel_base=32768, channel_max=512)
        elif key == "r":
            base = dict(channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True)
        else:
            raise StyleGAN3ConfigError(f"unknown StyleGAN3 config {name!r}; expected 'T' or 'R'")
        base.update(overrides)
        return cls(img_resolution=img_resolution, **base)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python numbers (official pickles store some hyperparameters as numpy values)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def _reject_unknown(raw: dict[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise StyleGAN3ConfigError(
            f"{what}: unsupported key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
