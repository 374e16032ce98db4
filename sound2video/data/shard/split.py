"""Deterministic train/val/test assignment by source video, stratified by class."""

from __future__ import annotations

import hashlib
import math


def _rank_key(seed: int, video_id: str) -> str:
    return hashlib.sha256(f"{seed}:{video_id}".encode()).hexdigest()


def split_counts(n: int, ratios: dict[str, float]) -> dict[str, int]:
    """Largest-remainder apportionment of ``n`` items to the ratios (ties go to the split listed first)."""
    exact = {s: n * r for s, r in ratios.items()}
    counts = {s: math.floor(v + 1e-9) for s, v in exact.items()}
    left = n - sum(counts.values())
    order = list(ratios)
    for s in sorted(exact, key=lambda s: (-round(exact[s] - counts[s], 9), order.index(s)))[:left]:
        counts[s] += 1
    return counts


def assign_splits(
    videos_by_class: dict[str, list[str]], ratios: dict[str, float], seed: int, fixed: dict[str, str] | None = None
) -> dict[str, str]:
    """Map every video id to a split. No video is in two splits; every clip of a video follows its video.

    Within a class, videos are ordered by a seeded hash of their id and cut by largest-remainder counts, so the
    result depends only on the set of ids, the ratios and the seed.

    ``fixed`` (a source list's own assignment, video id -> train/val/test) is kept as given, except that the list's
    'train' videos are split again into train and val by the train:val ratio (a list with no val split still gets
    one); videos that ``fixed`` does not name are split as above. With ``fixed`` None the result is the plain split.
    """
    order = [s for s in ("train", "val", "test") if s in ratios]
    fixed = fixed or {}
    out: dict[str, str] = {}
    for cls in sorted(videos_by_class):
        ids = sorted(set(videos_by_class[cls]), key=lambda v: _rank_key(seed, v))
        free = [v for v in ids if v not in fixed]
        counts = split_counts(len(free), {s: ratios[s] for s in order})
        pos = 0
        for split in order:
            for vid in free[pos : pos + counts[split]]:
                out[vid] = split
            pos += counts[split]
        listed_train = [v for v in ids if fixed.get(v) == "train"]
        if listed_train:
            sub = {s: ratios.get(s, 0.0) for s in ("train", "val")}
            total = sum(sub.values())
            train_counts = split_counts(len(listed_train), {s: r / total for s, r in sub.items()})
            pos = 0
            for split in ("train", "val"):
                for vid in listed_train[pos : pos + train_counts[split]]:
                    out[vid] = split
                pos += train_counts[split]
        for vid in ids:
            if vid in fixed and fixed[vid] != "train":
                out[vid] = fixed[vid]
    return out
