"""VGG-Sound's lists, no header; ids may start with '-'. Two forms: the full list ``youtube_id,start_seconds,label,
split``, and the official test split ``<youtube_id>_<start, 6 digits>.mp4,label`` (every row in 'test')."""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING

import pandas as pd

from ..classes import ClassTable
from ..remote import resolve
from .youtube import YOUTUBE_ID, segment_id, watch_url

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from ..download.params import SourceParams

VGGSOUND_COLUMNS = ["youtube_id", "start_seconds", "label", "split"]
_TEST_FILE = re.compile(r"^(?P<id>.{11})_(?P<start>\d+)\.mp4$")


def read_raw(path: str) -> pd.DataFrame:
    """The list as strings in the four columns of the full list; quoted labels with commas are handled by the CSV
    parser, and a two-column test list gets its id and start from the file name and 'test' as its split."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for n, r in enumerate(csv.reader(f, skipinitialspace=True), start=1):
            r = [v.strip() for v in r]
            if not r or not any(r) or r[0].startswith("#"):  # blank lines, a commented header line
                continue
            if len(r) == 4:
                rows.append(r)
            elif len(r) == 2:
                m = _TEST_FILE.match(r[0])
                rows.append([m["id"], m["start"], r[1], "test"] if m else [r[0], "", r[1], "test"])
            else:
                raise ValueError(
                    f"{path}: line {n}: expected youtube_id,start_seconds,label,split or "
                    f"<id>_<start>.mp4,label, got {len(r)} fields"
                )
    return pd.DataFrame(rows, columns=VGGSOUND_COLUMNS, dtype=str)


def read(src: SourceParams, classes: ClassTable) -> pd.DataFrame:
    raw = read_raw(str(resolve(src.path, src.sha256)))  # type: ignore[arg-type]
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
