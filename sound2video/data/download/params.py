"""Params of the ``download`` stage (``download.<dataset>``): which classes, the yt-dlp and retry knobs, range
planning and guards. Its ``source`` block is the source's own model (``sources/params.py``)."""

from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sound2video.core.params_base import StrictParams
from sound2video.data.sources.params import SourceParams  # the source block's own model


class RangePlanParams(StrictParams):
    """Fetch only the clip windows of whole videos: the duration comes from the metadata first, the windows are
    planned by the cut's planner (``media.windows.plan_windows``), and only those ranges (plus a margin, keyframes
    forced at the cuts) are downloaded; the cut stage then cuts one clip from the middle of each window. The clip
    settings must equal the cut block's (checked by the whole-file validation, ``project/validate.py``)."""

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
