"""Params of the ``stylegan3`` stage: where the frozen generator comes from."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from sound2video.core.params_base import SHA256_PATTERN, StrictParams
from sound2video.models.stylegan3.schedule import validate_random_generator


class RandomGeneratorParams(StrictParams):
    """A randomly initialised StyleGAN3 (offline profiles): architecture, seed, and how w_avg is estimated."""

    config: Literal["T", "R"] = "T"
    resolution: int = Field(64, ge=16, le=1024)
    channel_base: int = Field(1024, ge=16)
    channel_max: int = Field(64, ge=4)
    z_dim: int = Field(64, ge=1)
    w_dim: int = Field(64, ge=1)
    num_layers: int = Field(14, ge=3, description="synthesis layers (num_ws = num_layers + 2)")
    margin_size: int = Field(10, ge=0, description="extra samples around each layer's image")
    seed: int = Field(0, ge=0)
    w_avg_samples: int = Field(10_000, ge=1, description="w_avg = mean of mapping(z) over this many z")

    @model_validator(mode="after")
    def _buildable(self) -> RandomGeneratorParams:
        # the architecture's own rules (power-of-two resolution, usable channel counts), where they are defined
        validate_random_generator(
            self.config,
            self.resolution,
            channel_base=self.channel_base,
            channel_max=self.channel_max,
            z_dim=self.z_dim,
            w_dim=self.w_dim,
            num_layers=self.num_layers,
            margin_size=self.margin_size,
        )
        return self


class StyleGAN3Params(StrictParams):
    """Where the frozen generator comes from: a network file (official pickle or our format) or random init."""

    network: Optional[str] = Field(None, description="path or http(s) URL; null: random init from `random`")
    sha256: Optional[str] = Field(None, pattern=SHA256_PATTERN)
    key: str = Field("G_ema", description="which network of an official pickle")
    random: Optional[RandomGeneratorParams] = None

    @model_validator(mode="after")
    def _one_source(self) -> StyleGAN3Params:
        if self.network is None and self.random is None:
            raise ValueError("give either 'network' (a path or URL) or a 'random' block")
        if self.network is not None and self.random is not None:
            raise ValueError("give 'network' or 'random', not both")
        return self
