"""Params of the ``shard`` stage (``shard.<dataset>``): splits, shard sizes, what a sample holds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sound2video.core.params_base import StrictParams


class ShardParams(StrictParams):
    splits: dict[Literal["train", "val", "test"], float] = Field(
        default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1}
    )
    split_seed: int = Field(0, ge=0)
    splits_from_source: bool = Field(
        False,
        description="keep each item's split from its source list (train/test; 'val' is drawn from the list's "
        "train part by `splits`' train:val ratio); items without one are split by source video as usual",
    )
    max_samples_per_shard: int = Field(1000, ge=1)
    max_bytes_per_shard: int = Field(1_000_000_000, ge=1_000_000)
    include_mp4: bool = Field(True, description="write the clip's mp4 into each sample")
    jpg_frames: int = Field(0, ge=0, le=64, description="K frames, evenly spaced, as frame0.jpg .. frame{K-1}.jpg")
    jpg_qscale: int = Field(3, ge=2, le=31, description="ffmpeg JPEG quality scale (2 best, 31 worst)")

    @model_validator(mode="after")
    def _some_picture(self) -> ShardParams:
        if not self.include_mp4 and self.jpg_frames == 0:
            raise ValueError("a sample needs pictures: set include_mp4 or jpg_frames > 0")
        return self

    @field_validator("splits")
    @classmethod
    def _ratios(cls, v: dict[str, float]) -> dict[str, float]:
        if any(r < 0 for r in v.values()):
            raise ValueError(f"split ratios must be non-negative, got {v}")
        if abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError(f"split ratios must sum to 1, got {sum(v.values())}")
        if v.get("train", 0) <= 0:
            raise ValueError("the train split must have a positive ratio")
        return v
