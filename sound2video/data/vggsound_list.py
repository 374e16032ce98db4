"""VGG-Sound's list files and segment ids: a leaf, read by the VGG-Sound source (download) and by the audio tower's
held-out evaluation, so neither depends on the other's code.

Two forms, no header; ids may start with '-': the full list ``youtube_id,start_seconds,label,split``, and the
official test split ``<youtube_id>_<start, 6 digits>.mp4,label`` (every row in 'test')."""

from __future__ import annotations

import csv
import re

import pandas as pd

VGGSOUND_COLUMNS = ["youtube_id", "start_seconds", "label", "split"]
_TEST_FILE = re.compile(r"^(?P<id>.{11})_(?P<start>\d+)\.mp4$")


def segment_id(base: str, start: float) -> str:
    """``<base>_<start:06d>`` (VGG-Sound's convention) for whole seconds, else ``<base>_<milliseconds:09d>ms``."""
    if float(start).is_integer():
        return f"{base}_{int(start):06d}"
    return f"{base}_{int(round(start * 1000)):09d}ms"


def read_vggsound_list(path: str) -> pd.DataFrame:
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
