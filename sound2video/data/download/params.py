"""Params of the ``download`` stage (``download.<dataset>``), its ``source`` block included (which kind, where,
and the synthetic renderer's recipe)."""

from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import Field, ValidationInfo, field_validator, model_validator

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


class RangePlanParams(StrictParams):
    """Fetch only the clip windows of whole videos: the duration comes from the metadata first, the windows are
    planned as the cut stage plans clips, and only those ranges (plus a margin, keyframes forced at the cuts) are
    downloaded; the cut stage then cuts one clip from the middle of each window."""

    clip_seconds: float = Field(10.0, gt=0, le=600, description="as cut.<ds>.clip_seconds")
    clips_per_video: int = Field(10, ge=1, description="as cut.<ds>.clips_per_video")
    placement: Literal["spread", "consecutive"] = Field("spread", description="as cut.<ds>.placement")
    margin_seconds: float = Field(1.0, ge=0, le=30, description="extra seconds fetched on each side of a window")


_RATE = re.compile(r"^\d+(\.\d+)?[KMG]?$")


class DownloadParams(StrictParams):
    classes: list[str] = Field(min_length=1, description="class names from the data set's class table, or 'all'")
    source: SourceParams
    format: str = "bv*[height>=?720][vcodec^=?avc1]+ba[ext=?m4a]/bv*[height>=?720]+ba/b[height>=?720]"
    format_sort: list[str] = Field(default_factory=lambda: ["res:720", "vcodec:h264", "acodec:aac"])
    min_height: int = Field(720, ge=1, description="short side a downloaded video must reach, else 'rejected'")
    retries: int = Field(10, ge=0)
    fragment_retries: int = Field(10, ge=0)
    extractor_retries: int = Field(3, ge=0)
    socket_timeout: float = Field(30.0, gt=0)
    sleep_requests: float = Field(0.0, ge=0)
    sleep_interval: float = Field(0.0, ge=0)
    max_sleep_interval: float = Field(0.0, ge=0)
    rate_limit: Optional[str] = Field(None, description="bytes per second, e.g. '5M'")
    workers: int = Field(4, ge=1, le=256)
    max_attempts: int = Field(5, ge=1, description="transient failures are retried on reruns up to this many attempts")
    min_success_ratio: float = Field(0.5, ge=0, le=1)
    ranges: Optional[RangePlanParams] = Field(
        None, description="whole-video items (no start in the list): fetch only the planned clip windows"
    )
    max_duration_seconds: Optional[float] = Field(
        None, gt=0, description="items whose metadata says they are longer are rejected before any download"
    )
    max_bytes: Optional[int] = Field(
        None, ge=1, description="items whose metadata says they are larger are rejected; also yt-dlp's max_filesize"
    )

    @field_validator("classes", mode="before")
    @classmethod
    def _all_classes(cls, v: Any, info: ValidationInfo) -> Any:
        """``classes: all`` selects every class of the data set's class table (e.g. VGG-Sound's 309 labels)."""
        if v != "all":
            return v
        known = (info.context or {}).get("known_classes")
        if known is None:
            raise ValueError("'all' needs the class table: validate with the known classes in the context")
        return list(known)

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, v: list[str], info: ValidationInfo) -> list[str]:
        known = (info.context or {}).get("known_classes")
        if known is not None:
            unknown = [c for c in v if c not in known]
            if unknown:
                raise ValueError(f"unknown class(es) {unknown}; expected names from data/classes.csv: {sorted(known)}")
        if len(set(v)) != len(v):
            raise ValueError("classes must not repeat")
        return v

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not _RATE.match(v):
            raise ValueError(f"rate_limit must look like '500K', '5M' or '1.5G', got {v!r}")
        return v

    @model_validator(mode="after")
    def _sleeps(self) -> DownloadParams:
        if self.max_sleep_interval and self.max_sleep_interval < self.sleep_interval:
            raise ValueError("max_sleep_interval must be 0 or at least sleep_interval")
        return self
