"""Params of the shared ResNet backbone (``blocks.Backbone``), declared once: the inversion encoder
(``train_inversion.encoder``) and the video model's sound encoder (``train_video.sound_encoder``) both extend
``BackboneParams``, so the two YAML blocks keep their keys and their meaning stays in one place."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator

from sound2video.core.params_base import StrictParams

BackboneKind = Literal["resnet34", "ir_se50"]
DEFAULT_BLOCKS: dict[str, list[int]] = {"resnet34": [3, 4, 6, 3], "ir_se50": [3, 4, 14, 3]}  # units per stage


class BackboneParams(StrictParams):
    """A pSp-style encoder's body and pyramid: ResNet backbone -> feature pyramid -> map2style heads."""

    backbone: BackboneKind = Field(
        "resnet34",
        description="resnet34: ReStyle's body for non-face domains (BasicBlocks); ir_se50: pSp's IR-SE units "
        "(the paper's code)",
    )
    width: int = Field(64, ge=4, description="channels of the first stage; each stage doubles it (64 = pSp)")
    blocks: Optional[list[int]] = Field(
        None,
        min_length=4,
        max_length=4,
        description="units per stage; null: [3,4,6,3] (resnet34) or [3,4,14,3] (ir_se50)",
    )
    style_channels: Optional[int] = Field(None, ge=4, description="pyramid and map2style width; null: w_dim")

    @field_validator("blocks")
    @classmethod
    def _positive_blocks(cls, v: Optional[list[int]]) -> Optional[list[int]]:
        if v is not None and any(n < 1 for n in v):
            raise ValueError(f"blocks: every stage needs at least 1 unit (got {v})")
        return v

    @property
    def stage_blocks(self) -> list[int]:
        """Units per stage, the backbone's default when ``blocks`` is null."""
        return list(self.blocks or DEFAULT_BLOCKS[self.backbone])

    def style_width(self, w_dim: int) -> int:
        """Channels of the pyramid and the heads: ``style_channels``, or the generator's ``w_dim``."""
        return self.style_channels or w_dim
