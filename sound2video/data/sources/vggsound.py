"""The VGG-Sound source: a VGG-Sound list (either form, see ``vggsound_list``) as a download manifest."""

from __future__ import annotations

import pandas as pd

from sound2video.core.remote import resolve
from sound2video.data.classes import ClassTable
from sound2video.data.sources.params import SourceParams
from sound2video.data.sources.youtube import YOUTUBE_ID, watch_url
from sound2video.data.vggsound_list import read_vggsound_list, segment_id


def read(src: SourceParams, classes: ClassTable) -> pd.DataFrame:
    raw = read_vggsound_list(str(resolve(src.path, src.sha256)))  # type: ignore[arg-type]
    rows = []
    for r in raw.itertuples(index=False):
        reason = None if YOUTUBE_ID.match(r.youtube_id) else f"bad YouTube id {r.youtube_id!r}"
        try:
            start = float(r.start_seconds)
        except ValueError:
            start, reason = float("nan"), reason or f"bad start_seconds {r.start_seconds!r}"
        split = r.split.lower()
        rows.append(
            {
                "id": segment_id(r.youtube_id, start if start == start else 0.0),
                "url": watch_url(r.youtube_id),
                "label": classes.resolve(r.label, src.class_map),
                "start": start,
                "end": start + src.segment_seconds if start == start else float("nan"),
                "source_kind": "vggsound_csv",
                "reject_reason": reason,
                "split": split if split in ("train", "val", "test") else None,
            }
        )
    return pd.DataFrame(rows, columns=["id", "url", "label", "start", "end", "source_kind", "reject_reason", "split"])
