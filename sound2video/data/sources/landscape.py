"""The public Landscape list (``ytid,start_time,class,set`` with a header): one 10 s segment per row, with the list's
own train/test assignment in ``split``."""

from __future__ import annotations

import csv
import math

import pandas as pd

from sound2video.core.remote import resolve
from sound2video.data.classes import ClassTable
from sound2video.data.sources.params import SourceParams
from sound2video.data.sources.youtube import YOUTUBE_ID, watch_url
from sound2video.data.vggsound_list import segment_id

LANDSCAPE_COLUMNS = ("ytid", "start_time", "class", "set")
SPLITS = ("train", "val", "test")


def read(src: SourceParams, classes: ClassTable) -> pd.DataFrame:
    path = resolve(src.path, src.sha256)  # type: ignore[arg-type]
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, skipinitialspace=True)
        missing = [c for c in LANDSCAPE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{src.path}: columns {missing} not found; a Landscape list has the header "
                f"{','.join(LANDSCAPE_COLUMNS)} (got {reader.fieldnames})"
            )
        raw = list(reader)
    rows = []
    for n, r in enumerate(raw, start=2):  # line numbers as an editor shows them (the header is line 1)
        ytid = (r["ytid"] or "").strip()
        split = (r["set"] or "").strip().lower()
        reason = None
        try:
            start = float(r["start_time"])
            if not math.isfinite(start) or start < 0:
                raise ValueError
        except (TypeError, ValueError):
            start, reason = float("nan"), f"line {n}: bad start_time {r['start_time']!r}"
        if not YOUTUBE_ID.match(ytid):
            reason = reason or f"line {n}: bad YouTube id {ytid!r}"
        if split not in SPLITS:
            reason = reason or f"line {n}: set {r['set']!r} is not one of {', '.join(SPLITS)}"
        rows.append(
            {
                "id": segment_id(
                    ytid if YOUTUBE_ID.match(ytid) else f"line{n:06d}", 0.0 if math.isnan(start) else start
                ),
                "url": watch_url(ytid),
                "label": classes.resolve(r["class"], src.class_map),
                "start": start,
                "end": start + src.segment_seconds,
                "source_kind": "landscape_list",
                "reject_reason": reason,
                "split": split if split in SPLITS else None,
            }
        )
    return pd.DataFrame(rows)
