"""Params of the ``evaluate`` stage: which rows, how each metric is measured, and the baselines' training."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator

from sound2video.core.params_base import StrictParams
from sound2video.evaluation.baseline_params import RandomWalkParams, TraumerAIParams
from sound2video.evaluation.rows import ROWS


class DetectorParams(StrictParams):
    """A video detector: ``tiny`` (seeded random, offline smoke runs: the numbers mean nothing) or a TorchScript
    path/URL with its sha256."""

    detector: str = Field("tiny", description="'tiny', or a TorchScript file path / URL")
    sha256: Optional[str] = Field(None, pattern=r"^[0-9a-f]{64}$", description="expected sha256 of the file")
    frames: int = Field(16, ge=2, description="consecutive frames per clip (from the first frame)")
    stride: int = Field(1, ge=1, description="take every stride-th frame")


class FvdParams(DetectorParams):
    reference_split: Literal["train", "val", "test"] = Field(
        "train", description="real clips the rows are compared with (train: the real test row gets a real FVD)"
    )
    max_reference: Optional[int] = Field(None, ge=2, description="at most this many reference clips (null: all)")


class InceptionParams(DetectorParams):
    splits: int = Field(10, ge=1, description="IS splits (mean ± std over them; fewer when clips are fewer)")
    shuffle_seed: int = Field(42, description="shuffle before splitting (StyleGAN-V: 42)")


class EvaluateParams(StrictParams):
    """The ``evaluate`` stage."""

    dataset: str = Field("landscape", description="data set whose test split is evaluated")
    split: Literal["train", "val", "test"] = Field("test", description="clips whose sounds drive the videos")
    rows: list[str] = Field(
        default_factory=lambda: list(ROWS), min_length=1, description=f"rows of the table, in order: {', '.join(ROWS)}"
    )
    ablation_models: dict[str, str] = Field(
        default_factory=lambda: {name: f"models/video_{name}" for name, row in ROWS.items() if row.ablation_mode},
        description="row -> model folder; a row whose folder is missing is skipped with a note",
    )
    max_clips: Optional[int] = Field(None, ge=1, description="evaluate at most this many clips (null: all)")
    seed: int = Field(0, description="video k of a row starts from seed + k")
    fvd: FvdParams = Field(default_factory=FvdParams)
    inception: InceptionParams = Field(default_factory=lambda: InceptionParams(frames=16))
    traumerai: TraumerAIParams = Field(default_factory=TraumerAIParams)
    random_walk: RandomWalkParams = Field(default_factory=RandomWalkParams)
    cache_root: str = Field(
        "checkpoints/video/cache",
        description="video cache folder shared with train_video (a cache with the same key is reused, else built here)",
    )
    report_size: int = Field(192, ge=16, description="display width (px) of each video in the report")
    device: str = Field("cpu", pattern=r"^(cpu|auto|cuda(:\d+)?)$")
    threads: Optional[int] = Field(None, ge=1, description="torch CPU threads (null: torch's default)")

    @field_validator("rows")
    @classmethod
    def _known_unique_rows(cls, v: list[str]) -> list[str]:
        unknown = [r for r in v if r not in ROWS]
        if unknown:
            raise ValueError(f"rows: unknown row(s) {unknown}; expected some of {list(ROWS)}")
        if len(set(v)) != len(v):
            raise ValueError(f"rows: repeated row name (got {v})")
        return v

    @field_validator("ablation_models")
    @classmethod
    def _known_ablations(cls, v: dict[str, str]) -> dict[str, str]:
        ablations = [name for name, row in ROWS.items() if row.ablation_mode]
        unknown = sorted(set(v) - set(ablations))
        if unknown:
            raise ValueError(f"ablation_models: unknown rows {unknown}; expected some of {ablations}")
        return v
