"""A fixed held-out list for the audio tower's evaluation: VGG-Sound's official test split (or any list in either of
VGG-Sound's two forms). Shard samples are matched to it by their source segment id (``<youtube_id>_<start:06d>``),
so the zero-shot and retrieval figures are computed on the clips of that list that the crawl could fetch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sound2video.core.remote import resolve
from sound2video.data.vggsound_list import read_vggsound_list, segment_id
from sound2video.models.audio.configuration_audio import HeldOutListParams
from sound2video.models.audio.data import Features


@dataclass(frozen=True)
class HeldOut:
    """The list's segment ids and where its entries were found in the shards."""

    ids: frozenset[str]
    rows: int  # rows of the list (a segment listed twice counts twice)
    unreadable: int  # rows without a start time (e.g. a file name not of the form <id>_<start>.mp4): never matched
    source: str  # the list's path or URL, for messages


def read_held_out(spec: HeldOutListParams) -> HeldOut:
    """The segment ids of the list at ``spec.path`` (a path or URL, checked against ``spec.sha256`` when given)."""
    raw = read_vggsound_list(str(resolve(spec.path, spec.sha256)))
    ids = []
    for r in raw.itertuples(index=False):
        try:
            ids.append(segment_id(r.youtube_id, float(r.start_seconds)))
        except ValueError:
            continue
    if not ids:
        raise ValueError(f"{spec.path}: the held-out list has no <youtube_id>_<start> rows")
    return HeldOut(frozenset(ids), len(raw), len(raw) - len(ids), spec.path)


def subset(features: Features, keep: np.ndarray) -> Features:
    """The rows of ``features`` where ``keep`` (a boolean mask) is true, in their order."""
    index = np.flatnonzero(keep)
    return Features(
        keys=[features.keys[i] for i in index],
        labels=features.labels[index],
        mels=features.mels[index],
        images=None if features.images is None else features.images[index],
        source_ids=[features.source_ids[i] for i in index],
    )


def restrict_to(held_out: HeldOut, evaluated: Features, trained: Features) -> tuple[Features, dict]:
    """Keep the evaluation samples whose source segment is on the list; refuse a list that overlaps the training
    samples (a leak) or matches nothing. Returns the subset and the coverage figures for the metrics."""
    leaked = sorted({s for s in trained.source_ids if s in held_out.ids})
    if leaked:
        raise ValueError(
            f"train_audio.held_out_list: {len(leaked)} segments of {held_out.source} are in the training shards "
            f"(e.g. {leaked[:3]}): the split does not honour the list (shard.<ds>.splits_from_source: true keeps it)"
        )
    keep = np.array([s in held_out.ids for s in evaluated.source_ids], dtype=bool)
    if not keep.any():
        raise ValueError(
            f"train_audio.held_out_list: none of the {len(evaluated.keys)} evaluation clips is on {held_out.source} "
            f"({held_out.rows} rows): is it the list of this data set?"
        )
    found = len({s for s in evaluated.source_ids if s in held_out.ids})
    coverage = {
        "held_out_rows": held_out.rows,
        "held_out_unreadable": held_out.unreadable,
        "held_out_found": found,
        "held_out_coverage": found / len(held_out.ids),
    }
    return subset(evaluated, keep), coverage
