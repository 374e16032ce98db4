"""Params of a data set's source (``download.<dataset>.source``): which kind of list or renderer, where it is, how its
columns map, and the synthetic renderer's recipe. The download stage's own knobs live in ``download/params.py``."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from sound2video.core.params_base import SHA256_PATTERN, StrictParams


class ColumnMap(StrictParams):
    """Which columns of a CSV manifest hold what (the authors' DATASET.csv has unverified columns)."""

    url: str = Field("url", description="column with a URL or a bare YouTube id")
    label: str = Field("class", description="column with the class label")
    start: Optional[str] = Field(None, description="optional column with the start time in seconds")
    end: Optional[str] = Field(None, description="optional column with the end time in seconds")


class SyntheticParams(StrictParams):
    seed: int = Field(0, ge=0)
    videos_per_class: int = Field(4, ge=1, le=10_000)
    duration_seconds: float = Field(16.0, gt=0, le=3600)
    resolutions: list[tuple[int, int]] = Field(
        default_factory=lambda: [(1920, 1080), (1280, 720)],
        min_length=1,
        description="(width, height) cycled over each class's videos",
    )
    fps: int = Field(15, ge=1, le=120)
    sample_rate: int = Field(44100, ge=8000, le=192000)
    crf: int = Field(20, ge=0, le=51)

    @field_validator("resolutions")
    @classmethod
    def _even_sizes(cls, v: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for w, h in v:
            if w < 16 or h < 16 or w % 2 or h % 2:
                raise ValueError(f"each resolution must be even and at least 16x16, got {w}x{h}")
        return v


class SourceParams(StrictParams):
    kind: Literal["synthetic", "authors_csv", "vggsound_csv", "landscape_list", "local_folder", "curated_list"]
    path: Optional[str] = Field(None, description="path or http(s) URL of the manifest, or the folder (local_folder)")
    sha256: Optional[str] = Field(None, pattern=SHA256_PATTERN)
    columns: ColumnMap = Field(default_factory=ColumnMap)
    synthetic: Optional[SyntheticParams] = None
    use_ranges: bool = Field(False, description="download only each item's [start, end] segment")
    segment_seconds: float = Field(10.0, gt=0, description="segment length when a manifest gives only a start")
    range_margin_seconds: float = Field(
        0.0,
        ge=0,
        le=30,
        description="extra seconds fetched after each range, so that a segment whose cut lands on a "
        "keyframe still holds a whole clip",
    )
    limit: Optional[int] = Field(None, ge=1, description="take at most this many items (after sorting)")
    class_map: dict[str, str] = Field(
        default_factory=dict,
        description="the list's label -> our class name, applied before the class table's "
        "own names and aliases (e.g. {explosion: volcano_eruption, thunder: thunderstorm})",
    )

    extra_lists: list[str] = Field(
        default_factory=list,
        description="curated lists (id,url,label CSVs, `sound2video curate publish`) read besides the source",
    )

    @model_validator(mode="after")
    def _kind_needs(self) -> SourceParams:
        if self.kind == "synthetic" and self.synthetic is None:
            raise ValueError("source.kind 'synthetic' needs a 'synthetic' block")
        if self.kind != "synthetic" and not self.path:
            raise ValueError(f"source.kind '{self.kind}' needs 'path' (a file path or URL)")
        return self
