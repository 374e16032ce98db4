"""The authors' ``DATASET.csv`` of YouTube links. Its columns are unverified, so the mapping comes from params."""

from __future__ import annotations

import math
from urllib.parse import urlparse

import pandas as pd

from sound2video.core.fsutil import safe_id
from sound2video.core.remote import resolve
from sound2video.data.classes import ClassTable
from sound2video.data.sources.params import SourceParams
from sound2video.data.sources.youtube import watch_url, youtube_id
from sound2video.data.vggsound_list import segment_id


def _seconds(value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return v if math.isfinite(v) and v >= 0 else float("nan")


def read(src: SourceParams, classes: ClassTable) -> pd.DataFrame:
    path = resolve(src.path, src.sha256)  # type: ignore[arg-type]
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    cols = src.columns
    needed = [c for c in (cols.url, cols.label, cols.start, cols.end) if c]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{src.path}: columns {missing} not found; the file has {list(raw.columns)}. "
            "Set download.source.columns in params.yaml to match."
        )
    rows = []
    for _, r in raw.iterrows():
        link = r[cols.url].strip()
        start = _seconds(r[cols.start]) if cols.start else float("nan")
        end = _seconds(r[cols.end]) if cols.end else float("nan")
        if not math.isnan(start) and math.isnan(end) and src.use_ranges:
            end = start + src.segment_seconds
        yid = youtube_id(link)
        reason = None
        if yid:
            url, base = watch_url(yid), yid
        elif urlparse(link).scheme in ("http", "https"):
            url, base = link, safe_id(link)
        else:
            url, base, reason = link, safe_id(link or "empty"), f"not a URL or YouTube id: {link!r}"
        if not math.isnan(start) and not math.isnan(end) and end <= start:
            reason = reason or f"end {end} is not after start {start}"
        item_id = base if math.isnan(start) else segment_id(base, start)
        rows.append(
            {
                "id": item_id,
                "url": url,
                "label": classes.resolve(r[cols.label], src.class_map),
                "start": start,
                "end": end,
                "source_kind": "authors_csv",
                "reject_reason": reason,
            }
        )
    return pd.DataFrame(rows)
