"""Source manifests: every reader returns a pandas table with one row per item to fetch.

Columns: ``id`` (safe key), ``url``, ``label`` (class name, or None if it did not resolve), ``start``, ``end``
(seconds or NaN), ``source_kind``, ``reject_reason`` (None for valid rows), ``split`` (the list's own train/val/test
assignment, or None). Rows are sorted by id and ids are unique: a row that repeats an earlier id stays, as a reject.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from sound2video.data.classes import ClassTable
from sound2video.data.sources.curated_list import read_list
from sound2video.data.sources.registry import source_for

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from sound2video.data.download.params import DownloadParams

MANIFEST_COLUMNS = ["id", "url", "label", "start", "end", "source_kind", "reject_reason", "split"]


def read_manifest(params: DownloadParams, classes: ClassTable) -> pd.DataFrame:
    """Read the configured source into a manifest restricted to ``params.classes``."""
    source = source_for(params.source.kind)
    df = source.read(params, classes)
    if params.source.extra_lists:  # published curated classes: their accepted clips replace the source's own items
        extra = pd.concat([read_list(p) for p in params.source.extra_lists], ignore_index=True)
        df = pd.concat([df[~df["label"].isin(set(extra["label"]))], extra], ignore_index=True)
    return finalise(df, params.classes, keep_unknown=source.keep_unknown)


def finalise(df: pd.DataFrame, wanted: list[str], keep_unknown: bool) -> pd.DataFrame:
    """Apply the class selection, turn repeated ids into rejects (the first stays valid), sort by id."""
    df = df.reindex(columns=MANIFEST_COLUMNS).astype({"reject_reason": object, "split": object})
    unknown = df["label"].isna()
    df.loc[unknown & df["reject_reason"].isna(), "reject_reason"] = "unknown class label"
    keep = df["label"].isin(wanted) | (unknown & keep_unknown)
    df = df[keep].copy()
    # A list that names the same item twice keeps a row for each (nothing vanishes); the repeats get unique ids.
    repeat = df.groupby("id", sort=False).cumcount()
    dup = repeat > 0
    df.loc[dup, "reject_reason"] = [f"duplicate of {i} (the list names the same item again)" for i in df.loc[dup, "id"]]
    df.loc[dup, "id"] = [f"{i}__dup{k}" for i, k in zip(df.loc[dup, "id"], repeat[dup])]
    return df.sort_values("id", kind="stable").reset_index(drop=True)
