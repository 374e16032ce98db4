"""Params of the ``download`` stage (``download.<dataset>``)."""

from __future__ import annotations

import re
from typing import Optional

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..params_base import StrictParams
from ..sources.params import SourceParams

_RATE = re.compile(r"^\d+(\.\d+)?[KMG]?$")


class DownloadParams(StrictParams):
    classes: list[str] = Field(min_length=1, description="class names from data/classes.csv")
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
    def _sleeps(self) -> "DownloadParams":
        if self.max_sleep_interval and self.max_sleep_interval < self.sleep_interval:
            raise ValueError("max_sleep_interval must be 0 or at least sleep_interval")
        return self
