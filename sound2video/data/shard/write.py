"""Writing byte-identical WebDataset shards: sorted samples, fixed tar metadata, size limits."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sound2video.core.fsutil import sha256_file

TAR_MTIME = 0  # fixed so that identical inputs give identical tar bytes


def write_split(
    samples: Iterable[dict[str, Any]], out_dir: Path, split: str, max_count: int, max_bytes: int
) -> list[dict[str, Any]]:
    """Write ``samples`` (already sorted) into ``<split>-NNNNNN.tar`` shards; returns one index entry per shard
    (name, split, samples, bytes, sha256, keys)."""
    import webdataset as wds

    pattern = str(out_dir / f"{split}-%06d.tar")
    written: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    keys: dict[str, list[str]] = {}

    def on_close(fname: str) -> None:
        written.append({"shard": Path(fname).name, "split": split})

    with wds.ShardWriter(
        pattern, maxcount=max_count, maxsize=max_bytes, post=on_close, verbose=0, mtime=TAR_MTIME
    ) as sink:
        for sample in samples:
            sink.write(sample)
            name = Path(sink.fname).name  # type: ignore[arg-type]
            counts[name] = counts.get(name, 0) + 1
            keys.setdefault(name, []).append(str(sample["__key__"]))
    entries = []
    for entry in written:
        path = out_dir / entry["shard"]
        if entry["shard"] not in counts:
            path.unlink(missing_ok=True)  # ShardWriter may open an empty shard at a boundary
            continue
        entries.append(
            entry
            | {
                "samples": counts[entry["shard"]],
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
                "keys": keys[entry["shard"]],  # which clips a shard holds: `sound2video snapshot diff` compares them
            }
        )
    return entries
