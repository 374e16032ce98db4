"""VGG-Sound's CSV: ``youtube_id,start_seconds,label,split`` with no header; ids may start with '-'."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..classes import ClassTable
from ..remote import resolve
from .youtube import YOUTUBE_ID, segment_id, watch_url

if TYPE_CHECKING:   # the download stage's params (annotations only: sources sit below download)
    from ..download.params import SourceParams

VGGSOUND_COLUMNS = ["youtube_id", "start_seconds", "label", "split"]


def read_raw(path: str) -> pd.DataFrame:
    """The CSV as strings; quoted labels with commas are handled by the CSV parser."""
    df = pd.read_csv(path, header=None, names=VGGSOUND_COLUMNS, dtype=str, keep_default_na=False,
                     skipinitialspace=True, comment=None)
    df = df[~df["youtube_id"].str.startswith("#")]  # a commented header line, if any
    return df.apply(lambda s: s.str.strip())


def read(src: SourceParams, classes: ClassTable) -> pd.DataFrame:
    raw = read_raw(str(resolve(src.path, src.sha256)))  # type: ignore[arg-type]
    rows = []
    for r in raw.itertuples(index=False):
        reason = None
        try:
            start = float(r.start_seconds)
        except ValueError:
            start, reason = float("nan"), f"bad start_seconds {r.start_seconds!r}"
        if not YOUTUBE_ID.match(r.youtube_id):
            reason = reason or f"bad YouTube id {r.youtube_id!r}"
        rows.append({
            "id": segment_id(r.youtube_id, start if start == start else 0.0),
            "url": watch_url(r.youtube_id),
            "label": classes.resolve(r.label),
            "start": start,
            "end": start + src.segment_seconds if start == start else float("nan"),
            "source_kind": "vggsound_csv",
            "reject_reason": reason,
        })
    return pd.DataFrame(rows)
